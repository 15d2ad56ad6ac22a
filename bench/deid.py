"""De-identification benchmark: ``ria ingest`` with and without ``--deidentify``, same corpus, one run.

The issue's goal: de-identified ingest at no less than half the plain ingest rate.
Both runs use the CLI a curator uses, into fresh archives, over the same generated
corpus of real pydicom CT/MR images (site patient IDs mapped to TCGA barcodes by a
CSV, as a curator provides). Rates include process start-up, as a user sees them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pydicom
from common import ria_source_state

from ria.sample import generate_corpus

RIA_CLI = (sys.executable, "-c", "from ria.cli.main import main; main()")
GOAL = 0.5


def _relabel(root: Path, map_path: Path) -> int:
    """Give every patient a site ID (what sites send) and write the curator's map to TCGA barcodes."""
    targets: dict[str, str] = {}
    files = sorted(root.rglob("*.dcm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            ds = pydicom.dcmread(path)
            barcode = str(ds.PatientID)
            site = targets.setdefault(barcode, f"MRN{len(targets) + 100001}")
            ds.PatientID = site
            ds.PatientName = f"Doe^{site}"
            ds.save_as(path, enforce_file_format=True)
    with open(map_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_patient_id", "target_patient_id"])
        writer.writerows((site, barcode) for barcode, site in targets.items())
    return len(files)


def _ingest(corpus: Path, data: Path, extra: list[str]) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    result = subprocess.run(
        [*RIA_CLI, "ingest", str(corpus), "-c", "TCGA-LUAD", "--json", "--data-dir", str(data), *extra],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("RIA_")},
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"bench failed: ria ingest exited {result.returncode}: {result.stderr.strip()[-500:]}")
    report: dict[str, object] = json.loads(result.stdout)
    return seconds, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", type=int, default=4000, help="corpus size (default 4000)")
    parser.add_argument("--profile", default="tcia", help="--deidentify profile (default tcia)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3; best is kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ria-bench-deid-") as scratch:
        root = Path(scratch)
        corpus = root / "corpus"
        info = generate_corpus(corpus, args.instances, series_size=100)
        id_map = root / "map.csv"
        files = _relabel(corpus, id_map)
        print(f"ria {ria_source_state()}")
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        size = info.bytes / 1e6
        print(f"corpus: {files} files, {size:.1f} MB, {info.patients} patients; profile {args.profile}")
        best: dict[str, float] = {}
        for run in range(args.repeats):
            for name, extra in (
                ("plain", []),
                ("deidentified", ["--deidentify", args.profile, "--id-map", str(id_map)]),
            ):
                seconds, report = _ingest(corpus, root / f"{name}-{run}", extra)
                if report["ingested"] != files:
                    sys.exit(f"bench failed: {name} ingest took {report['ingested']} of {files} files")
                rate = files / seconds
                best[name] = max(best.get(name, 0.0), rate)
                print(f"  run {run + 1}: {name:13s} {rate:7.0f} files/s ({seconds:.2f} s)")
        ratio = best["deidentified"] / best["plain"]
        verdict = "PASS" if ratio >= GOAL else "MISS"
        print(f"best: plain {best['plain']:.0f} files/s, de-identified {best['deidentified']:.0f} files/s")
        print(f"de-identified / plain = {ratio:.0%} (goal >= {GOAL:.0%}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
