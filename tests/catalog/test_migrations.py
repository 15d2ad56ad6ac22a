"""Alembic migrations build exactly the schema in ria.catalog.schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from ria.archive import Archive
from ria.catalog.database import HEAD_REVISION, MIGRATIONS, create_catalog_engine, upgrade_schema
from ria.catalog.schema import collection, metadata


def test_migrated_schema_matches_metadata(archive: Archive) -> None:
    with archive.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == HEAD_REVISION
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_head_revision_constant_matches_alembic() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from ria.catalog.database import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_upgrade_is_idempotent(archive: Archive) -> None:
    upgrade_schema(archive.engine)
    upgrade_schema(archive.engine)
    tables = set(inspect(archive.engine).get_table_names())
    assert {"collection", "patient", "study", "series", "instance", "alembic_version"} <= tables


def test_dialect_is_the_one_asked_for(archive: Archive, database_url: str | None) -> None:
    assert archive.engine.dialect.name == ("sqlite" if database_url is None else "postgresql")


def test_upgrade_from_first_revision_keeps_rows(tmp_path: Path) -> None:
    """A catalogue made by an older Ria opens in this one with its rows intact."""
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "INSERT INTO collection (name, created_at) VALUES ('TCGA-LUAD', '2026-01-01 00:00:00')"
        )
    upgrade_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(select(collection.c.name, collection.c.doi)).one()
    assert tuple(row) == ("TCGA-LUAD", None)
    engine.dispose()
