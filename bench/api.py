"""TCIA API benchmark: getSeries latency over a million-instance catalogue, getImage against a file copy.

Why: TCIA clients (tcia_utils, NBIA Data Retriever, notebooks) hit ``getSeries``
once per patient or collection and then download series with ``getImage``. The
first has to stay interactive when the catalogue is TCIA-sized, and the second
should run close to what the disk can deliver. This script measures both
against a real ``ria serve`` over loopback HTTP, with these goals:

- ``getSeries`` by PatientID: p50 < 20 ms with 1,000,000 instances catalogued;
- ``getImage`` of one series: at least 70 % of the rate of copying the same
  DICOM files with ``shutil.copyfile``.

Usage::

    python bench/api.py [--instances N] [--requests R] [--download-mb MB] [--repeats K]
                        [--database-url postgresql://postgres@127.0.0.1:5432/bench]
                        [--data-dir DIR] [--keep] [--quick]

Steps (see bench/README.md):

1. open an archive (``ria.archive.Archive``, which migrates the schema) in a temp
   folder or ``--data-dir``; with ``--database-url`` its catalogue goes to a
   throw-away PostgreSQL database created for the run and dropped afterwards;
2. write one real series of ``--download-mb`` MB with ``ria.sample.generate_corpus``
   (pydicom's 512x512 uncompressed CT slice, new UIDs) and ingest it with
   ``Archive.ingest``; its files are the file-copy baseline;
3. add the synthetic rest of the catalogue directly with SQLAlchemy Core bulk
   inserts (no DICOM files, no blobs): 20 TCGA-style collections, patients with
   two studies of 2-3 series each (CT, MR, PT, MG, SEG, SR; several body parts,
   manufacturers and models), hierarchical UIDs under pydicom's 1.2.826.0.1.3680043.8.498
   root, series counters equal to their instance rows;
4. start ``ria serve`` as a subprocess on a free loopback port, wait for ``/api/v1/health``;
5. time ``getSeries`` (v1 by Collection, by PatientID and by Modality; v4 by
   PatientID) with a keep-alive ``requests.Session``, random values each request;
6. time ``getImage`` of the real series (the ZIP streamed to a file) against
   ``shutil.copyfile`` of its source files, alternating, best of ``--repeats``;
   both read warm page cache and write to tmpfs (``/dev/shm``) when it has room;
7. print the figures next to the goals with PASS/MISS.

The exit status is 0 whatever the figures (this is a benchmark); 1 when a step fails.
Needs ``requests`` (``pip install -e '.[bench]'``) and, for PostgreSQL, ``psycopg``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

try:
    import requests
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench/api.py needs requests: pip install requests (or pip install -e '.[bench]')")

from api_catalogue import BenchError, CatalogueGenerator, Totals, catalogue_totals, finish_load
from api_server import QUIET_LIMIT, BackendCpu, CpuWatch, Server, own_cpu, server_version, throwaway_database
from common import ria_source_state
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.database import normalise_url
from ria.errors import RiaError
from ria.sample import generate_corpus
from ria.sample.corpus import find_test_file
from ria.settings import Settings

# The real CLI, started from this interpreter's environment (as bench/ingest.py does).
RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")

DEFAULT_INSTANCES = 1_000_000
DEFAULT_REQUESTS = 200
DEFAULT_DOWNLOAD_MB = 300
DEFAULT_REPEATS = 5
QUICK_INSTANCES = 100_000
QUICK_REQUESTS = 50
QUICK_DOWNLOAD_MB = 50
WARMUP_REQUESTS = 10
LATENCY_GOAL_MS = 20.0
THROUGHPUT_GOAL = 0.70
SERVER_START_TIMEOUT = 120.0
SERVER_STOP_TIMEOUT = 30.0
HTTP_TIMEOUT = 600.0
CHUNK = 1 << 20
INSERT_BATCH = 25_000  # instance rows per transaction while generating
SEED = 20261125
UID_ROOT = "1.2.826.0.1.3680043.8.498"  # pydicom's root, as generate_uid() uses
MANIFEST = "bench-api.json"  # in the data folder: lets --data-dir reuse a kept archive
SOURCE_FOLDER = "bench-source"  # in the data folder: the real series' DICOM files
# Largest real CT first: a 512x512 uncompressed slice (~526 kB) from pydicom-data,
# pydicom's own 128x128 CT when pydicom-data is not installed.
DOWNLOAD_TEMPLATES = ("693_UNCR.dcm", "CT_small.dcm")
DOWNLOAD_COLLECTION = "TCGA-LUAD"  # generate_corpus files CT under this name
QUERY_MODALITIES = ("CT", "MR", "PT")
SHM = "/dev/shm"  # tmpfs: download and copy targets, when it has room


# --------------------------------------------------------------------------- building the archive


@dataclass
class BuiltArchive:
    """What the measurements need to know about the archive under test."""

    download_series: str
    source_files: list[Path]
    totals: Totals


def _download_template() -> Path:
    for name in DOWNLOAD_TEMPLATES:
        with contextlib.suppress(RiaError):
            return find_test_file(name)
    raise BenchError(f"none of the pydicom test files {', '.join(DOWNLOAD_TEMPLATES)} is installed")


def ingest_download_series(
    archive: Archive, source: Path, megabytes: int, run: int
) -> tuple[str, list[Path]]:
    """Write one real CT series of about ``megabytes`` MB and ingest it; return its UID and files."""
    template = _download_template()
    files = max(1, math.ceil(megabytes * 1e6 / template.stat().st_size))
    started = time.perf_counter()
    corpus = generate_corpus(
        source,
        files,
        templates=(template.name,),
        series_size=files,
        series_per_patient=1,
        seed=f"ria-bench-api-{run}",
    )
    paths = sorted(p for p in source.rglob("*.dcm") if p.is_file())
    print(
        f"  real series: {corpus.instances} x {template.name} = {corpus.bytes / 1e6:.1f} MB "
        f"written in {time.perf_counter() - started:.1f} s under {source}"
    )
    if len(paths) != files or len(corpus.folders) != 1:
        raise BenchError(f"generate_corpus wrote {len(paths)} files in {sorted(corpus.folders)}")
    (name, folder), *_ = corpus.folders.items()
    report = archive.ingest([folder], name)
    if report.ingested != files or not report.ok:
        raise BenchError(f"ingest of the real series: {report.summary()}")
    print(f"  ingested: {report.summary()}")
    found = archive.catalog.series(principal=OPERATOR)
    if len(found) != 1 or found[0].image_count != files:
        raise BenchError(f"expected one series of {files} instances after ingest, found {found[:3]}")
    return found[0].series_instance_uid, paths


def build_archive(settings: Settings, target_instances: int, download_mb: int) -> BuiltArchive:
    run = int(time.time()) % 1_000_000_000
    source = settings.data_dir / SOURCE_FOLDER
    with Archive(settings) as archive:
        if archive.catalog.instance_count():
            raise BenchError(f"the catalogue at {settings.catalog_url} is not empty")
        uid, files = ingest_download_series(archive, source, download_mb, run)

        print(f"  synthetic catalogue: {target_instances} instances in batches of {INSERT_BATCH} rows")
        started = time.perf_counter()
        last_note = [started]

        def progress(totals: Totals) -> None:
            now = time.perf_counter()
            if now - last_note[0] >= 15:
                last_note[0] = now
                rate = totals.instances / (now - started)
                print(f"    {totals.instances} instances, {totals.series} series ({rate:,.0f} instances/s)")

        used = {row.patient_id for row in archive.catalog.patients(principal=OPERATOR)}
        with archive.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA cache_size=-524288"))  # 512 MiB for this load only
            generated = CatalogueGenerator(conn, run, used).generate(target_instances, progress)
        insert_seconds = time.perf_counter() - started
        finish_load(archive)
        seconds = time.perf_counter() - started
        rate = generated.instances / insert_seconds
        print(
            f"  generated {generated.instances} instances in {generated.series} series in {seconds:.1f} s "
            f"(inserts {insert_seconds:.1f} s, {rate:,.0f} instances/s; then checkpoint/ANALYZE)"
        )
        totals = catalogue_totals(archive)
    manifest = {"download_series": uid, "source_files": [str(p) for p in files], "run": run}
    (settings.data_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return BuiltArchive(uid, files, totals)


def reuse_archive(settings: Settings) -> BuiltArchive:
    manifest = json.loads((settings.data_dir / MANIFEST).read_text(encoding="utf-8"))
    files = [Path(p) for p in manifest["source_files"]]
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise BenchError(f"{len(missing)} source files of the kept archive are gone, e.g. {missing[0]}")
    with Archive(settings) as archive:
        totals = catalogue_totals(archive)
    return BuiltArchive(str(manifest["download_series"]), files, totals)


# --------------------------------------------------------------------------- measurements
@dataclass(frozen=True)
class Latency:
    name: str
    samples_ms: tuple[float, ...]
    rows: tuple[int, ...]
    goal_ms: float | None = None
    other_cores: float | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[98]

    @property
    def mean_rows(self) -> float:
        return statistics.fmean(self.rows)

    @property
    def verdict(self) -> str:
        if self.goal_ms is None:
            return ""
        return "PASS" if self.p50 < self.goal_ms else "MISS"


def _rows_in(response: requests.Response) -> int:
    if not response.content:  # TCIA v1: an empty result is 200 with an empty body
        return 0
    body = response.json()
    if not isinstance(body, list):
        raise BenchError(f"{response.url}: expected a JSON list, got {type(body).__name__}")
    return len(body)


def measure_latency(
    session: requests.Session,
    name: str,
    url: str,
    parameters: Callable[[], dict[str, str]],
    count: int,
    server_cpu: Callable[[], float | None],
    goal_ms: float | None = None,
) -> Latency:
    """Time ``count`` GETs (status line to last body byte) after a few untimed warm-up requests."""
    samples: list[float] = []
    rows: list[int] = []
    with CpuWatch(server_cpu) as watch:
        _timed_gets(session, url, parameters, count, samples, rows)
    result = Latency(name, tuple(samples), tuple(rows), goal_ms, watch.other_cores)
    print(
        f"  {name}: p50 {result.p50:.1f} ms, p99 {result.p99:.1f} ms, "
        f"{result.mean_rows:.1f} rows per response on average; {watch.note()}"
    )
    return result


def _timed_gets(
    session: requests.Session,
    url: str,
    parameters: Callable[[], dict[str, str]],
    count: int,
    samples: list[float],
    rows: list[int],
) -> None:
    for index in range(-min(WARMUP_REQUESTS, count), count):
        params = parameters()
        started = time.perf_counter()
        response = session.get(url, params=params, timeout=HTTP_TIMEOUT)  # reads the whole body
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise BenchError(f"GET {response.url}: HTTP {response.status_code} {response.text[:300]}")
        found = _rows_in(response)
        if index >= 0:
            samples.append(elapsed * 1000)
            rows.append(found)


@dataclass(frozen=True)
class Throughput:
    name: str
    payload_bytes: int
    seconds: tuple[float, ...]
    other_cores: float | None = None

    @property
    def best(self) -> float:
        return self.payload_bytes / 1e6 / min(self.seconds)

    @property
    def median(self) -> float:
        return self.payload_bytes / 1e6 / statistics.median(self.seconds)


def _download(session: requests.Session, url: str, uid: str, target: Path) -> tuple[float, int]:
    """Stream getImage's ZIP into ``target``; return (seconds, bytes received)."""
    received = 0
    started = time.perf_counter()
    with (
        session.get(url, params={"SeriesInstanceUID": uid}, stream=True, timeout=HTTP_TIMEOUT) as response,
        open(target, "wb") as out,
    ):
        if response.status_code != 200:
            raise BenchError(f"GET {response.url}: HTTP {response.status_code} {response.text[:300]}")
        for chunk in response.iter_content(chunk_size=CHUNK):
            out.write(chunk)
            received += len(chunk)
    return time.perf_counter() - started, received


