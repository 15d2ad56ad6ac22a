"""Every code block in README.md and docs/*.md runs, as written, against the demo archive.

A new user follows the README line by line; so does this test. ``ria demo --no-serve`` builds the demo
archive once per session; each markdown file then gets its own copy as ``./ria-data`` in a fresh folder (the
default data folder, as for a user in the folder where the demo ran), and its blocks run there in order, as
a reader would run them:

* ``bash``/``sh``/``console`` blocks as ``bash -euo pipefail`` subprocesses, with no ``RIA_*`` variable set;
  a block that writes nothing to stdout gave no answer, and fails;
* ``python`` blocks in one namespace per file (a notebook), their output checked where a ``print(...)`` line
  shows it in a comment (``...`` stands for anything);
* a block naming ``http://127.0.0.1:8080`` (the demo's address) runs against a real ``ria serve`` on the
  same copy, on a free port: that URL is the one thing rewritten.

A block that cannot run here (``pip install``, the whole suite, a server that blocks, files only the
reader has, the network) carries ``<!-- not-run: why -->`` on the line before it; anything else a block
needs first is ``<!-- setup: shell commands -->``, visible in the markdown source. Nothing is skipped
silently: an unmarked block in another language fails, and the counts are checked.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_cli import RIA
from tests.live import ria_serve

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"bash": "shell", "sh": "shell", "console": "shell", "python": "python"}
DEMO_URL = "http://127.0.0.1:8080"
FENCE = re.compile(r"^```([\w-]*)\s*$")
MARKER = re.compile(r"^<!--\s*(not-run|setup):\s*(.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    text: str
    not_run: str | None = None
    setup: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str | None:
        return None if self.not_run is not None else RUNNABLE.get(self.language)


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of one markdown file, with the markers on the lines just before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        markers: dict[str, str] = {}
        back = index - 1
        while back >= 0 and (lines[back].strip() == "" or MARKER.match(lines[back].strip())):
            marker = MARKER.match(lines[back].strip())
            if marker:
                markers.setdefault(marker.group(1), marker.group(2))
            elif markers:
                break
            back -= 1
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        text = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(
            Block(path, index + 1, opened.group(1), text, markers.get("not-run"), markers.get("setup"))
        )
        index = end + 1
    return found


ALL_BLOCKS = [block for path in DOCUMENTS for block in read_blocks(path)]
WITH_EXAMPLES = [path for path in DOCUMENTS if any(b.kind for b in read_blocks(path))]


def test_every_block_runs_or_says_why_not() -> None:
    unmarked = [b.where for b in ALL_BLOCKS if b.not_run is None and b.language not in RUNNABLE]
    assert unmarked == [], "blocks that neither run nor carry <!-- not-run: why -->"
    assert [b.where for b in ALL_BLOCKS if b.not_run is not None and not b.not_run] == []
    run = sum(1 for b in ALL_BLOCKS if b.kind)
    marked = sum(1 for b in ALL_BLOCKS if b.not_run is not None)
    assert run + marked == len(ALL_BLOCKS) and run >= 10, (run, marked)


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ria demo --no-serve``: once per session, copied for each document."""
    data = tmp_path_factory.mktemp("demo") / "ria-data"
    built = subprocess.run(
        [*RIA, "demo", "--no-serve", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    return data


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    env["COLUMNS"] = "200"
    return env


class Reader:
    """One reader working through one document in one folder: a shell, a notebook, maybe a server."""

    def __init__(self, folder: Path, stack: contextlib.ExitStack) -> None:
        self.folder = folder
        self.stack = stack
        self.namespace: dict[str, object] = {"__name__": "__readme__"}
        self.url: str | None = None

    def server_url(self) -> str:
        if self.url is None:
            log = self.folder.parent / "server.log"
            base, _pid = self.stack.enter_context(
                ria_serve(self.folder / "ria-data", log, "--local-curators")
            )
            self.url = base
        return self.url

    def prepare(self, block: Block) -> str:
        text = block.text
        if DEMO_URL in text:
            text = text.replace(DEMO_URL, self.server_url())
        if block.setup:
            self.shell(block, block.setup)
        return text

    def shell(self, block: Block, script: str) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.folder,
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=600,
        )
        assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stderr[-3000:]}"
        return done.stdout

    def python(self, block: Block, source: str) -> str:
        printed = io.StringIO()
        with contextlib.chdir(self.folder), contextlib.redirect_stdout(printed):
            exec(compile(source, block.where, "exec"), self.namespace)
        return printed.getvalue()


def _shown_output(source: str) -> list[str]:
    """What the text says ``print(...)`` lines print: the comment after each."""
    return [m.group(1) for m in re.finditer(r"^\s*print\(.*\)\s+#\s*(.+)$", source, re.MULTILINE)]


def _matches(shown: str, printed: str) -> bool:
    """Whether a whole printed line reads as ``shown`` (``...`` or ``(...)`` standing for anything)."""
    pattern = ".*".join(re.escape(part) for part in re.split(r"\(?\.\.\.\)?", shown.strip()))
    return any(re.fullmatch(pattern, line.strip()) for line in printed.splitlines())


@pytest.fixture
def reader(demo_archive: Path, tmp_path: Path) -> Iterator[Reader]:
    folder = tmp_path / "reader"
    folder.mkdir()
    shutil.copytree(demo_archive, folder / "ria-data")
    with contextlib.ExitStack() as stack:
        yield Reader(folder, stack)


@pytest.mark.parametrize("document", WITH_EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run_on_the_demo(document: Path, reader: Reader, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for block in read_blocks(document):
        if block.kind is None:
            continue
        source = reader.prepare(block)
        if block.kind == "shell":
            output = reader.shell(block, source)
            assert output.strip(), f"{block.where}: no answer on stdout"
        else:
            caplog.clear()
            output = reader.python(block, source)
            logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert logged == [], f"{block.where} logged errors (tcia_utils logs a failed download)"
            for shown in _shown_output(block.text):
                assert _matches(shown, output), f"{block.where}: printed {output!r}, the text shows {shown!r}"


def test_the_readme_counts_are_what_the_sources_say() -> None:
    """The numbers the README shows for the demo, counted from the sources without Ria: pydicom over the
    demo's images, duckdb over IDC's index, pandas over the packaged survival table."""
    import tempfile
    from importlib.resources import files

    import duckdb
    import idc_index_data
    import pandas as pd
    import pydicom

    from ria.sample import write_demo_corpus

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        corpus = write_demo_corpus(Path(scratch))
        luad = {
            pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID
            for f in corpus.folders["TCGA-LUAD"].rglob("*.dcm")
        }
    assert f"print(len(series))   # {len(luad)}\n" in readme
    parquet = idc_index_data.IDC_INDEX_PARQUET_FILEPATH
    imaged = {
        row[0]
        for row in duckdb.sql(
            f"select distinct PatientID from '{parquet}' where collection_id = 'tcga_ov' and Modality = 'CT'"
        ).fetchall()
    }
    table = pd.read_csv(str(files("ria.sample") / "data" / "tcga_brca_ov_survival.csv.gz"))
    died = table[(table["patient.vital_status"] == 1) & (table["admin.disease_code"] == "ov")]
    dead_with_ct = imaged & set(died.bcr_patient_barcode)
    assert f'print(len(cohort.patients()), "patients")   # {len(dead_with_ct)} patients\n' in readme
