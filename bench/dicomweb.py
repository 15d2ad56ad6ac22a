"""DICOMweb benchmark: Ria's DICOMweb (``ria serve``) against Orthanc's DICOMweb plugin, same corpus, one run.

Usage::

    python bench/dicomweb.py [--instances N] [--batch B] [--repeats R] [--queries Q] [--keep]

Steps (see bench/README.md):

1. generate an N-instance corpus of real pydicom CT/MR images with fresh UIDs, series of
   100 (``ria.sample.generate_corpus``), and a one-batch warm-up corpus (not timed);
2. start ``ria serve`` (fresh data folder, SQLite catalogue, defaults) and a throw-away
   Orthanc with its DICOMweb plugin (root /dicom-web/, default SQLite index, DICOM server
   off), both on 127.0.0.1 with free ports;
3. STOW-RS: POST the corpus as multipart/related; type="application/dicom" in requests of
   B instances, one at a time, the same request to Ria then to Orthanc, batch after batch;
   every instance must be reported stored (ReferencedSOPSequence; Orthanc's /statistics);
4. QIDO-RS: Q requests ``GET /studies/{study}/series`` and Q ``GET /series?PatientID=...``
   per repeat, each sent to Ria then to Orthanc; both must return the expected number of series;
5. WADO-RS: ``GET /studies/{study}/series/{series}`` for every series per repeat, the whole
   multipart body read; every part must be bit-identical to its corpus file;
6. print a side-by-side table with the goal "Ria ahead of Orthanc on every figure", PASS/MISS
   per figure.

Warm-up requests precede every timed phase. Requests say ``Accept-Encoding: identity`` (Orthanc
would otherwise gzip its answers). The exit status is 0 whatever the figures; 1 when a server
does not start or a check fails. Needs the Debian packages ``orthanc`` and ``orthanc-dicomweb``,
and ``requests``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

try:
    import requests
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench/dicomweb.py needs requests: pip install requests (or pip install -e '.[bench]')")

import pydicom
from common import machine_busy_seconds, ria_source_state, workspace
from orthanc import (
    ORTHANC_DICOMWEB_ROOT,
    BenchError,
    LoopbackServer,
    find_dicomweb_plugin,
    find_orthanc,
    start_orthanc,
    start_ria,
)

from ria.sample import CorpusInfo, generate_corpus

DEFAULT_INSTANCES = 2000
DEFAULT_BATCH = 50
DEFAULT_REPEATS = 3
DEFAULT_QUERIES = 200
SERIES_SIZE = 100
WARM_UP_SEED = "ria-bench-dicomweb-warm-up"
HTTP_TIMEOUT = 300.0
BOUNDARY = "ria-bench-8c1e0f3a9b2d4e67"
DICOM_JSON = "application/dicom+json"
STOW_CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
REFERENCED_SOP_SEQUENCE = "00081199"
FAILED_SOP_SEQUENCE = "00081198"
SERIES_UID_TAG = "0020000E"
GOAL = "Ria ahead of Orthanc on every figure"


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Instance:
    collection: str
    patient: str
    study: str
    series: str
    sop: str
    path: Path
    size: int
    digest: bytes


@dataclass
class Index:
    """The corpus as the servers should see it: instances by series, series by study and patient."""

    instances: list[Instance] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(i.size for i in self.instances)

    def series(self) -> dict[str, list[Instance]]:
        out: dict[str, list[Instance]] = {}
        for instance in self.instances:
            out.setdefault(instance.series, []).append(instance)
        return out

    def series_of(self, key: Callable[[Instance], str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for instance in self.instances:
            out.setdefault(key(instance), set()).add(instance.series)
        return out


def index_corpus(corpus: CorpusInfo) -> list[Instance]:
    """Read every file's UIDs (header only) and hash its bytes; not timed."""
    found = []
    for collection, folder in sorted(corpus.folders.items()):
        for path in sorted(folder.rglob("*.dcm")):
            data = path.read_bytes()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            found.append(
                Instance(
                    collection,
                    str(ds.PatientID),
                    str(ds.StudyInstanceUID),
                    str(ds.SeriesInstanceUID),
                    str(ds.SOPInstanceUID),
                    path,
                    len(data),
                    hashlib.sha1(data).digest(),
                )
            )
    if len(found) != corpus.instances:
        raise BenchError(f"corpus under {corpus.root} holds {len(found)} files, expected {corpus.instances}")
    return found


