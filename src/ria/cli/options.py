"""Options every command shares, and turning them into the one Settings object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ria.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="RIA_DATA_DIR", help="Archive folder (default ./ria-data).", show_default=False
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="RIA_DATABASE_URL",
        help="Catalogue database URL (default: SQLite inside the data folder).",
        show_default=False,
    ),
]
RemoteRoot = Annotated[
    Path | None,
    typer.Option(
        "--remote-root",
        envvar="RIA_REMOTE_ROOT",
        help="Mirror of the object store remote series live in: s3://bucket/prefix/* is read from "
        "REMOTE_ROOT/bucket/prefix/, and a download of a remote series fetches it from there.",
        show_default=False,
    ),
]
CorsOrigins = Annotated[
    list[str] | None,
    typer.Option(
        "--cors-origin",
        help="Let web pages from this origin (scheme://host[:port]) call the API and DICOMweb with "
        "credentials; repeatable (env RIA_CORS_ORIGINS, comma-separated). Off by default; never '*'.",
        show_default=False,
    ),
]
StowCollection = Annotated[
    str | None,
    typer.Option(
        "--stow-collection",
        help="Collection STOW-RS to the plain /dicomweb/studies files into (env RIA_STOW_COLLECTION); "
        "without it only /dicomweb/collections/NAME/studies stores.",
        show_default=False,
    ),
]
PublicUrl = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        help="URL clients reach this server at, e.g. https://ria.example.org (env RIA_PUBLIC_URL); "
        "links in answers start with it. Default: the address the request reached.",
        show_default=False,
    ),
]
TrustedProxies = Annotated[
    list[str] | None,
    typer.Option(
        "--trusted-proxy",
        help="Address or network of a reverse proxy whose Forwarded/X-Forwarded-* headers are believed; "
        "repeatable (env RIA_TRUSTED_PROXIES, comma-separated).",
        show_default=False,
    ),
]
LocalCurators = Annotated[
    bool | None,
    typer.Option(
        "--local-curators/--no-local-curators",
        help="Let requests from this machine without a token curate (STOW-RS), as the CLI's operator "
        "may (env RIA_LOCAL_CURATORS). Off for serve, on for demo; never for a forwarded request.",
        show_default=False,
    ),
]
Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")]


def build_settings(data_dir: Path | None, database_url: str | None, **overrides: object) -> Settings:
    """Settings from the environment, overridden by what was given on the command line."""
    return Settings.from_env(data_dir=data_dir, database_url=database_url, **overrides)
