"""Ingest benchmark: Ria's ``ria ingest`` CLI against Orthanc's REST API, same corpus, one run.

Usage::

    python bench/ingest.py [--instances N] [--workers W] [--orthanc-clients C] [--keep]

Steps (see bench/README.md):

1. generate an N-instance corpus of real pydicom CT/MR images with fresh UIDs
   (``ria.sample.generate_corpus``; not timed);
2. Ria: run ``ria ingest <folder> --collection <name> --data-dir <fresh dir>`` as a
   subprocess for each collection (wall time, CLI start-up included), then check
   ``ria collections list --json`` against the corpus;
3. Orthanc: start a throw-away Orthanc on 127.0.0.1 (default SQLite index, no
   plugins, no compression, DICOM server off), POST every file to ``/instances``
   from a pool of keep-alive HTTP clients, check every status and ``/statistics``;
4. print a side-by-side table and the Ria/Orthanc ratio.

Needs the Debian package ``orthanc`` (``apt-get install -y orthanc``) and ``requests``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

try:
    import requests
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench/ingest.py needs requests: pip install requests (or pip install -e '.[bench]')")

from common import machine_busy_seconds, ria_source_state, workspace
from orthanc import BenchError, LoopbackServer, find_orthanc, start_orthanc

from ria.sample import CorpusInfo, generate_corpus

# The real CLI, started the way the console script starts it, from this interpreter's
# environment: works in any venv where ria is installed, whatever is on PATH.
RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")
RIA_TIMEOUT = 3600.0
HTTP_TIMEOUT = 120.0
QUIET_LIMIT = 0.25  # cores busy before a timed phase above which the run is flagged
DEFAULT_ORTHANC_CLIENTS = 16  # 8-32 measured equal within noise here, 2-4 about 20% slower


@dataclass(frozen=True)
class Result:
    system: str
    instances: int
    seconds: float
    bytes: int
    cpu_note: str = ""

    @property
    def rate(self) -> float:
        return self.instances / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def _ria_env() -> dict[str, str]:
    """The environment without RIA_* overrides, so Ria runs with its documented defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}


