"""``Archive``: the one entry point every interface (CLI, HTTP, notebook) uses.

It owns the catalogue engine and the blob store, built once from a
:class:`~ria.settings.Settings`, and hands out the services.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Column, Engine, func, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from ria.access.principal import OPERATOR
from ria.catalog import Catalog, CatalogWriter, create_catalog_engine, upgrade_schema
from ria.catalog.database import current_revision, normalise_url
from ria.catalog.quarantine import Quarantine
from ria.catalog.schema import instance, quarantine, series
from ria.dicom.header import InstanceHeader
from ria.errors import CatalogUnavailableError, ConfigurationError, InvalidParameterError, NotFoundError
from ria.ingestion import Ingestor, IngestReport
from ria.ingestion.pipeline import ProgressCallback
from ria.ingestion.worker import Transform
from ria.settings import Settings
from ria.storage import BlobStore, open_blob_store

if TYPE_CHECKING:
    from ria.deid.engine import ActionPolicy, Deidentifier
    from ria.deid.mapping import IdMap
    from ria.deid.pixels import PixelRules

__all__ = ["Archive", "ConsistencyReport", "open_archive"]

_ROW_PAGE = 5000


@dataclass
class ConsistencyReport:
    """Where the catalogue and the blob store disagree (empty lists mean they agree)."""

    instances: int = 0
    held: int = 0
    """Instances held in quarantine (their blobs are checked too, and count as referenced)."""
    missing_blobs: list[str] = field(default_factory=list)
    size_mismatches: list[str] = field(default_factory=list)
    series_count_mismatches: list[str] = field(default_factory=list)
    orphan_blobs: int = 0

    @property
    def consistent(self) -> bool:
        return not (self.missing_blobs or self.size_mismatches or self.series_count_mismatches)


class Archive:
    """A Ria archive: catalogue + blob store.

    Example::

        from ria import Archive, Settings
        with Archive(Settings(data_dir="ria-data")) as archive:
            report = archive.ingest(["scans/"], collection="TCGA-LUAD")
            print(archive.catalog.collection_names())
    """

    def __init__(self, settings: Settings, *, store: BlobStore | None = None, migrate: bool = True) -> None:
        self.settings = settings
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data folder {settings.data_dir}: {exc.strerror or exc}"
            ) from exc
        self.engine = create_catalog_engine(settings.catalog_url)
        if migrate:
            try:
                upgrade_schema(self.engine)
            except SQLAlchemyError as exc:
                self.engine.dispose()
                url = self.engine.url.render_as_string(hide_password=True)
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                raise CatalogUnavailableError(f"cannot open the catalogue at {url}: {reason}") from exc
        self.store: BlobStore = (
            store
            if store is not None
            else open_blob_store(settings.blob_store, settings.blob_dir, durable=settings.fsync)
        )
        self.catalog = Catalog(self.engine)
        self.quarantine = Quarantine(self.engine, self.store, self.writer)
        """Instances held for a curator: ``list()``, ``release(ids)``, ``reject(ids)``."""

    @classmethod
    def open_existing(cls, settings: Settings, *, store: BlobStore | None = None) -> Archive:
        """The archive ``settings`` point at, for commands that only read; never creates one.

        Opening creates a missing archive (folder, catalogue, schema), which is right for
        ``ria ingest`` and wrong for ``ria cohort`` run from the wrong folder: that would
        leave an empty ``ria-data`` behind and print an empty table as if it were an answer.
        """
        where = _missing_archive(settings)
        if where is not None:
            raise NotFoundError(
                f"no Ria archive at {where}: make one with 'ria demo' or 'ria ingest FOLDER -c COLLECTION', "
                "or point at one with --data-dir (or --database-url)"
            )
        return cls(settings, store=store)

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        close_store = getattr(self.store, "close", None)
        if callable(close_store):
            close_store()
        self.engine.dispose()

    def writer(self) -> CatalogWriter:
        """A catalogue writer that makes blobs durable before each commit (per settings)."""
        return CatalogWriter(self.engine, before_commit=self.store.sync if self.settings.fsync else None)

    def ingest(
        self,
        paths: Iterable[str | PathLike[str]],
        collection: str,
        *,
        workers: int | None = None,
        progress: ProgressCallback | None = None,
        write_report: bool = True,
        deidentify: Transform | None = None,
        headers: Mapping[str, InstanceHeader] | None = None,
    ) -> IngestReport:
        """Ingest files, folders and zip archives into ``collection``; see :class:`IngestReport`.

        With ``deidentify`` (see :meth:`deidentifier`; any picklable
        :data:`~ria.ingestion.worker.Transform` will do) every file is rewritten in the
        workers before anything is stored; files it refuses are reported as rejected,
        files it asks to hold (possible burned-in text) are quarantined: stored but
        never served until a curator decides (:attr:`quarantine`, ``ria review``).

        A collection that requires de-identification (:meth:`require_deidentification`)
        takes nothing without a de-identifier applying its profile: the rule is kept
        here, where every ingest passes, not in one interface.

        ``headers`` (file path → :class:`~ria.dicom.header.InstanceHeader`) are headers the
        caller read from those very files already (C-STORE checks each instance before
        answering): ingest uses them instead of parsing the files again. Inline ingest only
        (``workers=1`` or a small ingest); worker processes parse as usual.
        """
        required = self.required_profile(collection)
        if required is not None:
            from ria.deid.profiles import Profile

            policy = getattr(deidentify, "policy", None)
            wanted = Profile.parse(required).name
            if policy is None or getattr(policy, "name", None) != wanted:
                raise InvalidParameterError(
                    "--deidentify",
                    f"collection {collection!r} takes only data de-identified with profile {required!r}; "
                    "ingest with --deidentify "
                    f"{required} --id-map FILE",
                )
        ingestor = Ingestor(
            self.store,
            self.writer(),
            workers=workers or self.settings.workers,
            batch_size=self.settings.batch_size,
            report_dir=self.settings.report_dir if write_report else None,
            transform=deidentify,
            headers=headers,
        )
        return ingestor.run(paths, collection, progress=progress)

    def required_profile(self, collection_name: str) -> str | None:
        """The de-identification profile a collection requires on the way in, if any."""
        info = self.catalog.collection(collection_name, principal=OPERATOR)
        return info.deid_profile if info is not None else None

    def require_deidentification(self, collection_name: str, profile: str | None) -> None:
        """Make every ingest into a collection apply ``profile``, or lift the rule with ``None``."""
        if profile is not None:
            from ria.deid.profiles import Profile

            profile = Profile.parse(profile).spec
        self.writer().require_deidentification(collection_name, profile)

    def _private_file(self, kind: str, collection_name: str, suffix: str) -> Path:
        digest = hashlib.sha256(collection_name.encode()).hexdigest()[:16]
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", collection_name)
        return self.settings.private_dir / kind / f"{safe}-{digest}{suffix}"

    def _id_map_path(self, collection_name: str) -> Path:
        return self._private_file("id-maps", collection_name, ".csv")

    @staticmethod
    def _keep_private(source: str | PathLike[str], target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o700)
        partial = target.with_suffix(".partial")
        shutil.copyfile(source, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, target)

    def store_pixel_rules(self, collection_name: str, rules: str | PathLike[str] | None) -> int:
        """Keep a curator's pixel rules (:mod:`ria.deid.pixels`) for a collection; ``None`` removes them.

        Every de-identifying ingest into the collection — CLI, STOW-RS, C-STORE —
        then blanks the regions they name. Returns how many rules there are.
        """
        from ria.deid.pixels import PixelRules

        target = self._private_file("pixel-rules", collection_name, ".json")
        if rules is None:
            target.unlink(missing_ok=True)
            return 0
        count = len(PixelRules.read(Path(rules)).rules)
        self._keep_private(rules, target)
        return count

    def stored_pixel_rules(self, collection_name: str) -> PixelRules | None:
        """The pixel rules stored for ``collection_name``, if any."""
        from ria.deid.pixels import PixelRules

        path = self._private_file("pixel-rules", collection_name, ".json")
        return PixelRules.read(path) if path.exists() else None

    def store_id_map(self, collection_name: str, id_map: str | PathLike[str] | None) -> int:
        """Keep ``id_map`` (a CSV) as the collection's map for network uploads; ``None`` removes it.

        STOW-RS and C-STORE senders cannot hand a map over, so a collection that
        requires de-identification takes network uploads only with a stored one. The
        map is validated first and kept in the private folder, never served. Returns
        how many patients it maps.
        """
        from ria.deid.mapping import IdMap as IdMapType

        target = self._id_map_path(collection_name)
        if id_map is None:
            target.unlink(missing_ok=True)
            return 0
        table = IdMapType.read(Path(id_map))
        self._keep_private(id_map, target)
        return len(table.targets)

    def stored_id_map(self, collection_name: str) -> IdMap | None:
        """The ID map stored for ``collection_name`` (:meth:`store_id_map`), if any."""
        from ria.deid.mapping import IdMap as IdMapType

        path = self._id_map_path(collection_name)
        return IdMapType.read(path) if path.exists() else None

    def deidentifier(
        self,
        profile: ActionPolicy,
        id_map: IdMap | str | PathLike[str],
        pixel_rules: PixelRules | None = None,
    ) -> Deidentifier:
        """A de-identifier for this archive: its private key, its UID root, this profile and ID map,
        and the curator's pixel rules if any."""
        from ria.deid.engine import Deidentifier
        from ria.deid.mapping import IdMap as IdMapType
        from ria.deid.mapping import Replacements, load_secret

        table = id_map if isinstance(id_map, IdMapType) else IdMapType.read(Path(id_map))
        replacements = Replacements(load_secret(self.settings.private_dir), self.settings.uid_root)
        return Deidentifier(profile, table, replacements, pixel_rules=pixel_rules)

    def check(self, *, verify_hashes: bool = False) -> ConsistencyReport:
        """Compare every instance row and held (quarantined) row with its blob, and series counters
        with their rows.

        With ``verify_hashes`` each blob is re-read and its SHA-256 compared too.
        """
        report = ConsistencyReport()
        with self.engine.connect() as conn:
            for table in (instance, quarantine):
                last = 0
                while True:
                    rows = conn.execute(
                        select(table.c.id, table.c.sop_instance_uid, table.c.blob_key, table.c.size)
                        .where(table.c.id > last)
                        .order_by(table.c.id)
                        .limit(_ROW_PAGE)
                    ).all()
                    if not rows:
                        break
                    for pk, sop, key, size in rows:
                        last = pk
                        if table is instance:
                            report.instances += 1
                        else:
                            report.held += 1
                        self._check_blob(report, sop, key, size, verify_hashes)
            totals = (
                select(
                    series.c.series_instance_uid,
                    series.c.image_count,
                    series.c.file_size,
                    func.count(instance.c.id),
                    func.coalesce(func.sum(instance.c.size), 0),
                )
                .outerjoin(instance, instance.c.series_pk == series.c.id)
                .where(series.c.is_remote.is_(False))
                .group_by(series.c.id, series.c.series_instance_uid, series.c.image_count, series.c.file_size)
            )
            for uid, count, size, real_count, real_size in conn.execute(totals):
                if count != real_count or size != real_size:
                    report.series_count_mismatches.append(uid)
        report.orphan_blobs = sum(1 for _ in self._unreferenced_keys())
        return report

    def _check_blob(self, report: ConsistencyReport, sop: str, key: str, size: int, verify: bool) -> None:
        if not self.store.exists(key):
            report.missing_blobs.append(sop)
        elif self.store.size(key) != size:
            report.size_mismatches.append(sop)
        elif verify:
            digest = hashlib.sha256()
            for chunk in self.store.open_range(key):
                digest.update(chunk)
            if digest.hexdigest() != key:
                report.size_mismatches.append(sop)

    def _unreferenced_keys(self) -> Iterator[str]:
        """Stored keys no row references: a merge of ascending streams, in constant memory.

        Held (quarantined) instances reference their blobs as catalogued ones do:
        they must survive ``gc`` until a curator releases or rejects them.
        """
        merged = heapq.merge(
            _referenced_keys(self.engine, instance.c.blob_key),
            _referenced_keys(self.engine, quarantine.c.blob_key),
        )
        referenced = (key for key, _ in itertools.groupby(merged))
        current = next(referenced, None)
        for key in self.store.iter_keys():
            while current is not None and current < key:
                current = next(referenced, None)
            if current != key:
                yield key

    def collect_garbage(self, *, grace_seconds: float = 3600.0) -> tuple[int, int]:
        """Delete objects no row references and reclaim their space; return (objects, bytes).

        Objects younger than ``grace_seconds`` are spared: a running ingest may
        have committed them without having committed their rows yet. Stale
        staging files go too, and network uploads' spool folders a dead request left.
        """
        from ria.ingestion.receive import Spool

        removed = self.store.clear_staging(grace_seconds)
        removed += Spool.sweep(self.settings.data_dir, older_than=grace_seconds)
        for key in self._unreferenced_keys():
            if self.store.age(key) >= grace_seconds:
                self.store.delete(key)
                removed += 1
        return removed, self.store.compact()


