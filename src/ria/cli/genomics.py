"""``ria genomics`` — import MAFs, clinical tables, mutation tables and labels; list what is imported.

Each file is one source; importing the same content again replaces it, so re-running an import
script is safe. Usage mistakes (unknown ``--kind``, a malformed ``--project``, a missing file) are
found before anything is imported (exit 2); a file that cannot be imported at all is reported and
the others still go in (exit 1 at the end).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.errors import InvalidParameterError, RiaError
from ria.genomics import KINDS, ImportReport, import_file, sources
from ria.genomics.projects import validate_project

__all__ = ["genomics_app"]

genomics_app = typer.Typer(
    help="Genomic and clinical data keyed by TCGA barcode: import files, list imported sources.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

SHOWN_REJECTS = 5

Files = Annotated[list[Path], typer.Argument(help="MAF, clinical, mutation or label files (gzip or not).")]
Kind = Annotated[
    str | None,
    typer.Option("--kind", "-k", help=f"Force the kind ({', '.join(KINDS)}); default: from content."),
]
Project = Annotated[
    str | None,
    typer.Option("--project", "-p", help="Project for every row (e.g. TCGA-LUAD); default: from the file."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@genomics_app.command("import")
def import_files(
    files: Files,
    kind: Kind = None,
    project: Project = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import each FILE as one source: print its counts and first rejected rows; exit 1 if one failed."""
    if kind is not None and kind not in KINDS:
        raise InvalidParameterError("--kind", f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    validate_project(project)
    for path in files:
        if not path.is_file():
            raise InvalidParameterError("FILE", f"{path}: no such file")
    reports: list[ImportReport] = []
    failures: list[dict[str, str]] = []
    with Archive(build_settings(data_dir, database_url)) as archive:
        for path in files:
            try:
                report = import_file(archive, path, kind=kind, project=project)
            except RiaError as exc:
                failures.append({"file": str(path), "error": exc.message})
                if not as_json:
                    err.print(f"error: {exc.message}", highlight=False, markup=False)
                continue
            reports.append(report)
            if not as_json:
                _print_report(report)
    if as_json:
        print(json.dumps({"imported": [r.to_json() for r in reports], "failed": failures}, indent=2))
    if failures or any(r.rows_read and not r.rows_stored for r in reports):
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    out.print(report.summary(), highlight=False, markup=False)
    for reason in report.rejects[:SHOWN_REJECTS]:
        out.print(f"  rejected: {reason}", highlight=False, markup=False)
    if report.rows_rejected > SHOWN_REJECTS:
        out.print(f"  ... and {report.rows_rejected - SHOWN_REJECTS} more rejected", highlight=False)


@genomics_app.command("sources")
def list_sources(as_json: AsJson = False, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List imported sources: ID, kind, name, project, row counts, when (tab-separated; --json: JSON)."""
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        found = sources(archive)
    if as_json:
        print(json.dumps([s.to_json() for s in found], indent=2))
        return
    from ria.cli.tables import print_table

    columns = ("id", "kind", "name", "project", "read", "stored", "linked", "unmatched", "rejected",
               "imported_at")  # fmt: skip
    rows = [
        (s.id, s.kind, s.name, s.project, s.rows_read, s.rows_stored, s.rows_linked, s.rows_unmatched,
         s.rows_rejected, s.imported_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for s in found
    ]  # fmt: skip
    print_table(columns, rows)