def _copy(files: Sequence[Path], target: Path) -> float:
    """Copy ``files`` into the new folder ``target`` with shutil.copyfile; return seconds."""
    started = time.perf_counter()
    target.mkdir()
    for path in files:
        shutil.copyfile(path, target / path.name)
    return time.perf_counter() - started


def _check_zip(path: Path, files: Sequence[Path]) -> None:
    """The ZIP must hold every instance of the series, byte for byte the same total."""
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        dicom = [info for info in members if info.filename.lower().endswith(".dcm")]
        payload = sum(info.file_size for info in dicom)
    expected = sum(p.stat().st_size for p in files)
    if len(dicom) != len(files) or payload != expected:
        raise BenchError(
            f"getImage ZIP holds {len(dicom)} .dcm members ({payload} bytes) of {len(members)} members; "
            f"expected {len(files)} ({expected} bytes)"
        )
    extra = len(members) - len(dicom)
    print(f"  getImage ZIP checked: {len(dicom)} DICOM members, {payload} bytes" + (
        f", plus {extra} other member(s)" if extra else ""))  # fmt: skip


def _filesystem(path: Path) -> str:
    """The type of the file system holding ``path`` (from /proc/mounts; Linux only)."""
    best, kind = "", "unknown file system"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and path.is_relative_to(fields[1]) and len(fields[1]) > len(best):
                best, kind = fields[1], fields[2]
    return kind


