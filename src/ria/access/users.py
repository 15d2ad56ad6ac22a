"""Users, their Imaging Source Sites and their collection grants, on the catalogue tables.

Every change is one transaction that also appends its :mod:`audit <ria.access.audit>`
row, so "who let alice see TCGA-XX, and why" always has an answer. Functions take the
catalogue :class:`~sqlalchemy.Engine` rather than an Archive, so the CLI, the HTTP layer
and tests share them without opening blob stores.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    String,
    Subquery,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from ria.access.audit import record_event
from ria.access.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from ria.access.principal import Principal
from ria.catalog.schema import access_grant, api_token, app_user, collection, site, user_site
from ria.errors import ConflictError, InvalidParameterError, NotFoundError

__all__ = [
    "User",
    "UserInfo",
    "add_user",
    "add_user_to_site",
    "authenticate_password",
    "disable_user",
    "find_user",
    "grant",
    "list_users",
    "memberships",
    "principal_for_user",
    "principal_from_rows",
    "revoke_grant",
    "set_password",
    "validate_user_name",
]

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_SITE = re.compile(r"[A-Za-z0-9]{1,16}")


@dataclass(frozen=True)
class User:
    """An account as authentication sees it."""

    pk: int
    name: str
    is_admin: bool
    disabled: bool


@dataclass(frozen=True)
class UserInfo:
    """An account as an administrator lists it (no password hash, no token)."""

    name: str
    is_admin: bool
    has_password: bool
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    sites: tuple[str, ...]
    grants: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "admin": self.is_admin,
            "password": self.has_password,
            "created_at": self.created_at.isoformat(),
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "sites": list(self.sites),
            "grants": list(self.grants),
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def validate_user_name(name: str) -> str:
    """``name`` if it is a usable account name; otherwise a 400 saying what is wrong."""
    if not name:
        raise InvalidParameterError("name", "a user name cannot be empty")
    if len(name) > 64:
        raise InvalidParameterError("name", f"a user name has at most 64 characters, got {len(name)}")
    if not _NAME.fullmatch(name):
        raise InvalidParameterError(
            "name",
            f"user name {name[:64]!r} must start with a letter or digit and use only letters, digits "
            "and . _ @ -",
        )
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameterError("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def find_user(conn: Connection, name: str) -> User:
    """The account called ``name``, or a 404 naming it."""
    row = conn.execute(
        select(app_user.c.id, app_user.c.name, app_user.c.is_admin, app_user.c.disabled_at).where(
            app_user.c.name == name
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no user named {name!r} (ria users list shows them)")
    return User(row.id, row.name, bool(row.is_admin), row.disabled_at is not None)


def _collection_pk(conn: Connection, name: str) -> int:
    pk = conn.execute(select(collection.c.id).where(collection.c.name == name)).scalar()
    if pk is None:
        raise NotFoundError(f"no collection named {name!r}")
    return int(pk)


def add_user(
    engine: Engine, name: str, password: str | None = None, *, admin: bool = False, actor: str
) -> None:
    """Create an account; without a password it can only use API tokens (``ria users token``)."""
    validate_user_name(name)
    hashed = hash_password(_check_password(password)) if password is not None else None
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(app_user).values(name=name, password_hash=hashed, is_admin=admin, created_at=_now())
            )
            record_event(
                conn, actor=actor, action="user.add", target=f"user:{name}", details={"admin": admin}
            )
    except IntegrityError:
        raise ConflictError(f"a user named {name!r} already exists") from None


def set_password(engine: Engine, name: str, password: str, *, actor: str) -> None:
    """Replace the password; existing tokens stay valid (``revoke_all`` ends them)."""
    hashed = hash_password(_check_password(password))
    with engine.begin() as conn:
        user = find_user(conn, name)
        conn.execute(update(app_user).where(app_user.c.id == user.pk).values(password_hash=hashed))
        record_event(conn, actor=actor, action="user.password", target=f"user:{name}")


def disable_user(engine: Engine, name: str, *, actor: str, reason: str | None = None) -> None:
    """Stop the account from signing in and revoke every token it holds, at once."""
    now = _now()
    with engine.begin() as conn:
        user = find_user(conn, name)
        if user.disabled:
            return
        conn.execute(update(app_user).where(app_user.c.id == user.pk).values(disabled_at=now))
        revoked = conn.execute(
            update(api_token)
            .where(api_token.c.user_pk == user.pk, api_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        record_event(
            conn,
            actor=actor,
            action="user.disable",
            target=f"user:{name}",
            reason=reason,
            details={"tokens_revoked": revoked},
            at=now,
        )


def memberships() -> Subquery:
    """``(user_pk, what, value)``: each user's site codes (``site``) and granted collections (``grant``).

    One subquery both :func:`principal_for_user` and the bearer-token lookup join to, so a
    principal is always built from exactly the same rows.
    """
    sites = select(
        user_site.c.user_pk.label("user_pk"),
        literal("site", String(8)).label("what"),
        site.c.code.label("value"),
    ).join(site, site.c.id == user_site.c.site_pk)
    grants = (
        select(
            access_grant.c.user_pk.label("user_pk"),
            literal("grant", String(8)).label("what"),
            collection.c.name.label("value"),
        )
        .join(collection, collection.c.id == access_grant.c.collection_pk)
        .where(access_grant.c.revoked_at.is_(None))
    )
    return union_all(sites, grants).subquery("membership")


def principal_from_rows(rows: Sequence[Row[str, bool, str | None, str | None]]) -> Principal | None:
    """A principal from ``(name, is_admin, what, value)`` rows of one user, or ``None`` if there are none."""
    if not rows:
        return None
    sites = frozenset(row[3] for row in rows if row[2] == "site" and row[3] is not None)
    grants = frozenset(row[3] for row in rows if row[2] == "grant" and row[3] is not None)
    return Principal(name=rows[0][0], is_admin=bool(rows[0][1]), sites=sites, grants=grants)


def principal_for_user(engine: Engine, name: str) -> Principal:
    """What ``name`` may see: their sites' codes, their unrevoked grants, and whether they administer."""
    member = memberships()
    query = (
        select(app_user.c.name, app_user.c.is_admin, member.c.what, member.c.value)
        .select_from(app_user.outerjoin(member, member.c.user_pk == app_user.c.id))
        .where(app_user.c.name == name)
    )
    with engine.connect() as conn:
        principal = principal_from_rows(conn.execute(query).all())
    if principal is None:
        raise NotFoundError(f"no user named {name!r} (ria users list shows them)")
    return principal


