"""List routes stream (issue 14, item 5): flat server memory on the whole TCGA catalogue, and a
client that hangs up midway gets its database connection returned at once.

Real data (IDC's index of every TCGA series, counted independently with duckdb), a real
``ria serve`` process whose resident set size is sampled from outside, real HTTP clients
reading whole bodies, on SQLite and PostgreSQL. TCIA's routes list remote series only where a
mirror of their buckets is mounted (``ria.api.tcia.scope``), so every server here has one.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import httpx
import pytest

from ria.archive import Archive
from ria.idc import import_idc
from ria.settings import Settings
from tests.api.conftest import LiveServer
from tests.live import PeakRss, ria_serve

MB = 1024 * 1024
ROW_KEY = b'{"SeriesInstanceUID":"'  # opens every v1 getSeries row, and nothing else


@pytest.fixture
def mirrored(settings: Settings, tmp_path: Path) -> Iterator[Archive]:
    """An archive with a (here empty) mirror of IDC's buckets mounted, so TCIA routes list remote series."""
    (tmp_path / "mirror").mkdir()
    with Archive(settings.with_overrides(remote_root=tmp_path / "mirror")) as opened:
        yield opened


def tcga_series(idc: duckdb.DuckDBPyConnection) -> int:
    row = idc.execute("SELECT count(*) FROM idc WHERE collection_id LIKE 'tcga_%'").fetchone()
    assert row is not None
    return int(row[0])


def read_series(base: str) -> tuple[int, int, bytes, bytes]:
    """An unfiltered v1 getSeries read to the end: (rows, bytes, first and last two bytes)."""
    rows = size = 0
    tail = head = b""
    with httpx.stream("GET", f"{base}/nbia-api/services/v1/getSeries", timeout=300) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        for chunk in response.iter_bytes():
            joined = tail + chunk  # a row key may straddle two chunks
            rows += joined.count(ROW_KEY) - tail.count(ROW_KEY)
            tail = joined[-len(ROW_KEY) :]
            head = head or chunk[:2]
            size += len(chunk)
    return rows, size, head, tail[-2:]


@pytest.mark.slow
def test_three_unfiltered_get_series_keep_server_memory_flat(
    mirrored: Archive, settings: Settings, idc: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The issue's figures were 103 MB idle, 520 MB for one such request and 1.23 GB for three."""
    expected = tcga_series(idc)
    started = time.perf_counter()
    import_idc(mirrored)
    loaded = time.perf_counter() - started
    mirror = ("--remote-root", str(tmp_path / "mirror"))
    log = tmp_path / "server.log"
    serving = ria_serve(settings.data_dir, log, *mirror, database_url=settings.database_url)
    with serving as (base, pid):
        time.sleep(0.5)
        with PeakRss(pid) as rss, ThreadPoolExecutor(3) as pool:
            idle = rss.rss()
            answers = list(pool.map(lambda _: read_series(base), range(3)))
    assert {answer[0] for answer in answers} == {expected}, f"rows per client: {answers}"
    assert len({answer[1] for answer in answers}) == 1, "the three bodies differ in size"
    assert all(answer[2:] == (b"[{", b"}]") for answer in answers)
    grown = (rss.peak - idle) / MB
    assert grown < 200, (
        f"peak RSS {rss.peak / MB:.0f} MB is {grown:.0f} MB above idle (loaded in {loaded:.0f} s)"
    )


def test_a_client_that_hangs_up_midway_returns_the_connection(mirrored: Archive) -> None:
    """The stream holds one pooled connection while it flows and returns it when the client goes."""
    archive = mirrored
    import_idc(archive, ("tcga_luad", "tcga_brca"))  # ~5,000 series: far more than socket buffers hold
    pool = archive.engine.pool
    with LiveServer(archive) as live, httpx.Client(base_url=live.url, timeout=20) as client:
        assert client.get("/nbia-api/services/v1/getSeries?Collection=NONE").content == b""
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        with client.stream("GET", "/nbia-api/services/v4/getSeries?format=csv") as response:
            first = next(response.iter_bytes())
            assert first.startswith(b'"SeriesInstanceUID","StudyInstanceUID"')
        # The with block closed the response (and its TCP connection) halfway through the body.
        deadline = time.monotonic() + 10
        while pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        assert client.get("/nbia-api/services/v1/getCollectionValues?format=csv").text.startswith(
            "Collection\n"
        )


STALLED = 20
"""More clients than SQLAlchemy's default pool holds (5 connections and 10 overflow)."""


def stalled_request(url: str, path: str) -> socket.socket:
    """A GET whose client reads the status line and then nothing more.

    Its receive buffer is pinned at 4 KB before connecting (the kernel would otherwise grow it
    to tens of MB and swallow the whole body), so only the server's send buffer (4 MB at most
    here) stands between the body and a server that waits for the client.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((parts.hostname, parts.port))
    stalled.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}\r\n\r\n".encode())
    assert stalled.recv(64).startswith(b"HTTP/1.1 200 OK")
    return stalled


def test_clients_that_stop_reading_hold_no_connection(mirrored: Archive) -> None:
    """Bodies are spooled at the database's pace, not the client's: more clients than the pool holds
    stop reading after the first bytes of a ~8 MB body, yet none of them holds a pooled connection
    and the server goes on answering (before, the sixteenth waited 30 s for a connection and failed).
    """
    archive = mirrored
    import_idc(archive, ("tcga_luad", "tcga_brca"))  # ~15,000 series, ~8 MB as CSV
    pool = archive.engine.pool
    assert pool.size() + 10 < STALLED  # type: ignore[attr-defined]
    with LiveServer(archive) as live, contextlib.ExitStack() as stack:
        for _ in range(STALLED):
            stalled = stalled_request(live.url, "/nbia-api/services/v4/getSeries?format=csv")
            stack.callback(stalled.close)
        deadline = time.monotonic() + 30
        while pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert pool.checkedout() == 0, "a stalled client still holds a connection"  # type: ignore[attr-defined]
        values = httpx.get(f"{live.url}/nbia-api/services/v1/getCollectionValues?format=csv", timeout=60)
        assert values.status_code == 200 and values.text.startswith("Collection\n")
