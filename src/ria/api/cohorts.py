"""``/api/v1/cohorts``: cross-modal cohort queries, survival curves and the linkage report.

Thin routes over :mod:`ria.cohort`: the body is a :class:`CohortQueryBody`
(documented in OpenAPI), validated once by :meth:`CohortQuery.from_json`, and
every view streams where it can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ria.access import Principal
from ria.access.embargo import embargo_notices
from ria.api.deps import get_archive, get_principal
from ria.api.origin import public_base_url
from ria.api.streaming import stream_text
from ria.archive import Archive
from ria.bounds import MAX_COUNT
from ria.catalog.search import SeriesRow
from ria.cohort import CLINICAL_FIELDS, NON_SILENT_CLASSES, Cohort, CohortQuery
from ria.cohort.compiler import label_types
from ria.cohort.export import SERIES_COLUMNS, iter_csv, iter_json_rows, patient_record, series_record
from ria.cohort.linkage import linkage_report
from ria.errors import InvalidParameterError
from ria.manifest import iter_csv_manifest, iter_s5cmd_manifest, iter_tcia_manifest

__all__ = ["router"]

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["cohorts"])
ArchiveDep = Annotated[Archive, Depends(get_archive)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


class GeneBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gene: str = Field(description="HUGO symbol, e.g. KRAS")
    classes: list[str] | None = Field(
        default=None,
        description="Variant_Classification values that count (default: protein-altering; ['any']: all)",
    )


class ConditionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="clinical field or label name")
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "exists", "missing"] = "eq"
    value: Any = Field(default=None, description="a value; a list for 'in'; none for exists/missing")


class CohortQueryBody(BaseModel):
    """A cohort: imaging facets select series; every gene, clinical and label condition must hold for
    the series' patient. Conditions may also be written as strings: ``"vital_status=Dead"``,
    ``"days_to_death<=1095"``, ``"stage=II,III"``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"collection": ["TCGA-LUAD"], "modality": ["CT"], "mutated": ["KRAS"]},
                {"collection": ["TCGA-BRCA"], "modality": ["MR"], "clinical": ["vital_status=Dead"]},
            ]
        },
    )
    collection: list[str] | None = None
    modality: list[str] | None = None
    body_part: list[str] | None = None
    manufacturer: list[str] | None = None
    series_description: str | None = Field(default=None, description="case-insensitive substring")
    study_date_from: dt.date | None = None
    study_date_to: dt.date | None = None
    patient_id: list[str] | None = None
    mutated: list[str | GeneBody] | None = Field(default=None, description="genes that must be mutated")
    not_mutated: list[str] | None = Field(
        default=None,
        description="genes that must be wild type (patient profiled for the gene, no such mutation)",
    )
    min_mutations: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    max_mutations: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    clinical: list[str | ConditionBody] | None = Field(
        default=None, description=f"conditions on {', '.join(CLINICAL_FIELDS)}"
    )
    labels: list[str | ConditionBody] | None = Field(
        default=None, description="conditions on imported labels"
    )
    include_remote: bool = Field(default=True, description="include metadata-only (remote) series")


def _cohort(archive: Archive, body: CohortQueryBody, principal: Principal) -> Cohort:
    raw = body.model_dump(mode="json", exclude_none=True)
    return Cohort(archive, CohortQuery.from_json(raw), principal)


View = Literal["series", "patients", "facets", "manifest", "citation"]
Format = Literal["json", "csv", "tcia", "s5cmd"]


