"""``ria.cli.tables``: TSV for pipes, readable tables on a terminal, human sizes; real processes.

A terminal here is a real pseudo-terminal (``pty``) of a fixed width, as a user's window is.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Sequence
from pathlib import Path

import pydicom
import pytest

from ria.cli.tables import human_size
from tests.cli.test_cli import RIA, db_args, ria
from tests.conftest import Corpus

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(argv: Sequence[str], columns: int, rows: int = 50) -> str:
    """Run ``argv`` with stdout on a pseudo-terminal ``columns`` wide; its output without colours."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    sizing = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE")
    env = {k: v for k, v in os.environ.items() if k not in sizing}
    env |= {"NO_COLOR": "1", "TERM": "xterm"}
    chunks = []
    with subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.PIPE, env=env
    ) as process:
        os.close(terminal)
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(controller)
        stderr = process.stderr.read().decode() if process.stderr else ""
        assert process.wait(timeout=300) == 0, stderr
    return _ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("num_bytes", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (52_428_800, "52.4 MB"),
        (3_081_929.3e6, "3.1 TB"),  # the "3081929.3 MB"
        (123_456_789_012, "123 GB"),
        (10**21, "1000 EB"),
    ],
)
def test_human_size(num_bytes: float, shown: str) -> None:
    assert human_size(num_bytes) == shown


def _expected_rows(corpus: Corpus) -> dict[str, str]:
    """What pydicom reads: instances, patients and the modalities of the ingested files."""
    modalities = sorted({str(pydicom.dcmread(f, stop_before_pixels=True).Modality) for f in corpus.files})
    return {
        "collection": "TCGA-LUAD",
        "patients": str(len(corpus.patients)),
        "studies": str(len(corpus.study_uids)),
        "series": str(len(corpus.series_uids)),
        "instances": str(len(corpus.sop_uids)),
        "size": human_size(corpus.total_bytes),
        "modalities": ", ".join(modalities),
    }


def test_collections_list_piped_is_tsv(tmp_path: Path, corpus: Corpus, database_url: str | None) -> None:
    """Piped, ``ria collections list`` is a header and one TSV row per collection, size in human units."""
    args = db_args(tmp_path, database_url)
    assert ria("ingest", str(corpus.root), "-c", "TCGA-LUAD", *args).returncode == 0
    result = ria("collections", "list", *args)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t"))
    assert rows == [_expected_rows(corpus)]
    assert re.fullmatch(r"\d+(\.\d)? (B|kB|MB|GB)", rows[0]["size"])


def test_collections_list_on_a_terminal(tmp_path: Path, corpus: Corpus) -> None:
    """On an 80-column terminal the same values, whole, in a table."""
    assert ria("ingest", str(corpus.root), "-c", "TCGA-LUAD", "--data-dir", str(tmp_path)).returncode == 0
    shown = run_in_terminal([*RIA, "collections", "list", "--data-dir", str(tmp_path)], columns=80)
    assert "…" not in shown and "\t" not in shown
    assert all(len(line) <= 80 for line in shown.splitlines())
    for value in _expected_rows(corpus).values():
        assert value in shown


_SCRIPT = """
import sys
from ria.cli.tables import print_table
print_table(["id", "empty", "uid"], [[1, None, "1.2.840.10008." + "9" * 60], [2, "", "short"]])
"""


def test_terminal_drops_empty_columns_and_wraps_long_values() -> None:
    """A column with no value is not shown; a 74-character UID in 40 columns wraps instead of ``…``."""
    shown = run_in_terminal([sys.executable, "-c", _SCRIPT], columns=40)
    assert "empty" not in shown
    assert "…" not in shown
    assert all(len(line) <= 40 for line in shown.splitlines())
    assert ("1.2.840.10008." + "9" * 60) in re.sub(r"[\s│|┃]+", "", shown)
    piped = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True)
    assert list(csv.reader(io.StringIO(piped.stdout), delimiter="\t")) == [
        ["id", "empty", "uid"],
        ["1", "", "1.2.840.10008." + "9" * 60],
        ["2", "", "short"],
    ]
