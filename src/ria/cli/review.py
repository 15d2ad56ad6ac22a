"""``ria review`` — the curator's decisions on instances held in quarantine.

Ingest holds instances whose pixels may carry burned-in text (see
:mod:`ria.catalog.quarantine`); they are stored but never served until a
curator looks at them and releases or rejects them here. The listing shows
UIDs, sizes and reasons only — PatientIDs are already de-identified, and no
patient name is ever printed.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.errors import InvalidParameterError
from ria.ingestion import validate_collection_name

__all__ = ["review_app"]

review_app = typer.Typer(
    help="Instances held in quarantine (possible burned-in text): list, release into the archive, reject.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True)

Ids = Annotated[
    list[str] | None,
    typer.Argument(help="Quarantine IDs, as `ria review list` shows them.", show_default=False),
]
AllHeld = Annotated[
    bool, typer.Option("--all", help="Every instance held for --collection (instead of IDs).")
]
Collection = Annotated[str | None, typer.Option("--collection", "-c", help="Only this collection.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _parse_ids(values: list[str]) -> list[int]:
    """IDs as integers; anything else is bad usage naming the value (one line, exit 2)."""
    ids: list[int] = []
    for value in values:
        if not value.isdigit():
            raise InvalidParameterError("id", f"not a quarantine ID: {value!r} (ria review list shows them)")
        ids.append(int(value))
    return ids


def _selection(values: list[str] | None, everything: bool, collection: str | None) -> list[int] | str:
    """The IDs given, or (``--all``) the collection whose held IDs to take; checked before any work."""
    if everything:
        if values:
            raise InvalidParameterError("--all", "give quarantine IDs or --all, not both")
        if collection is None:
            raise InvalidParameterError("--all", "--all needs --collection: decide one collection at a time")
        return validate_collection_name(collection)
    if not values:
        raise InvalidParameterError("id", "give quarantine IDs (ria review list shows them) or --all -c NAME")
    if collection is not None:
        raise InvalidParameterError("--collection", "--collection goes with --all, not with IDs")
    return _parse_ids(values)


def _ids(archive: Archive, selection: list[int] | str) -> list[int]:
    return archive.quarantine.ids(selection) if isinstance(selection, str) else selection


@review_app.command("list")
def list_held(
    collection: Collection = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the instances held for review: ID, collection, series, instance, size, reason, since when.

    Tab-separated with a header line when piped, a table on a terminal (never truncated: UIDs
    are what a curator looks up); ``--json`` for scripts.
    """
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        held = archive.quarantine.list(collection)
    if as_json:
        print(json.dumps([h.to_json() for h in held], indent=2))
        return
    if not held:
        print("nothing is held in quarantine", file=sys.stderr)
        return
    from ria.cli.tables import print_table

    columns = ("id", "collection", "SeriesInstanceUID", "SOPInstanceUID", "bytes", "reason", "held_since")
    rows = [
        (h.id, h.collection, h.series_instance_uid, h.sop_instance_uid, h.size, h.reason,
         h.held_since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for h in held
    ]  # fmt: skip
    print_table(columns, rows)


@review_app.command("release")
def release(
    ids: Ids = None,
    everything: AllHeld = False,
    collection: Collection = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Move held instances into the archive (served from now on); exit 1 if any stays held."""
    selection = _selection(ids, everything, collection)
    with Archive(build_settings(data_dir, database_url)) as archive:
        results = archive.quarantine.release(_ids(archive, selection))
    if as_json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        for r in results:
            if r.released:
                line = f"{r.id}: released ({r.outcome.value}) {r.sop_instance_uid}"
            else:
                line = f"{r.id}: still held ({r.outcome.value}): {r.reason}"
            out.print(line, highlight=False, markup=False)
        kept = sum(1 for r in results if not r.released)
        out.print(f"{len(results) - kept} released, {kept} still held", highlight=False)
    if any(not r.released for r in results):
        raise typer.Exit(1)


@review_app.command("reject")
def reject(
    ids: Ids = None,
    everything: AllHeld = False,
    collection: Collection = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Drop held instances for good (never served); `ria gc` reclaims their storage."""
    selection = _selection(ids, everything, collection)
    with Archive(build_settings(data_dir, database_url)) as archive:
        dropped = archive.quarantine.reject(_ids(archive, selection))
    if as_json:
        print(json.dumps([h.to_json() for h in dropped], indent=2))
        return
    for h in dropped:
        out.print(f"{h.id}: rejected {h.sop_instance_uid}", highlight=False, markup=False)
    out.print(f"{len(dropped)} rejected; `ria gc` reclaims their storage", highlight=False, markup=False)
