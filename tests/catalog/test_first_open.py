"""The first open of an archive, and every schema upgrade, is all or nothing; concurrent first opens all win.

Crashes are real: a subprocess counts the SQL statements it sends (an SQLAlchemy event on every
``Engine``, nothing in Ria patched) and ``kill -9``s its own process group right after the N-th.
Sweeping N over a run makes the sweep deterministic: every chosen moment is hit on every machine,
so a catalogue left half-built at any of them fails the test for sure, not by luck of timing.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ria.archive import Archive
from ria.catalog.database import HEAD_REVISION, create_catalog_engine, current_revision, upgrade_schema
from ria.catalog.schema import metadata
from ria.errors import CatalogUnavailableError
from ria.sample import generate_corpus
from ria.settings import Settings

pytestmark = pytest.mark.slow

# A fork server: imports Ria once, then for each request (a JSON line) forks a child that runs
# `open` (opens the archive and closes it) or `ria ARGS…`, output to the request's log, and kills its
# own process group right after its `kill_after`-th SQL statement (0: never). One JSON line answers:
# the child's exit status (minus the signal if killed), how many statements it sent, and how many up
# to the schema migration's last (the one that records the revision). Forking keeps a sweep of
# kill points quick: no run pays for starting Python and importing Ria.
RUNNER = r"""
import json, os, signal, sys, traceback
from sqlalchemy import Engine, event
from ria.archive import Archive
from ria.cli.main import main
from ria.settings import Settings

def child(request, report):
    os.setpgid(0, 0)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.update(request["env"])
    counts = {"sent": 0, "migrated": 0}

    def count(_conn, _cursor, statement, *_args):
        counts["sent"] += 1
        if "alembic_version SET" in statement:
            counts["migrated"] = counts["sent"]
        if counts["sent"] == request["kill_after"]:
            os.killpg(0, signal.SIGKILL)

    event.listen(Engine, "after_cursor_execute", count)
    code = 0
    try:
        if request["args"] == ["open"]:
            Archive(Settings.from_env()).close()
        else:
            sys.argv = ["ria", *request["args"]]
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(report, json.dumps(counts).encode())
    os._exit(code)

for line in sys.stdin:
    request = json.loads(line)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        child(request, write)
    os.close(write)
    with os.fdopen(read) as pipe:
        counts = json.loads(pipe.read() or "{}")
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    print(json.dumps({"status": status, **counts}), flush=True)
"""

# Opens the archive once all N openers have imported everything (a file barrier), so they race.
OPENER = r"""
import sys, time
from pathlib import Path
from ria.archive import Archive
from ria.catalog.database import current_revision
from ria.settings import Settings

barrier, me, everyone = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(barrier / me).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < everyone and time.monotonic() < deadline:
    time.sleep(0.002)
with Archive(Settings.from_env()) as archive:
    print(current_revision(archive.engine))
