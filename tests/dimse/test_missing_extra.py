"""A missing optional extra is one line and exit 2, never a traceback.

The CLI runs in a subprocess whose ``PYTHONPATH`` starts with a folder holding a
package of the optional module's name that refuses to import — what Python does
when the extra is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RIA = [sys.executable, "-c", "from ria.cli.main import main; main()"]


def _without(module: str, tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import module`` raises ImportError."""
    blocker = tmp_path / "blocked" / module
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(f"raise ImportError('{module} is not installed here')\n")
    paths = [str(blocker.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    return os.environ | {"PYTHONPATH": os.pathsep.join(paths)}


@pytest.mark.parametrize(
    ("module", "command", "message"),
    [
        (
            "pynetdicom",
            ["dicom-listen", "--port", "11112"],
            "the DICOM node needs pynetdicom: pip install 'ria[dimse]'",
        ),
        (
            "pynetdicom",
            ["serve", "--port", "18080", "--dicom-port", "11112"],
            "the DICOM node needs pynetdicom: pip install 'ria[dimse]'",
        ),
        (
            "psycopg",
            ["check", "--database-url", "postgresql://127.0.0.1/ria"],
            "pip install 'ria[postgres]'",
        ),
    ],
    ids=["dicom-listen", "serve-dicom-port", "postgres-url"],
)
def test_a_missing_extra_is_one_line_and_exit_2(
    tmp_path: Path, module: str, command: list[str], message: str
) -> None:
    result = subprocess.run(
        [*RIA, *command, "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_without(module, tmp_path),
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
