"""Engine creation and schema migration for the catalogue (SQLite or PostgreSQL).

This module is the only place that knows about database dialects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ria.errors import CatalogUnavailableError, ConfigurationError

__all__ = [
    "HEAD_REVISION",
    "create_catalog_engine",
    "current_revision",
    "normalise_url",
    "refresh_statistics",
    "upgrade_schema",
]

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Pick the psycopg 3 driver for bare ``postgresql://`` URLs (the common spelling)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the server) run while an ingest writes; NORMAL sync is
    # durable against process crashes, which is what kill -9 tests prove.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_catalog_engine(url: str) -> Engine:
    """An engine for ``url`` with Ria's connection settings; creates the SQLite folder."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        # NoSuchModuleError: an unknown dialect; ImportError: a known one whose driver (psycopg,
        # the postgres extra) is not installed. Either is one line for the user, not a traceback.
        raise ConfigurationError(
            f"no database driver for {parsed.drivername!r}: pip install 'ria[postgres]' for PostgreSQL"
        ) from exc


# The newest revision under migrations/versions; a test keeps it equal to Alembic's head.
HEAD_REVISION = "0007"
# pg_advisory_xact_lock key that serialises schema migrations of one database ("RiaM").
_MIGRATION_LOCK = 0x5269614D


def current_revision(engine: Engine) -> str | None:
    """The catalogue's schema revision, or ``None`` for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the catalogue to ``revision`` (the newest by default), all or nothing.

    An up-to-date catalogue is recognised with one query, without loading
    Alembic, so every CLI command and server start stays quick. Otherwise the
    whole upgrade runs in one transaction that also holds the catalogue's
    migration lock, so a process killed mid-way leaves the old revision, and
    processes opening a new catalogue together wait for the first one and then
    find the work done (see :func:`_migration_transaction`).
    """
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _migration_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one real transaction that holds the migration lock; committed on success.

    PostgreSQL runs DDL transactionally; concurrent migrators are serialised by a
    transaction-scoped advisory lock (released by commit, rollback or a dead client),
    and Alembic reads the revision only once it holds the lock. SQLite needs more:
    Python's sqlite3 driver commits each DDL statement on its own unless a
    transaction was begun explicitly (a kill between two ``CREATE TABLE`` left a
    catalogue that never opened again), so the driver is put in autocommit mode and
    the transaction begun with ``BEGIN IMMEDIATE``, which takes SQLite's write lock
    at once: that lock is the migration lock. Foreign keys are switched off for the
    migration (batch operations copy and drop tables others refer to; the pragma
    cannot change inside a transaction) and checked before the commit instead.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            yield connection
        return
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            # On an error SQLAlchemy's rollback reaches sqlite3's rollback(), which ends the
            # transaction BEGIN IMMEDIATE opened; success commits it explicitly.
            with connection.begin():
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                _check_foreign_keys(connection)
                connection.exec_driver_sql("COMMIT")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a migration that left rows pointing at nothing (SQLite's own check)."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise CatalogUnavailableError(
            f"after the schema upgrade {len(broken)} rows would point at rows that do not exist "
            f"(in {', '.join(tables)}); the catalogue was left at its old revision"
        )


def refresh_statistics(engine: Engine, tables: tuple[str, ...]) -> None:
    """Let the database's planner see how big ``tables`` have grown after a bulk load.

    Until a table is analysed PostgreSQL plans as if it were tiny, and looks a batch
    of keys up by scanning the whole table once per list: all of TCGA's IDC series
    took 40 s to import that way and 3 s with fresh statistics, and cohort queries
    over freshly imported genomics pick nested loops over thousands of rows.
    Autovacuum analyses too late for a bulk load, so loaders call this as they go.
    SQLite plans these lookups on its unique indexes without statistics: a no-op there.
    """
    from ria.catalog.schema import metadata

    if engine.dialect.name != "postgresql":
        return
    unknown = [name for name in tables if name not in metadata.tables]
    if unknown:
        raise ValueError(f"not catalogue tables: {', '.join(unknown)}")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE " + ", ".join(tables)))