def _run_ria(args: Sequence[str], timeout: float = RIA_TIMEOUT) -> subprocess.CompletedProcess[str]:
    command = [*RIA_CLI, *args]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=_ria_env(), check=False
    )
    if proc.returncode != 0:
        raise BenchError(
            f"ria {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
            f"\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def _busy_note(before: float | None, after: float | None, seconds: float) -> str:
    if before is None or after is None or seconds <= 0:
        return "machine CPU: not measured"
    busy = after - before
    return f"machine CPU {busy:.1f} core-s ({busy / seconds:.2f} of {os.cpu_count()} cores busy)"


def check_quiet(sample_seconds: float = 1.0, limit: float = QUIET_LIMIT) -> None:
    """Warn when something else is using the CPU right before a timed phase."""
    before = machine_busy_seconds()
    time.sleep(sample_seconds)
    after = machine_busy_seconds()
    if before is None or after is None:
        return
    busy = (after - before) / sample_seconds
    if busy > limit:
        print(
            f"  WARNING: the machine was already {busy:.2f} cores busy before this phase; "
            "other work is competing and the figures below are not reliable"
        )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.dcm") if p.is_file())


def bench_ria(corpus: CorpusInfo, data_dir: Path, workers: int | None) -> Result:
    extra = ["--workers", str(workers)] if workers else []
    reports: list[dict[str, Any]] = []
    check_quiet()
    busy_before = machine_busy_seconds()
    started = time.perf_counter()
    for name, folder in sorted(corpus.folders.items()):
        proc = _run_ria(
            ["ingest", str(folder), "--collection", name, "--data-dir", str(data_dir), "--json", *extra]
        )
        reports.append(json.loads(proc.stdout))
    seconds = time.perf_counter() - started
    # Whole-machine figure: ria's parse workers are grandchildren (forkserver), whose CPU
    # time getrusage(RUSAGE_CHILDREN) does not see.
    cpu_note = _busy_note(busy_before, machine_busy_seconds(), seconds)
    print(f"  {cpu_note}")

    inner = sum(float(r["seconds"]) for r in reports)
    print(f"  ria ingest pipeline time (its own report, start-up excluded): {inner:.1f} s")
    for report in reports:
        if report["ingested"] != len(_files(corpus.folders[report["collection"]])) or report["rejected"]:
            raise BenchError(f"ria ingest did not ingest every file: {json.dumps(report)[:2000]}")

    rows = json.loads(_run_ria(["collections", "list", "--json", "--data-dir", str(data_dir)]).stdout)
    # Patients are not compared: Ria counts them per collection, and the corpus files
    # each patient's CT series and MR series in two collections.
    counts = {key: sum(int(row[key]) for row in rows) for key in ("instances", "series", "bytes")}
    expected = {"instances": corpus.instances, "series": corpus.series, "bytes": corpus.bytes}
    if counts != expected or sorted(row["name"] for row in rows) != sorted(corpus.folders):
        raise BenchError(f"Ria catalogue does not match the corpus: got {counts} {rows}, expected {expected}")
    print(f"  verified: ria collections list --json = {counts}")
    return Result("Ria", counts["instances"], seconds, counts["bytes"], cpu_note)


def _statistics(orthanc: LoopbackServer) -> dict[str, Any]:
    response = requests.get(f"{orthanc.url}/statistics", timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def _upload(url: str, files: Sequence[Path], clients: int) -> list[str]:
    """POST every file with ``clients`` threads, each with its own keep-alive session."""
    counter = itertools.count()
    lock = threading.Lock()
    headers = {"Content-Type": "application/dicom", "Accept": "application/json"}

    def next_index() -> int:
        with lock:
            return next(counter)

    def work() -> list[str]:
        session = requests.Session()
        failures: list[str] = []
        try:
            while (index := next_index()) < len(files):
                path = files[index]
                response = session.post(url, data=path.read_bytes(), headers=headers, timeout=HTTP_TIMEOUT)
                if response.status_code != 200:
                    failures.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        finally:
            session.close()
        return failures

    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="orthanc-client") as pool:
        futures = [pool.submit(work) for _ in range(clients)]
        return [failure for future in futures for failure in future.result()]


def bench_orthanc(corpus: CorpusInfo, executable: Path, work: Path, clients: int) -> Result:
    files = [path for _, folder in sorted(corpus.folders.items()) for path in _files(folder)]
    orthanc = start_orthanc(executable, None, work)
    try:
        system = orthanc.wait_ready()
        print(
            f"  Orthanc {system.get('Version', '?')} (DB schema {system.get('DatabaseVersion', '?')}) "
            f"at {orthanc.url}, {clients} concurrent HTTP clients; config {work / 'orthanc.json'}"
        )
        check_quiet()
        server_before = orthanc.cpu_seconds()
        client_before = os.times()
        busy_before = machine_busy_seconds()
        started = time.perf_counter()
        failures = _upload(f"{orthanc.url}/instances", files, clients)
        seconds = time.perf_counter() - started
        client_after = os.times()
        server_after = orthanc.cpu_seconds()
        busy_after = machine_busy_seconds()
        client = (client_after.user - client_before.user) + (client_after.system - client_before.system)
        server = server_after - server_before if server_after is not None and server_before is not None else 0
        cpu_note = (
            f"{_busy_note(busy_before, busy_after, seconds)}: {server:.1f} s in Orthanc, "
            f"{client:.1f} s in the Python HTTP clients"
        )
        print(f"  {cpu_note}")
        if failures:
            shown = "\n    ".join(failures[:10])
            raise BenchError(f"{len(failures)} of {len(files)} uploads failed, e.g.:\n    {shown}")
        stats = _statistics(orthanc)
        for key, expected in (("CountInstances", corpus.instances), ("CountSeries", corpus.series)):
            if int(stats.get(key, -1)) != expected:
                raise BenchError(f"Orthanc /statistics {key} = {stats.get(key)}, expected {expected}")
        print(
            f"  verified: GET /statistics CountInstances={stats['CountInstances']} "
            f"CountSeries={stats['CountSeries']} CountPatients={stats['CountPatients']}"
        )
    finally:
        orthanc.stop()
    return Result("Orthanc", corpus.instances, seconds, corpus.bytes, cpu_note)


def _table(results: Sequence[Result]) -> str:
    header = f"{'system':<8} {'instances':>9} {'seconds':>8} {'inst/s':>8} {'MB/s':>7}"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(f"{r.system:<8} {r.instances:>9} {r.seconds:>8.1f} {r.rate:>8.0f} {r.mb_per_s:>7.1f}")
    return "\n".join(lines)


def _orthanc_version(executable: Path) -> str:
    try:
        out = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.splitlines()[0] if out.stdout else "?"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", type=int, default=20000, help="corpus size (default 20000)")
    parser.add_argument("--workers", type=int, default=None, help="ria ingest --workers (default: cores)")
    parser.add_argument(
        "--orthanc-clients",
        type=int,
        default=DEFAULT_ORTHANC_CLIENTS,
        help=f"concurrent HTTP clients posting to Orthanc (default {DEFAULT_ORTHANC_CLIENTS})",
    )
    parser.add_argument("--orthanc", default=None, help="Orthanc executable (default: found on PATH/sbin)")
    parser.add_argument("--keep", action="store_true", help="keep the corpus, Ria and Orthanc folders")
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.orthanc_clients < 1:
        parser.error("--orthanc-clients must be at least 1")
    return args


def run(args: argparse.Namespace) -> int:
    orthanc = find_orthanc(args.orthanc)  # fail before the (slow) corpus generation
    print(f"ria-bench {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(
        f"  python {platform.python_version()}, ria {version('ria')}, {_orthanc_version(orthanc)}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}"
    )
    print(f"  ria {ria_source_state()}")
    with workspace(args.keep, "ria-bench-") as space:
        started = time.perf_counter()
        corpus = generate_corpus(space / "corpus", args.instances)
        os.sync()  # the corpus's dirty pages must not be flushed on Ria's clock
        print(
            f"corpus: {corpus.instances} instances, {corpus.series} series, {corpus.patients} patients, "
            f"{corpus.bytes / 1e6:.1f} MB in {len(corpus.folders)} collections "
            f"(generated in {time.perf_counter() - started:.1f} s, not timed) under {corpus.root}"
        )

        print(
            f"Ria: ria ingest per collection, subprocess, workers={args.workers or 'default (cores)'}, "
            "defaults otherwise (SQLite catalogue, fsync on, RIA_* variables ignored)"
        )
        ria = bench_ria(corpus, space / "ria-data", args.workers)
        print(f"  {ria.instances} instances in {ria.seconds:.1f} s")
        os.sync()  # likewise, Ria's writes must not be flushed on Orthanc's clock

        print(
            "Orthanc: POST /instances; default SQLite index, StorageCompression off, no plugins, "
            "DICOM server off, loopback only, other settings at Orthanc's defaults"
        )
        result = bench_orthanc(corpus, orthanc, space / "orthanc", args.orthanc_clients)
        print(f"  {result.instances} instances in {result.seconds:.1f} s")

        print()
        print(_table([ria, result]))
        ratio = ria.rate / result.rate if result.rate else float("inf")
        print(f"Ria/Orthanc: {ratio:.2f}x (instances/s)")
        for r in (ria, result):
            print(f"{r.system}: {r.cpu_note}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
