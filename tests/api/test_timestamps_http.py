"""Every timestamp /api/v1 emits is RFC 3339 with its offset, and is the instant the catalogue stores.

SQLite hands back naive datetimes; ``GET /api/v1/collections`` once served them without a
zone. The expected instants are read here with plain SQL (SQLite's text, PostgreSQL's
``timestamptz``), not through Ria's schema types, on both databases.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import text

from ria.access.tokens import issue_api_token
from ria.access.users import add_user
from ria.archive import Archive
from tests.conftest import Corpus

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
LUAD = "TCGA-LUAD"


def timestamps(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON document that looks like a date and time, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from timestamps(item, f"{path}[{index}]")
    elif isinstance(value, str) and DATE_TIME.match(value):
        yield path, value


def stored(archive: Archive, sql: str, **params: object) -> list[dt.datetime]:
    """Instants as the database holds them, read without Ria's column types (SQLite text is UTC)."""
    with archive.engine.connect() as conn:
        values = [row[0] for row in conn.execute(text(sql), params)]
    moments = []
    for value in values:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        assert isinstance(value, dt.datetime) and value.tzinfo is not None
        moments.append(value)
    return moments


def test_every_v1_timestamp_has_an_offset_and_is_the_stored_instant(
    archive: Archive, corpus: Corpus, client: httpx.Client
) -> None:
    assert archive.ingest([corpus.root / LUAD], LUAD, workers=1).ok
    add_user(archive.engine, "root", admin=True, actor="tester")
    admin = {"Authorization": f"Bearer {issue_api_token(archive.engine, 'root', actor='tester')}"}
    changed = client.put(
        f"/api/v1/collections/{LUAD}/governance",
        json={"embargo_threshold": 1, "embargo_days": 30, "embargo_start": "2021-03-04", "reason": "test"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text

    documents = {
        path: client.get(path, headers=admin)
        for path in (
            "/api/v1/collections",
            f"/api/v1/collections/{LUAD}/governance",
            f"/api/v1/collections/{LUAD}/accrual",
            "/api/v1/audit",
            "/api/v1/me",
        )
    }
    found: dict[str, str] = {}
    for path, answer in documents.items():
        assert answer.status_code == 200, (path, answer.text)
        found |= {f"{path}{where}": value for where, value in timestamps(answer.json())}
    bad = {where: value for where, value in found.items() if not RFC3339.match(value)}
    assert not bad, f"timestamps without an RFC 3339 offset: {bad}"

    # The instants are the stored ones (whatever offset is written, the moment is the same).
    collections = client.get("/api/v1/collections").json()
    (luad,) = [c for c in collections if c["name"] == LUAD]
    created = stored(archive, "select created_at from collection where name = :name", name=LUAD)
    assert [dt.datetime.fromisoformat(luad["created_at"])] == created
    governance = documents[f"/api/v1/collections/{LUAD}/governance"].json()
    ends = stored(archive, "select embargo_ends_at from collection where name = :name", name=LUAD)
    assert ends == [dt.datetime(2021, 4, 3, tzinfo=dt.UTC)]  # 2021-03-04 + 30 days, midnight UTC
    served_ends = {v for k, v in found.items() if k.endswith("embargo_ends_at") and "governance" in k}
    assert {dt.datetime.fromisoformat(v) for v in served_ends} == set(ends), governance
    audit = documents["/api/v1/audit"].json()
    events = audit if isinstance(audit, list) else audit["events"]
    assert sorted(dt.datetime.fromisoformat(e["at"]) for e in events) == sorted(
        stored(archive, "select at from audit_event")
    )
    assert len(found) >= 4, found
