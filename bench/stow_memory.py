"""STOW-RS memory benchmark: the server's peak RSS while it stores one very large instance.

Usage::

    python bench/stow_memory.py [--megabytes 300] [--compare-to COMMIT] [--keep]

Steps:

1. write one multi-frame CT of about ``--megabytes`` of random pixel data (a real sample's
   header, ``ria.sample.large``), streamed to disk so this script never holds it;
2. start ``ria serve`` (fresh data folder, SQLite catalogue) on loopback and warm it up with
   one small STOW-RS request, then read its idle RSS;
3. POST the large instance as one multipart/related part, the body streamed from a generator,
   while a thread samples the server process's RSS (with its children) every 10 ms;
4. retrieve it over WADO-RS and compare the SHA-256 of the part with the source file's;
5. with ``--compare-to COMMIT``, do 2-4 again with the ria source of that commit
   (``git archive``) and print both side by side.

The goal: peak RSS stays under 100 MB above idle. Exit status 1 if a server does not start
or the instance does not come back byte-exact.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from common import ria_source_state, stop_process, workspace

from ria.dicomweb.multipart import MultipartReader
from ria.sample.corpus import find_test_file
from ria.sample.large import LargeInstance, write_large_instance

MIB = 1 << 20
GOAL_MIB = 100
COLLECTION = "TCGA-BENCH"
_BOUNDARY = "ria-bench-boundary"
_SERVE = "from ria.cli.main import main; main()"


@dataclass(frozen=True)
class Figures:
    label: str
    idle_rss: int
    peak_rss: int
    store_seconds: float
    status: int
    byte_exact: bool

    @property
    def rise(self) -> int:
        return self.peak_rss - self.idle_rss


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakSampler(threading.Thread):
    """Samples a process tree's RSS until stopped; keeps the highest value seen."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _tree_rss(self.process))
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def stow_body(path: Path) -> Iterator[bytes]:
    """One multipart/related part holding the file, read in 1 MiB blocks."""
    yield f"--{_BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    with open(path, "rb") as handle:
        while block := handle.read(MIB):
            yield block
    yield f"\r\n--{_BOUNDARY}--\r\n".encode()


def store(client: httpx.Client, base: str, path: Path) -> int:
    response = client.post(
        f"{base}/dicomweb/collections/{COLLECTION}/studies",
        content=stow_body(path),
        headers={"Content-Type": f'multipart/related; type="application/dicom"; boundary={_BOUNDARY}'},
    )
    return response.status_code


class _HashSink:
    def __init__(self, digest: hashlib._Hash) -> None:
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def close(self) -> None:
        return None


def retrieved_sha256(client: httpx.Client, base: str, instance: LargeInstance) -> str:
    """SHA-256 of the instance's one part in a WADO-RS answer, read as it streams."""
    digest = hashlib.sha256()
    url = (
        f"{base}/dicomweb/studies/{instance.study_instance_uid}/series/{instance.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )
    with client.stream("GET", url) as response:
        response.raise_for_status()
        reader = MultipartReader(response.headers["content-type"], lambda _index: _HashSink(digest))  # type: ignore[arg-type,return-value]
        for chunk in response.iter_bytes():
            reader.write(chunk)
        reader.finish()
    return digest.hexdigest()


def _require_deidentification(data_dir: Path, root: Path) -> None:
    """Make the collection de-identify on the way in (profile tcia, an ID map for MRN-1)."""
    from ria.archive import open_archive

    id_map = root / "id-map.csv"
    id_map.write_text("source_patient_id,target_patient_id\nMRN-1,TCGA-05-4244\n")
    with open_archive(data_dir) as archive:
        archive.require_deidentification(COLLECTION, "tcia")
        archive.store_id_map(COLLECTION, id_map)


def run_server(
    label: str, root: Path, instance: LargeInstance, pythonpath: str | None, deidentify: bool = False
) -> Figures:
    data_dir = root / f"data-{label}"
    if deidentify:
        _require_deidentification(data_dir, root)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-c", _SERVE, "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = open(root / f"serve-{label}.log", "wb")  # noqa: SIM115 (closed by stop_process)
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        with httpx.Client(timeout=600) as client:
            _wait_ready(client, base, process)
            store(client, base, find_test_file("CT_small.dcm"))  # warm-up: imports, first connection
            time.sleep(0.5)
            idle = _tree_rss(psutil.Process(process.pid))
            sampler = PeakSampler(process.pid)
            sampler.start()
            started = time.perf_counter()
            status = store(client, base, instance.path)
            seconds = time.perf_counter() - started
            peak = sampler.stop()
            # A de-identified instance is stored changed (new UIDs): only a plain store can match bytes.
            exact = deidentify or (
                status == 200 and retrieved_sha256(client, base, instance) == instance.sha256
            )
    finally:
        stop_process(process, log, "ria serve", 30)
    return Figures(label, idle, peak, seconds, status, exact)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(client: httpx.Client, base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ria serve exited with {process.returncode}")
        try:
            if client.get(f"{base}/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("ria serve did not become healthy within 60 s")


def source_tree(commit: str, root: Path) -> str:
    """The src/ folder of ``commit``, extracted with git archive; returned for PYTHONPATH."""
    target = root / f"src-{commit}"
    target.mkdir()
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", commit, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return str(target / "src")


def report(rows: Sequence[Figures], size: int) -> None:
    print(f"\nSTOW-RS of one {size / MIB:.0f} MiB instance (one part); server RSS incl. children")
    print(f"{'':<28}" + "".join(f"{row.label:>16}" for row in rows))
    lines: list[tuple[str, Callable[[Figures], str]]] = [
        ("idle RSS (MiB)", lambda r: f"{r.idle_rss / MIB:.0f}"),
        ("peak RSS (MiB)", lambda r: f"{r.peak_rss / MIB:.0f}"),
        (f"rise (MiB, goal < {GOAL_MIB})", lambda r: f"{r.rise / MIB:.0f}"),
        ("store time (s)", lambda r: f"{r.store_seconds:.1f}"),
        ("HTTP status", lambda r: str(r.status)),
        ("retrieved byte-exact", lambda r: "yes" if r.byte_exact else "NO"),  # not checked if de-identified
    ]
    for name, cell in lines:
        print(f"{name:<28}" + "".join(f"{cell(row):>16}" for row in rows))
    for row in rows:
        print(f"{row.label}: {'PASS' if row.rise < GOAL_MIB * MIB else 'MISS'} (rise under {GOAL_MIB} MiB)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=300, help="pixel data size in MiB (default 300)")
    parser.add_argument("--compare-to", default=None, help="also measure the ria source of this git commit")
    parser.add_argument(
        "--deidentify", action="store_true", help="store into a de-identifying collection (profile tcia)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (instance, data, logs)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"ria {ria_source_state()}")
    with workspace(args.keep, prefix="ria-stow-memory-") as root:
        instance = write_large_instance(root / "large.dcm", args.megabytes * MIB, patient_id="MRN-1")
        rows = []
        if args.compare_to:
            tree = source_tree(args.compare_to, root)
            rows.append(run_server(args.compare_to, root, instance, tree, args.deidentify))
        rows.append(run_server("this tree", root, instance, None, args.deidentify))
        report(rows, instance.size)
    return 0 if all(row.byte_exact for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