def batches(instances: Sequence[Instance], size: int) -> list[list[Instance]]:
    """Requests of ``size`` instances, never mixing collections (a Ria STOW-RS URL names one)."""
    out: list[list[Instance]] = []
    for instance in instances:
        if not out or len(out[-1]) == size or out[-1][0].collection != instance.collection:
            out.append([])
        out[-1].append(instance)
    return out


def stow_body(batch: Sequence[Instance]) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode("ascii")
    parts = [head + instance.path.read_bytes() + b"\r\n" for instance in batch]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode("ascii")


# --------------------------------------------------------------------------- the two servers


@dataclass
class Target:
    """One DICOMweb server under test and the time it spent answering each phase."""

    name: str
    server: LoopbackServer
    root: str  # QIDO-RS and WADO-RS service root
    stow_root: Callable[[str], str]  # collection -> STOW-RS URL
    session: requests.Session = field(default_factory=requests.Session)
    samples: dict[str, list[float]] = field(default_factory=dict)
    payload: dict[str, int] = field(default_factory=dict)  # bytes moved per phase
    overhead: dict[str, int] = field(default_factory=dict)  # multipart bytes around the DICOM
    items: dict[str, int] = field(default_factory=dict)  # instances moved per phase
    cpu: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.session.headers.update({"Accept-Encoding": "identity"})

    def record(self, phase: str, seconds: float, payload: int = 0, overhead: int = 0, items: int = 0) -> None:
        self.samples.setdefault(phase, []).append(seconds)
        self.payload[phase] = self.payload.get(phase, 0) + payload
        self.overhead[phase] = self.overhead.get(phase, 0) + overhead
        self.items[phase] = self.items.get(phase, 0) + items


def turns(targets: Sequence[Target], turn: int) -> Sequence[Target]:
    """The servers in alternating order, so that neither always goes first after the client's own work."""
    return targets if turn % 2 == 0 else targets[::-1]


def ria_target(server: LoopbackServer) -> Target:
    return Target(
        "Ria",
        server,
        f"{server.url}/dicomweb",
        lambda collection: f"{server.url}/dicomweb/collections/{collection}/studies",
    )


def orthanc_target(server: LoopbackServer) -> Target:
    root = server.url + ORTHANC_DICOMWEB_ROOT.rstrip("/")
    return Target("Orthanc", server, root, lambda _collection: f"{root}/studies")


@contextlib.contextmanager
def phase(name: str, targets: Sequence[Target], notes: list[str]) -> Iterator[None]:
    """Account a phase's CPU: each server's, this client's, and other processes' (machine minus those)."""
    times = os.times()
    before = [t.server.cpu_seconds() for t in targets]
    own = times.user + times.system
    busy = machine_busy_seconds()
    started = time.perf_counter()
    yield
    wall = time.perf_counter() - started
    times = os.times()
    own = times.user + times.system - own
    after = [t.server.cpu_seconds() for t in targets]
    servers = 0.0
    shares = []
    for target, start, end in zip(targets, before, after, strict=True):
        if start is not None and end is not None:
            target.cpu[name] = end - start
            servers += end - start
            shares.append(f"{target.name} {end - start:.1f}")
    end_busy = machine_busy_seconds()
    line = f"{name}: {wall:.1f} s wall; CPU s: {', '.join(shares)}, client {own:.1f}"
    if busy is not None and end_busy is not None and wall > 0:
        other = max(0.0, (end_busy - busy - servers - own) / wall)
        line += f", other processes {other:.2f} cores"
        if other > 0.25:
            line += " (busy machine: figures are noisy)"
    notes.append(line)
    print(f"  {line}")


# --------------------------------------------------------------------------- STOW-RS


def stow(target: Target, collection: str, body: bytes, expected: int) -> float:
    """One STOW-RS request; returns its seconds after checking every instance was stored."""
    headers = {"Content-Type": STOW_CONTENT_TYPE, "Accept": DICOM_JSON}
    started = time.perf_counter()
    response = target.session.post(
        target.stow_root(collection), data=body, headers=headers, timeout=HTTP_TIMEOUT
    )
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"{target.name} STOW-RS answered HTTP {response.status_code}: {response.text[:500]}")
    answer: dict[str, Any] = response.json()
    stored = len(answer.get(REFERENCED_SOP_SEQUENCE, {}).get("Value", []))
    failed = len(answer.get(FAILED_SOP_SEQUENCE, {}).get("Value", []))
    if stored != expected or failed:
        raise BenchError(
            f"{target.name} STOW-RS stored {stored} of {expected} instances ({failed} failed): "
            f"{response.text[:500]}"
        )
    return seconds