def _referenced_keys(engine: Engine, column: Column[str]) -> Iterator[str]:
    """Every blob key in ``column`` (an indexed key column), ascending, a page at a time."""
    last = ""
    while True:
        with engine.connect() as conn:
            page = list(
                conn.execute(
                    select(column).where(column > last).distinct().order_by(column).limit(_ROW_PAGE)
                ).scalars()
            )
        if not page:
            return
        yield from page
        last = page[-1]


def _missing_archive(settings: Settings) -> str | None:
    """Where the archive was looked for, if there is none there; ``None`` if there is one.

    The embedded catalogue is a file, looked for without creating it; a database server
    counts as an archive once it holds Ria's schema (an empty database is no archive).
    """
    url = make_url(normalise_url(settings.catalog_url))
    shown = make_url(settings.catalog_url).render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        database = url.database or ":memory:"
        if database == ":memory:" or Path(database).is_file():
            return None
        return str(settings.data_dir) if settings.database_url is None else shown
    engine = create_catalog_engine(settings.catalog_url)
    try:
        if current_revision(engine) is not None:
            return None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CatalogUnavailableError(f"cannot open the catalogue at {shown}: {reason}") from exc
    finally:
        engine.dispose()
    return shown


def open_archive(data_dir: str | PathLike[str] | None = None, **settings: object) -> Archive:
    """Open (creating if needed) the archive in ``data_dir``; other settings from ``RIA_*``."""
    return Archive(Settings.from_env(data_dir=Path(data_dir) if data_dir is not None else None, **settings))
