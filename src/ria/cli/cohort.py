"""``ria cohort``, ``ria survival`` and ``ria linkage``: cohort queries from the command line.

Same model and same output writers as ``/api/v1/cohorts`` (:mod:`ria.cohort`), so
a query pasted from a notebook, the shell or an HTTP client answers the same.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ria.access import OPERATOR
from ria.access.embargo import embargo_notices
from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.cli.tables import print_table
from ria.cohort import Cohort, CohortQuery, GeneCondition, parse_condition
from ria.cohort.export import SERIES_COLUMNS, iter_csv, patient_record, series_record
from ria.errors import InvalidParameterError

__all__ = ["cohort_command", "linkage_command", "survival_command"]

out = Console(soft_wrap=True)
_TABLE_ROWS = 200


class View(StrEnum):
    SERIES = "series"
    PATIENTS = "patients"
    FACETS = "facets"
    MANIFEST = "manifest"
    CITATION = "citation"


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    TCIA = "tcia"
    S5CMD = "s5cmd"


Many = Annotated[list[str] | None, typer.Option(show_default=False)]
CollectionOpt = Annotated[
    list[str] | None, typer.Option("--collection", "-c", help="Collection (repeat for any of several).")
]
ModalityOpt = Annotated[
    list[str] | None, typer.Option("--modality", "-m", help="Modality, e.g. CT (repeatable).")
]
BodyPartOpt = Annotated[list[str] | None, typer.Option("--body-part", help="BodyPartExamined (repeatable).")]
ManufacturerOpt = Annotated[
    list[str] | None, typer.Option("--manufacturer", help="Manufacturer (repeatable).")
]
DescriptionOpt = Annotated[
    str | None, typer.Option("--description", help="SeriesDescription contains this (any case).")
]
PatientOpt = Annotated[list[str] | None, typer.Option("--patient", help="PatientID (repeatable).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Studies on or after YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Studies on or before YYYY-MM-DD.")]
MutatedOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mutated",
        help="Gene the patient has a protein-altering mutation in (repeatable; all must hold); "
        "GENE:Class1,Class2 to name Variant_Classification values, GENE:any for every variant.",
    ),
]
WildOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--not-mutated", help="Gene the patient is wild type for (profiled for it, no such mutation)."
    ),
]
MinMutOpt = Annotated[
    int | None, typer.Option("--min-mutations", min=0, help="At least this many mutations.")
]
MaxMutOpt = Annotated[int | None, typer.Option("--max-mutations", min=0, help="At most this many mutations.")]
ClinicalOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--clinical",
        help="Clinical condition FIELD OP VALUE, e.g. vital_status=Dead, days_to_death<=1095, stage=II,III, "
        "age_years>=60 (repeatable). Fields: see docs/cli.md.",
    ),
]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label", help="Label condition, e.g. IDH_status=Mutant, mutations_count>500 (repeatable)."
    ),
]
LocalOpt = Annotated[bool, typer.Option("--local-only", help="Leave out metadata-only (remote) series.")]
QueryOpt = Annotated[
    Path | None,
    typer.Option(
        "--query",
        help="The query as JSON, as POST /api/v1/cohorts/query takes it (and --format json echoes it); "
        "'-' reads stdin. Instead of the filter options.",
        show_default=False,
    ),
]


def read_query(path: Path) -> CohortQuery:
    """A query saved as JSON (the HTTP body), so one query runs the same from the shell and over HTTP."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidParameterError("--query", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(
            "--query", f"{path} is not JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    return CohortQuery.from_json(body)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidParameterError(option, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _gene(spec: str) -> GeneCondition:
    gene, _, classes = spec.partition(":")
    if not classes:
        return GeneCondition(gene)
    return GeneCondition(gene, tuple(c for c in classes.split(",") if c.strip()))


