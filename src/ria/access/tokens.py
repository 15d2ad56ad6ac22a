"""Bearer tokens: opaque random strings, stored only as SHA-256 digests.

Three kinds, told apart by prefix so a pasted secret is recognisable (and secret
scanners can find leaked ones):

* ``access`` (``ria_at_…``): what a client sends; short-lived (:data:`ACCESS_TTL`).
* ``refresh`` (``ria_rt_…``): trades for a new pair (:data:`REFRESH_TTL`); it works
  **once** — using it revokes it and issues a new pair whose refresh token is its child
  (``parent_pk``). Presenting a refresh token that was already used means a copy is in
  someone else's hands, so the whole chain (every token descended from the same sign-in)
  is revoked and both parties have to sign in again.
* ``api`` (``ria_pat_…``): a named personal token for scripts, no expiry unless given.

A token is checked when a request starts (:func:`principal_for_token`); a download that
began with a valid token finishes even if the token expires while it streams.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt
from sqlalchemy import Connection, Engine, insert, or_, select, update

from ria.access.audit import record_event
from ria.access.principal import Principal
from ria.access.users import User, find_user, memberships, principal_from_rows
from ria.catalog.schema import api_token, app_user
from ria.errors import InvalidParameterError
from ria.keys import load_key

__all__ = [
    "ACCESS_TTL",
    "ID_TOKEN_KEY",
    "REFRESH_TTL",
    "TokenPair",
    "issue_api_token",
    "issue_session",
    "principal_for_token",
    "refresh_session",
    "revoke_all",
    "revoke_token",
    "sign_id_token",
    "token_digest",
]

log = logging.getLogger(__name__)

ACCESS_TTL = dt.timedelta(hours=1)
"""How long an access token lives. Short, because it travels with every request; clients refresh."""
REFRESH_TTL = dt.timedelta(days=30)
"""How long an unused refresh token lives; each use replaces it with a fresh one."""

ID_TOKEN_KEY = "oauth-id-token.key"
"""The HS256 key of :func:`sign_id_token`, a file in ``settings.private_dir`` (see :mod:`ria.keys`)."""

_PREFIX = {"access": "ria_at_", "refresh": "ria_rt_", "api": "ria_pat_"}
_MAX_TOKEN_LENGTH = 128
# Reuse of a spent refresh token is detected by Ria itself, not by an operator.
_SYSTEM_ACTOR = "ria"


@dataclass(frozen=True)
class TokenPair:
    """What a sign-in or a refresh hands out; the strings exist only here, never in the catalogue."""

    user: str
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest stored for ``token`` (tokens carry 256 random bits: no salt needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _looks_like_token(token: str) -> bool:
    return token.startswith("ria_") and len(token) <= _MAX_TOKEN_LENGTH


def _insert(
    conn: Connection,
    user_pk: int,
    kind: str,
    now: dt.datetime,
    ttl: dt.timedelta | None,
    *,
    name: str | None = None,
    parent: int | None = None,
) -> tuple[int, str]:
    token = _PREFIX[kind] + secrets.token_urlsafe(32)
    pk = conn.execute(
        insert(api_token)
        .values(
            user_pk=user_pk,
            token_hash=token_digest(token),
            kind=kind,
            name=name,
            created_at=now,
            expires_at=now + ttl if ttl is not None else None,
            parent_pk=parent,
        )
        .returning(api_token.c.id)
    ).scalar_one()
    return int(pk), token


def _pair(
    conn: Connection,
    user: User,
    now: dt.datetime,
    access_ttl: dt.timedelta,
    refresh_ttl: dt.timedelta,
    parent: int | None,
) -> TokenPair:
    refresh_pk, refresh = _insert(conn, user.pk, "refresh", now, refresh_ttl, parent=parent)
    _, access = _insert(conn, user.pk, "access", now, access_ttl, parent=refresh_pk)
    return TokenPair(
        user.name, access, refresh, int(access_ttl.total_seconds()), int(refresh_ttl.total_seconds())
    )


def issue_session(
    engine: Engine,
    user: User,
    *,
    access_ttl: dt.timedelta = ACCESS_TTL,
    refresh_ttl: dt.timedelta = REFRESH_TTL,
    now: dt.datetime | None = None,
) -> TokenPair:
    """A new access + refresh pair for an authenticated ``user`` (the start of a refresh chain)."""
    with engine.begin() as conn:
        return _pair(conn, user, _now(now), access_ttl, refresh_ttl, None)


def issue_api_token(
    engine: Engine,
    user: str,
    *,
    actor: str,
    name: str | None = None,
    expires_in: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A named personal token for ``user``; the string is returned once and never stored."""
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise InvalidParameterError("expires", "a token's lifetime must be positive")
    if name is not None and len(name) > 128:
        raise InvalidParameterError("name", "a token name has at most 128 characters")
    moment = _now(now)
    with engine.begin() as conn:
        owner = find_user(conn, user)
        if owner.disabled:
            raise InvalidParameterError("name", f"user {user!r} is disabled")
        _, token = _insert(conn, owner.pk, "api", moment, expires_in, name=name)
        details: dict[str, object] = {"kind": "api", "name": name}
        if expires_in is not None:
            details["expires_at"] = (moment + expires_in).isoformat()
        record_event(
            conn, actor=actor, action="token.issue", target=f"user:{user}", details=details, at=moment
        )
    return token


