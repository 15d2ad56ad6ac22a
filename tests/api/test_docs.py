"""``/api/v1/docs`` renders from the package alone: no request leaves loopback (an air-gapped host)."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from ria.api.docs import SWAGGER_ASSETS
from tests.api.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

HEALTH_SUMMARY = "Health of the server, catalogue and blob store"
"""The summary of ``GET /api/v1/health`` (ria.api.health), the first operation listed."""
COHORT_SUMMARY = "Run a cohort query across imaging, genomics, clinical data and labels"
"""The summary of ``POST /api/v1/cohorts/query`` as ria.api.cohorts declares it."""


def test_docs_render_offline_in_a_browser(server: LiveServer, browser: Browser) -> None:
    """Every non-loopback request is aborted; the operations list still renders from the vendored assets."""
    requested: list[str] = []
    left_loopback: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left_loopback.append(url)
            route.abort()

    page = browser.new_page()
    try:
        page.route("**/*", only_loopback)
        page.goto(f"{server.url}/api/v1/docs")
        page.get_by_text(HEALTH_SUMMARY).first.wait_for(state="visible", timeout=30_000)
        summaries: set[str] = set()
        for _ in range(200):  # Swagger UI renders only the operations in view: scroll through them all
            summaries.update(page.locator(".opblock-summary-description").all_inner_texts())
            if COHORT_SUMMARY in summaries:
                break
            page.mouse.wheel(0, 400)
            page.wait_for_timeout(50)
    finally:
        page.close()
    assert HEALTH_SUMMARY in summaries
    assert COHORT_SUMMARY in summaries
    assert left_loopback == []
    assert any(url.endswith("/swagger-ui-bundle.js") for url in requested)
    assert any(url.endswith("/api/v1/openapi.json") for url in requested)


def test_docs_page_names_no_other_host(client: httpx.Client) -> None:
    """The HTML points only at the package's assets (relative URLs), never a CDN."""
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert client.head("/api/v1/docs").status_code == 200
    assert re.findall(r"https?://", page.text) == []
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert f"/api/v1/docs/assets/{asset}" in page.text
        served = client.get(f"/api/v1/docs/assets/{asset}")
        assert served.status_code == 200
        assert served.content == (SWAGGER_ASSETS / asset).read_bytes()
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_vendored_assets_match_their_provenance() -> None:
    """Each vendored file's SHA-256 is the one its README records (copied unmodified from npm)."""
    readme = (SWAGGER_ASSETS / "README.md").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, flags=re.MULTILINE))
    assert set(recorded) == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
        "LICENSE",
        "NOTICE",
    }
    for name, digest in recorded.items():
        assert hashlib.sha256((SWAGGER_ASSETS / name).read_bytes()).hexdigest() == digest
    assert "Apache License" in (SWAGGER_ASSETS / "LICENSE").read_text(encoding="utf-8")