def measure_download(
    session: requests.Session,
    url: str,
    uid: str,
    files: Sequence[Path],
    scratch: Path,
    repeats: int,
    server_cpu: Callable[[], float | None],
) -> tuple[Throughput, Throughput]:
    """getImage against shutil.copyfile of the same files, alternating, after one untimed warm-up of each.

    Both read warm page cache (the series was just written and ingested; caches
    cannot be dropped without root) and both write their output into ``scratch``
    (tmpfs when there is room: on a disk-backed file system, block allocation and
    discards made copy rates here swing between 0.3 and 3 GB/s from run to run).
    """
    payload = sum(p.stat().st_size for p in files)
    target = scratch / "getImage.zip"
    _, received = _download(session, url, uid, target)
    _check_zip(target, files)
    target.unlink()
    shutil.rmtree(scratch / "copy-warmup", ignore_errors=True)
    _copy(files, scratch / "copy-warmup")
    shutil.rmtree(scratch / "copy-warmup")
    print(f"  {len(files)} files, {payload / 1e6:.1f} MB of DICOM; the ZIP is {received / 1e6:.1f} MB")
    download_times: list[float] = []
    copy_times: list[float] = []
    server_used = client_used = 0.0
    with CpuWatch(server_cpu) as watch:
        for repeat in range(repeats):
            server_before, client_before = server_cpu(), own_cpu()
            seconds, _ = _download(session, url, uid, target)
            server_after, client_after = server_cpu(), own_cpu()
            if server_before is not None and server_after is not None:
                server_used += server_after - server_before
            client_used += client_after - client_before
            target.unlink()
            download_times.append(seconds)
            folder = scratch / f"copy-{repeat}"
            copy_times.append(_copy(files, folder))
            shutil.rmtree(folder)
            print(
                f"    run {repeat + 1}: getImage {payload / 1e6 / seconds:.0f} MB/s, "
                f"copy {payload / 1e6 / copy_times[-1]:.0f} MB/s"
            )
    print(f"  {watch.note()}")
    gigabytes = payload * repeats / 1e9
    print(
        f"  CPU per GB of getImage: ria serve {server_used / gigabytes:.2f} s, "
        f"this client (requests, writing the file) {client_used / gigabytes:.2f} s; "
        f"wall {sum(download_times) / gigabytes:.2f} s"
    )
    return (
        Throughput("getImage", payload, tuple(download_times), watch.other_cores),
        Throughput("file copy", payload, tuple(copy_times), watch.other_cores),
    )


