"""Helpers for the identity tests: collections to grant, and the raw bytes a catalogue keeps."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, inspect, select

from ria.archive import Archive
from ria.catalog.schema import collection, metadata


def add_collections(archive: Archive, *names: str) -> None:
    """Bare collection rows (grants name collections; their contents do not matter here)."""
    with archive.engine.begin() as conn:
        for name in names:
            conn.execute(insert(collection).values(name=name, created_at=dt.datetime.now(dt.UTC)))


def stored_text(archive: Archive) -> bytes:
    """Everything the catalogue holds, as bytes: the SQLite files themselves, or every PostgreSQL row.

    Secrets must be absent from this; the user name must be present (proof the search can find text).
    """
    if archive.engine.dialect.name == "sqlite":
        return b"".join(
            path.read_bytes() for path in sorted(archive.settings.data_dir.glob("catalog.sqlite*"))
        )
    return _all_rows(archive.engine).encode("utf-8")


def _all_rows(engine: Engine) -> str:
    names = set(inspect(engine).get_table_names())
    parts: list[str] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in names:
                parts.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    return "\n".join(parts)
