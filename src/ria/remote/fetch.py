"""Fetching a remote series from a mounted mirror of its object store, into the archive.

A remote series (IDC's index, :mod:`ria.idc`) names its files by an object-store
folder, ``s3://bucket/prefix/*`` or ``gs://bucket/prefix/*``. This machine reaches
object stores through a mirror: a folder (``Settings.remote_root``) where that
folder lives at ``<remote_root>/bucket/prefix/`` — an s3fs, rclone or NFS mount, or
what ``s5cmd sync`` filled. Fetching reads the files from there and ingests them
through the normal ingest path (hashing, blob store, crash safety), then makes the
series local.

Nothing is half-done on purpose: every file's header is read first, and a file of
another series, study or patient, a file that is not DICOM, or a count that differs
from the index's ``image_count`` refuses the whole series before anything is stored.
The count check is an error because the usual cause is a mirror still being synced:
promoting a partial series would serve it as complete and no rerun would repair it.
``allow_count_mismatch`` accepts the mirror as the truth (the index can be stale);
the report keeps both numbers.

A crash midway leaves the series remote (the instances already filed are duplicates
to the rerun that completes it): :func:`ria.catalog.remote.promote_to_local` flips
it in one transaction. Two fetches of the same series in one process run one after
the other; in separate processes the second one's ingest finds duplicates and its
promotion finds the series already local, so neither fails.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ria.catalog.remote import SeriesOrigin, promote_to_local, remote_series, series_origin
from ria.dicom.header import read_instance_header
from ria.errors import ConflictError, InvalidDicomError, NotFoundError, RiaError
from ria.settings import Settings

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = [
    "FetchReport",
    "fetch_for_download",
    "fetch_for_retrieve",
    "fetch_series",
    "first_remote",
    "mirror_files",
    "mirror_path",
    "remote_refusal",
]

log = logging.getLogger(__name__)

# The only source URLs a mirror serves, allow-listed like idc-index's path templates: a bucket name
# as S3 and GCS allow them, then key segments that cannot be ".", ".." or empty, then "/*" or "/".
_SOURCE_URL = re.compile(
    r"(?P<scheme>s3|gs)://(?P<bucket>[a-z0-9][a-z0-9._-]{1,61}[a-z0-9])"
    r"/(?P<prefix>[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*)/?\*?"
)
_MAX_LISTED = 5
_POOL_THRESHOLD = 64  # files below which starting worker processes costs more than it saves


def mirror_path(settings: Settings, source_url: str | None) -> Path | None:
    """Where ``source_url``'s files live in the mirror; ``None`` without a mirror or for any other URL.

    Only ``s3://bucket/prefix/*`` and ``gs://bucket/prefix/*`` are understood; a URL with
    ``..``, ``.``, empty or absolute segments, a query, or characters outside the
    allow-list maps to nothing, so no catalogue value can point outside ``remote_root``.
    """
    if settings.remote_root is None or not source_url:
        return None
    match = _SOURCE_URL.fullmatch(source_url.strip())
    if match is None:
        return None
    return settings.remote_root.joinpath(match["bucket"], *match["prefix"].split("/"))


def mirror_files(folder: Path) -> list[Path]:
    """A mirrored series folder's files, sorted; hidden ones (sync tools' partial files) are skipped."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


@dataclass(frozen=True)
class FetchReport:
    """What fetching one series did.

    ``expected`` is the image count the index gave (0: unknown); ``image_count`` and
    ``file_size`` are the local series' counts afterwards, from its instance rows.
    """

    series_instance_uid: str
    collection: str
    source_url: str | None
    folder: Path
    expected: int
    files: int
    ingested: int
    duplicate: int
    image_count: int
    file_size: int
    already_local: bool = False
    seconds: float = 0.0

    @property
    def count_mismatch(self) -> bool:
        """The index promised another number of images than the series now holds."""
        return self.expected > 0 and self.image_count != self.expected

    def to_json(self) -> dict[str, Any]:
        return {
            "series_instance_uid": self.series_instance_uid,
            "collection": self.collection,
            "source_url": self.source_url,
            "folder": str(self.folder),
            "expected": self.expected,
            "files": self.files,
            "ingested": self.ingested,
            "duplicate": self.duplicate,
            "image_count": self.image_count,
            "file_size": self.file_size,
            "already_local": self.already_local,
            "count_mismatch": self.count_mismatch,
            "seconds": round(self.seconds, 3),
        }


