"""A 300 MB STOW-RS part costs the server a fixed amount of memory, and comes back byte-exact.

A real ``ria serve`` process on loopback receives one multipart/related part holding a real
multi-frame CT with 300 MiB of pixel data, streamed by the client from a generator; a thread
samples the server's RSS (psutil) all the while. The rise over idle must stay under 100 MiB,
and WADO-RS must give back the very bytes sent (SHA-256, hashed as the answer streams).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from ria.dicomweb.multipart import MultipartReader
from ria.sample import find_test_file
from ria.sample.large import LargeInstance, write_large_instance

pytestmark = pytest.mark.slow

MIB = 1 << 20
BOUNDARY = "stow-memory-boundary"
STOW = "/dicomweb/collections/TCGA-LUAD/studies"
HEADERS = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``ria serve`` in its own process: (base URL, pid)."""
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    command = [sys.executable, "-c", "from ria.cli.main import main; main()", "serve", "--port", str(port)]
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--data-dir", str(tmp_path / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None and time.monotonic() < deadline, "ria serve did not start"
                try:
                    if httpx.get(f"{base}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def _body(path: Path) -> Iterator[bytes]:
    yield f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    with open(path, "rb") as handle:
        while block := handle.read(MIB):
            yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _rss(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


class _Hash:
    def __init__(self, digest: hashlib._Hash) -> None:
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def close(self) -> None:
        return None


def _retrieved_sha256(client: httpx.Client, instance: LargeInstance) -> str:
    digest = hashlib.sha256()
    url = (
        f"/dicomweb/studies/{instance.study_instance_uid}/series/{instance.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        reader = MultipartReader(response.headers["content-type"], lambda _i: _Hash(digest))  # type: ignore[arg-type,return-value]
        for chunk in response.iter_bytes():
            reader.write(chunk)
        assert len(reader.finish()) == 1
    return digest.hexdigest()


def test_a_300_mb_part_is_spooled_not_held(served: tuple[str, int], tmp_path: Path) -> None:
    base, pid = served
    instance = write_large_instance(tmp_path / "large.dcm", 300 * MIB)
    assert instance.size > 300 * MIB
    server = psutil.Process(pid)
    with httpx.Client(base_url=base, timeout=600) as client:
        warm = client.post(STOW, content=_body(find_test_file("CT_small.dcm")), headers=HEADERS)
        assert warm.status_code == 200  # imports and first connection paid before idle is read
        time.sleep(0.5)
        idle = _rss(server)
        peak = idle
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _rss(server))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            response = client.post(STOW, content=_body(instance.path), headers=HEADERS)
        finally:
            done.set()
            sampler.join()
        assert response.status_code == 200, response.text[:300]
        assert peak - idle < 100 * MIB, f"peak RSS {peak / MIB:.0f} MiB, idle {idle / MIB:.0f} MiB"
        assert _retrieved_sha256(client, instance) == instance.sha256
