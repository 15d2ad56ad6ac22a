"""C-STORE benchmark: dcmtk's ``storescu`` into ``ria dicom-listen`` and into Orthanc's DICOM port, one run.

Usage::

    python bench/dimse.py [--instances N] [--rounds R] [--keep]

Steps:

1. generate an N-instance corpus of real pydicom CT/MR images with fresh UIDs
   (``ria.sample.generate_corpus``; not timed);
2. each round, for each server on a fresh data folder: start it, ``sync``, time one
   ``storescu +sd +r`` of the whole folder (one association, storescu's defaults),
   check that every instance is there (Ria: the catalogue's count; Orthanc:
   ``/statistics``), and record the server's CPU seconds during the transfer;
3. print both figures side by side, round by round, with a third for scale: a pynetdicom
   storage SCP that keeps nothing (answers Success and drops the data set), the floor of
   any pynetdicom-based node on this machine.

Ria runs with its defaults (SQLite catalogue, fsync on: each instance is durable before
its Success status). Orthanc runs with its defaults too (SQLite index, ``SyncStorageArea``
on), its DICOM server on a free port. ``TCP_NODELAY=1`` is set in the environment of
storescu and Orthanc (dcmtk reads it) — without it both stall ~40 ms per instance on
delayed ACKs; Ria sets TCP_NODELAY on its own sockets.

Needs ``apt-get install -y orthanc dcmtk``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests
from common import machine_busy_seconds, process_cpu, ria_source_state, workspace
from orthanc import BenchError, LoopbackServer, find_orthanc, free_port, orthanc_config

from ria.archive import Archive
from ria.sample import generate_corpus
from ria.settings import Settings

RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")
STORESCU_CANDIDATES = ("/usr/bin/storescu", "/usr/local/bin/storescu")
TIMEOUT = 1800.0


@dataclass(frozen=True)
class Result:
    system: str
    instances: int
    seconds: float
    server_cpu: float | None
    busy: float | None

    @property
    def rate(self) -> float:
        return self.instances / self.seconds


def find_storescu() -> str:
    for candidate in STORESCU_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise BenchError("dcmtk's storescu not found; install it with: apt-get install -y dcmtk")


def _send(storescu: str, port: int, called: str, corpus: Path) -> float:
    """Wall seconds of one storescu association carrying every file of ``corpus``."""
    env = os.environ | {"TCP_NODELAY": "1"}
    os.sync()  # earlier writes must not be flushed on this clock
    started = time.perf_counter()
    done = subprocess.run(
        [storescu, "-aec", called, "+sd", "+r", "127.0.0.1", str(port), str(corpus)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"storescu failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def run_ria(storescu: str, corpus: Path, work: Path, instances: int) -> Result:
    work.mkdir(parents=True, exist_ok=True)
    data = work / "ria-data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    log = open(work / "ria.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*RIA_CLI, "dicom-listen", "--port", str(port), "-c", "BENCH", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        if "listening" not in process.stdout.readline():
            raise BenchError(f"ria dicom-listen did not start; see {work / 'ria.log'}")
        cpu_before, busy_before = process_cpu(process.pid), machine_busy_seconds()
        seconds = _send(storescu, port, "RIA", corpus)
        cpu_after, busy_after = process_cpu(process.pid), machine_busy_seconds()
    finally:
        process.terminate()
        process.communicate(timeout=60)
        log.close()
    with Archive(Settings(data_dir=data, workers=1)) as archive:
        stored = archive.catalog.instance_count()
    if stored != instances:
        raise BenchError(f"Ria catalogued {stored} instances, not {instances}")
    return Result("Ria", instances, seconds, _delta(cpu_before, cpu_after), _delta(busy_before, busy_after))


def run_orthanc(executable: Path, storescu: str, corpus: Path, work: Path, instances: int) -> Result:
    work.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config = orthanc_config(work, http_port) | {
        "DicomServerEnabled": True,
        "DicomPort": dicom_port,
        "DicomAet": "ORTHANC",
    }
    (work / "orthanc.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    env = os.environ | {"TCP_NODELAY": "1"}
    command = [str(executable), str(work / "orthanc.json")]
    with LoopbackServer(
        "Orthanc", command, http_port, "/system", work / "orthanc.log", env=env, cwd=work
    ) as server:
        server.wait_ready()
        cpu_before, busy_before = server.cpu_seconds(), machine_busy_seconds()
        seconds = _send(storescu, dicom_port, "ORTHANC", corpus)
        cpu_after, busy_after = server.cpu_seconds(), machine_busy_seconds()
        stats = requests.get(f"{server.url}/statistics", timeout=60).json()
    if int(stats["CountInstances"]) != instances:
        raise BenchError(f"Orthanc holds {stats['CountInstances']} instances, not {instances}")
    return Result(
        "Orthanc", instances, seconds, _delta(cpu_before, cpu_after), _delta(busy_before, busy_after)
    )


# A pynetdicom storage SCP that keeps nothing, as Ria's node is configured (TCP_NODELAY, 1 MiB PDUs).
_FLOOR_SCP = """
import socket, sys
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
def nodelay(event):
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
ae = AE("FLOOR")
ae.maximum_pdu_size = 1 << 20
ae.require_called_aet = False
for context in AllStoragePresentationContexts:
    ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