def principal_for_token(engine: Engine, token: str, *, now: dt.datetime | None = None) -> Principal | None:
    """Who holds ``token``; ``None`` if unknown, expired, revoked, a refresh token, or its user is disabled.

    One query on the unique digest index, joined to the user's sites and grants.
    """
    if not _looks_like_token(token):
        return None
    member = memberships()
    query = (
        select(app_user.c.name, app_user.c.is_admin, member.c.what, member.c.value)
        .select_from(
            api_token.join(app_user, app_user.c.id == api_token.c.user_pk).outerjoin(
                member, member.c.user_pk == app_user.c.id
            )
        )
        .where(
            api_token.c.token_hash == token_digest(token),
            api_token.c.kind.in_(("access", "api")),
            api_token.c.revoked_at.is_(None),
            app_user.c.disabled_at.is_(None),
            or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > _now(now)),
        )
    )
    with engine.connect() as conn:
        return principal_from_rows(conn.execute(query).all())


def _chain(conn: Connection, pk: int) -> set[int]:
    """Every token of the sign-in ``pk`` belongs to: its root and all the root's descendants."""
    root = pk
    while (
        parent := conn.execute(select(api_token.c.parent_pk).where(api_token.c.id == root)).scalar()
    ) is not None:
        root = int(parent)
    chain, frontier = {root}, {root}
    while frontier:
        frontier = {
            int(child)
            for child in conn.execute(
                select(api_token.c.id).where(api_token.c.parent_pk.in_(sorted(frontier)))
            ).scalars()
        } - chain
        chain |= frontier
    return chain


