"""``ria import-idc``: the real TCGA imaging catalogue (NCI Imaging Data Commons' index) as remote series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.idc import IdcImportReport, ImportProgress, import_idc

__all__ = ["import_idc_command", "run_with_progress"]


def import_idc_command(
    collection: Annotated[
        list[str] | None,
        typer.Option(
            "--collection",
            "-c",
            help="Collection to import, as an IDC id (tcga_luad) or TCIA name (TCGA-LUAD); repeatable. "
            "Default: every TCGA collection.",
            show_default=False,
        ),
    ] = None,
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            help="IDC series index parquet (default: the one the idc-index-data package installed).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import IDC's series index as remote (metadata-only) series: queryable like local ones,
    downloads point at the source (idempotent: re-running updates in place)."""
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    with Archive(build_settings(data_dir, database_url)) as archive:
        report = run_with_progress(
            archive, collection or None, parquet, show=err.is_terminal and not as_json, err=err
        )
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    out.print(report.summary(), highlight=False)
    for item in report.collections:
        out.print(
            f"  {item.name}: {item.series_added} added, {item.series_updated} updated, "
            f"{item.series_unchanged} unchanged, {item.series_skipped_local} local, "
            f"{item.series_conflicts} conflicts; DOI {item.doi or '-'}",
            highlight=False,
            markup=False,
        )


def run_with_progress(
    archive: Archive, collections: list[str] | None, parquet: Path | None, *, show: bool, err: Console
) -> IdcImportReport:
    """The import, with a progress bar when a person is watching."""
    if not show:
        return import_idc(archive, collections, parquet=parquet)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("import IDC series", total=None)

        def advance(step: ImportProgress) -> None:
            bar.update(task, completed=step.done, total=step.total, description=f"import {step.collection}")

        return import_idc(archive, collections, parquet=parquet, progress=advance)
