"""``ria users`` as an operator runs it: real processes, exit codes, one-line errors, the audit trail."""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path

import pytest

from ria.access import identity as idn
from ria.archive import Archive
from ria.settings import Settings
from tests.access.conftest import add_collections, stored_text
from tests.cli.test_cli import RIA, db_args, ria

PASSWORD = "correct horse battery"


def ria_stdin(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RIA, *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_an_operator_manages_a_user_from_start_to_end(tmp_path: Path, database_url: str | None) -> None:
    where = db_args(tmp_path, database_url)
    added = ria_stdin(PASSWORD + "\n", "users", "add", "alice", "--password-stdin", *where)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "user alice added"
    assert ria("users", "add", "root", "--admin", *where).stdout.strip() == (
        "administrator root added (no password: API tokens only)"
    )
    with Archive(Settings(data_dir=tmp_path, database_url=database_url)) as archive:
        add_collections(archive, "TCGA-LUAD")
    granted = ria("users", "grant", "alice", "TCGA-LUAD", "--reason", "DUA 17", *where)
    assert (granted.returncode, granted.stdout.strip()) == (0, "alice may now see TCGA-LUAD")
    joined = ria("users", "site", "alice", "05", "--site-name", "Mayo Clinic", *where)
    assert (joined.returncode, joined.stdout.strip()) == (0, "alice is now a member of site 05")
    issued = ria("users", "token", "alice", "--name", "pipeline", "--expires-days", "30", *where)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("ria_pat_") and issued.stdout.count("\n") == 1
    listing = json.loads(ria("users", "list", "--json", *where).stdout)
    assert [(u["name"], u["admin"], u["password"], u["sites"], u["grants"]) for u in listing] == [
        ("alice", False, True, ["05"], ["TCGA-LUAD"]),
        ("root", True, False, [], []),
    ]
    table = ria("users", "list", *where).stdout  # piped: TSV with a header (ria.cli.tables)
    assert table.splitlines() == ["name\tflags\tsites\tgrants", "alice\t\t05\tTCGA-LUAD", "root\tadmin\t\t"]
    with Archive(Settings(data_dir=tmp_path, database_url=database_url)) as archive:
        assert idn.authenticate_password(archive.engine, "alice", PASSWORD) is not None
        principal = idn.principal_for_token(archive.engine, token)
        assert principal is not None and principal.grants == {"TCGA-LUAD"} and principal.sites == {"05"}
        stored = stored_text(archive)
        assert PASSWORD.encode() not in stored and token.encode() not in stored
    revoked = ria("users", "revoke", "alice", "TCGA-LUAD", *where)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "alice's grant on TCGA-LUAD revoked")
    disabled = ria("users", "disable", "alice", "--reason", "left the project", *where)
    assert disabled.returncode == 0, disabled.stderr
    with Archive(Settings(data_dir=tmp_path, database_url=database_url)) as archive:
        assert idn.principal_for_token(archive.engine, token) is None
        events = idn.audit_events(archive.engine)
    me = getpass.getuser()
    assert [(e["actor"], e["action"]) for e in events] == [
        (me, "user.add"),
        (me, "user.add"),
        (me, "grant.add"),
        (me, "site.add"),
        (me, "user.site"),
        (me, "token.issue"),
        (me, "grant.revoke"),
        (me, "user.disable"),
    ]
    assert "disabled" in ria("users", "list", *where).stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["users", "add", "bad name"], 2, "error: user name 'bad name' must start with a letter"),
        (
            ["users", "add", "carol", "--password", "short"],
            2,
            "error: a password needs at least 8 characters",
        ),
        (
            ["users", "add", "carol", "--password", PASSWORD, "--password-stdin"],
            2,
            "error: give --password or --password-stdin, not both",
        ),
        (["users", "grant", "nobody", "TCGA-LUAD"], 1, "error: no user named 'nobody'"),
        (["users", "grant", "alice", "TCGA-XX"], 1, "error: no collection named 'TCGA-XX'"),
        (
            ["users", "revoke", "alice", "TCGA-LUAD"],
            1,
            "error: user 'alice' has no grant on collection 'TCGA-LUAD'",
        ),
        (["users", "site", "alice", "0-5"], 2, "error: a site code is 1 to 16 letters or digits"),
        (["users", "token", "nobody"], 1, "error: no user named 'nobody'"),
        (["users", "token", "alice", "--expires-days", "0"], 2, ""),
        (["users", "add", "alice"], 1, "error: a user named 'alice' already exists"),
        (["users", "disable", "nobody"], 1, "error: no user named 'nobody'"),
    ],
)
def test_mistakes_are_one_line_with_the_right_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    where = db_args(tmp_path, None)
    assert ria("users", "add", "alice", "--password", PASSWORD, *where).returncode == 0
    with Archive(Settings(data_dir=tmp_path)) as archive:
        add_collections(archive, "TCGA-LUAD")
    result = ria(*args, *where)
    assert result.returncode == code, result.stderr
    if message:
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