# --------------------------------------------------------------------------- report


def _other(cores: float | None) -> str:
    if cores is None:
        return "?"
    return f"{cores:.2f}" + ("!" if cores > QUIET_LIMIT else "")


def render_table(latencies: Sequence[Latency], download: Throughput, copy: Throughput) -> str:
    """The figures next to their goals; ``other`` is the cores other processes used meanwhile."""
    header = (
        f"{'measurement':<34} {'n':>4} {'rows/resp':>9} {'p50 ms':>8} {'p99 ms':>8} {'other':>6}  "
        f"{'goal':<13} result"
    )
    lines = [header, "-" * len(header)]
    for item in latencies:
        goal = f"p50 < {item.goal_ms:.0f} ms" if item.goal_ms is not None else "-"
        lines.append(
            f"{item.name:<34} {len(item.samples_ms):>4} {item.mean_rows:>9.1f} {item.p50:>8.1f} "
            f"{item.p99:>8.1f} {_other(item.other_cores):>6}  {goal:<13} {item.verdict}"
        )
    lines.append("")
    header = (
        f"{'measurement':<34} {'n':>4} {'MB/s best':>9} {'median':>8} {'':>8} {'other':>6}  "
        f"{'goal':<13} result"
    )
    lines += [header, "-" * len(header)]
    for rate in (download, copy):
        lines.append(
            f"{rate.name:<34} {len(rate.seconds):>4} {rate.best:>9.0f} {rate.median:>8.0f} {'':>8} "
            f"{_other(rate.other_cores):>6}"
        )
    ratio = download.best / copy.best if copy.best else 0.0
    median_ratio = download.median / copy.median if copy.median else 0.0
    verdict = "PASS" if ratio >= THROUGHPUT_GOAL else "MISS"
    goal = ">= " + format(THROUGHPUT_GOAL, ".0%")
    lines.append(
        f"{'getImage / file copy':<34} {'':>4} {ratio:>9.0%} {median_ratio:>8.0%} {'':>8} {'':>6}  "
        f"{goal:<13} {verdict}"
    )
    if any(cores is not None and cores > QUIET_LIMIT for cores in _all_other(latencies, download)):
        lines.append(f"! other processes used more than {QUIET_LIMIT} cores: that figure is not reliable")
    return "\n".join(lines)