"""


def _env(data_dir: Path, url: str) -> dict[str, str]:
    """The settings every run here uses, as ``RIA_*`` variables."""
    return {
        "RIA_DATA_DIR": str(data_dir),
        "RIA_DATABASE_URL": url,
        "RIA_BATCH_SIZE": "10",
        "RIA_WORKERS": "1",
    }


@dataclass(frozen=True)
class Run:
    status: int
    """The exit code, or minus the signal that ended the run."""
    sent: int
    migrated: int
    log: str


class Runner:
    """Client of the fork server (:data:`RUNNER`)."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._numbers = itertools.count()
        self._server = subprocess.Popen(
            [sys.executable, "-c", RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, args: list[str], data_dir: Path, url: str, kill_after: int = 0) -> Run:
        log = self._logs / f"run-{next(self._numbers)}.log"
        request = {"args": args, "env": _env(data_dir, url), "kill_after": kill_after, "log": str(log)}
        assert self._server.stdin is not None and self._server.stdout is not None
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        answer = self._server.stdout.readline()
        assert answer, "the fork server died"
        found = json.loads(answer)
        text = log.read_text() if log.exists() else ""
        return Run(found["status"], found.get("sent", 0), found.get("migrated", 0), text)

    def close(self) -> None:
        assert self._server.stdin is not None
        self._server.stdin.close()
        self._server.wait(timeout=30)
        if self._server.stdout is not None:
            self._server.stdout.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    runner = Runner(tmp_path_factory.mktemp("runs"))
    yield runner
    runner.close()


def _statements(run: Runner, args: list[str], data_dir: Path, url: str) -> tuple[int, int]:
    """How many statements a whole run sends, and how many until its migration's last."""
    done = run(args, data_dir, url)
    assert done.status == 0, done.log
    return done.sent, done.migrated


def _kill_points(total: int, points: int, database_url: str | None) -> list[int]:
    """Statement counts spread evenly over a run of ``total`` statements: ``points`` of them on SQLite.

    PostgreSQL's server makes each upgrade one transaction whatever the driver does, so fewer
    points there (a guard against a future statement that cannot run in a transaction) keep
    the sweep quick; SQLite's atomicity rests on Ria's own BEGIN, so it is swept more closely.
    """
    if database_url is not None:
        points = 3
    return sorted({max(1, total * step // (points + 1)) for step in range(1, points + 1)})


def _killed(run: Runner, args: list[str], data_dir: Path, url: str, point: int) -> None:
    done = run(args, data_dir, url, point)
    assert done.status == -signal.SIGKILL, f"not killed (exit {done.status}): {done.log}"


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
    fresh_catalogue: Callable[[str], tuple[Path, str]], run: Runner, database_url: str | None
) -> None:
    data_dir, url = fresh_catalogue("count")
    total, _ = _statements(run, ["open"], data_dir, url)
    outcomes = []
    for point in _kill_points(total, 6, database_url):
        data_dir, url = fresh_catalogue(f"kill-{point}")
        _killed(run, ["open"], data_dir, url, point)
        outcomes.append(_assert_nothing_or_head(url))
        with Archive(Settings(data_dir=data_dir, database_url=url)) as archive:
            _assert_at_head(archive.engine)
    assert "none" in outcomes, "no kill landed inside the migration"


def test_concurrent_first_opens_all_succeed(
    fresh_catalogue: Callable[[str], tuple[Path, str]], tmp_path: Path
) -> None:
    """Four processes open one brand-new catalogue at the same moment: the first migrates, the rest wait."""
    openers = 4
    data_dir, url = fresh_catalogue("shared")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(barrier), str(number), str(openers)],
            env={**os.environ, **_env(data_dir, url)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for number in range(openers)
    ]
    failures = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(stderr.decode().strip().splitlines()[-1])
    assert failures == []
    engine = create_catalog_engine(url)
    _assert_at_head(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("first-ingest")
    generate_corpus(root, 30, series_size=10, seed="first-open")
    return root, 30


def test_killed_first_ingest_then_rerun_completes(
    fresh_catalogue: Callable[[str], tuple[Path, str]], small_corpus: tuple[Path, int], run: Runner
) -> None:
    """`ria ingest` into a fresh folder, killed while it creates the catalogue or files the first batches."""
    root, size = small_corpus
    args = ["ingest", str(root), "--collection", "TCGA-LUAD", "--workers", "1"]
    data_dir, url = fresh_catalogue("count")
    total, migrated = _statements(run, args, data_dir, url)
    # Half-way through creating the catalogue, just before it commits, half-way through the files.
    for point in (migrated // 2, migrated, (migrated + total) // 2):
        data_dir, url = fresh_catalogue(f"kill-{point}")
        _killed(run, args, data_dir, url, point)
        _assert_nothing_or_head(url)
        with Archive(Settings(data_dir=data_dir, database_url=url)) as archive:
            report = archive.check()
        assert report.consistent, f"killed after statement {point}: {report}"
        rerun = run(args, data_dir, url)
        assert rerun.status == 0, f"rerun after a kill at statement {point}: {rerun.log}"
        with Archive(Settings(data_dir=data_dir, database_url=url)) as archive:
            _assert_at_head(archive.engine)
            report = archive.check()
        assert report.consistent and report.instances == size, f"killed after statement {point}: {report}"


START = "0004"
ROWS = (
    "INSERT INTO collection (name, created_at) VALUES ('TCGA-LUAD', '2026-01-01 00:00:00')",
    "INSERT INTO patient (collection_id, patient_id, created_at) "
    "SELECT id, 'TCGA-05-4244', '2026-01-01 00:00:00' FROM collection",
    "INSERT INTO study (patient_pk, study_instance_uid, created_at) "
    "SELECT id, '1.2.3', '2026-01-01' FROM patient",
    "INSERT INTO series (study_pk, series_instance_uid, ingested_at, updated_at) "
    "SELECT id, '1.2.3.4', '2026-01-01', '2026-01-01' FROM study",
)

ORPHAN = "INSERT INTO patient (collection_id, patient_id, created_at) VALUES (42, 'P', '2026-01-01')"


def _old_catalogue(url: str) -> dict[str, list[str]]:
    """A catalogue at revision ``START`` holding a collection > patient > study > series; its tables."""
    engine = create_catalog_engine(url)
    try:
        upgrade_schema(engine, START)
        with engine.begin() as conn:
            for statement in ROWS:
                conn.exec_driver_sql(statement)
        return _tables(engine)
    finally:
        engine.dispose()


def _tables(engine: Engine) -> dict[str, list[str]]:
    found = inspect(engine)
    return {name: sorted(c["name"] for c in found.get_columns(name)) for name in found.get_table_names()}


def _assert_rows_kept(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.name, p.patient_id, s.series_instance_uid FROM collection c "
            "JOIN patient p ON p.collection_id = c.id JOIN study t ON t.patient_pk = p.id "
            "JOIN series s ON s.study_pk = t.id"
        ).all()
    assert [tuple(row) for row in rows] == [("TCGA-LUAD", "TCGA-05-4244", "1.2.3.4")]


def test_killed_upgrade_leaves_the_old_revision_or_the_new_one(
    fresh_catalogue: Callable[[str], tuple[Path, str]], run: Runner, database_url: str | None
) -> None:
    """A catalogue at 0004 upgraded by a process killed mid-way: 0004 or head with its rows, never half."""
    data_dir, url = fresh_catalogue("count")
    _old_catalogue(url)
    total, _ = _statements(run, ["open"], data_dir, url)
    outcomes = set()
    for point in _kill_points(total, 5, database_url):
        data_dir, url = fresh_catalogue(f"kill-{point}")
        before = _old_catalogue(url)
        _killed(run, ["open"], data_dir, url, point)
        engine = create_catalog_engine(url)
        revision = current_revision(engine)
        outcomes.add(revision)
        if revision == START:
            assert _tables(engine) == before, f"half an upgrade after statement {point}"
        else:
            _assert_at_head(engine)
        _assert_rows_kept(engine)
        engine.dispose()
        with Archive(Settings(data_dir=data_dir, database_url=url)) as archive:
            _assert_at_head(archive.engine)
            _assert_rows_kept(archive.engine)
            with archive.engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT site_code FROM patient").scalar_one() == "05"
    assert START in outcomes, "no kill landed inside the upgrade"


def test_connections_after_an_sqlite_upgrade_are_as_before(tmp_path: Path) -> None:
    """The migration's connection goes back to the pool enforcing foreign keys, inside transactions again."""
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    upgrade_schema(engine, START)
    upgrade_schema(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        with pytest.raises(IntegrityError):
            conn.exec_driver_sql(ORPHAN)
    with engine.connect() as conn:
        conn.exec_driver_sql(ROWS[0])
        conn.rollback()
        assert conn.exec_driver_sql("SELECT count(*) FROM collection").scalar_one() == 0
    engine.dispose()


def test_a_failed_sqlite_upgrade_rolls_back_every_revision(tmp_path: Path) -> None:
    """An upgrade that fails its foreign key check (a row written with checks off) changes nothing."""
    path = tmp_path / "catalog.sqlite"
    engine = create_catalog_engine(f"sqlite:///{path}")
    before = _old_catalogue(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as raw:  # foreign keys are off in a bare connection
        raw.execute(
            "INSERT INTO patient (collection_id, patient_id, created_at) VALUES (42, 'P', '2026-01-01')"
        )
        raw.commit()
    with pytest.raises(
        CatalogUnavailableError, match=r"1 rows would point at rows that do not exist \(in patient\)"
    ):
        upgrade_schema(engine)
    assert current_revision(engine) == START
    assert _tables(engine) == before
    engine.dispose()
