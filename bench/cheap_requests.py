"""Cheap requests must stay cheap: status and latency of requests that can only fail, on a big catalogue.

Usage::

    ria demo --no-serve --data-dir /tmp/riademo      # the real TCGA catalogue: 76,401 remote series
    python bench/cheap_requests.py --data-dir /tmp/riademo [--compare-to COMMIT] [--repeats 3]

Starts ``ria serve`` on the archive (and, with ``--compare-to``, a second server running the
ria source of that commit, extracted with ``git archive``), then sends each request below
``--repeats`` times and prints its HTTP status and median seconds, side by side. Every request
is invalid: the goal is a 4xx in milliseconds, before the catalogue is asked — never a 5xx,
never the price of the query it names. Exit status 1 if a server answers 5xx.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from common import ria_source_state, workspace
from orthanc import start_ria
from stow_memory import source_tree

REQUESTS = (
    "/nbia-api/services/v1/getSeries?format=bogus",
    "/nbia-api/services/v4/getSeries?format=bogus",
    "/nbia-api/services/v1/getPatient?format=bogus",
    "/nbia-api/services/v1/getUpdatedSeries?fromDate=01/01/2000&format=bogus",
    "/dicomweb/series?offset=999999999999999999999999999999",
    "/dicomweb/studies?offset=99999999999999999999",
    "/dicomweb/series?limit=-1",
    "/dicomweb/series?StudyDate=2020-01-01",
    "/dicomweb/series?includefield=NoSuchAttribute",
)


def measure(label: str, root: Path, data_dir: Path, pythonpath: str | None, repeats: int) -> dict[str, str]:
    cells: dict[str, str] = {}
    with (
        start_ria(data_dir, root / f"serve-{label}.log", pythonpath=pythonpath) as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        server.wait_ready()
        for path in REQUESTS:
            times, statuses = [], set()
            for attempt in range(repeats + 1):  # the first is a warm-up (caches, connection)
                started = time.perf_counter()
                try:
                    status = str(client.get(path).status_code)
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                if attempt:
                    statuses.add(status)
                    times.append(time.perf_counter() - started)
            cells[path] = f"{'/'.join(sorted(statuses))} {statistics.median(times):8.3f} s"
    return cells


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an archive (e.g. ria demo --no-serve)")
    parser.add_argument("--compare-to", default=None, help="also measure the ria source of this git commit")
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"ria {ria_source_state()}; archive {args.data_dir}")
    with workspace(False, prefix="ria-cheap-") as root:
        columns: dict[str, dict[str, str]] = {}
        if args.compare_to:
            tree = source_tree(args.compare_to, root)
            columns[args.compare_to] = measure("before", root, args.data_dir, tree, args.repeats)
        columns["this tree"] = measure("this tree", root, args.data_dir, None, args.repeats)
    width = max(len(path) for path in REQUESTS)
    print(f"\n{'request (status, median seconds)':<{width}}" + "".join(f"{name:>18}" for name in columns))
    for path in REQUESTS:
        print(f"{path:<{width}}" + "".join(f"{cells[path]:>18}" for cells in columns.values()))
    failed = any(cell.startswith("5") for cell in columns["this tree"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
