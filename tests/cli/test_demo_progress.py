"""``ria demo`` on a terminal shows the catalogue import's progress (its longest step), as a person sees it:
the real command in a pseudo-terminal, its screen output read back."""

from __future__ import annotations

import os
import pty
import re
from pathlib import Path

from tests.cli.test_cli import RIA


def _run_in_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as stdin/stdout/stderr: (exit code, everything it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(command[0], command, env)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


def test_the_demo_shows_the_catalogue_import_progress(tmp_path: Path) -> None:
    import duckdb
    import idc_index_data

    parquet = idc_index_data.IDC_INDEX_PARQUET_FILEPATH
    counted = duckdb.sql(f"select count(*) from '{parquet}' where collection_id like 'tcga_%'").fetchone()
    assert counted is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    env.update(TERM="xterm-256color", COLUMNS="120")
    code, screen = _run_in_terminal([*RIA, "demo", "--no-serve", "--data-dir", str(tmp_path / "d")], env)
    assert code == 0, screen[-2000:]
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    # The bar names the collection being imported and counts series done of its total.
    assert re.search(r"import TCGA-[A-Z]+\b.*\d+/\d+", plain), plain[-2000:]
    assert f"{counted[0]} series added" in plain
