"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

import ria
from ria.api import carts, cohorts, collections, health, identity_routes, oauth
from ria.api.deps import require_user
from ria.api.dicomweb.rendered_routes import build_rendered_router
from ria.api.dicomweb.routes import build_dicomweb_router
from ria.api.docs import install_docs
from ria.api.errors import install_error_handlers
from ria.api.governance_routes import router as governance_router
from ria.api.guards import NulGuard
from ria.api.openapi import install_openapi
from ria.api.tcia import cart_routes, describe_routes, search_routes
from ria.api.tcia.dialect import V1, V2, V4
from ria.api.tcia.download_routes import build_download_router
from ria.api.tcia.query_routes import build_query_router
from ria.archive import Archive

__all__ = ["create_app"]


def create_app(archive: Archive) -> FastAPI:
    """An app serving ``archive``; the caller owns the archive's lifetime."""
    app = FastAPI(
        title="Ria — Radiogenomic Imaging Archive",
        version=ria.__version__,
        docs_url=None,  # served from the package by install_docs, not from a CDN
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.archive = archive
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(NulGuard)  # before CORS is added, so CORS wraps it and its 400s reach browsers too
    _install_cors(app, archive.settings.cors_origins)
    app.include_router(health.router)
    app.include_router(collections.router)
    for dialect in (V1, V4):
        app.include_router(build_query_router(dialect))
        app.include_router(build_download_router(dialect))
    signed_in = [Depends(require_user)]  # TCIA's v2 is v1 for callers with a bearer token
    app.include_router(build_query_router(V2), dependencies=signed_in)
    app.include_router(build_download_router(V2), dependencies=signed_in)
    app.include_router(oauth.router)
    app.include_router(identity_routes.router)
    app.include_router(search_routes.router)
    app.include_router(describe_routes.router)
    app.include_router(cart_routes.router)
    app.include_router(carts.router)
    app.include_router(cohorts.router)
    app.include_router(governance_router)
    app.include_router(build_dicomweb_router(per_collection=False))
    app.include_router(build_dicomweb_router(per_collection=True))
    app.include_router(build_rendered_router(per_collection=False))
    app.include_router(build_rendered_router(per_collection=True))
    return app


CORS_REQUEST_HEADERS = (
    "Authorization",
    "Range",
    "Accept",
    "Content-Type",
    "If-None-Match",
    "If-Modified-Since",
)
"""What a browser viewer sends: a bearer token, byte ranges and DICOMweb media types."""
CORS_EXPOSED_HEADERS = (
    "Content-Range",
    "Content-Length",
    "Content-Type",
    "Content-Disposition",
    "Accept-Ranges",
    "ETag",
    "Location",
    "Warning",
)
"""What a viewer's script reads back: ranges, sizes, file names and DICOMweb's Warning header."""


def _install_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    """CORS for exactly the operator's origins (``Settings.cors_origins``), off when there are none.

    Credentials are allowed because a viewer sends its user's bearer token; that is safe only with
    an explicit list, which is why :class:`~ria.settings.Settings` refuses ``*``.
    """
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
        max_age=600,
    )
