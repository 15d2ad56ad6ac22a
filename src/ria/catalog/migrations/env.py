"""Alembic environment: always run with a connection handed in by ria.catalog.database."""

from __future__ import annotations

from alembic import context

from ria.catalog.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through ria.catalog.database.upgrade_schema (every `ria` command runs it on opening)"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
