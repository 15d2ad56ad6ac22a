"""The real OHIF Viewer (npm ``@ohif/app``'s prebuilt ``dist/``), fetched, verified and served for tests.

The viewer is fetched with ``npm pack`` into ``.cache/ohif/`` inside the repository (gitignored;
npm's own cache goes there too, so nothing outside the clone is read or written), checked against
the sha512 integrity pinned here (the registry's ``dist.integrity``), and unpacked once. A missing
``npm`` or a failed fetch fails the test with the reason: the OHIF test never skips itself away.

:func:`site_app` serves the ``dist`` folder as OHIF's own ``serve.json`` does (every unknown path is
``index.html``, the single-page app's router decides), with an ``app-config.js`` whose DICOMweb data
source points at Ria — and, for the same-origin set-up, hands ``/dicomweb`` to Ria's app in the same
server, the way a site deploys the viewer and the archive behind one host name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import ROOT

__all__ = ["OHIF_VERSION", "app_config", "ohif_dist", "site_app"]

OHIF_VERSION = "3.13.2"
"""The newest 3.x on the registry (``npm view @ohif/app dist-tags``: latest) when this was pinned."""
OHIF_INTEGRITY = (
    "sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=="
)
"""``npm view @ohif/app@3.13.2 dist.integrity``: the tarball is refused unless its sha512 matches."""
CACHE = ROOT / ".cache" / "ohif"


def _integrity(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def _pack(destination: Path) -> Path:
    """``npm pack @ohif/app@<pinned>`` into ``destination``: the tarball's path, or a test failure."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm is not installed: the OHIF test fetches @ohif/app with `npm pack` (.ci/run installs it)"
        )
    destination.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_cache": str(CACHE / "npm"), "npm_config_update_notifier": "false"}
    command = [npm, "pack", f"@ohif/app@{OHIF_VERSION}", "--pack-destination", str(destination), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    if done.returncode != 0:
        pytest.fail(f"could not fetch @ohif/app@{OHIF_VERSION} with npm pack: {done.stderr.strip()[-2000:]}")
    (entry,) = json.loads(done.stdout)
    return destination / str(entry["filename"])


def ohif_dist() -> Path:
    """OHIF's ``dist`` folder, fetched and unpacked on first use, verified against the pinned integrity."""
    target = CACHE / OHIF_VERSION
    marker = target / "VERIFIED"
    if marker.is_file() and marker.read_text() == OHIF_INTEGRITY:
        return target / "package" / "dist"
    tarball = CACHE / f"ohif-app-{OHIF_VERSION}.tgz"
    if not tarball.is_file() or _integrity(tarball) != OHIF_INTEGRITY:
        tarball = _pack(CACHE)
    found = _integrity(tarball)
    if found != OHIF_INTEGRITY:
        tarball.unlink()
        pytest.fail(f"@ohif/app@{OHIF_VERSION} tarball has integrity {found}, expected {OHIF_INTEGRITY}")
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/dist/")]
        archive.extractall(target, members=members, filter="data")
    marker.write_text(OHIF_INTEGRITY)
    return target / "package" / "dist"


def app_config(dicomweb_root: str) -> str:
    """OHIF's ``app-config.js`` with one DICOMweb data source: Ria's service root ``dicomweb_root``.

    The options are those of OHIF's own default (the AWS demo source) with Ria's URLs, and no
    includefield (Ria answers its default attributes; asking for what it does not hold is a 400).
    """
    source = {
        "namespace": "@ohif/extension-default.dataSourcesModule.dicomweb",
        "sourceName": "ria",
        "configuration": {
            "friendlyName": "Ria",
            "name": "ria",
            "wadoUriRoot": dicomweb_root,
            "qidoRoot": dicomweb_root,
            "wadoRoot": dicomweb_root,
            "qidoSupportsIncludeField": False,
            "imageRendering": "wadors",
            "thumbnailRendering": "wadors",
            "enableStudyLazyLoad": True,
            "supportsFuzzyMatching": True,
            "supportsWildcard": True,
            "singlepart": "bulkdata,video",
            "bulkDataURI": {"enabled": True},
            "omitQuotationForMultipartRequest": True,
        },
    }
    config = {
        "routerBasename": "/",
        "extensions": [],
        "modes": [],
        "showStudyList": True,
        "maxNumberOfWebWorkers": 1,
        "showWarningMessageForCrossOrigin": False,
        "showCPUFallbackMessage": False,
        "showLoadingIndicator": True,
        "strictZSpacingForVolumeViewport": True,
        "defaultDataSourceName": "ria",
        "investigationalUseDialog": {"option": "never"},
        "dataSources": [source],
    }
    return f"window.config = {json.dumps(config, indent=2)};\n"


def site_app(dist: Path, config: str, archive_app: ASGIApp | None = None) -> ASGIApp:
    """An ASGI app serving OHIF's ``dist`` with ``config`` as ``app-config.js``; with ``archive_app``,
    ``/dicomweb`` goes to Ria in the same origin."""
    root = dist.resolve()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "/")
        if archive_app is not None and path.startswith("/dicomweb"):
            await archive_app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        response: Response
        if path == "/app-config.js":
            response = Response(config, media_type="text/javascript", headers={"Cache-Control": "no-store"})
        else:
            wanted = (root / path.lstrip("/")).resolve()
            if not wanted.is_relative_to(root) or not wanted.is_file():
                wanted = root / "index.html"  # the single-page app's routes (/viewer, ...)
            response = FileResponse(wanted)
        await response(scope, receive, send)

    return app