class _SeriesLocks:
    """One lock per series UID, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


# Process state, not configuration: a server's request threads must not ingest one series twice at once.
_LOCKS = _SeriesLocks()


def remote_refusal(
    settings: Settings, origin: SeriesOrigin, *, verb: str = "download", subject: str | None = None
) -> ConflictError:
    """The 409 for a remote series that cannot be fetched here: where it lives and how to fetch it.

    ``subject`` replaces "series <uid> is" (e.g. for a study holding only remote series).
    """
    where = origin.source_url or "its source archive"
    subject = subject or f"series {origin.series_instance_uid} is"
    head = f"{subject} remote: this archive holds its metadata only; {verb} it from {where}"
    folder = mirror_path(settings, origin.source_url)
    if settings.remote_root is None:
        hint = (
            "or point RIA_REMOTE_ROOT (ria serve --remote-root) at a mirror of the object store "
            "(<remote_root>/<bucket>/<prefix>/) and Ria fetches it on first download"
        )
    elif folder is None:
        hint = "its source URL is not one a mirror serves (s3://bucket/prefix/* or gs://bucket/prefix/*)"
    else:
        hint = f"it is not in the mirror at {settings.remote_root} (no folder {folder})"
    return ConflictError(f"{head}; {hint}", source_url=origin.source_url)


def fetch_series(
    archive: Archive,
    series_instance_uid: str,
    *,
    allow_count_mismatch: bool = False,
    workers: int | None = None,
) -> FetchReport:
    """Fetch a remote series from the mirror into its collection and make it local.

    Raises :class:`~ria.errors.NotFoundError` for an uncatalogued series,
    :class:`~ria.errors.ConflictError` when it is not in the mirror (or none is
    configured) or the mirror's files do not belong to it (the series stays remote).
    An already-local series is reported as such, nothing done.
    """
    with _LOCKS.hold(f"{archive.settings.catalog_url}\n{series_instance_uid}"):
        return _fetch(archive, series_instance_uid, allow_count_mismatch, workers)


def fetch_for_download(archive: Archive, series_instance_uid: str, *, verb: str = "download") -> bool:
    """Downloads: make a remote series local if the mirror has it; ``False`` if it was local already.

    A remote series the mirror cannot serve gets :func:`remote_refusal`'s 409 — the
    source URL and how to configure a mirror — not a 404.
    """
    origin = series_origin(archive.engine, series_instance_uid)
    if origin is None or not origin.is_remote:
        return False
    folder = mirror_path(archive.settings, origin.source_url)
    if folder is None or not folder.is_dir():
        raise remote_refusal(archive.settings, origin, verb=verb)
    fetch_series(archive, series_instance_uid)
    return True


def fetch_for_retrieve(archive: Archive, study_instance_uid: str, series_instance_uid: str | None) -> None:
    """WADO-RS: fetch the remote series a study or series path names that the mirror holds.

    Those it does not hold are left remote: a study still serves its local series, and a
    path naming only remote ones gets :func:`remote_refusal` from the caller.
    """
    if archive.settings.remote_root is None:
        return
    uids = None if series_instance_uid is None else [series_instance_uid]
    for origin in remote_series(
        archive.engine, study_instance_uid=study_instance_uid, series_instance_uids=uids
    ):
        folder = mirror_path(archive.settings, origin.source_url)
        if folder is not None and folder.is_dir():
            fetch_series(archive, origin.series_instance_uid)


def first_remote(
    archive: Archive, study_instance_uid: str, series_instance_uid: str | None
) -> SeriesOrigin | None:
    """The first remote series (by UID) a study or series path names, if any."""
    uids = None if series_instance_uid is None else [series_instance_uid]
    found = remote_series(archive.engine, study_instance_uid=study_instance_uid, series_instance_uids=uids)
    return found[0] if found else None


def _fetch(archive: Archive, uid: str, allow_count_mismatch: bool, workers: int | None) -> FetchReport:
    started = time.monotonic()
    origin = series_origin(archive.engine, uid)
    if origin is None:
        raise NotFoundError(f"no series with SeriesInstanceUID {uid}", parameter="SeriesInstanceUID")
    folder = mirror_path(archive.settings, origin.source_url) or Path()
    if not origin.is_remote:
        return _report(origin, origin, folder, files=0, ingested=0, duplicate=0, started=started, done=True)
    if not folder.parts or not folder.is_dir():
        raise remote_refusal(archive.settings, origin, verb="download")
    files = mirror_files(folder)
    sops = _validate(origin, folder, files)
    if origin.image_count > 0 and len(sops) != origin.image_count and not allow_count_mismatch:
        raise ConflictError(
            f"series {uid}: the mirror at {folder} holds {len(sops)} instances, the index lists "
            f"{origin.image_count}; if a sync is still running let it finish, else fetch with "
            "ria fetch-remote --allow-count-mismatch to take the mirror as it is",
            series_instance_uid=uid,
            found=len(sops),
            expected=origin.image_count,
        )
    chosen = workers or (archive.settings.workers if len(files) >= _POOL_THRESHOLD else 1)
    report = archive.ingest(files, origin.collection, workers=chosen)
    if not report.ok or report.quarantined:
        reasons = "; ".join(f"{Path(p.source).name}: {p.reason}" for p in report.problems[:_MAX_LISTED])
        raise ConflictError(
            f"series {uid}: {report.conflict} conflicting and {report.rejected} rejected files "
            f"in {folder} ({reasons}); the series stays remote",
            series_instance_uid=uid,
        )
    promoted = promote_to_local(archive.engine, uid, dt.datetime.now(dt.UTC))
    if promoted is None:  # deleted while we fetched
        raise NotFoundError(f"series {uid} vanished from the catalogue while it was fetched")
    result = _report(
        origin,
        promoted,
        folder,
        files=len(files),
        ingested=report.ingested,
        duplicate=report.duplicate,
        started=started,
        done=False,
    )
    if result.count_mismatch:
        log.warning(
            "series %s fetched with %d instances, the index listed %d",
            uid,
            result.image_count,
            result.expected,
        )
    log.info("fetched series %s: %d instances from %s", uid, result.image_count, folder)
    return result


def _validate(origin: SeriesOrigin, folder: Path, files: list[Path]) -> set[str]:
    """Read every header before storing anything; return the SOPInstanceUIDs, or refuse the series."""
    if not files:
        raise ConflictError(
            f"series {origin.series_instance_uid}: the mirror folder {folder} is empty; "
            "the series stays remote",
            series_instance_uid=origin.series_instance_uid,
        )
    problems: list[str] = []
    sops: set[str] = set()
    for path in files:
        name = str(path.relative_to(folder))
        try:
            header = read_instance_header(path)
        except (InvalidDicomError, OSError) as exc:
            problems.append(f"{name}: {exc.message if isinstance(exc, RiaError) else exc}")
            continue
        if header.series_instance_uid != origin.series_instance_uid:
            problems.append(f"{name}: belongs to series {header.series_instance_uid}")
        elif header.study_instance_uid != origin.study_instance_uid:
            problems.append(f"{name}: belongs to study {header.study_instance_uid}")
        elif header.patient_id != origin.patient_id:
            # The value is not repeated: messages never carry patient identifiers beyond the catalogue's.
            problems.append(f"{name}: its PatientID differs from the catalogued patient's")
        else:
            sops.add(header.sop_instance_uid)
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise ConflictError(
            f"series {origin.series_instance_uid}: {len(problems)} of {len(files)} files in {folder} "
            f"do not belong to it: {shown}{more}; nothing was fetched, the series stays remote",
            series_instance_uid=origin.series_instance_uid,
            refused=len(problems),
        )
    return sops


def _report(
    before: SeriesOrigin,
    after: SeriesOrigin,
    folder: Path,
    *,
    files: int,
    ingested: int,
    duplicate: int,
    started: float,
    done: bool,
) -> FetchReport:
    return FetchReport(
        series_instance_uid=after.series_instance_uid,
        collection=after.collection,
        source_url=after.source_url,
        folder=folder,
        expected=0 if done else before.image_count,
        files=files,
        ingested=ingested,
        duplicate=duplicate,
        image_count=after.image_count,
        file_size=after.file_size,
        already_local=done,
        seconds=time.monotonic() - started,
    )
