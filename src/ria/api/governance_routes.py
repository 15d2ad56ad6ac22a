"""Governance over HTTP: accrual (JSON or PNG), a collection's terms, the admin settings API, the audit
trail and citations of any selection.

Reads answer only about collections the caller may see: one they may not is "not found", worded
exactly as one that does not exist, so a response never tells a restricted collection's existence.
Changes and the audit trail need an administrator (403 for everyone else); every change is
audited with the administrator's name and the reason the body gives.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ria.access import Principal
from ria.access.accrual import accrual_report
from ria.access.citation import SelectionCitation, cite
from ria.access.embargo import embargo_fields
from ria.access.governance import CollectionChanges, change_settings
from ria.api.deps import ArchiveDep, PrincipalDep
from ria.api.openapi import errors, merge, success
from ria.archive import Archive
from ria.bounds import MAX_COUNT, MAX_EMBARGO_DAYS
from ria.catalog.governance import Governance, audit_events, collection_names, read_governance
from ria.errors import ForbiddenError, InvalidParameterError, NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["governance"])

_MEDIA = {
    "text": "text/plain; charset=utf-8",
    "bibtex": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "csl-json": "application/vnd.citationstyles.csl+json",
}
Format = Literal["json", "text", "bibtex", "ris", "csl-json"]
CITATION = merge(
    success("The citation: JSON, or the text of the format asked for.", "application/json", *_MEDIA.values()),
    errors(404),
)


def _visible(archive: Archive, principal: Principal, name: str) -> Governance:
    record = (
        read_governance(archive.engine, name) if name in collection_names(archive.engine, principal) else None
    )
    if record is None:
        raise NotFoundError(f"no collection named {name!r}", parameter="name")
    return record


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ForbiddenError("only an administrator may do this")


@router.get(
    "/collections/{name}/accrual",
    summary="Cases by site and over time, days to the embargo threshold, embargo status (JSON or PNG)",
    responses=merge(
        success("The report as JSON, or its chart as PNG.", "application/json", "image/png"), errors(404)
    ),
)
def collection_accrual(
    name: str,
    archive: ArchiveDep,
    principal: PrincipalDep,
    format: Annotated[Literal["json", "png"], Query(description="json, or png for the chart")] = "json",
    period: Annotated[Literal["day", "month"], Query(description="group arrivals by day or month")] = "day",
) -> Response:
    _visible(archive, principal, name)
    report = accrual_report(archive, name, at=principal.now(), period=period)
    if format == "png":
        return Response(
            report.render_png(title=f"{name}: accrual and publication embargo"), media_type="image/png"
        )
    return JSONResponse(report.to_json()["collections"][0])


def _governance_json(record: Governance, principal: Principal) -> dict[str, Any]:
    return {**record.to_json(), **embargo_fields(record, principal.now())}


@router.get(
    "/collections/{name}/governance",
    summary="A collection's terms: access, embargo, licence, DOI, sites",
    responses=errors(404),
)
def get_governance(name: str, archive: ArchiveDep, principal: PrincipalDep) -> dict[str, Any]:
    return _governance_json(_visible(archive, principal, name), principal)


class GovernanceBody(BaseModel):
    """Settings to change (omitted ones stay); ``reason`` is required for access and embargo changes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"access": "restricted", "restricted_until_embargo_end": True, "reason": "pre-release"},
                {"embargo_threshold": 100, "embargo_days": 365, "embargo_start": "auto", "reason": "reset"},
            ]
        },
    )
    access: Literal["public", "restricted", "limited"] | None = None
    restricted_until_embargo_end: bool | None = None
    embargo_threshold: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    embargo_days: int | None = Field(default=None, ge=0, le=MAX_EMBARGO_DAYS)
    embargo_start: str | None = Field(default=None, description="YYYY-MM-DD (UTC) or 'auto'")
    description: str | None = None
    doi: str | None = None
    license_name: str | None = None
    license_uri: str | None = None
    cancer_type: str | None = None
    sites: list[str] | None = Field(default=None, description="ISS member site codes to add")
    reason: str | None = None


@router.put(
    "/collections/{name}/governance",
    summary="Change a collection's terms (administrators; audited)",
    responses=errors(403, 404),
)
def put_governance(
    name: str, body: GovernanceBody, archive: ArchiveDep, principal: PrincipalDep
) -> dict[str, Any]:
    _require_admin(principal)
    values = body.model_dump(exclude_none=True)
    reason = values.pop("reason", None)
    changes = CollectionChanges.from_json(values)
    if changes.empty:
        raise InvalidParameterError("body", "nothing to change")
    record = change_settings(
        archive.engine, name, changes, actor=principal.name or "admin", reason=reason, create=False
    )
    return _governance_json(record, principal)


@router.get("/audit", summary="The audit trail, newest first (administrators)", responses=errors(403))
def list_audit(
    archive: ArchiveDep,
    principal: PrincipalDep,
    target: Annotated[str | None, Query(description="only events about this collection or user")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[dict[str, Any]]:
    _require_admin(principal)
    return [event.to_json() for event in audit_events(archive.engine, target=target, limit=limit)]


def _answer(citation: SelectionCitation, fmt: Format) -> Response:
    if fmt == "json":
        return JSONResponse(citation.to_json())
    return PlainTextResponse(citation.render(fmt), media_type=_MEDIA[fmt])


@router.get(
    "/citations",
    summary="How to cite a selection: acknowledgment, DOIs, licences, embargo notices, BibTeX/RIS/CSL-JSON",
    responses=CITATION,
)
def get_citation(
    archive: ArchiveDep,
    principal: PrincipalDep,
    series: Annotated[
        list[str] | None, Query(description="SeriesInstanceUIDs (repeat the parameter)")
    ] = None,
    collection: Annotated[list[str] | None, Query(description="whole collections (repeatable)")] = None,
    cart: Annotated[str | None, Query(description="a shared cart's name")] = None,
    format: Annotated[Format, Query(description="json (everything), text, bibtex, ris or csl-json")] = "json",
) -> Response:
    if not (series or collection or cart):
        raise InvalidParameterError("series", "nothing to cite: give series, collection or cart")
    citation = cite(archive, principal, series_uids=series or (), collections=collection or (), cart=cart)
    return _answer(citation, format)


class CitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    series: list[str] = Field(default_factory=list, description="SeriesInstanceUIDs")
    collections: list[str] = Field(default_factory=list)
    cart: str | None = None
    manifest: str | None = Field(default=None, description="a .tcia or CSV manifest's text")
    cohort: dict[str, Any] | None = Field(
        default=None, description="a cohort query (the /api/v1/cohorts body)"
    )
    format: Format = "json"


@router.post(
    "/citations",
    summary="How to cite a selection given in the body (series, manifest, cart, cohort)",
    responses=CITATION,
)
def post_citation(body: CitationBody, archive: ArchiveDep, principal: PrincipalDep) -> Response:
    from ria.cohort import CohortQuery
    from ria.manifest import parse_manifest

    uids = list(body.series)
    if body.manifest is not None:
        uids += parse_manifest(body.manifest).series_uids
    cohort = None if body.cohort is None else CohortQuery.from_json(body.cohort)
    if not (uids or body.collections or body.cart or cohort):
        raise InvalidParameterError(
            "series", "nothing to cite: give series, collections, cart, manifest or cohort"
        )
    citation = cite(
        archive, principal, series_uids=uids, collections=body.collections, cart=body.cart, cohort=cohort
    )
    return _answer(citation, body.format)
