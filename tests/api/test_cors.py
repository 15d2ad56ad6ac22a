"""CORS for browser viewers on another origin, proven in a real browser (Debian's Chromium via Playwright).

A page served from one loopback port calls Ria on another with a bearer token and a byte range, as
OHIF does; the browser itself decides whether the answer may be read. Expected bytes come from the
source file, read directly.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from playwright.sync_api import Browser

from ria.access.identity import add_user, issue_api_token
from ria.archive import Archive
from ria.errors import ConfigurationError
from ria.sample import find_test_file
from ria.settings import Settings
from tests.api.conftest import LiveServer, free_port
from tests.cli.test_cli import RIA

COLLECTION = "TCGA-LUAD"

PAGE_SCRIPT = """async ([url, token]) => {
  try {
    const response = await fetch(url, {headers: {Authorization: `Bearer ${token}`, Range: 'bytes=0-131'}});
    const body = new Uint8Array(await response.arrayBuffer());
    return {status: response.status, range: response.headers.get('Content-Range'),
            length: response.headers.get('Content-Length'), bytes: Array.from(body)};
  } catch (error) {
    return {error: String(error)};
  }
}"""

SEARCH_SCRIPT = """async ([url, token]) => {
  try {
    const headers = {Authorization: `Bearer ${token}`, Accept: 'application/dicom+json'};
    const response = await fetch(url, {headers});
    return {status: response.status, json: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}"""


class _Page(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_origin(tmp_path: Path) -> Iterator[str]:
    """A static web page on its own loopback port: another origin than Ria's."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>viewer</title><p>viewer</p>")
    port = free_port()
    handler = lambda *args: _Page(*args, directory=str(site))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _archive_with_an_image(settings: Settings) -> tuple[Archive, str, pydicom.Dataset]:
    archive = Archive(settings)
    path = find_test_file("CT_small.dcm")
    archive.ingest([path], COLLECTION)
    add_user(archive.engine, "viewer", actor="test")
    return archive, issue_api_token(archive.engine, "viewer", actor="test"), pydicom.dcmread(path)


def _image_url(base: str, ds: pydicom.Dataset) -> str:
    return (
        f"{base}/nbia-api/services/v1/getSingleImage?SeriesInstanceUID={ds.SeriesInstanceUID}"
        f"&SOPInstanceUID={ds.SOPInstanceUID}"
    )


def test_a_page_on_a_listed_origin_reads_ranges_with_a_token(
    tmp_path: Path, database_url: str | None, page_origin: str, browser: Browser
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, cors_origins=(page_origin,))
    archive, token, ds = _archive_with_an_image(settings)
    source = find_test_file("CT_small.dcm").read_bytes()
    with archive, LiveServer(archive) as live:
        page = browser.new_page()
        page.goto(f"{page_origin}/index.html")
        got = page.evaluate(PAGE_SCRIPT, [_image_url(live.url, ds), token])
        assert "error" not in got, got
        assert got["status"] == 206
        assert got["range"] == f"bytes 0-131/{len(source)}" and got["length"] == "132"
        assert bytes(got["bytes"]) == source[:132]
        found = page.evaluate(SEARCH_SCRIPT, [f"{live.url}/dicomweb/studies", token])
        assert found["status"] == 200, found
        assert [s["0020000D"]["Value"][0] for s in found["json"]] == [str(ds.StudyInstanceUID)]
        page.close()


def test_a_page_on_another_origin_is_refused_by_the_browser(
    tmp_path: Path, page_origin: str, browser: Browser
) -> None:
    """Off by default, and on only for the listed origins: the browser withholds the answer."""
    for origins in ((), ("http://viewer.example.org",)):
        settings = Settings(data_dir=tmp_path / f"data{len(origins)}", cors_origins=origins)
        archive, token, ds = _archive_with_an_image(settings)
        with archive, LiveServer(archive) as live:
            page = browser.new_page()
            page.goto(f"{page_origin}/index.html")
            got = page.evaluate(PAGE_SCRIPT, [_image_url(live.url, ds), token])
            assert "Failed to fetch" in got.get("error", ""), got
            page.close()


def test_preflight_names_what_a_viewer_needs(tmp_path: Path) -> None:
    origin = "http://localhost:3000"
    settings = Settings(data_dir=tmp_path / "data", cors_origins=(origin,))
    with Archive(settings) as archive, LiveServer(archive) as live, httpx.Client(base_url=live.url) as http:
        for path in ("/dicomweb/studies", "/api/v1/collections", "/nbia-api/services/v1/getSingleImage"):
            preflight = http.options(
                path,
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "authorization, range",
                },
            )
            assert preflight.status_code == 200, (path, preflight.text)
            assert preflight.headers["access-control-allow-origin"] == origin
            assert preflight.headers["access-control-allow-credentials"] == "true"
            allowed = {
                h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
            }
            assert {"authorization", "range"} <= allowed
        answer = http.get("/dicomweb/studies", headers={"Origin": origin})
        assert answer.headers["access-control-allow-origin"] == origin
        exposed = {h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")}
        assert {"content-range", "content-length"} <= exposed
        stranger = http.get("/dicomweb/studies", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers


@pytest.mark.parametrize("origin", ["*", "localhost:3000", "http://host/path", "ftp://host", ""])
def test_only_a_real_origin_is_a_cors_origin(tmp_path: Path, origin: str) -> None:
    with pytest.raises(ConfigurationError, match="origin"):
        Settings(data_dir=tmp_path, cors_origins=(origin,))


def test_cors_origins_from_the_environment() -> None:
    settings = Settings.from_env({"RIA_CORS_ORIGINS": "http://localhost:3000, https://Viewer.Example.org/"})
    assert settings.cors_origins == ("http://localhost:3000", "https://viewer.example.org")


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--cors-origin", "*"], "CORS origin"),
        (["--public-url", "ria.example.org"], "public URL"),
        (["--trusted-proxy", "proxy.local"], "trusted proxy"),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line(tmp_path: Path, option: list[str], named: str) -> None:
    done = subprocess.run(
        [*RIA, "serve", "--port", str(free_port()), "--data-dir", str(tmp_path), *option],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("RIA_")},
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
