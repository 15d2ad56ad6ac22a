"""``ria fetch-remote``: fetch remote series from a mounted mirror of their object store into the archive."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.remote import SeriesOrigin, remote_series, series_origin
from ria.cli.options import DatabaseUrl, DataDir, RemoteRoot, build_settings
from ria.cli.tables import human_size
from ria.errors import ConfigurationError, InvalidParameterError, NotFoundError, RiaError
from ria.remote import FetchReport, fetch_series, mirror_path

__all__ = ["FetchSummary", "fetch_remote_command"]


@dataclass
class FetchSummary:
    """What one ``ria fetch-remote`` run did: series fetched, not in the mirror, and failed (with reasons)."""

    fetched: list[FetchReport] = field(default_factory=list)
    already_local: list[str] = field(default_factory=list)
    not_in_mirror: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "fetched": [report.to_json() for report in self.fetched],
            "already_local": self.already_local,
            "not_in_mirror": self.not_in_mirror,
            "failed": self.failed,
        }

    def lines(self) -> list[str]:
        instances = sum(r.image_count for r in self.fetched)
        size = sum(r.file_size for r in self.fetched)
        lines = [
            f"{len(self.fetched)} series fetched ({instances} instances, {human_size(size)}), "
            f"{len(self.already_local)} already local, {len(self.not_in_mirror)} not in the mirror, "
            f"{len(self.failed)} failed"
        ]
        lines.extend(
            f"  {r.series_instance_uid}: {r.image_count} instances, the index listed {r.expected}"
            for r in self.fetched
            if r.count_mismatch
        )
        lines.extend(f"  failed {uid}: {reason}" for uid, reason in self.failed.items())
        return lines


def fetch_remote_command(
    series_uids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SERIES_UID...", help="SeriesInstanceUIDs of remote series to fetch.", show_default=False
        ),
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection",
            "-c",
            help="Fetch every remote series of this collection that the mirror holds.",
            show_default=False,
        ),
    ] = None,
    remote_root: RemoteRoot = None,
    allow_count_mismatch: Annotated[
        bool,
        typer.Option(
            "--allow-count-mismatch",
            help="Take a mirror folder whose instance count differs from the index's as it is.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Fetch remote series (ria import-idc) from a mounted mirror of their object store and make them
    local; named series, or every one of --collection the mirror holds. Exit 1 if any failed."""
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    if not series_uids and collection is None:
        raise InvalidParameterError("SERIES_UID", "name remote series to fetch, or a --collection")
    settings = build_settings(data_dir, database_url, remote_root=remote_root)
    if settings.remote_root is None:
        raise ConfigurationError("no mirror to fetch from: pass --remote-root PATH or set RIA_REMOTE_ROOT")
    if not settings.remote_root.is_dir():
        raise ConfigurationError(f"the mirror folder {settings.remote_root} does not exist")
    with Archive(settings) as archive:
        summary = FetchSummary()
        targets = _targets(archive, series_uids or [], collection, summary)
        show = err.is_terminal and not as_json
        _fetch_all(archive, targets, summary, allow_count_mismatch, err if show else None)
    if as_json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        for line in summary.lines():
            out.print(line, highlight=False, markup=False)
    if summary.failed:
        raise typer.Exit(1)


def _targets(
    archive: Archive, uids: list[str], collection: str | None, summary: FetchSummary
) -> list[SeriesOrigin]:
    """The remote series to fetch; named ones that cannot be are failures, a collection's are not."""
    targets: list[SeriesOrigin] = []
    for uid in dict.fromkeys(uids):
        origin = series_origin(archive.engine, uid)
        if origin is None:
            summary.failed[uid] = "not in the catalogue"
        elif not origin.is_remote:
            summary.already_local.append(uid)
        elif not _in_mirror(archive, origin):
            summary.failed[uid] = f"not in the mirror ({origin.source_url or 'no source URL'})"
        else:
            targets.append(origin)
    if collection is not None:
        if archive.catalog.collection(collection, principal=OPERATOR) is None:
            raise NotFoundError(f"no collection {collection!r} in this archive", parameter="--collection")
        named = {t.series_instance_uid for t in targets}
        for origin in remote_series(archive.engine, collection_name=collection):
            if origin.series_instance_uid in named:
                continue
            if _in_mirror(archive, origin):
                targets.append(origin)
            else:
                summary.not_in_mirror.append(origin.series_instance_uid)
    return targets


def _in_mirror(archive: Archive, origin: SeriesOrigin) -> bool:
    folder = mirror_path(archive.settings, origin.source_url)
    return folder is not None and folder.is_dir()


def _fetch_all(
    archive: Archive,
    targets: list[SeriesOrigin],
    summary: FetchSummary,
    allow_count_mismatch: bool,
    console: Console | None,
) -> None:
    """Fetch each target, a failure recorded and the next one tried; a progress bar on a terminal."""
    if console is None:
        for origin in targets:
            _fetch_one(archive, origin, summary, allow_count_mismatch)
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("fetch remote series", total=len(targets))
        for origin in targets:
            bar.update(task, description=f"fetch {origin.collection}")
            _fetch_one(archive, origin, summary, allow_count_mismatch)
            bar.advance(task)


def _fetch_one(
    archive: Archive, origin: SeriesOrigin, summary: FetchSummary, allow_count_mismatch: bool
) -> None:
    uid = origin.series_instance_uid
    try:
        report = fetch_series(archive, uid, allow_count_mismatch=allow_count_mismatch)
    except RiaError as exc:
        summary.failed[uid] = exc.message
        return
    if report.already_local:
        summary.already_local.append(uid)
    else:
        summary.fetched.append(report)