def bench_stow(
    targets: Sequence[Target], corpus: Sequence[Instance], warm_up: Sequence[Instance], batch: int
) -> None:
    for group in batches(warm_up, batch):  # untimed: first requests, imports, caches
        body = stow_body(group)
        for target in targets:
            stow(target, group[0].collection, body, len(group))
    os.sync()
    for turn, group in enumerate(batches(corpus, batch)):
        body = stow_body(group)
        for target in turns(targets, turn):
            seconds = stow(target, group[0].collection, body, len(group))
            target.record("stow", seconds, payload=sum(i.size for i in group), items=len(group))


def check_stored(targets: Sequence[Target], index: Index) -> None:
    """Each server's own count of what it holds must match the corpus (plus warm-up)."""
    series = index.series()
    for target in targets:
        if target.name == "Orthanc":
            stats = target.session.get(f"{target.server.url}/statistics", timeout=HTTP_TIMEOUT).json()
            got = (int(stats["CountInstances"]), int(stats["CountSeries"]))
            source = "GET /statistics"
        else:
            found = qido(target, "/series", {"limit": str(len(series) + 10)})[1]
            got = (sum(int(item["00201209"]["Value"][0]) for item in found), len(found))
            source = "QIDO-RS /series (NumberOfSeriesRelatedInstances)"
        if got != (len(index.instances), len(series)):
            raise BenchError(
                f"{target.name} holds {got[0]} instances in {got[1]} series ({source}), "
                f"expected {len(index.instances)} in {len(series)}"
            )
        print(f"  verified: {target.name} {source}: {got[0]} instances, {got[1]} series")


# --------------------------------------------------------------------------- QIDO-RS


def qido(target: Target, path: str, params: dict[str, str] | None = None) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    response = target.session.get(
        target.root + path, params=params, headers={"Accept": DICOM_JSON}, timeout=HTTP_TIMEOUT
    )
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(
            f"{target.name} GET {path} answered HTTP {response.status_code}: {response.text[:300]}"
        )
    found = response.json()
    if not isinstance(found, list):
        raise BenchError(f"{target.name} GET {path}: expected a JSON list, got {type(found).__name__}")
    return seconds, found


@dataclass(frozen=True)
class Query:
    kind: str
    path: str
    params: dict[str, str]
    expected: set[str]  # SeriesInstanceUIDs


def queries(index: Index, count: int) -> list[Query]:
    by_study = sorted(index.series_of(lambda i: i.study).items())
    by_patient = sorted(index.series_of(lambda i: i.patient).items())
    out = []
    for n in range(count):
        study, series = by_study[n % len(by_study)]
        out.append(Query("qido-study", f"/studies/{study}/series", {}, series))
    for n in range(count):
        patient, series = by_patient[n % len(by_patient)]
        out.append(Query("qido-patient", "/series", {"PatientID": patient}, series))
    return out


def run_query(target: Target, query: Query) -> float:
    seconds, found = qido(target, query.path, query.params)
    got = {str(item.get(SERIES_UID_TAG, {}).get("Value", ["?"])[0]) for item in found}
    if len(found) != len(query.expected) or got != query.expected:
        raise BenchError(
            f"{target.name} GET {query.path} {query.params} found {len(found)} series, "
            f"expected {len(query.expected)}"
        )
    return seconds


def bench_qido(targets: Sequence[Target], index: Index, count: int, repeats: int) -> None:
    requests_ = queries(index, count)
    for query in {(q.path, tuple(q.params.items())): q for q in requests_}.values():  # warm-up
        for target in targets:
            run_query(target, query)
    for _ in range(repeats):
        for turn, query in enumerate(requests_):
            for target in turns(targets, turn):
                target.record(query.kind, run_query(target, query))


# --------------------------------------------------------------------------- WADO-RS