def authenticate_password(engine: Engine, name: str, password: str) -> User | None:
    """The enabled account ``name`` if ``password`` is its password; ``None`` otherwise.

    Unknown users, users without a password, disabled users and wrong passwords all take
    one password-hash verification and answer the same ``None``: the caller cannot tell
    them apart. A successful sign-in is the one moment the plain password is at hand, so
    a stored hash weaker than today's (legacy scrypt, older argon2id costs) is replaced then.
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(
                app_user.c.id,
                app_user.c.name,
                app_user.c.is_admin,
                app_user.c.disabled_at,
                app_user.c.password_hash,
            ).where(app_user.c.name == name)
        ).first()
    stored = row.password_hash if row is not None else None
    if not verify_password(password, stored) or row is None or row.disabled_at is not None:
        return None
    if stored is not None and needs_rehash(stored):
        _rehash(engine, row.id, stored, password)
    return User(row.id, row.name, bool(row.is_admin), False)


def _rehash(engine: Engine, pk: int, stored: str, password: str) -> None:
    """Replace ``stored`` with a current hash of the same password, unless it changed meanwhile.

    The update matches the old hash too, so a password set by an administrator between our
    read and this write is never overwritten with the one just used to sign in. Not an
    audited event: the password (and so what the account can do) stays the same.
    """
    with engine.begin() as conn:
        replaced = conn.execute(
            update(app_user)
            .where(app_user.c.id == pk, app_user.c.password_hash == stored)
            .values(password_hash=hash_password(password))
        ).rowcount
    if replaced:
        log.info("re-hashed a stored password with the current scheme (user id %d)", pk)


def list_users(engine: Engine) -> list[UserInfo]:
    """Every account, by name, with its sites and unrevoked grants."""
    member = memberships()
    with engine.connect() as conn:
        users = conn.execute(select(app_user).order_by(app_user.c.name)).all()
        extra: dict[int, dict[str, list[str]]] = {}
        for row in conn.execute(select(member).order_by(member.c.value)):
            extra.setdefault(row.user_pk, {}).setdefault(row.what, []).append(row.value)
    return [
        UserInfo(
            name=row.name,
            is_admin=bool(row.is_admin),
            has_password=row.password_hash is not None,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            sites=tuple(extra.get(row.id, {}).get("site", [])),
            grants=tuple(extra.get(row.id, {}).get("grant", [])),
        )
        for row in users
    ]


def add_user_to_site(
    engine: Engine, user: str, site_code: str, name: str | None = None, *, actor: str
) -> bool:
    """Make ``user`` a member of the site (created if missing); ``False`` if they already were.

    Site codes are TCGA tissue source site codes (upper case, as in the barcodes), so they
    are stored upper case and match ``patient.site_code``.
    """
    code = site_code.strip().upper()
    if not _SITE.fullmatch(code):
        raise InvalidParameterError(
            "site_code", f"a site code is 1 to 16 letters or digits (e.g. 05), got {site_code[:40]!r}"
        )
    with engine.begin() as conn:
        member = find_user(conn, user)
        site_pk = conn.execute(select(site.c.id).where(site.c.code == code)).scalar()
        if site_pk is None:
            site_pk = conn.execute(
                insert(site).values(code=code, name=name, created_at=_now()).returning(site.c.id)
            ).scalar_one()
            record_event(conn, actor=actor, action="site.add", target=f"site:{code}", details={"name": name})
        already = conn.execute(
            select(user_site.c.user_pk).where(
                user_site.c.user_pk == member.pk, user_site.c.site_pk == site_pk
            )
        ).first()
        if already is not None:
            return False
        conn.execute(insert(user_site).values(user_pk=member.pk, site_pk=site_pk))
        record_event(conn, actor=actor, action="user.site", target=f"user:{user}", details={"site": code})
    return True


def grant(engine: Engine, user: str, collection_name: str, *, actor: str, reason: str | None = None) -> bool:
    """Let ``user`` see a restricted or limited collection; ``False`` if an unrevoked grant exists."""
    with engine.begin() as conn:
        member = find_user(conn, user)
        collection_pk = _collection_pk(conn, collection_name)
        existing = conn.execute(
            select(access_grant.c.id).where(
                access_grant.c.user_pk == member.pk,
                access_grant.c.collection_pk == collection_pk,
                access_grant.c.revoked_at.is_(None),
            )
        ).first()
        if existing is not None:
            return False
        now = _now()
        conn.execute(
            insert(access_grant).values(
                user_pk=member.pk,
                collection_pk=collection_pk,
                granted_by=actor[:64],
                granted_at=now,
                reason=reason,
            )
        )
        record_event(
            conn,
            actor=actor,
            action="grant.add",
            target=f"user:{user}",
            reason=reason,
            details={"collection": collection_name},
            at=now,
        )
    return True


def revoke_grant(
    engine: Engine, user: str, collection_name: str, *, actor: str, reason: str | None = None
) -> None:
    """End ``user``'s grant on the collection (kept, marked revoked, for the record); 404 if none."""
    now = _now()
    with engine.begin() as conn:
        member = find_user(conn, user)
        collection_pk = _collection_pk(conn, collection_name)
        revoked = conn.execute(
            update(access_grant)
            .where(
                access_grant.c.user_pk == member.pk,
                access_grant.c.collection_pk == collection_pk,
                access_grant.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount
        if not revoked:
            raise NotFoundError(f"user {user!r} has no grant on collection {collection_name!r}")
        record_event(
            conn,
            actor=actor,
            action="grant.revoke",
            target=f"user:{user}",
            reason=reason,
            details={"collection": collection_name},
            at=now,
        )
