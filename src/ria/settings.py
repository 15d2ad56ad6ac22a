"""The one settings object: built once (by the CLI, the server or a notebook) and passed in.

Nothing in Ria reads the environment or keeps configuration in module globals;
:meth:`Settings.from_env` is the single place environment variables are read.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from ria.errors import ConfigurationError

__all__ = ["Settings"]

DEFAULT_DATA_DIR = "./ria-data"


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """Where the archive lives and how it works.

    Attributes:
        data_dir: folder holding the embedded catalogue, the blob store and ingest reports.
        database_url: SQLAlchemy URL of the catalogue; ``None`` means SQLite inside ``data_dir``.
        workers: processes that parse DICOM headers in parallel during ingest.
        batch_size: instances written to the catalogue per transaction.
        fsync: make blobs durable before the rows that reference them commit;
            turn off only for throw-away archives.
        blob_store: ``pack`` (objects appended to pack files: fast ingest, the default for
            a new archive) or ``files`` (one file per object under ``blobs/objects``);
            ``None`` reopens an existing archive with the kind it was created with.
        uid_root: root under which de-identification issues new UIDs (``2.25``: UUID-derived,
            needs no registration; an organisation's registered root otherwise).
        remote_root: a mounted mirror of the object stores remote series live in (s3fs, rclone or
            NFS mount, or a folder ``s5cmd sync`` filled): ``s3://bucket/prefix/*`` is read from
            ``<remote_root>/bucket/prefix/``. With it, downloading a remote series fetches it into
            the archive first; ``None`` means remote series are metadata only.

    The HTTP server (``ria serve``; docs/deployment.md says how they fit behind a proxy):

    Attributes:
        cors_origins: browser origins (``https://viewer.example.org``) allowed to call the API and
            DICOMweb from their pages, with credentials; empty means CORS is off. Never ``*``: a
            wildcard would let any web page a signed-in user visits read what their token may see.
        stow_collection: the collection STOW-RS to the plain service root (``/dicomweb/studies``)
            files into, so generic clients and viewers' upload buttons need no Ria-specific URL;
            ``None`` keeps that a 400 naming the per-collection URL.
        public_url: the URL clients reach the server at (``https://ria.example.org/archive``);
            links in answers (RetrieveURL, BulkDataURI, manifests) start with it. ``None`` means
            the address the request reached, with the port the server listens on.
        trusted_proxies: addresses or networks of reverse proxies whose ``Forwarded`` and
            ``X-Forwarded-*`` headers are believed; from anyone else those headers are ignored.
        local_curators: a request from this machine without a token may curate (STOW-RS), as the
            CLI's operator may. Off for ``ria serve`` unless asked (a reverse proxy on the same host
            would make every client a curator), on for ``ria demo``; never for a forwarded request.
    """

    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    database_url: str | None = None
    workers: int = field(default_factory=_default_workers)
    batch_size: int = 500
    fsync: bool = True
    blob_store: str | None = None
    uid_root: str = "2.25"
    remote_root: Path | None = None
    cors_origins: tuple[str, ...] = ()
    stow_collection: str | None = None
    public_url: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    local_curators: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if self.remote_root is not None:
            object.__setattr__(self, "remote_root", Path(self.remote_root).expanduser())
        if self.workers < 1:
            raise ConfigurationError(f"workers must be at least 1, got {self.workers}")
        if self.batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.blob_store not in (None, "pack", "files"):
            raise ConfigurationError(f"blob store must be 'pack' or 'files', got {self.blob_store!r}")
        if self.database_url is not None and "://" not in self.database_url:
            raise ConfigurationError(
                f"database URL {self.database_url!r} is not a URL; "
                "expected e.g. sqlite:///path/catalog.sqlite or postgresql://user@host/db"
            )

        object.__setattr__(self, "cors_origins", tuple(_checked_origin(o) for o in self.cors_origins))
        object.__setattr__(self, "trusted_proxies", tuple(_checked_network(p) for p in self.trusted_proxies))
        if self.public_url is not None:
            object.__setattr__(self, "public_url", _checked_public_url(self.public_url))
        if self.stow_collection is not None and not self.stow_collection.strip():
            raise ConfigurationError("the STOW-RS collection must be a collection name, got an empty one")

    @property
    def catalog_url(self) -> str:
        """The effective catalogue URL (the embedded SQLite file unless one was given)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'catalog.sqlite').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def report_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def private_dir(self) -> Path:
        """De-identification key and anything else never served (not under blobs/ or reports/)."""
        return self.data_dir / "private"

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced; ``None`` values are ignored."""
        kept = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **kept)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
        """Settings from ``RIA_*`` environment variables, then explicit overrides.

        Recognised variables: ``RIA_DATA_DIR``, ``RIA_DATABASE_URL``, ``RIA_WORKERS``,
        ``RIA_BATCH_SIZE``, ``RIA_FSYNC`` (``0``/``1``), ``RIA_BLOB_STORE`` (``pack``/``files``),
        ``RIA_UID_ROOT`` (de-identification's UID root), ``RIA_REMOTE_ROOT`` (mirror of remote series),
        ``RIA_CORS_ORIGINS`` and ``RIA_TRUSTED_PROXIES`` (comma-separated), ``RIA_STOW_COLLECTION``,
        ``RIA_PUBLIC_URL`` and ``RIA_LOCAL_CURATORS`` (``0``/``1``).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if env.get("RIA_DATA_DIR"):
            values["data_dir"] = Path(env["RIA_DATA_DIR"])
        if env.get("RIA_DATABASE_URL"):
            values["database_url"] = env["RIA_DATABASE_URL"]
        for name, key in (("workers", "RIA_WORKERS"), ("batch_size", "RIA_BATCH_SIZE")):
            if env.get(key):
                try:
                    values[name] = int(env[key])
                except ValueError:
                    raise ConfigurationError(f"{key} must be an integer, got {env[key]!r}") from None
        if env.get("RIA_BLOB_STORE"):
            values["blob_store"] = env["RIA_BLOB_STORE"].strip().lower()
        if env.get("RIA_UID_ROOT"):
            values["uid_root"] = env["RIA_UID_ROOT"].strip()
        if env.get("RIA_REMOTE_ROOT"):
            values["remote_root"] = Path(env["RIA_REMOTE_ROOT"])
        if env.get("RIA_FSYNC"):
            values["fsync"] = _flag(env["RIA_FSYNC"])
        if env.get("RIA_LOCAL_CURATORS"):
            values["local_curators"] = _flag(env["RIA_LOCAL_CURATORS"])
        for name, key in (("cors_origins", "RIA_CORS_ORIGINS"), ("trusted_proxies", "RIA_TRUSTED_PROXIES")):
            if env.get(key):
                values[name] = tuple(item.strip() for item in env[key].split(",") if item.strip())
        for name, key in (("stow_collection", "RIA_STOW_COLLECTION"), ("public_url", "RIA_PUBLIC_URL")):
            if env.get(key, "").strip():
                values[name] = env[key].strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _flag(value: str) -> bool:
    return value.strip().lower() not in {"0", "false", "no", "off"}


def _checked_origin(origin: str) -> str:
    """A browser origin exactly as browsers send it: ``scheme://host[:port]``, nothing more."""
    text = origin.strip()
    if text == "*":
        raise ConfigurationError(
            "a CORS origin must be one site (e.g. https://viewer.example.org), not '*': a wildcard "
            "would let every web page read what a signed-in user's token may see"
        )
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"CORS origin {origin!r} is not an origin: expected scheme://host[:port], "
            "e.g. http://localhost:3000"
        )
    if parts.query or parts.fragment or parts.username:
        raise ConfigurationError(f"CORS origin {origin!r} is not an origin: expected scheme://host[:port]")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _checked_network(proxy: str) -> str:
    try:
        return str(ipaddress.ip_network(proxy.strip(), strict=False))
    except ValueError:
        raise ConfigurationError(
            f"trusted proxy {proxy!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
        ) from None


def _checked_public_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"public URL {url!r} must be an http(s) URL without query, e.g. https://ria.example.org/archive"
        )
    return url.strip().rstrip("/")