def build_query(
    collection: list[str] | None,
    modality: list[str] | None,
    body_part: list[str] | None,
    manufacturer: list[str] | None,
    description: str | None,
    patient: list[str] | None,
    date_from: str | None,
    date_to: str | None,
    mutated: list[str] | None,
    not_mutated: list[str] | None,
    min_mutations: int | None,
    max_mutations: int | None,
    clinical: list[str] | None,
    label: list[str] | None,
    local_only: bool,
) -> CohortQuery:
    """The :class:`CohortQuery` the options describe."""
    genes = [_gene(spec) for spec in mutated or ()]
    genes += [GeneCondition(gene, mutated=False) for gene in not_mutated or ()]
    return CohortQuery(
        collection=tuple(collection or ()),
        modality=tuple(modality or ()),
        body_part=tuple(body_part or ()),
        manufacturer=tuple(manufacturer or ()),
        series_description=description,
        patient_id=tuple(patient or ()),
        study_date_from=_date(date_from, "--from"),
        study_date_to=_date(date_to, "--to"),
        genes=tuple(genes),
        min_mutations=min_mutations,
        max_mutations=max_mutations,
        clinical=tuple(parse_condition(c, "--clinical") for c in clinical or ()),
        labels=tuple(parse_condition(c, "--label") for c in label or ()),
        include_remote=not local_only,
    )


def _or_file(query: CohortQuery, path: Path | None) -> CohortQuery:
    if path is None:
        return query
    if query != CohortQuery():
        raise InvalidParameterError("--query", "give either --query FILE or filter options, not both")
    return read_query(path)


def _write(lines: Iterable[str], output: Path | None) -> None:
    if output is None:
        for line in lines:
            sys.stdout.write(line)
        return
    partial = output.with_name(output.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(lines)
    partial.replace(output)


def _table(records: list[dict[str, object]], columns: list[str]) -> None:
    """``--format table``: TSV when piped, at most :data:`_TABLE_ROWS` rows on a terminal."""
    rows = ([record.get(c) for c in columns] for record in records)
    print_table(columns, rows, limit=_TABLE_ROWS, more="use --format csv or --format json for all of them")


def cohort_command(
    collection: CollectionOpt = None,
    modality: ModalityOpt = None,
    body_part: BodyPartOpt = None,
    manufacturer: ManufacturerOpt = None,
    description: DescriptionOpt = None,
    patient: PatientOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    mutated: MutatedOpt = None,
    not_mutated: WildOpt = None,
    min_mutations: MinMutOpt = None,
    max_mutations: MaxMutOpt = None,
    clinical: ClinicalOpt = None,
    label: LabelOpt = None,
    local_only: LocalOpt = False,
    query_file: QueryOpt = None,
    view: Annotated[View, typer.Option("--view", help="What to print.")] = View.SERIES,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format", "-f", help="table, csv, json; manifests: tcia (local series), s5cmd (remote), csv."
        ),
    ] = (Format.TABLE),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Find series by imaging facets and by the patient's genomics, clinical data and labels."""
    query = build_query(
        collection, modality, body_part, manufacturer, description, patient, date_from, date_to,
        mutated, not_mutated, min_mutations, max_mutations, clinical, label, local_only,
    )  # fmt: skip
    query = _or_file(query, query_file)
    if fmt in (Format.TCIA, Format.S5CMD) and view is not View.MANIFEST:
        raise InvalidParameterError("--format", f"--format {fmt.value} goes with --view manifest")
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        cohort = Cohort(archive, query, OPERATOR)
        if view is View.SERIES:
            records = (series_record(row) for row in cohort.iter_series())
            if fmt is Format.CSV:
                _write(iter_csv(records, SERIES_COLUMNS), output)
            elif fmt is Format.JSON:
                _write((json.dumps(r, default=str) + "\n" for r in records), output)
            else:
                rows = list(records)
                _table(rows, ["Collection", "PatientID", "Modality", "SeriesDescription", "ImageCount",
                              "SeriesInstanceUID"])  # fmt: skip
        elif view is View.PATIENTS:
            patients = [patient_record(p) for p in cohort.patients()]
            if fmt is Format.CSV:
                _write(iter_csv(patients), output)
            elif fmt is Format.JSON:
                _write([json.dumps(patients, indent=2, default=str) + "\n"], output)
            else:
                columns = list(patients[0]) if patients else ["PatientID"]
                _table(patients, columns)
        elif view is View.FACETS:
            facets = cohort.facets()
            records_f = [{"facet": f.facet, "value": f.value, "patients": f.patients, "series": f.series}
                         for f in facets]  # fmt: skip
            if fmt is Format.CSV:
                _write(iter_csv(records_f, ("facet", "value", "patients", "series")), output)
            elif fmt is Format.JSON:
                _write([json.dumps(records_f, indent=2) + "\n"], output)
            else:
                _table(records_f, ["facet", "value", "patients", "series"])
        elif view is View.MANIFEST:
            from ria.manifest import iter_csv_manifest, iter_s5cmd_manifest, iter_tcia_manifest

            if fmt is Format.CSV:
                notices = embargo_notices(archive.catalog.collections(principal=OPERATOR))
                _write(iter_csv_manifest(cohort.iter_series(), notices), output)
            elif fmt is Format.S5CMD:
                _write(iter_s5cmd_manifest(cohort.iter_series()), output)
            else:
                url = "http://127.0.0.1:8080/nbia-api/services/v4/getImage"
                uids = (row.series_instance_uid for row in cohort.iter_series() if not row.is_remote)
                _write(iter_tcia_manifest(uids, download_server_url=url), output)
        else:
            citation = cohort.citation()
            if fmt is Format.JSON:
                _write([json.dumps(citation.to_json(), indent=2) + "\n"], output)
            else:
                _write([citation.text], output)