def _revoke(conn: Connection, pks: set[int], now: dt.datetime) -> int:
    return int(
        conn.execute(
            update(api_token)
            .where(api_token.c.id.in_(sorted(pks)), api_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    )


def refresh_session(
    engine: Engine,
    refresh_token: str,
    *,
    access_ttl: dt.timedelta = ACCESS_TTL,
    refresh_ttl: dt.timedelta = REFRESH_TTL,
    now: dt.datetime | None = None,
) -> TokenPair | None:
    """Trade a refresh token for a new pair, spending it; ``None`` if it cannot be used.

    A refresh token presented after it was spent (or revoked) revokes its whole chain.
    """
    if not _looks_like_token(refresh_token):
        return None
    moment = _now(now)
    with engine.begin() as conn:
        row = conn.execute(
            select(api_token, app_user.c.name.label("user_name"), app_user.c.is_admin, app_user.c.disabled_at)
            .join(app_user, app_user.c.id == api_token.c.user_pk)
            .where(api_token.c.token_hash == token_digest(refresh_token), api_token.c.kind == "refresh")
        ).first()
        if row is None or row.disabled_at is not None:
            return None
        expires_at = row.expires_at
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
        if row.revoked_at is None and expires_at is not None and expires_at <= moment:
            return None
        spent = (
            row.revoked_at is not None
            or not conn.execute(
                update(api_token)
                .where(api_token.c.id == row.id, api_token.c.revoked_at.is_(None))
                .values(revoked_at=moment)
            ).rowcount
        )
        if spent:
            revoked = _revoke(conn, _chain(conn, row.id), moment)
            if not revoked:  # the chain already ended (revoked, or this very reuse seen before)
                return None
            log.warning("a spent refresh token was presented again: %d tokens of its chain revoked", revoked)
            record_event(
                conn,
                actor=_SYSTEM_ACTOR,
                action="token.reuse",
                target=f"user:{row.user_name}",
                reason="a spent refresh token was presented again; its chain is revoked",
                details={"tokens_revoked": revoked},
                at=moment,
            )
            return None
        user = User(row.user_pk, row.user_name, bool(row.is_admin), False)
        return _pair(conn, user, moment, access_ttl, refresh_ttl, row.id)


def revoke_token(engine: Engine, token: str, *, actor: str, owner: str | None = None) -> bool:
    """Revoke ``token`` (an access or refresh token takes its whole sign-in with it).

    With ``owner``, only a token of that user is touched, so a caller can end their own
    tokens and no one else's. ``False`` if there was no such token.
    """
    if not _looks_like_token(token):
        return False
    moment = _now(None)
    with engine.begin() as conn:
        row = conn.execute(
            select(api_token.c.id, api_token.c.kind, api_token.c.name, app_user.c.name.label("user"))
            .join(app_user, app_user.c.id == api_token.c.user_pk)
            .where(api_token.c.token_hash == token_digest(token))
        ).first()
        if row is None or (owner is not None and row.user != owner):
            return False
        pks = {row.id} if row.kind == "api" else _chain(conn, row.id)
        revoked = _revoke(conn, pks, moment)
        record_event(
            conn,
            actor=actor,
            action="token.revoke",
            target=f"user:{row.user}",
            details={"kind": row.kind, "name": row.name, "tokens_revoked": revoked},
            at=moment,
        )
    return True


def revoke_all(engine: Engine, user: str, *, actor: str, reason: str | None = None) -> int:
    """Revoke every live token of ``user`` (sign-ins and API tokens); how many were live."""
    moment = _now(None)
    with engine.begin() as conn:
        owner = find_user(conn, user)
        revoked = int(
            conn.execute(
                update(api_token)
                .where(api_token.c.user_pk == owner.pk, api_token.c.revoked_at.is_(None))
                .values(revoked_at=moment)
            ).rowcount
        )
        record_event(
            conn,
            actor=actor,
            action="token.revoke_all",
            target=f"user:{user}",
            reason=reason,
            details={"tokens_revoked": revoked},
            at=moment,
        )
    return revoked


def sign_id_token(private_dir: Path, claims: Mapping[str, object]) -> str:
    """An OpenID ID token carrying ``claims``, signed HS256 with the archive's own key.

    Keycloak-era TCIA clients (``tcia_utils.nbia.getToken`` 1.5 to 2.4) read ``id_token``
    from the sign-in answer and fail without it, so it is issued rather than left out; and
    signed, because an unsigned (``alg: none``) token invites any relying party that trusts
    it to be fooled by a forged one. Ria itself never accepts it as a credential (only
    ``ria_`` bearer tokens authenticate). HS256 needs no key distribution: the key
    (256 random bits, created on first use) stays in ``private_dir`` with the other keys.
    """
    key = load_key(private_dir, ID_TOKEN_KEY, purpose="ID-token signing key")
    return jwt.encode(dict(claims), key, algorithm="HS256")
