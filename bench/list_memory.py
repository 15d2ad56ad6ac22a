"""Peak server memory while list routes answer the whole catalogue (issue 14, item 5).

Starts ``ria serve`` as a subprocess on a data folder (by default a fresh ``ria demo --no-serve``
archive: the real TCGA imaging catalogue, 76,401 remote series), samples the server's resident set
size (psutil, every 10 ms, in a thread) and prints its peak while idle, during one unfiltered
request and during three in parallel. Each client reads the whole body and counts its rows, so a
route that answers fewer rows than the catalogue holds is caught too.

    python bench/list_memory.py                                   # builds the demo (~1 min) first
    python bench/list_memory.py --data-dir /tmp/ria-demo          # an existing demo folder
    python bench/list_memory.py --data-dir /tmp/ria-demo --route /dicomweb/series
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
from common import ria_source_state, stop_process, workspace

RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")
DEFAULT_ROUTES = ("/nbia-api/services/v1/getSeries", "/nbia-api/services/v4/getSeries?format=csv")
MB = 1024 * 1024


class PeakSampler:
    """The highest RSS of one process seen since the last :meth:`reset`, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def reset(self) -> None:
        self.peak = self.process.memory_info().rss

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def count_rows(body: bytes, media_type: str) -> int:
    """Rows in a JSON array or a CSV table (header excluded); an empty body has none."""
    if not body:
        return 0
    if "json" in media_type:
        parsed = json.loads(body)
        return len(parsed) if isinstance(parsed, list) else len(parsed.get("results", parsed))
    return body.count(b"\n") - 1


def fetch(base: str, route: str) -> tuple[int, int]:
    """GET ``route`` and read the whole body: (bytes, rows)."""
    with httpx.Client(base_url=base, timeout=600.0) as client:
        response = client.get(route, headers={"Accept": "application/dicom+json, application/json, */*"})
        response.raise_for_status()
        return len(response.content), count_rows(response.content, response.headers.get("content-type", ""))


def build_demo(root: Path) -> Path:
    data = root / "data"
    print(f"building the demo archive in {data} …", flush=True)
    subprocess.run([*RIA_CLI, "demo", "--no-serve", "--data-dir", str(data)], check=True, capture_output=True)
    return data


@contextlib.contextmanager
def server(data_dir: Path, database_url: str | None, root: Path) -> Iterator[tuple[str, int]]:
    """``ria serve`` on a free loopback port; yields its base URL and pid."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [*RIA_CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        command += ["--database-url", database_url]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=5).status_code < 500:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"ria serve did not start; see {root / 'server.log'}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        stop_process(process, log, "ria serve", 30.0)


def measure(base: str, sampler: PeakSampler, route: str) -> None:
    time.sleep(1.0)
    sampler.reset()
    time.sleep(1.0)
    idle = sampler.peak
    started = time.perf_counter()
    size, rows = fetch(base, route)
    one, one_s = sampler.peak, time.perf_counter() - started
    time.sleep(1.0)
    sampler.reset()
    started = time.perf_counter()
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: fetch(base, route), range(3)))
    three, three_s = sampler.peak, time.perf_counter() - started
    assert all(answer == (size, rows) for answer in answers), f"parallel answers differ: {answers}"
    print(f"{route}: {rows} rows, {size / MB:.1f} MB body")
    print(f"  idle           {idle / MB:7.0f} MB")
    print(f"  one request    {one / MB:7.0f} MB peak  (+{(one - idle) / MB:.0f} MB, {one_s:.1f} s)")
    print(f"  three parallel {three / MB:7.0f} MB peak  (+{(three - idle) / MB:.0f} MB, {three_s:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, help="an existing archive (default: build the demo)")
    parser.add_argument("--database-url", help="the catalogue's database, if not the folder's SQLite")
    parser.add_argument("--route", action="append", help=f"route to measure (default: {DEFAULT_ROUTES})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    print(f"ria {ria_source_state()}")
    with workspace(args.keep, prefix="ria-list-memory-") as root:
        data_dir = args.data_dir or build_demo(root)
        for route in args.route or DEFAULT_ROUTES:  # a fresh server each: freed memory is not returned
            with server(data_dir, args.database_url, root) as (base, pid), PeakSampler(pid) as sampler:
                measure(base, sampler, route)


if __name__ == "__main__":
    main()