handlers = [(evt.EVT_C_STORE, lambda event: 0x0000), (evt.EVT_REQUESTED, nodelay)]
server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
print(server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
"""


def run_floor(storescu: str, corpus: Path, instances: int) -> Result:
    process = subprocess.Popen(
        [sys.executable, "-c", _FLOOR_SCP], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        port = int(process.stdout.readline())
        cpu_before, busy_before = process_cpu(process.pid), machine_busy_seconds()
        seconds = _send(storescu, port, "FLOOR", corpus)
        cpu_after, busy_after = process_cpu(process.pid), machine_busy_seconds()
        process.stdin.close()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return Result("no-op", instances, seconds, _delta(cpu_before, cpu_after), _delta(busy_before, busy_after))


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _row(result: Result) -> str:
    cpu = "-" if result.server_cpu is None else f"{1000 * result.server_cpu / result.instances:.2f}"
    busy = "-" if result.busy is None else f"{result.busy / result.seconds:.2f}"
    return (
        f"{result.system:<8} {result.instances:>9} {result.seconds:>9.2f} {result.rate:>12.1f} "
        f"{cpu:>16} {busy:>12}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--orthanc", default=None, help="path of the Orthanc executable")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    try:
        storescu = find_storescu()
        orthanc = find_orthanc(args.orthanc)
        with workspace(args.keep, "ria-bench-dimse-") as root:
            corpus = root / "corpus"
            generate_corpus(corpus, args.instances, seed="ria-bench-dimse")
            size = sum(path.stat().st_size for path in corpus.rglob("*.dcm"))
            print(f"C-STORE with storescu, one association, {args.instances} instances ({size / 1e6:.0f} MB)")
            print(f"  ria {ria_source_state()}")
            print("system   instances   seconds  instances/s server CPU ms/inst   cores busy")
            for round_number in range(args.rounds):
                work = root / f"round{round_number}"
                ria = run_ria(storescu, corpus, work / "ria", args.instances)
                print(_row(ria))
                other = run_orthanc(orthanc, storescu, corpus, work / "orthanc", args.instances)
                print(_row(other))
                floor = run_floor(storescu, corpus, args.instances)
                print(_row(floor))
                print(
                    f"  round {round_number + 1}: Ria/Orthanc {ria.rate / other.rate:.2f}x (instances/s); "
                    f"a pynetdicom SCP keeping nothing: {floor.rate / other.rate:.2f}x"
                )
                shutil.rmtree(work, ignore_errors=True)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
