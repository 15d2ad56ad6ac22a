"""Token lifecycle: issue, expire, revoke, refresh rotation, refresh reuse, digests only — both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ria.access import Principal
from ria.access import identity as idn
from ria.archive import Archive
from ria.catalog.schema import api_token
from ria.errors import InvalidParameterError, NotFoundError
from tests.access.conftest import add_collections, stored_text

PASSWORD = "correct horse battery"


@pytest.fixture
def alice(archive: Archive) -> idn.User:
    add_collections(archive, "TCGA-LUAD")
    idn.add_user(archive.engine, "alice", PASSWORD, actor="ops")
    idn.add_user_to_site(archive.engine, "alice", "05", actor="ops")
    idn.grant(archive.engine, "alice", "TCGA-LUAD", actor="ops")
    user = idn.authenticate_password(archive.engine, "alice", PASSWORD)
    assert user is not None
    return user


ALICE = Principal(name="alice", sites=frozenset({"05"}), grants=frozenset({"TCGA-LUAD"}))


def test_a_session_token_speaks_for_its_user_until_it_expires(archive: Archive, alice: idn.User) -> None:
    start = dt.datetime.now(dt.UTC)
    pair = idn.issue_session(archive.engine, alice, now=start)
    assert pair.access_token.startswith("ria_at_") and pair.refresh_token.startswith("ria_rt_")
    assert (pair.expires_in, pair.refresh_expires_in) == (3600, 30 * 86400)
    assert idn.principal_for_token(archive.engine, pair.access_token, now=start) == ALICE
    later = start + dt.timedelta(minutes=59)
    assert idn.principal_for_token(archive.engine, pair.access_token, now=later) == ALICE
    expired = start + dt.timedelta(hours=1, seconds=1)
    assert idn.principal_for_token(archive.engine, pair.access_token, now=expired) is None
    # A refresh token is for the token endpoint only, never a bearer credential.
    assert idn.principal_for_token(archive.engine, pair.refresh_token, now=start) is None
    assert idn.principal_for_token(archive.engine, "ria_at_made-up", now=start) is None
    assert idn.principal_for_token(archive.engine, "not a token", now=start) is None


def test_grants_are_read_when_the_token_is_used(archive: Archive, alice: idn.User) -> None:
    pair = idn.issue_session(archive.engine, alice)
    idn.revoke_grant(archive.engine, "alice", "TCGA-LUAD", actor="ops")
    assert idn.principal_for_token(archive.engine, pair.access_token) == Principal(
        name="alice", sites=frozenset({"05"})
    )


def test_only_digests_are_stored(archive: Archive, alice: idn.User) -> None:
    pair = idn.issue_session(archive.engine, alice)
    api = idn.issue_api_token(archive.engine, "alice", actor="ops", name="ci")
    with archive.engine.connect() as conn:
        digests = set(conn.execute(select(api_token.c.token_hash)).scalars())
    assert {idn.token_digest(t) for t in (pair.access_token, pair.refresh_token, api)} == digests
    stored = stored_text(archive)
    assert idn.token_digest(api).encode() in stored
    for secret in (pair.access_token, pair.refresh_token, api, PASSWORD):
        assert secret.encode() not in stored


def test_refresh_rotates_and_a_reused_refresh_token_revokes_its_chain(
    archive: Archive, alice: idn.User
) -> None:
    engine = archive.engine
    first = idn.issue_session(engine, alice)
    second = idn.refresh_session(engine, first.refresh_token)
    assert second is not None and second.refresh_token != first.refresh_token
    third = idn.refresh_session(engine, second.refresh_token)
    assert third is not None
    # Rotation: the old access token lives out its hour; the spent refresh token is dead.
    assert idn.principal_for_token(engine, first.access_token) == ALICE
    assert idn.principal_for_token(engine, third.access_token) == ALICE
    other = idn.issue_session(engine, alice)  # another sign-in (another device): a chain of its own
    # Someone replays the spent first refresh token: the whole chain dies, the other sign-in lives.
    assert idn.refresh_session(engine, first.refresh_token) is None
    for pair in (first, second, third):
        assert idn.principal_for_token(engine, pair.access_token) is None
    assert idn.refresh_session(engine, third.refresh_token) is None
    assert idn.principal_for_token(engine, other.access_token) == ALICE
    assert idn.refresh_session(engine, other.refresh_token) is not None
    reuse = [e for e in idn.audit_events(engine) if e["action"] == "token.reuse"]
    assert len(reuse) == 1 and reuse[0]["target"] == "user:alice"
    assert reuse[0]["details"] == {"tokens_revoked": 4}  # the three access tokens and the live refresh token


def test_an_expired_refresh_token_is_refused_without_harm(archive: Archive, alice: idn.User) -> None:
    engine = archive.engine
    start = dt.datetime.now(dt.UTC)
    pair = idn.issue_session(engine, alice, now=start)
    assert idn.refresh_session(engine, pair.refresh_token, now=start + dt.timedelta(days=31)) is None
    assert idn.refresh_session(engine, pair.refresh_token, now=start + dt.timedelta(days=31)) is None
    assert not [e for e in idn.audit_events(engine) if e["action"] == "token.reuse"]


def test_disabled_users_tokens_stop_working(archive: Archive, alice: idn.User) -> None:
    engine = archive.engine
    pair = idn.issue_session(engine, alice)
    api = idn.issue_api_token(engine, "alice", actor="ops")
    idn.disable_user(engine, "alice", actor="ops")
    assert idn.principal_for_token(engine, pair.access_token) is None
    assert idn.principal_for_token(engine, api) is None
    assert idn.refresh_session(engine, pair.refresh_token) is None
    with pytest.raises(InvalidParameterError, match="disabled"):
        idn.issue_api_token(engine, "alice", actor="ops")


def test_api_tokens_are_named_and_expire_only_when_asked(archive: Archive, alice: idn.User) -> None:
    engine = archive.engine
    start = dt.datetime.now(dt.UTC)
    forever = idn.issue_api_token(engine, "alice", actor="ops", name="pipeline", now=start)
    weekly = idn.issue_api_token(engine, "alice", actor="ops", expires_in=dt.timedelta(days=7), now=start)
    assert forever.startswith("ria_pat_")
    far = start + dt.timedelta(days=3650)
    assert idn.principal_for_token(engine, forever, now=far) == ALICE
    assert idn.principal_for_token(engine, weekly, now=start + dt.timedelta(days=6)) == ALICE
    assert idn.principal_for_token(engine, weekly, now=start + dt.timedelta(days=8)) is None
    with pytest.raises(NotFoundError):
        idn.issue_api_token(engine, "nobody", actor="ops")
    with pytest.raises(InvalidParameterError, match="positive"):
        idn.issue_api_token(engine, "alice", actor="ops", expires_in=dt.timedelta(0))


def test_revocation(archive: Archive, alice: idn.User) -> None:
    engine = archive.engine
    idn.add_user(engine, "bob", PASSWORD, actor="ops")
    first = idn.issue_session(engine, alice)
    second = idn.refresh_session(engine, first.refresh_token)
    assert second is not None
    api_one = idn.issue_api_token(engine, "alice", actor="ops", name="one")
    api_two = idn.issue_api_token(engine, "alice", actor="ops", name="two")
    # Nobody else can revoke alice's token.
    assert not idn.revoke_token(engine, api_one, actor="bob", owner="bob")
    assert idn.principal_for_token(engine, api_one) == ALICE
    # An API token goes alone; an access token takes its whole sign-in with it.
    assert idn.revoke_token(engine, api_one, actor="alice", owner="alice")
    assert idn.principal_for_token(engine, api_one) is None
    assert idn.principal_for_token(engine, api_two) == ALICE
    assert idn.revoke_token(engine, second.access_token, actor="alice", owner="alice")
    assert idn.principal_for_token(engine, first.access_token) is None
    assert idn.refresh_session(engine, second.refresh_token) is None
    assert not idn.revoke_token(engine, "ria_at_unknown", actor="alice")
    third = idn.issue_session(engine, alice)
    assert idn.revoke_all(engine, "alice", actor="ops", reason="laptop stolen") == 3
    assert idn.principal_for_token(engine, api_two) is None
    assert idn.principal_for_token(engine, third.access_token) is None
    actions = [
        (e["actor"], e["action"]) for e in idn.audit_events(engine) if str(e["action"]).startswith("token.")
    ]
    assert actions[-3:] == [("alice", "token.revoke"), ("alice", "token.revoke"), ("ops", "token.revoke_all")]
