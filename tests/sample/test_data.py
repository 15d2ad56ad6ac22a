"""The packaged TCGA tables are the originals their README describes, and the demo imports each of them."""

from __future__ import annotations

import gzip
import hashlib
import re
from importlib.resources import files
from pathlib import Path

import pytest

from ria.genomics.importer import detect_kind
from ria.sample import DEMO_TABLES

DATA = Path(str(files("ria.sample") / "data"))
README = (DATA / "README.md").read_text(encoding="utf-8")
REPO_COPIES = Path(__file__).parents[1] / "data" / "tcga"


def _recorded_digest(original: str) -> str:
    """The first SHA-256 the README gives after naming the original (uncompressed) file."""
    start = README.index(f"`{original}`")
    found = re.search(r"`([0-9a-f]{64})`", README[start:])
    assert found is not None, f"{original} has no SHA-256 in {DATA / 'README.md'}"
    return found.group(1)


@pytest.mark.parametrize("name", DEMO_TABLES)
def test_each_demo_table_decompresses_to_its_recorded_original(name: str) -> None:
    original = name.removesuffix(".gz")
    if original.startswith("tcga_lung_"):  # the shared folder's names, without the tcga_ prefix
        original = original.removeprefix("tcga_")
    digest = hashlib.sha256(gzip.decompress((DATA / name).read_bytes())).hexdigest()
    assert digest == _recorded_digest(original)
    assert name in README, "every shipped table is described (provenance, licence)"


@pytest.mark.parametrize("name", DEMO_TABLES)
def test_each_demo_table_is_a_kind_ria_imports(name: str) -> None:
    assert detect_kind(DATA / name) in {"mutations", "labels", "clinical"}


def test_the_survival_table_is_the_one_the_tests_use() -> None:
    shipped = DATA / "tcga_brca_ov_survival.csv.gz"
    assert shipped.read_bytes() == (REPO_COPIES / "tcga_brca_ov_survival.csv.gz").read_bytes()
