"""Two `ria ingest` processes writing the same archive at once: every instance lands exactly once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ria.archive import Archive
from ria.settings import Settings
from tests.conftest import Corpus

pytestmark = pytest.mark.slow


def test_overlapping_concurrent_ingests(tmp_path: Path, corpus: Corpus, database_url: str | None) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "RIA_DATA_DIR": str(data_dir), "RIA_BATCH_SIZE": "7"}
    if database_url:
        env["RIA_DATABASE_URL"] = database_url
    with Archive(Settings(data_dir=data_dir, database_url=database_url)):
        pass  # create the catalogue first, as an operator's `ria init` would
    command = [sys.executable, "-c", "from ria.cli.main import main; main()", "ingest", str(corpus.root)]
    runs = [
        subprocess.Popen(
            [*command, "-c", "TCGA-LUAD", "--workers", "1"], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    counts = []
    for output in outputs:
        match = re.search(r"(\d+) ingested, (\d+) duplicate, (\d+) conflict, (\d+) rejected", output)
        assert match, output
        counts.append(tuple(int(n) for n in match.groups()))
    # Each instance is ingested by exactly one run and found as a duplicate by the other.
    assert sum(c[0] for c in counts) == len(corpus.sop_uids), outputs
    assert sum(c[1] for c in counts) == len(corpus.files), outputs
    assert all(c[2] == c[3] == 0 for c in counts)
    with Archive(Settings(data_dir=data_dir, database_url=database_url)) as archive:
        assert archive.catalog.instance_count() == len(corpus.sop_uids)
        report = archive.check(verify_hashes=True)
        assert report.consistent and report.orphan_blobs == 0
