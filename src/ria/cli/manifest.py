"""``ria manifest`` — write a download manifest for a query, and read one back."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ria.access import OPERATOR
from ria.access.embargo import embargo_notices
from ria.archive import Archive
from ria.catalog.search import Match, SeriesFilter
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.manifest import iter_csv_manifest, iter_tcia_manifest, read_manifest

__all__ = ["manifest_app"]

manifest_app = typer.Typer(
    help="Write download manifests (.tcia or CSV) and read them back.", no_args_is_help=True
)


class OutputFormat(StrEnum):
    TCIA = "tcia"
    CSV = "csv"


def _match(values: list[str] | None) -> Match:
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


Many = list[str] | None


@manifest_app.command("create")
def create(
    collection: Annotated[
        Many, typer.Option("--collection", "-c", help="Collection (repeat for several).")
    ] = None,
    patient_id: Annotated[Many, typer.Option("--patient-id", help="PatientID (repeatable).")] = None,
    study_uid: Annotated[Many, typer.Option("--study-uid", help="StudyInstanceUID (repeatable).")] = None,
    modality: Annotated[
        Many, typer.Option("--modality", "-m", help="Modality, e.g. CT (repeatable).")
    ] = None,
    body_part: Annotated[Many, typer.Option("--body-part", help="BodyPartExamined (repeatable).")] = None,
    manufacturer: Annotated[Many, typer.Option("--manufacturer", help="Manufacturer (repeatable).")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="tcia or csv.")
    ] = OutputFormat.TCIA,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")
    ] = None,
    server_url: Annotated[
        str, typer.Option("--server-url", help="Base URL of the Ria server the .tcia manifest points to.")
    ] = "http://127.0.0.1:8080",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a manifest of the series matching every given filter (a repeated filter: any of its values)."""
    where = SeriesFilter(
        collection=_match(collection),
        patient_id=_match(patient_id),
        study_instance_uid=_match(study_uid),
        modality=_match(modality),
        body_part_examined=_match(body_part),
        manufacturer=_match(manufacturer),
    )
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        rows = archive.catalog.iter_series(where, principal=OPERATOR)
        lines: Iterator[str]
        if output_format is OutputFormat.CSV:
            notices = embargo_notices(archive.catalog.collections(principal=OPERATOR))
            lines = iter_csv_manifest(rows, notices)
        else:
            url = f"{server_url.rstrip('/')}/nbia-api/services/v4/getImage"
            lines = iter_tcia_manifest((row.series_instance_uid for row in rows), download_server_url=url)
        written = 0
        if output is None:
            for line in lines:
                sys.stdout.write(line)
                written += 1
        else:
            # Written beside the target and renamed: an interrupted run never leaves half a manifest.
            partial = output.with_name(output.name + ".part")
            try:
                with open(partial, "w", encoding="utf-8", newline="") as handle:
                    for line in lines:
                        handle.write(line)
                        written += 1
                partial.replace(output)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    series = written - (1 if output_format is OutputFormat.CSV else 6)
    print(f"{max(series, 0)} series", file=sys.stderr)


@manifest_app.command("read")
def read(
    path: Annotated[Path, typer.Argument(help="A .tcia manifest or a CSV with a SeriesInstanceUID column.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (format and UIDs).")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Also look every series up in the archive; exit 1 if any is missing."),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the SeriesInstanceUIDs a manifest lists, one per line."""
    manifest = read_manifest(path)
    missing: list[str] = []
    if check:
        with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
            found = {
                row.series_instance_uid
                for row in archive.catalog.series_by_uid(manifest.series_uids, principal=OPERATOR)
            }
            missing = [uid for uid in manifest.series_uids if uid not in found]
    if as_json:
        body: dict[str, object] = {"format": manifest.format.value, "series": list(manifest.series_uids)}
        if check:
            body["missing"] = missing
        print(json.dumps(body, indent=2))
    else:
        for uid in manifest.series_uids:
            print(uid)
    if missing:
        print(f"{len(missing)} of {len(manifest.series_uids)} series are not in the archive", file=sys.stderr)
        raise typer.Exit(1)
