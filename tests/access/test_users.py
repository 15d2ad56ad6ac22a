"""Accounts, sites, grants and the audit trail, on SQLite and a real PostgreSQL."""

from __future__ import annotations

import argon2
import pytest
from sqlalchemy import select, update

from ria.access import Principal, users
from ria.access import identity as idn
from ria.archive import Archive
from ria.catalog.schema import app_user
from ria.errors import ConflictError, InvalidParameterError, NotFoundError
from tests.access.conftest import add_collections, scrypt_hash, stored_text

PASSWORD = "correct horse battery"


def _stored_hash(archive: Archive, name: str) -> str | None:
    with archive.engine.connect() as conn:
        value: str | None = conn.execute(
            select(app_user.c.password_hash).where(app_user.c.name == name)
        ).scalar_one()
    return value


def _store_hash(archive: Archive, name: str, stored: str) -> None:
    """Put ``stored`` in the catalogue as an older Ria (or an older cost) would have left it."""
    with archive.engine.begin() as conn:
        conn.execute(update(app_user).where(app_user.c.name == name).values(password_hash=stored))


def test_a_legacy_scrypt_password_signs_in_and_is_rehashed_to_argon2id(archive: Archive) -> None:
    idn.add_user(archive.engine, "alice", actor="ops")
    legacy = scrypt_hash(PASSWORD)
    _store_hash(archive, "alice", legacy)
    assert idn.authenticate_password(archive.engine, "alice", "wrong password") is None
    assert _stored_hash(archive, "alice") == legacy  # a failed sign-in changes nothing
    user = idn.authenticate_password(archive.engine, "alice", PASSWORD)
    assert user is not None and user.name == "alice"
    upgraded = _stored_hash(archive, "alice")
    assert upgraded is not None and upgraded.startswith("$argon2id$")
    assert argon2.PasswordHasher().verify(upgraded, PASSWORD)  # argon2-cffi itself, not Ria's wrapper
    assert argon2.extract_parameters(upgraded).memory_cost == 19 * 1024
    # The new hash is the one in use: the right password still works, a wrong one does not,
    # and signing in again leaves a current hash alone.
    assert idn.authenticate_password(archive.engine, "alice", PASSWORD) is not None
    assert idn.authenticate_password(archive.engine, "alice", "wrong password") is None
    assert _stored_hash(archive, "alice") == upgraded


def test_an_argon2id_hash_of_a_lower_cost_is_upgraded_at_sign_in(archive: Archive) -> None:
    idn.add_user(archive.engine, "alice", actor="ops")
    cheaper = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    _store_hash(archive, "alice", cheaper)
    assert idn.authenticate_password(archive.engine, "alice", PASSWORD) is not None
    upgraded = _stored_hash(archive, "alice")
    assert upgraded is not None and upgraded != cheaper
    parameters = argon2.extract_parameters(upgraded)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19 * 1024, 2, 1)


def test_a_disabled_account_is_neither_signed_in_nor_rehashed(archive: Archive) -> None:
    idn.add_user(archive.engine, "alice", actor="ops")
    legacy = scrypt_hash(PASSWORD)
    _store_hash(archive, "alice", legacy)
    idn.disable_user(archive.engine, "alice", actor="ops")
    assert idn.authenticate_password(archive.engine, "alice", PASSWORD) is None
    assert _stored_hash(archive, "alice") == legacy


def test_a_rehash_never_overwrites_a_password_changed_meanwhile(archive: Archive) -> None:
    """Sign-in read the old hash; an administrator set a new password before the re-hash wrote."""
    idn.add_user(archive.engine, "alice", actor="ops")
    legacy = scrypt_hash(PASSWORD)
    _store_hash(archive, "alice", legacy)
    with archive.engine.connect() as conn:
        pk = users.find_user(conn, "alice").pk
    idn.set_password(archive.engine, "alice", "a new passphrase", actor="ops")
    users._rehash(archive.engine, pk, legacy, PASSWORD)
    assert idn.authenticate_password(archive.engine, "alice", "a new passphrase") is not None
    assert idn.authenticate_password(archive.engine, "alice", PASSWORD) is None


def test_sign_in_needs_the_right_password_of_an_enabled_account(archive: Archive) -> None:
    engine = archive.engine
    idn.add_user(engine, "alice", PASSWORD, actor="ops")
    idn.add_user(engine, "bob", actor="ops")  # API tokens only
    user = idn.authenticate_password(engine, "alice", PASSWORD)
    assert user is not None and (user.name, user.is_admin) == ("alice", False)
    assert idn.authenticate_password(engine, "alice", "wrong password") is None
    assert idn.authenticate_password(engine, "ALICE", PASSWORD) is None
    assert idn.authenticate_password(engine, "nobody", PASSWORD) is None
    assert idn.authenticate_password(engine, "bob", "") is None
    idn.set_password(engine, "alice", "a new passphrase", actor="ops")
    assert idn.authenticate_password(engine, "alice", PASSWORD) is None
    assert idn.authenticate_password(engine, "alice", "a new passphrase") is not None
    idn.disable_user(engine, "alice", actor="ops", reason="left the project")
    assert idn.authenticate_password(engine, "alice", "a new passphrase") is None


