"""Ingest with a rich progress bar when a person is watching."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ria.archive import Archive
from ria.catalog.records import WriteResult
from ria.deid.engine import Deidentifier
from ria.ingestion import IngestReport, iter_sources

if TYPE_CHECKING:
    from ria.deid.engine import Deidentifier


def ingest_with_progress(
    archive: Archive,
    paths: Sequence[Path],
    collection: str,
    *,
    show: bool,
    deidentify: Deidentifier | None = None,
) -> IngestReport:
    if not show:
        return archive.ingest(paths, collection, deidentify=deidentify)
    total = sum(1 for _ in iter_sources(paths))
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[problems]} problems"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"ingest {collection}", total=total, problems=0)
        problems = 0

        def advance(result: WriteResult) -> None:
            nonlocal problems
            if result.outcome.value in ("conflict", "rejected"):
                problems += 1
            bar.update(task, advance=1, problems=problems)

        return archive.ingest(paths, collection, progress=advance, deidentify=deidentify)
