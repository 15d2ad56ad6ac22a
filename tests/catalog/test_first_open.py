"""The first open of an archive, and every schema upgrade, is all or nothing; concurrent first opens all win.

Crashes are real: a subprocess counts the SQL statements it sends (an SQLAlchemy event on every
``Engine``, nothing in Ria patched) and ``kill -9``s its own process group right after the N-th.
Sweeping N over a run makes the sweep deterministic: every chosen moment is hit on every machine,
so a catalogue left half-built at any of them fails the test for sure, not by luck of timing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ria.archive import Archive
from ria.catalog.database import HEAD_REVISION, create_catalog_engine, current_revision
from ria.catalog.schema import metadata
from ria.settings import Settings

pytestmark = pytest.mark.slow

# Runs `open` (open the archive, close it) or `ria ARGS…`, killing its process group after
# RIA_TEST_KILL_AFTER statements (0: never); on a normal exit it reports how many it sent.
KILLER = r"""
import atexit, os, signal, sys
from sqlalchemy import Engine, event

limit = int(os.environ["RIA_TEST_KILL_AFTER"])
sent = 0

def count(*_args):
    global sent
    sent += 1
    if sent == limit:
        os.killpg(0, signal.SIGKILL)

event.listen(Engine, "after_cursor_execute", count)
atexit.register(lambda: print(f"statements={sent}", file=sys.stderr))
if sys.argv[1] == "open":
    from ria.archive import Archive
    from ria.settings import Settings
    Archive(Settings.from_env()).close()
else:
    from ria.cli.main import main
    sys.argv = ["ria", *sys.argv[2:]]
    main()
"""

# Opens the archive once all N openers have imported everything (a file barrier), so they race.
OPENER = r"""
import sys, time
from pathlib import Path
from ria.archive import Archive
from ria.settings import Settings

barrier, me, everyone = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(barrier / me).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < everyone and time.monotonic() < deadline:
    time.sleep(0.002)
with Archive(Settings.from_env()) as archive:
    print(archive.catalog.collection_names())
"""



def _env(data_dir: Path, url: str, kill_after: int = 0) -> dict[str, str]:
    return {
        **os.environ,
        "RIA_DATA_DIR": str(data_dir),
        "RIA_DATABASE_URL": url,
        "RIA_BATCH_SIZE": "10",
        "RIA_WORKERS": "1",
        "RIA_TEST_KILL_AFTER": str(kill_after),
    }


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the killer script to its end or its kill; its return code and stderr."""
    done = subprocess.run(
        [sys.executable, "-c", KILLER, *args],
        env=env,
        capture_output=True,
        timeout=300,
        start_new_session=True,  # its own process group: the kill takes any workers too
    )
    return done.returncode, done.stderr.decode()


def _statements(args: list[str], env: dict[str, str]) -> int:
    returncode, stderr = _run(args, env)
    assert returncode == 0, stderr
    found = re.search(r"statements=(\d+)", stderr)
    assert found, stderr
    return int(found.group(1))


def _kill_points(total: int, points: int) -> list[int]:
    """``points`` statement counts spread evenly over a run of ``total`` statements."""
    return sorted({max(1, total * step // (points + 1)) for step in range(1, points + 1)})


def _killed(args: list[str], env: dict[str, str]) -> None:
    returncode, stderr = _run(args, env)
    assert returncode == -signal.SIGKILL, f"not killed (exit {returncode}): {stderr}"


@pytest.fixture
def fresh_catalogue(tmp_path: Path, database_url: str | None) -> Iterator[Callable[[str], tuple[Path, str]]]:
    """Hands out (data folder, catalogue URL) pairs, each catalogue brand new and empty."""

    def fresh(name: str) -> tuple[Path, str]:
        data_dir = tmp_path / name
        if database_url is None:
            return data_dir, f"sqlite:///{data_dir / 'catalog.sqlite'}"
        _drop_everything(database_url)
        return data_dir, database_url

    yield fresh


def _drop_everything(url: str) -> None:
    engine = create_catalog_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _assert_at_head(engine: Engine) -> None:
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def _assert_nothing_or_head(url: str) -> str:
    """A killed first open leaves no catalogue at all or a whole one: never some of the tables."""
    engine = create_catalog_engine(url)
    try:
        revision = current_revision(engine)
        tables = set(inspect(engine).get_table_names())
        if revision is None:
            assert tables == set(), f"half a catalogue: {sorted(tables)} without a revision"
        else:
            _assert_at_head(engine)
        return "none" if revision is None else revision
    finally:
        engine.dispose()


def test_killed_first_open_leaves_no_catalogue_or_a_whole_one(
    fresh_catalogue: Callable[[str], tuple[Path, str]],
) -> None:
    data_dir, url = fresh_catalogue("count")
    total = _statements(["open"], _env(data_dir, url))
    outcomes = []
    for point in _kill_points(total, 6):
        data_dir, url = fresh_catalogue(f"kill-{point}")
        _killed(["open"], _env(data_dir, url, point))
        outcomes.append(_assert_nothing_or_head(url))
        with Archive(Settings(data_dir=data_dir, database_url=url)) as archive:
            _assert_at_head(archive.engine)
    assert "none" in outcomes, "no kill landed inside the migration"
