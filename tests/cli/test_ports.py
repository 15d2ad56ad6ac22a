"""A busy port is said at once, in one line, with exit 1 — before ``ria demo`` builds anything, and for
every server a command starts (HTTP, DICOM). Real processes against a real listening socket.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ria.archive import Archive
from ria.errors import RiaError
from tests.api.conftest import free_port
from tests.cli.test_cli import ria


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something is listening on (as a demo still running would be)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _one_line(result: object) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_demo_on_a_busy_port_says_so_before_doing_anything(tmp_path: Path, busy_port: int) -> None:
    data = tmp_path / "demo"
    result = ria("demo", "--port", str(busy_port), "--data-dir", str(data))
    assert result.returncode == 1, result.stdout + result.stderr
    line = _one_line(result)
    assert line.startswith(f"error: cannot listen for HTTP on 127.0.0.1:{busy_port}: Address already in use")
    assert "--port" in line
    assert "Ria is serving" not in result.stdout and result.stdout == ""
    assert not data.exists()  # no archive was built for nothing


def test_serve_on_a_busy_http_or_dicom_port(tmp_path: Path, busy_port: int) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    http = ria("serve", "--port", str(busy_port), *data)
    assert http.returncode == 1 and f"HTTP on 127.0.0.1:{busy_port}" in _one_line(http), http.stderr
    dicom = ria("serve", "--port", str(free_port()), "--dicom-port", str(busy_port), *data)
    assert dicom.returncode == 1, dicom.stderr
    line = _one_line(dicom)
    assert f"DICOM on 127.0.0.1:{busy_port}" in line and "--dicom-port" in line
    same = ria("serve", "--port", "8123", "--dicom-port", "8123", *data)
    assert same.returncode == 2 and "--dicom-port 8123 is the HTTP port too" in _one_line(same)


def test_dicom_listen_on_a_busy_port(tmp_path: Path, busy_port: int) -> None:
    result = ria("dicom-listen", "--port", str(busy_port), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"DICOM on 127.0.0.1:{busy_port}" in _one_line(result)


def test_a_port_taken_after_the_check_is_exit_1_not_uvicorns_3(archive: Archive, busy_port: int) -> None:
    """uvicorn's own bind failure (``sys.exit(3)``) becomes a RiaError, whose exit code is 1."""
    from ria.cli.main import _serve

    with pytest.raises(RiaError) as caught:
        _serve(archive, "127.0.0.1", busy_port)
    assert caught.value.exit_code == 1
    assert f"could not start on 127.0.0.1:{busy_port}" in caught.value.message
