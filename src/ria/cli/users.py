"""``ria users`` — accounts, Imaging Source Site membership, collection grants and API tokens.

The operator who runs these holds the data folder, so they administer it; the audit
trail records them by their operating-system login (:func:`getpass.getuser`). Passwords
are best given on stdin (``--password-stdin``): a ``--password`` value stays in the shell
history. An API token is printed once, on stdout alone, and stored only as a digest.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from ria.access import identity
from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.errors import InvalidParameterError

__all__ = ["users_app"]

users_app = typer.Typer(
    help="User accounts: add, list, grant and revoke collections, site membership, API tokens, disable.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True, highlight=False)

UserName = Annotated[str, typer.Argument(help="Account name.", show_default=False)]
CollectionName = Annotated[str, typer.Argument(help="Collection name.", show_default=False)]
Reason = Annotated[
    str | None, typer.Option("--reason", help="Why (kept in the audit trail).", show_default=False)
]


def _actor() -> str:
    """Who is acting, for the audit trail: the operating-system user running the CLI."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "operator"


def _archive(data_dir: DataDir, database_url: DatabaseUrl) -> Archive:
    return Archive(build_settings(data_dir, database_url))


@users_app.command("add")
def add(
    name: UserName,
    password: Annotated[
        str | None,
        typer.Option("--password", help="The password (visible in shell history: prefer --password-stdin)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="An administrator sees every collection.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an account; without a password it can sign in only with API tokens (ria users token)."""
    if password is not None and password_stdin:
        raise InvalidParameterError("--password", "give --password or --password-stdin, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    identity.validate_user_name(name)
    with _archive(data_dir, database_url) as archive:
        identity.add_user(archive.engine, name, password, admin=admin, actor=_actor())
    kind = "administrator" if admin else "user"
    out.print(f"{kind} {name} added" + ("" if password is not None else " (no password: API tokens only)"))


@users_app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List accounts with their sites and granted collections."""
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        users = identity.list_users(archive.engine)
    if as_json:
        out.print_json(json.dumps([user.to_json() for user in users]))
        return
    if not users:
        out.print("no users (ria users add NAME)")
        return
    from ria.cli.tables import print_table

    rows = [
        (
            user.name,
            ", ".join(f for f, on in (("admin", user.is_admin), ("disabled", user.disabled_at)) if on),
            ", ".join(user.sites),
            ", ".join(user.grants),
        )
        for user in users
    ]
    print_table(("name", "flags", "sites", "grants"), rows)


@users_app.command("grant")
def grant(
    name: UserName,
    collection: CollectionName,
    reason: Reason = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Let a user see a restricted or limited collection (e.g. after a data-use agreement)."""
    with _archive(data_dir, database_url) as archive:
        added = identity.grant(archive.engine, name, collection, actor=_actor(), reason=reason)
    out.print(f"{name} {'may now see' if added else 'could already see'} {collection}", markup=False)


@users_app.command("revoke")
def revoke(
    name: UserName,
    collection: CollectionName,
    reason: Reason = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """End a user's grant on a collection (kept in the record as revoked)."""
    with _archive(data_dir, database_url) as archive:
        identity.revoke_grant(archive.engine, name, collection, actor=_actor(), reason=reason)
    out.print(f"{name}'s grant on {collection} revoked", markup=False)


@users_app.command("site")
def site(
    name: UserName,
    site_code: Annotated[str, typer.Argument(help="Tissue source site code, as in TCGA barcodes (e.g. 05).")],
    site_name: Annotated[
        str | None, typer.Option("--site-name", help="The site's name, when the site is new.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make a user a member of an Imaging Source Site: they see its restricted collections."""
    with _archive(data_dir, database_url) as archive:
        added = identity.add_user_to_site(archive.engine, name, site_code, site_name, actor=_actor())
    code = site_code.strip().upper()
    out.print(f"{name} {'is now' if added else 'was already'} a member of site {code}", markup=False)


@users_app.command("token")
def token(
    name: UserName,
    token_name: Annotated[
        str | None, typer.Option("--name", help="What the token is for (shown in the audit trail).")
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Expire after this many days (default never).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API token and print it once: send it as 'Authorization: Bearer <token>'."""
    lifetime = dt.timedelta(days=expires_days) if expires_days is not None else None
    with _archive(data_dir, database_url) as archive:
        secret = identity.issue_api_token(
            archive.engine, name, actor=_actor(), name=token_name, expires_in=lifetime
        )
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()


@users_app.command("disable")
def disable(
    name: UserName,
    reason: Reason = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Stop an account signing in and revoke all its tokens at once (the record is kept)."""
    with _archive(data_dir, database_url) as archive:
        identity.disable_user(archive.engine, name, actor=_actor(), reason=reason)
    out.print(f"{name} disabled; every token of theirs is revoked", markup=False)
