"""Swagger UI served from the package, so ``/api/v1/docs`` renders on an offline or air-gapped host.

FastAPI's default page loads Swagger UI from a public CDN: without Internet the page stays blank.
The assets vendored under ``static/swagger/`` (provenance and licence in its README) are mounted
next to the page instead, and the online validator badge is switched off so nothing leaves the host.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

__all__ = ["DOCS_URL", "SWAGGER_ASSETS", "install_docs"]

DOCS_URL = "/api/v1/docs"
"""Where the interactive API documentation lives."""
SWAGGER_ASSETS = Path(__file__).parent / "static" / "swagger"
"""The vendored ``swagger-ui-dist`` files (bundle, stylesheet, favicon, licence)."""
_ASSETS_URL = f"{DOCS_URL}/assets"


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at :data:`DOCS_URL` from the package (create the app with ``docs_url=None``).

    The pages answer GET and HEAD, and the OAuth redirect stays at FastAPI's own path, as before.
    """
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    app.mount(_ASSETS_URL, StaticFiles(directory=SWAGGER_ASSETS), name="swagger-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "",
            title=f"{app.title} — API",
            swagger_js_url=f"{_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=redirect_url,
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(redirect_url, oauth2_redirect, include_in_schema=False)
