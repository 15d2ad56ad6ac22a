"""Helpers for the identity tests: collections to grant, legacy password hashes, raw catalogue bytes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

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


def scrypt_hash(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """A hash as Ria wrote them before argon2id (``scrypt$n$r$p$salt$digest``), made with hashlib alone."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"
