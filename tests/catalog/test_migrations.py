"""Alembic migrations build exactly the schema in ria.catalog.schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ria.archive import Archive
from ria.catalog.database import upgrade_schema
from ria.catalog.schema import metadata


def test_migrated_schema_matches_metadata(archive: Archive) -> None:
    with archive.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert context.get_current_revision() == "0001"
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