def survival_command(
    split_by: Annotated[
        str,
        typer.Option("--split-by", help="mutated:GENE, label:NAME or clinical:FIELD (e.g. clinical:stage)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the plot (.png or .svg) or the curves (.json)."),
    ] = None,
    collection: CollectionOpt = None,
    modality: ModalityOpt = None,
    body_part: BodyPartOpt = None,
    manufacturer: ManufacturerOpt = None,
    description: DescriptionOpt = None,
    patient: PatientOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    mutated: MutatedOpt = None,
    not_mutated: WildOpt = None,
    min_mutations: MinMutOpt = None,
    max_mutations: MaxMutOpt = None,
    clinical: ClinicalOpt = None,
    label: LabelOpt = None,
    local_only: LocalOpt = False,
    query_file: QueryOpt = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Kaplan-Meier survival of a cohort's patients split by a field, with numbers at risk and log-rank p."""
    from ria.cohort.survival import kaplan_meier

    suffix = output.suffix.lower().lstrip(".") if output else "png"
    if suffix not in ("png", "svg", "json"):
        raise InvalidParameterError("--output", f"{output}: write a .png, .svg or .json file")
    query = build_query(
        collection, modality, body_part, manufacturer, description, patient, date_from, date_to,
        mutated, not_mutated, min_mutations, max_mutations, clinical, label, local_only,
    )  # fmt: skip
    query = _or_file(query, query_file)
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        result = kaplan_meier(Cohort(archive, query, OPERATOR), split_by)
    rows = [
        (g.name, g.patients, g.events, "not reached" if g.median_days is None else f"{g.median_days:.0f}")
        for g in result.groups
    ]
    print_table(("group", "patients", "events", "median survival (days)"), rows)
    p_value = "n/a (one group)" if result.logrank_p is None else f"{result.logrank_p:.4g}"
    out.print(f"log-rank p = {p_value}; patients without survival data or a group: {result.excluded}")
    if output is not None:
        data = (
            json.dumps(result.to_json(), indent=2).encode()
            if suffix == "json"
            else result.render("svg" if suffix == "svg" else "png")
        )
        output.write_bytes(data)
        out.print(f"wrote {output}", highlight=False)


def linkage_command(
    collection: CollectionOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (with every unmatched barcode).")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """How many imaging patients have genomics, clinical data, both or neither — and the reverse."""
    from ria.cohort.linkage import linkage_report

    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        report = linkage_report(archive, tuple(collection or ()), principal=OPERATOR)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    columns = ("collection", "imaging patients", "mutations", "labels", "clinical", "genomics+clinical",
               "genomics only", "clinical only", "neither")  # fmt: skip
    rows = [
        (c.collection, c.imaging_patients, c.with_mutations, c.with_labels, c.with_clinical,
         c.with_genomics_and_clinical, c.with_genomics_only, c.with_clinical_only, c.with_neither)
        for c in report.collections
    ]  # fmt: skip
    print_table(columns, rows)
    reverse = [
        (p.project, p.participants, p.with_imaging, len(p.without_imaging), _first(p.without_imaging))
        for p in report.projects
    ]
    names = ("project (genomic/clinical data)", "participants", "with imaging", "without imaging",
             "first without imaging (--json lists all)")  # fmt: skip
    print_table(names, reverse, after_another=True)


def _first(barcodes: Iterable[str], shown: int = 5) -> str:
    """The first few barcodes, whole: a reader looks them up (``--json`` has every one)."""
    listed = list(barcodes)
    return ", ".join(listed[:shown]) + (f" and {len(listed) - shown} more" if len(listed) > shown else "")