def _all_other(latencies: Sequence[Latency], download: Throughput) -> list[float | None]:
    return [item.other_cores for item in latencies] + [download.other_cores]


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--instances", type=int, default=None, help=f"catalogue size (default {DEFAULT_INSTANCES:_})"
    )
    parser.add_argument(
        "--requests", type=int, default=None, help=f"timed requests per query (default {DEFAULT_REQUESTS})"
    )
    parser.add_argument(
        "--download-mb",
        type=int,
        default=None,
        help=f"size of the real series (default {DEFAULT_DOWNLOAD_MB})",
    )
    parser.add_argument(
        "--repeats", type=int, default=DEFAULT_REPEATS, help=f"getImage/copy runs (default {DEFAULT_REPEATS})"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/bench: the catalogue goes "
        "to a new database <name>_api_bench_<pid> there, dropped at the end (default: SQLite)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="build the archive here instead of a temp folder (never deleted); a folder kept from an "
        "earlier SQLite run is reused as it is",
    )
    parser.add_argument(
        "--write-dir",
        type=Path,
        default=None,
        help=f"where getImage's ZIP and the file copies are written (default: {SHM} when it has room, "
        "else the temp folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (and PostgreSQL database)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_INSTANCES:_} instances, {QUICK_REQUESTS} requests, {QUICK_DOWNLOAD_MB} MB "
        "(explicit options still win)",
    )
    args = parser.parse_args(argv)
    defaults = (
        (QUICK_INSTANCES, QUICK_REQUESTS, QUICK_DOWNLOAD_MB)
        if args.quick
        else (DEFAULT_INSTANCES, DEFAULT_REQUESTS, DEFAULT_DOWNLOAD_MB)
    )
    for name, default in zip(("instances", "requests", "download_mb"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    if args.requests < 2:
        parser.error("--requests must be at least 2 (percentiles)")
    if args.download_mb < 1:
        parser.error("--download-mb must be at least 1")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


@contextlib.contextmanager
def _workspace(data_dir: Path | None, keep: bool) -> Iterator[tuple[Path, Path]]:
    """(scratch folder, data folder): a temp folder for both unless ``data_dir`` is given."""
    root = Path(tempfile.mkdtemp(prefix="ria-bench-api-"))
    try:
        yield root, (data_dir.resolve() if data_dir is not None else root / "ria-data")
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def prepare(settings: Settings, args: argparse.Namespace) -> BuiltArchive:
    data_dir = settings.data_dir
    if args.data_dir is not None and (data_dir / MANIFEST).is_file() and settings.database_url is None:
        print(f"reusing the archive kept in {data_dir} (--instances and --download-mb are ignored)")
        return reuse_archive(settings)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BenchError(f"{data_dir} is neither empty nor an archive kept by an earlier SQLite run")
    backend = "PostgreSQL" if settings.database_url else "SQLite"
    print(f"building the archive in {data_dir} (catalogue: {backend})")
    return build_archive(settings, args.instances, args.download_mb)


def write_folder(explicit: Path | None, fallback: Path, needed: int) -> Path:
    """Where downloads and copies are written: ``explicit``, else tmpfs if it has room, else ``fallback``."""
    if explicit is not None:
        return explicit
    shm = Path(SHM)
    with contextlib.suppress(OSError):
        if (
            shm.is_dir()
            and os.access(shm, os.W_OK)
            and shutil.disk_usage(shm).free > 2 * needed + (256 << 20)
        ):
            return shm
    return fallback


def _local_postgres(url: str) -> bool:
    parsed = make_url(normalise_url(url))
    return parsed.get_backend_name() == "postgresql" and parsed.host in (
        None,
        "",
        "localhost",
        "127.0.0.1",
        "::1",
    )


def measure(settings: Settings, built: BuiltArchive, args: argparse.Namespace, scratch: Path) -> str:
    with Archive(settings, migrate=False) as archive:
        people = [row.patient_id for row in archive.catalog.patients(principal=OPERATOR)]
        names = archive.catalog.collection_names(principal=OPERATOR)
    rng = random.Random(SEED + 1)
    server = Server(settings, scratch / "server.log")
    url = settings.database_url
    backends = BackendCpu(url) if url is not None and _local_postgres(url) else None

    def archive_cpu() -> float | None:
        """ria serve's CPU, plus its PostgreSQL backends' when the catalogue is a local PostgreSQL."""
        own = server.cpu_seconds()
        return None if own is None else own + (backends() if backends is not None else 0.0)

    try:
        health = server.wait_ready()
        print(f"ria serve at {server.url}: {json.dumps(health)}")
        if backends is not None:
            print("  CPU figures for ria serve include its PostgreSQL backends")
        cpu_before = archive_cpu()
        session = requests.Session()
        v1 = f"{server.url}/nbia-api/services/v1"
        v4 = f"{server.url}/nbia-api/services/v4"
        n = args.requests
        warmup = min(WARMUP_REQUESTS, n)
        print(f"getSeries, {n} timed requests each after {warmup} untimed, one keep-alive session:")
        latencies = [
            measure_latency(
                session,
                "v1 getSeries?Collection=",
                f"{v1}/getSeries",
                lambda: {"Collection": rng.choice(names)},
                n,
                archive_cpu,
            ),
            measure_latency(
                session,
                "v1 getSeries?PatientID=",
                f"{v1}/getSeries",
                lambda: {"PatientID": rng.choice(people)},
                n,
                archive_cpu,
                LATENCY_GOAL_MS,
            ),
            measure_latency(
                session,
                f"v1 getSeries?Modality= ({'/'.join(QUERY_MODALITIES)})",
                f"{v1}/getSeries",
                lambda: {"Modality": rng.choice(QUERY_MODALITIES)},
                n,
                archive_cpu,
            ),
            measure_latency(
                session,
                "v4 getSeries?PatientID=",
                f"{v4}/getSeries",
                lambda: {"PatientID": rng.choice(people)},
                n,
                archive_cpu,
                LATENCY_GOAL_MS,
            ),
        ]
        uid = built.download_series
        print(f"getImage?SeriesInstanceUID={uid} against shutil.copyfile, {args.repeats} runs:")
        payload = sum(p.stat().st_size for p in built.source_files)
        base = write_folder(args.write_dir, scratch, payload)
        output = Path(tempfile.mkdtemp(prefix="ria-bench-api-", dir=base))
        print(f"  output of both written under {output} ({_filesystem(output)})")
        try:
            download, copy = measure_download(
                session,
                f"{v1}/getImage",
                built.download_series,
                built.source_files,
                output,
                args.repeats,
                archive_cpu,
            )
        finally:
            shutil.rmtree(output, ignore_errors=True)
        cpu_after = archive_cpu()
        session.close()
    finally:
        server.stop()
        if backends is not None:
            backends.close()
    if cpu_before is not None and cpu_after is not None:
        print(f"ria serve (with its database backends) used {cpu_after - cpu_before:.1f} s of CPU in all")
    return render_table(latencies, download, copy)


def run(args: argparse.Namespace) -> int:
    print(f"ria-bench api {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(
        f"  python {platform.python_version()}, ria {version('ria')}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"  ria {ria_source_state()}")
    with contextlib.ExitStack() as stack:
        scratch, data_dir = stack.enter_context(_workspace(args.data_dir, args.keep))
        database_url: str | None = None
        if args.database_url:
            database_url = stack.enter_context(throwaway_database(args.database_url, args.keep))
            print(f"  PostgreSQL {server_version(database_url)}")
        settings = Settings(data_dir=data_dir, database_url=database_url)
        started = time.perf_counter()
        built = prepare(settings, args)
        print(f"catalogue: {built.totals.describe()} (ready in {time.perf_counter() - started:.1f} s)")
        table = measure(settings, built, args, scratch)
        backend = "PostgreSQL" if database_url else "SQLite"
        print()
        print(f"{backend} catalogue, {built.totals.instances:,} instances in {built.totals.series:,} series")
        print(
            f"goals: p50 < {LATENCY_GOAL_MS:.0f} ms for getSeries by patient at 1M instances; "
            f"getImage >= {THROUGHPUT_GOAL:.0%} of the file-copy rate (best runs; both read warm page cache)"
        )
        print(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (BenchError, RiaError, requests.RequestException, subprocess.TimeoutExpired) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
