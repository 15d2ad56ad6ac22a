"""Alembic migrations build exactly the schema in ria.catalog.schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from ria.archive import Archive
from ria.catalog.database import (
    HEAD_REVISION,
    MIGRATIONS,
    create_catalog_engine,
    current_revision,
    upgrade_schema,
)
from ria.catalog.schema import collection, metadata, quarantine


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
    assert {"collection", "patient", "study", "series", "instance", "quarantine", "alembic_version"} <= tables


def test_dialect_is_the_one_asked_for(archive: Archive, database_url: str | None) -> None:
    assert archive.engine.dialect.name == ("sqlite" if database_url is None else "postgresql")


@pytest.mark.parametrize("start", ["0001", "0002"])
def test_upgrade_from_an_older_revision_keeps_rows(
    tmp_path: Path, database_url: str | None, start: str
) -> None:
    """A catalogue made by an older Ria opens in this one with its rows intact (and an empty quarantine)."""
    engine = create_catalog_engine(database_url or f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, start)
        connection.exec_driver_sql(
            "INSERT INTO collection (name, created_at) VALUES ('TCGA-LUAD', '2026-01-01 00:00:00')"
        )
    upgrade_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(select(collection.c.name, collection.c.doi)).one()
        held = conn.execute(select(func.count()).select_from(quarantine)).scalar_one()
    assert tuple(row) == ("TCGA-LUAD", None)
    assert held == 0
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_quarantine_revision_downgrades_and_upgrades_again(archive: Archive) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with archive.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert "quarantine" not in inspect(archive.engine).get_table_names()
    upgrade_schema(archive.engine)
    assert "quarantine" in inspect(archive.engine).get_table_names()
    with archive.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
