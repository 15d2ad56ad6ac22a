"""``ria cite``: how to cite a selection (series, a manifest, a shared cart, collections, a cohort query)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.errors import InvalidParameterError, NotFoundError

__all__ = ["cite_command"]


def cite_command(
    series: Annotated[
        list[str] | None,
        typer.Option("--series", help="A SeriesInstanceUID (repeatable).", show_default=False),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="A .tcia or CSV manifest.", show_default=False)
    ] = None,
    cart: Annotated[
        str | None, typer.Option("--cart", help="A shared cart's name.", show_default=False)
    ] = None,
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", "-c", help="A whole collection (repeatable).", show_default=False),
    ] = None,
    query: Annotated[
        Path | None,
        typer.Option(
            "--query", help="A cohort query saved as JSON (the /api/v1/cohorts body).", show_default=False
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, bibtex, ris, csl-json or json (all of them).")
    ] = "text",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The TCGA acknowledgment, each collection's DOI and licence, embargo notices and reference entries."""
    from ria.access import OPERATOR
    from ria.access.citation import CITATION_FORMATS, cite
    from ria.manifest import read_manifest

    chosen = next((f for f in CITATION_FORMATS if f == fmt.strip().lower()), None)
    if chosen is None:
        raise InvalidParameterError("--format", f"--format is one of {', '.join(CITATION_FORMATS)}")
    if not (series or manifest or cart or collection or query):
        raise InvalidParameterError(
            "--series",
            "nothing to cite: give --series UID, --manifest FILE, --cart NAME, -c NAME or --query FILE",
        )
    uids = list(series or ())
    if manifest is not None:
        uids += read_manifest(manifest).series_uids
    cohort = None
    if query is not None:
        from ria.cohort import CohortQuery

        try:
            body = json.loads(query.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidParameterError("--query", f"cannot read {query} as JSON: {exc}") from exc
        cohort = CohortQuery.from_json(body)
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        # The operator holds the data folder and sees every collection it holds.
        citation = cite(
            archive, OPERATOR, series_uids=uids, collections=collection or (), cart=cart, cohort=cohort
        )
    if not citation.collections:
        # An empty BibTeX/RIS/CSL-JSON file would look like success; say what to fix instead.
        raise NotFoundError(
            "nothing to cite: the selection holds no series or collection in this archive "
            "(check the UIDs, manifest, cart or collection names)"
        )
    print(citation.render(chosen), end="")
