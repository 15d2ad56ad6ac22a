"""A real uvicorn server on loopback serving a real archive, for API tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from ria.access import identity as idn
from ria.api import create_app
from ria.archive import Archive

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, archive: Archive) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(archive), host="127.0.0.1", port=self.port, log_level="warning", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def server(archive: Archive) -> Iterator[LiveServer]:
    with LiveServer(archive) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        yield http


PASSWORD = "correct horse battery"
"""The password of the ``alice`` account the identity tests sign in with."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice(archive: Archive) -> idn.User:
    idn.add_user(archive.engine, "alice", PASSWORD, actor="ops")
    user = idn.authenticate_password(archive.engine, "alice", PASSWORD)
    assert user is not None
    return user


CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (``apt-get install chromium``): Playwright drives it as is, no ``playwright install``."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the browser tests (CORS, OHIF); WebGL on SwiftShader, as there is no GPU."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
        )
        yield launched
        launched.close()