def test_no_password_is_stored_in_the_clear(archive: Archive) -> None:
    idn.add_user(archive.engine, "alice", PASSWORD, actor="ops")
    idn.set_password(archive.engine, "alice", "second secret phrase", actor="ops")
    stored = stored_text(archive)
    assert b"alice" in stored  # the search does see the catalogue's text
    assert PASSWORD.encode() not in stored and b"second secret phrase" not in stored


@pytest.mark.parametrize(
    ("name", "problem"),
    [("", "empty"), ("bad name", "letters, digits"), ("-dash", "start with"), ("x" * 65, "at most 64")],
)
def test_user_names_are_checked(archive: Archive, name: str, problem: str) -> None:
    with pytest.raises(InvalidParameterError, match=problem) as caught:
        idn.add_user(archive.engine, name, PASSWORD, actor="ops")
    assert caught.value.parameter == "name"


def test_short_passwords_and_duplicate_names_are_refused(archive: Archive) -> None:
    with pytest.raises(InvalidParameterError, match="at least 8"):
        idn.add_user(archive.engine, "alice", "short", actor="ops")
    idn.add_user(archive.engine, "alice", PASSWORD, actor="ops")
    with pytest.raises(ConflictError, match="already exists"):
        idn.add_user(archive.engine, "alice", PASSWORD, actor="ops")


def test_principal_has_the_users_sites_and_unrevoked_grants(archive: Archive) -> None:
    engine = archive.engine
    add_collections(archive, "TCGA-LUAD", "TCGA-BRCA", "TCGA-OV")
    idn.add_user(engine, "alice", PASSWORD, actor="ops")
    idn.add_user(engine, "root", PASSWORD, admin=True, actor="ops")
    assert idn.principal_for_user(engine, "alice") == Principal(name="alice")
    assert idn.add_user_to_site(engine, "alice", "05", "Mayo", actor="ops")
    assert idn.add_user_to_site(engine, "alice", "a2", actor="ops")  # stored upper case, as in barcodes
    assert not idn.add_user_to_site(engine, "alice", "05", actor="ops")
    assert idn.grant(engine, "alice", "TCGA-LUAD", actor="ops", reason="DUA 2024-17")
    assert idn.grant(engine, "alice", "TCGA-BRCA", actor="ops")
    assert not idn.grant(engine, "alice", "TCGA-LUAD", actor="ops")
    idn.revoke_grant(engine, "alice", "TCGA-BRCA", actor="ops", reason="DUA ended")
    assert idn.principal_for_user(engine, "alice") == Principal(
        name="alice", sites=frozenset({"05", "A2"}), grants=frozenset({"TCGA-LUAD"})
    )
    assert idn.principal_for_user(engine, "root") == Principal(name="root", is_admin=True)
    listed = {user.name: user for user in idn.list_users(engine)}
    assert listed["alice"].sites == ("05", "A2") and listed["alice"].grants == ("TCGA-LUAD",)
    assert listed["root"].is_admin and listed["root"].has_password
    assert listed["alice"].created_at.tzinfo is not None


def test_missing_things_are_named(archive: Archive) -> None:
    engine = archive.engine
    add_collections(archive, "TCGA-LUAD")
    idn.add_user(engine, "alice", PASSWORD, actor="ops")
    with pytest.raises(NotFoundError, match="no user named 'bob'"):
        idn.grant(engine, "bob", "TCGA-LUAD", actor="ops")
    with pytest.raises(NotFoundError, match="no collection named 'TCGA-XX'"):
        idn.grant(engine, "alice", "TCGA-XX", actor="ops")
    with pytest.raises(NotFoundError, match="no grant"):
        idn.revoke_grant(engine, "alice", "TCGA-LUAD", actor="ops")
    with pytest.raises(NotFoundError, match="no user named 'bob'"):
        idn.principal_for_user(engine, "bob")
    with pytest.raises(InvalidParameterError, match="site code"):
        idn.add_user_to_site(engine, "alice", "0 5", actor="ops")


def test_every_change_is_audited_without_secrets(archive: Archive) -> None:
    engine = archive.engine
    add_collections(archive, "TCGA-LUAD")
    idn.add_user(engine, "alice", PASSWORD, actor="ops")
    idn.set_password(engine, "alice", "another passphrase", actor="ops")
    idn.add_user_to_site(engine, "alice", "05", "Mayo", actor="ops")
    idn.grant(engine, "alice", "TCGA-LUAD", actor="curator", reason="DUA 17")
    idn.revoke_grant(engine, "alice", "TCGA-LUAD", actor="curator", reason="DUA ended")
    token = idn.issue_api_token(engine, "alice", actor="ops", name="ci")
    idn.disable_user(engine, "alice", actor="ops", reason="left")
    events = idn.audit_events(engine)
    assert [(e["actor"], e["action"], e["target"], e["reason"]) for e in events] == [
        ("ops", "user.add", "user:alice", None),
        ("ops", "user.password", "user:alice", None),
        ("ops", "site.add", "site:05", None),
        ("ops", "user.site", "user:alice", None),
        ("curator", "grant.add", "user:alice", "DUA 17"),
        ("curator", "grant.revoke", "user:alice", "DUA ended"),
        ("ops", "token.issue", "user:alice", None),
        ("ops", "user.disable", "user:alice", "left"),
    ]
    assert events[4]["details"] == {"collection": "TCGA-LUAD"}
    assert events[-1]["details"] == {"tokens_revoked": 1}
    text = repr(events)
    assert PASSWORD not in text and "another passphrase" not in text and token not in text
