"""The one way a catalogue query streams: rows from a server-side cursor, a batch at a time.

A list route may match the whole catalogue (76,401 series for TCGA alone); materialising
that as a list, then as dicts, then as one JSON string cost the server 400 MB per request.
:func:`stream_rows` hands rows over as the database produces them instead, so memory stays
flat however many match: on PostgreSQL (psycopg) ``stream_results`` declares a named
server-side cursor and fetches ``yield_per`` rows per round trip; on SQLite the cursor is
lazy already and ``yield_per`` bounds SQLAlchemy's buffer.

The connection is checked out at the first ``next()`` and returned when the rows run out,
when the consumer closes the generator (an HTTP client that disconnects midway) or when
it is garbage-collected — never held by a stream nobody reads. Queries reach this module
already filtered by :func:`ria.catalog.search.apply_filter`, so streaming cannot bypass
the visibility rule.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from sqlalchemy import Engine, Executable, Row

__all__ = ["YIELD_PER", "stream_rows"]

YIELD_PER = 1000
"""Rows per fetch: large enough that round trips do not dominate, small enough to be a few hundred KB."""


def stream_rows(
    engine: Engine, query: Executable, *, yield_per: int | None = None
) -> Generator[Row[*tuple[Any, ...]]]:
    """The rows of ``query``, fetched ``yield_per`` (default :data:`YIELD_PER`) at a time over one
    connection held while they flow."""
    with engine.connect() as conn:
        options = {"stream_results": True, "yield_per": yield_per or YIELD_PER}
        result = conn.execution_options(**options).execute(query)
        try:
            yield from result
        finally:
            result.close()