@router.post(
    "/cohorts/query",
    summary="Run a cohort query across imaging, genomics, clinical data and labels",
    responses={
        200: {
            "content": {
                media: {}
                for media in ("application/json", "text/csv", "application/x-tcia-manifest", "text/plain")
            }
        }
    },
)
def query_cohort(
    request: Request,
    archive: ArchiveDep,
    principal: PrincipalDep,
    body: CohortQueryBody,
    view: Annotated[
        View,
        Query(description="series (one row per series), patients, facets (counts), manifest, citation"),
    ] = "series",
    format: Annotated[
        Format,
        Query(description="json or csv; manifests: tcia (local series), s5cmd (remote series) or csv"),
    ] = "json",
) -> Response:
    cohort = _cohort(archive, body, principal)
    if format in ("tcia", "s5cmd") and view != "manifest":
        raise InvalidParameterError("format", f"format={format} applies to view=manifest only")
    if view == "series":  # streamed from the catalogue's cursor (ria.api.streaming)
        if format == "csv":
            return _csv(
                cohort.iter_series(),
                lambda rows: iter_csv(map(series_record, rows), SERIES_COLUMNS),
                "cohort-series.csv",
            )
        envelope = {"query": cohort.query.to_json()}
        return stream_text(
            cohort.iter_series(),
            lambda rows: iter_json_rows(map(series_record, rows), "series", envelope),
            media_type="application/json",
        )
    if view == "patients":
        patients = [patient_record(p) for p in cohort.patients()]
        if format == "csv":
            return _csv(iter(patients), iter_csv, "cohort-patients.csv")
        return JSONResponse({"query": cohort.query.to_json(), "patients": patients, "count": len(patients)})
    if view == "facets":
        facets = cohort.facets()
        if format == "csv":
            rows = (
                {"facet": f.facet, "value": f.value, "patients": f.patients, "series": f.series}
                for f in facets
            )
            columns = ("facet", "value", "patients", "series")
            return _csv(rows, lambda facets: iter_csv(facets, columns), "cohort-facets.csv")
        grouped: dict[str, list[dict[str, Any]]] = {}
        for f in facets:
            grouped.setdefault(f.facet, []).append(
                {"value": f.value, "patients": f.patients, "series": f.series}
            )
        return JSONResponse({"query": cohort.query.to_json(), "facets": grouped})
    if view == "manifest":
        if format == "csv":
            notices = embargo_notices(archive.catalog.collections(principal=principal), principal.now())
            return _csv(
                cohort.iter_series(),
                partial(iter_csv_manifest, embargo_notices=notices),
                "cohort-manifest.csv",
            )
        if format == "json":
            raise InvalidParameterError("format", "manifests are format=tcia, format=s5cmd or format=csv")
        if format == "s5cmd":
            return stream_text(
                cohort.iter_series(),
                iter_s5cmd_manifest,
                media_type="text/plain; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="cohort-s5cmd.txt"'},
            )
        server = public_base_url(request) + "/nbia-api/services/v4/getImage"

        def tcia(rows: Iterator[SeriesRow]) -> Iterator[str]:
            local = (row.series_instance_uid for row in rows if not row.is_remote)
            return iter_tcia_manifest(local, download_server_url=server)

        return stream_text(
            cohort.iter_series(),
            tcia,
            media_type="application/x-tcia-manifest",
            headers={"Content-Disposition": 'attachment; filename="cohort.tcia"'},
        )
    citation = cohort.citation()
    if format == "csv":
        raise InvalidParameterError("format", "citations are format=json (the text is in its 'text' field)")
    return JSONResponse(citation.to_json())


def _csv(rows: Iterator[T], render: Callable[[Iterator[T]], Iterable[str]], filename: str) -> Response:
    """``render(rows)`` as a streamed CSV attachment (see :func:`ria.api.streaming.stream_text`)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return stream_text(rows, render, media_type="text/csv; charset=utf-8", headers=headers)


@router.post(
    "/cohorts/survival",
    summary="Kaplan-Meier curves of a cohort split by a genomic, label or clinical field",
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}, "application/json": {}}}},
)
def cohort_survival(
    archive: ArchiveDep,
    principal: PrincipalDep,
    body: CohortQueryBody,
    split_by: Annotated[
        str, Query(description="mutated:GENE, label:NAME or clinical:FIELD (e.g. mutated:KRAS)")
    ],
    format: Annotated[Literal["png", "svg", "json"], Query()] = "png",
) -> Response:
    from ria.cohort.survival import kaplan_meier

    result = kaplan_meier(_cohort(archive, body, principal), split_by)
    if format == "json":
        return JSONResponse(result.to_json())
    media = "image/png" if format == "png" else "image/svg+xml"
    return Response(result.render(format), media_type=media)


@router.get(
    "/cohorts/fields", summary="What a cohort query can test: clinical fields, labels, variant classes"
)
def cohort_fields(archive: ArchiveDep) -> dict[str, Any]:
    return {
        "clinical": CLINICAL_FIELDS,
        "labels": label_types(archive.engine),
        "default_variant_classes": list(NON_SILENT_CLASSES),
    }


@router.get(
    "/genomics/linkage", summary="How imaging patients link to genomic and clinical data, and the reverse"
)
def genomics_linkage(
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection: Annotated[list[str] | None, Query(description="only these collections")] = None,
) -> dict[str, Any]:
    return linkage_report(archive, tuple(collection or ()), principal=principal).to_json()
