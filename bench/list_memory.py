"""Peak server memory while list routes answer the whole catalogue (issue 14, item 5).

Starts ``ria serve`` as a subprocess on a data folder (by default a fresh ``ria demo --no-serve``
archive: the real TCGA imaging catalogue, 76,401 remote series), samples the server's resident set
size (psutil, every 10 ms, in a thread; child processes included) and prints its peak while idle,
during one unfiltered request and during three in parallel. Each client reads the whole body and
counts its rows, so a route that answers fewer rows than the catalogue holds is caught too.

    python bench/list_memory.py                                   # builds the demo (~1 min) first
    python bench/list_memory.py --data-dir /tmp/ria-demo          # an existing demo folder
    python bench/list_memory.py --data-dir /tmp/ria-demo --route /dicomweb/series
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import PeakRss, ria_source_state, workspace
from orthanc import RIA_CLI, start_ria

DEFAULT_ROUTES = ("/nbia-api/services/v1/getSeries", "/nbia-api/services/v4/getSeries?format=csv")
MB = 1024 * 1024


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


def measure(base: str, sampler: PeakRss, route: str) -> None:
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
            with start_ria(data_dir, root / "server.log", database_url=args.database_url) as server:
                server.wait_ready()
                with PeakRss(server.process.pid) as sampler:
                    measure(server.url, sampler, route)


if __name__ == "__main__":
    main()
