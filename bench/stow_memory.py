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
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import PeakRss, ria_source_state, workspace
from orthanc import start_ria

from ria.dicomweb.multipart import MultipartReader, iter_multipart
from ria.sample.corpus import find_test_file
from ria.sample.large import LargeInstance, write_large_instance

MIB = 1 << 20
GOAL_MIB = 100
COLLECTION = "TCGA-BENCH"
_BOUNDARY = "ria-bench-boundary"


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


def stow_body(path: Path) -> Iterator[bytes]:
    """One multipart/related part holding the file, read and sent 1 MiB at a time (never held)."""
    with open(path, "rb") as handle:
        blocks = iter(lambda: handle.read(MIB), b"")
        yield from iter_multipart([("application/dicom", blocks)], _BOUNDARY, block_size=MIB)


def store(client: httpx.Client, base: str, path: Path) -> int:
    response = client.post(
        f"{base}/dicomweb/collections/{COLLECTION}/studies",
        content=stow_body(path),
        headers={"Content-Type": f'multipart/related; type="application/dicom"; boundary={_BOUNDARY}'},
    )
    return response.status_code


def retrieved_sha256(client: httpx.Client, base: str, instance: LargeInstance, spool: Path) -> str:
    """SHA-256 of the instance's one part in a WADO-RS answer, spooled to ``spool`` (then removed)."""
    url = (
        f"{base}/dicomweb/studies/{instance.study_instance_uid}/series/{instance.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )
    try:
        with client.stream("GET", url) as response, open(spool, "wb") as out:
            response.raise_for_status()
            reader = MultipartReader(response.headers["content-type"], lambda _index: out)
            for chunk in response.iter_bytes():
                reader.write(chunk)
            reader.finish()
        with open(spool, "rb") as back:
            return hashlib.file_digest(back, "sha256").hexdigest()
    finally:
        spool.unlink(missing_ok=True)


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
    with (
        start_ria(data_dir, root / f"serve-{label}.log", pythonpath=pythonpath) as server,
        httpx.Client(timeout=600) as client,
    ):
        server.wait_ready()
        base = server.url
        store(client, base, find_test_file("CT_small.dcm"))  # warm-up: imports, first connection
        time.sleep(0.5)
        with PeakRss(server.process.pid) as sampler:
            idle = sampler.rss()
            started = time.perf_counter()
            status = store(client, base, instance.path)
            seconds = time.perf_counter() - started
        peak = sampler.peak
        # A de-identified instance is stored changed (new UIDs): only a plain store can match bytes.
        exact = deidentify or (
            status == 200 and retrieved_sha256(client, base, instance, root / "back.dcm") == instance.sha256
        )
    return Figures(label, idle, peak, seconds, status, exact)


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