def multipart_parts(content_type: str, body: bytes) -> list[bytes]:
    """The payloads of a multipart body (no nested parts; part headers dropped)."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise BenchError(f"multipart answer without a boundary: Content-Type {content_type}")
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(b"\r\n" + delimiter)
    first = pieces[0]
    if not first.startswith(delimiter):
        raise BenchError("multipart answer does not start with its boundary")
    pieces[0] = first[len(delimiter) :]
    if not pieces[-1].startswith(b"--"):
        raise BenchError("multipart answer does not end with its closing boundary")
    parts = []
    for piece in pieces[:-1]:
        head_end = piece.find(b"\r\n\r\n")
        if head_end < 0:
            raise BenchError("multipart part without a header block")
        parts.append(piece[head_end + 4 :])
    return parts


def retrieve(target: Target, study: str, series: str, expected: Sequence[Instance]) -> tuple[float, int, int]:
    """One series retrieval, checked part by part: (seconds, DICOM bytes, multipart overhead bytes)."""
    path = f"/studies/{study}/series/{series}"
    started = time.perf_counter()
    with target.session.get(
        target.root + path, headers={"Accept": WADO_ACCEPT}, timeout=HTTP_TIMEOUT, stream=True
    ) as response:
        body = b"".join(response.iter_content(chunk_size=1 << 20))
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"{target.name} GET {path} answered HTTP {response.status_code}: {body[:300]!r}")
    parts = multipart_parts(response.headers.get("content-type", ""), body)
    if Counter(hashlib.sha1(part).digest() for part in parts) != Counter(i.digest for i in expected):
        raise BenchError(
            f"{target.name} GET {path} delivered {len(parts)} parts, {sum(map(len, parts))} bytes; "
            f"expected the {len(expected)} corpus files ({sum(i.size for i in expected)} bytes) bit for bit"
        )
    payload = sum(len(part) for part in parts)
    return seconds, payload, len(body) - payload


def bench_wado(
    targets: Sequence[Target], corpus: Sequence[Instance], warm_up: Sequence[Instance], repeats: int
) -> None:
    for uid, members in sorted(Index(list(warm_up)).series().items()):  # untimed
        for target in targets:
            retrieve(target, members[0].study, uid, members)
    series = sorted(Index(list(corpus)).series().items())
    for repeat in range(repeats):
        for turn, (uid, members) in enumerate(series, start=repeat):
            for target in turns(targets, turn):
                seconds, payload, overhead = retrieve(target, members[0].study, uid, members)
                target.record("wado", seconds, payload=payload, overhead=overhead, items=len(members))


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Figure:
    label: str
    ria: float
    orthanc: float
    higher_is_better: bool

    @property
    def ratio(self) -> float:
        """How many times better Ria is: Ria/Orthanc for throughput, Orthanc/Ria for latency."""
        top, bottom = (self.ria, self.orthanc) if self.higher_is_better else (self.orthanc, self.ria)
        return top / bottom if bottom > 0 else float("inf")

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio > 1.0 else "MISS"


def percentile(samples: Sequence[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def figures(ria: Target, orthanc: Target) -> list[Figure]:
    def rate(target: Target, phase: str, unit: float) -> float:
        return target.payload[phase] / unit / sum(target.samples[phase])

    def stow_rate(target: Target) -> float:
        return target.items["stow"] / sum(target.samples["stow"])

    out = [Figure("STOW-RS store (instances/s)", stow_rate(ria), stow_rate(orthanc), True)]
    for kind, label in (("qido-study", "/studies/{s}/series"), ("qido-patient", "/series?PatientID=")):
        for q in (50, 99):
            out.append(
                Figure(
                    f"QIDO-RS {label} p{q} (ms)",
                    percentile(ria.samples[kind], q) * 1000,
                    percentile(orthanc.samples[kind], q) * 1000,
                    False,
                )
            )
    out.append(Figure("WADO-RS series (MB/s)", rate(ria, "wado", 1e6), rate(orthanc, "wado", 1e6), True))
    return out


def table(rows: Sequence[Figure]) -> str:
    header = f"{'figure':<38} {'Ria':>9} {'Orthanc':>9} {'ratio':>7}  goal"
    lines = [header, "-" * len(header)]
    for f in rows:
        lines.append(f"{f.label:<38} {f.ria:>9.1f} {f.orthanc:>9.1f} {f.ratio:>6.2f}x  {f.verdict}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="STOW-RS runs once per server; --repeats applies to the QIDO-RS and WADO-RS passes.",
    )
    parser.add_argument(
        "--instances", type=int, default=DEFAULT_INSTANCES, help=f"corpus size (default {DEFAULT_INSTANCES})"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH,
        help=f"instances per STOW-RS request, same for both servers (default {DEFAULT_BATCH})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help=f"timed passes of the QIDO-RS and WADO-RS requests (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_QUERIES,
        help=f"QIDO-RS requests of each kind per pass (default {DEFAULT_QUERIES})",
    )
    parser.add_argument("--orthanc", default=None, help="Orthanc executable (default: found on PATH/sbin)")
    parser.add_argument("--plugin", default=None, help="Orthanc's libOrthancDicomWeb.so (default: Debian's)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (corpus, data, logs)")
    args = parser.parse_args(argv)
    for name in ("instances", "batch", "repeats", "queries"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def run(args: argparse.Namespace) -> int:
    executable = find_orthanc(args.orthanc)  # fail before the corpus is generated
    plugin = find_dicomweb_plugin(args.plugin)
    print(f"ria-bench dicomweb {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(
        f"  python {platform.python_version()}, ria {version('ria')}, requests {version('requests')}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}"
    )
    print(f"  ria {ria_source_state()}")
    with workspace(args.keep, "ria-bench-dicomweb-") as space, contextlib.ExitStack() as stack:
        started = time.perf_counter()
        info = generate_corpus(space / "corpus", args.instances, series_size=SERIES_SIZE)
        corpus = index_corpus(info)
        warm_info = generate_corpus(space / "warm-up", args.batch, series_size=SERIES_SIZE, seed=WARM_UP_SEED)
        warm_up = index_corpus(warm_info)
        index = Index([*corpus, *warm_up])
        studies = len({i.study for i in corpus})
        print(
            f"corpus: {info.instances} instances, {info.series} series, {studies} "
            f"studies, {info.patients} patients, {info.bytes / 1e6:.1f} MB in {len(info.folders)} "
            f"collections, plus a warm-up series of {len(warm_up)} (generated in "
            f"{time.perf_counter() - started:.1f} s, not timed) under {space}"
        )

        ria_server = stack.enter_context(start_ria(space / "ria-data", space / "ria.log"))
        orthanc_server = stack.enter_context(start_orthanc(executable, plugin, space / "orthanc"))
        health = ria_server.wait_ready()
        system = orthanc_server.wait_ready()
        dicomweb_plugin = requests.get(f"{orthanc_server.url}/plugins/dicom-web", timeout=30).json()
        print(
            f"  Ria: ria serve {health.get('version', '?')} at {ria_server.url}/dicomweb "
            "(SQLite catalogue, defaults, RIA_* variables ignored)"
        )
        print(
            f"  Orthanc {system.get('Version', '?')} (DB schema {system.get('DatabaseVersion', '?')}), "
            f"DICOMweb plugin {dicomweb_plugin.get('Version', '?')} at {orthanc_server.url}"
            f"{ORTHANC_DICOMWEB_ROOT} (default SQLite index, StorageCompression off, DICOM server off)"
        )
        ria, orthanc = ria_target(ria_server), orthanc_target(orthanc_server)
        targets = (ria, orthanc)
        notes: list[str] = []

        print(f"STOW-RS: {len(batches(corpus, args.batch))} requests of up to {args.batch} instances each")
        with phase("STOW-RS", targets, notes):
            bench_stow(targets, corpus, warm_up, args.batch)
        check_stored(targets, index)

        print(f"QIDO-RS: {args.queries} requests of each kind per pass, {args.repeats} passes")
        with phase("QIDO-RS", targets, notes):
            bench_qido(targets, index, args.queries, args.repeats)
        print(f"  verified: every answer named the expected series ({2 * args.queries * args.repeats} each)")

        print(f"WADO-RS: {info.series} series per pass, {args.repeats} passes")
        with phase("WADO-RS", targets, notes):
            bench_wado(targets, corpus, warm_up, args.repeats)
        print("  verified: every part bit-identical to its corpus file")
        for target in targets:
            moved = target.payload["wado"]
            print(
                f"  {target.name}: {moved / 1e6:.1f} MB of DICOM in {len(target.samples['wado'])} responses, "
                f"multipart overhead {target.overhead['wado']} bytes, "
                f"median {statistics.median(target.samples['wado']) * 1000:.0f} ms per series"
            )

        rows = figures(ria, orthanc)
        print()
        print(f"corpus {info.instances} instances ({info.bytes / 1e6:.1f} MB), {os.cpu_count()} cores")
        print(table(rows))
        print("ratio: Ria/Orthanc for throughput, Orthanc/Ria for latency (above 1: Ria ahead)")
        passed = sum(f.verdict == "PASS" for f in rows)
        print(f"goal: {GOAL}: {passed} of {len(rows)} PASS -> {'PASS' if passed == len(rows) else 'MISS'}")
        for note in notes:
            print(f"CPU {note}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (BenchError, requests.RequestException, subprocess.SubprocessError, OSError) as exc:
        headline, _, details = str(exc).partition("\n")
        print(f"bench failed: {headline or type(exc).__name__}", file=sys.stderr)
        if details:
            print(details, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
