"""TCIA v4's simple search and manifest endpoints (form POSTs).

getSimpleSearch answers subjects grouped like TCIA's portal; the manifest
family turns a search, a list of series, a set of patients/studies/series or a
whole collection into a ``.tcia`` manifest — all over the same query core.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ria.access import Principal
from ria.api.deps import PrincipalDep, get_archive
from ria.api.openapi import errors, merge, success
from ria.api.origin import public_base_url
from ria.api.tcia.criteria import parse_criteria, search_form
from ria.api.tcia.formats import render_json
from ria.api.tcia.params import allow_only, split_list
from ria.api.tcia.scope import deliverable
from ria.archive import Archive
from ria.catalog.search import SeriesFilter
from ria.catalog.subjects import SortField, SubjectPage, search_subjects
from ria.errors import InvalidParameterError, NotFoundError
from ria.manifest import iter_tcia_manifest

__all__ = ["router"]

router = APIRouter(prefix="/nbia-api/services/v4", tags=["TCIA v4"])
ArchiveDep = Annotated[Archive, Depends(get_archive)]
MANIFEST_MEDIA_TYPE = "application/x-nbia-manifest-file"
MANIFEST = merge(success("A .tcia manifest (a download).", MANIFEST_MEDIA_TYPE), errors(400, 404))


def _form_dict(form: Iterable[tuple[str, object]]) -> dict[str, str]:
    return {key: value for key, value in form if isinstance(value, str)}


def _opaque_id(*parts: str) -> int:
    """A stable number for a patient, study or series that reveals nothing else.

    TCIA's answer carries numeric ids; catalogue row keys would do, but their gaps would hint
    at rows the caller may not see. A 48-bit digest is stable across calls and safe in JSON
    (below 2**53).
    """
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:6], "big")


def _page_json(page: SubjectPage, sort: str) -> dict[str, object]:
    def counts(values: dict[str, int]) -> list[dict[str, object]]:
        return [{"value": value, "count": count} for value, count in values.items()]

    return {
        "resultSet": [
            {
                "subjectId": subject.patient_id,
                "project": subject.collection,
                "id": _opaque_id(subject.collection, subject.patient_id),
                "modalities": list(subject.modalities),
                "bodyParts": list(subject.body_parts),
                "species": ["337915000"],
                "totalNumberOfStudies": subject.total_studies,
                "totalNumberOfSeries": subject.total_series,
                "authorized": 1,
                "studyIdentifiers": [
                    {
                        "seriesIdentifiers": [_opaque_id(ref.series_instance_uid) for ref in one.series],
                        "seriesAndModality": [
                            {"seriesId": _opaque_id(ref.series_instance_uid), "modality": ref.modality}
                            for ref in one.series
                        ],
                        "studyIdentifier": _opaque_id(one.study_instance_uid),
                    }
                    for one in subject.studies
                ],
            }
            for subject in page.subjects
        ],
        "totalPatients": page.total_patients,
        "bodyParts": counts(page.body_parts),
        "modalities": counts(page.modalities),
        "collections": counts(page.collections),
        "species": [{"value": "337915000", "count": page.total_patients}],
        "sort": sort,
    }


def _manifest(request: Request, uids: list[str], include_annotation: bool, filename: str) -> Response:
    if not uids:
        raise NotFoundError("No authorized series found for the given criteria.")
    base = public_base_url(request)
    lines = iter_tcia_manifest(
        uids,
        download_server_url=f"{base}/nbia-api/services/v4/getImage",
        include_annotation=include_annotation,
    )
    return StreamingResponse(
        (line.encode() for line in lines),
        media_type=MANIFEST_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d_%H-%M")


def _flag(name: str, value: str | None, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise InvalidParameterError(name, f"{name} must be true or false, got {value[:20]!r}")
    return value.lower() == "true"


@router.post(
    "/getSimpleSearch",
    summary="Subjects matching TCIA search criteria, paged, with facet counts",
    responses=errors(400),
    openapi_extra=search_form(default_size=25),
)
async def get_simple_search(request: Request, archive: ArchiveDep, principal: PrincipalDep) -> Response:
    form = _form_dict((await request.form()).multi_items())
    search = parse_criteria(form)
    sort = SortField.parse(search.sort_field)
    page = await run_in_threadpool(
        search_subjects,
        archive.engine,
        deliverable(archive, search.where),
        principal=principal,
        sort=sort,
        ascending=search.ascending,
        start=search.start,
        size=search.size,
    )
    direction = "ascending" if search.ascending else "descending"
    return render_json(_page_json(page, f"{search.sort_field or 'collection'}-{direction}"))


@router.post(
    "/getManifestForSimpleSearch",
    summary="A .tcia manifest of every series of the matching subjects",
    responses=MANIFEST,
    openapi_extra=search_form(default_size=10),
)
async def get_manifest_for_simple_search(
    request: Request, archive: ArchiveDep, principal: PrincipalDep
) -> Response:
    form = _form_dict((await request.form()).multi_items())
    search = parse_criteria(form, default_size=10)
    page = await run_in_threadpool(
        search_subjects,
        archive.engine,
        deliverable(archive, search.where),
        principal=principal,
        sort=SortField.parse(search.sort_field),
        ascending=search.ascending,
        start=search.start,
        size=search.size,
    )
    uids = [uid for subject in page.subjects for uid in subject.series_uids()]
    return _manifest(request, uids, False, f"manifest-{_stamp()}.tcia")


def _existing(archive: Archive, principal: Principal, uids: tuple[str, ...]) -> list[str]:
    found = {row.series_instance_uid for row in archive.catalog.series_by_uid(uids, principal=principal)}
    return [uid for uid in uids if uid in found]


@router.post(
    "/getManifestText",
    summary="A .tcia manifest for a list of series",
    responses=MANIFEST,
    dependencies=[Depends(allow_only("list", "includeAnnotation"))],
)
def get_manifest_text(
    request: Request,
    archive: ArchiveDep,
    principal: PrincipalDep,
    uid_list: Annotated[list[str], Form(alias="list")],
    include_annotation: Annotated[str | None, Form(alias="includeAnnotation")] = None,
) -> Response:
    uids = _existing(archive, principal, split_list("list", uid_list, uids=True))
    flag = _flag("includeAnnotation", include_annotation)
    return _manifest(request, uids, flag, f"manifest-{_stamp()}.tcia")


@router.post(
    "/getManifestFromPatientStudySeries",
    summary="A .tcia manifest for patients, studies and/or series",
    responses=MANIFEST,
    dependencies=[
        Depends(allow_only("patientIDs", "studyUIDs", "seriesUIDs", "anyOrAll", "includeAnnotation"))
    ],
)
def get_manifest_from_patient_study_series(
    request: Request,
    archive: ArchiveDep,
    principal: PrincipalDep,
    patient_ids: Annotated[str, Form(alias="patientIDs")],
    study_uids: Annotated[str | None, Form(alias="studyUIDs")] = None,
    series_uids: Annotated[str | None, Form(alias="seriesUIDs")] = None,
    any_or_all: Annotated[str | None, Form(alias="anyOrAll")] = None,
    include_annotation: Annotated[str | None, Form(alias="includeAnnotation")] = None,
) -> Response:
    patients = split_list("patientIDs", patient_ids)
    studies = split_list("studyUIDs", study_uids, uids=True)
    chosen = split_list("seriesUIDs", series_uids, uids=True)
    mode = (any_or_all or "any").lower()
    if mode not in ("any", "all"):
        raise InvalidParameterError("anyOrAll", f"anyOrAll must be any or all, got {any_or_all!r}")
    if mode == "all":
        filters = [
            SeriesFilter(
                patient_id=patients or None,
                study_instance_uid=studies or None,
                series_instance_uid=chosen or None,
            )
        ]
    else:
        filters = [
            SeriesFilter(patient_id=patients),
            *([SeriesFilter(study_instance_uid=studies)] if studies else []),
            *([SeriesFilter(series_instance_uid=chosen)] if chosen else []),
        ]
    uids: dict[str, None] = {}
    for where in filters:
        uids.update(
            dict.fromkeys(
                row.series_instance_uid for row in archive.catalog.iter_series(where, principal=principal)
            )
        )
    flag = _flag("includeAnnotation", include_annotation)
    return _manifest(request, list(uids), flag, f"manifest-{_stamp()}.tcia")


@router.post(
    "/getManifestForCollection",
    summary="A .tcia manifest of a whole collection",
    responses=MANIFEST,
    dependencies=[Depends(allow_only("collection", "visibility", "includeAnnotation"))],
)
def get_manifest_for_collection(
    request: Request,
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection: Annotated[str, Form()],
    visibility: Annotated[str | None, Form()] = None,
    include_annotation: Annotated[str | None, Form(alias="includeAnnotation")] = None,
) -> Response:
    if visibility not in (None, "", "1", "13"):
        raise InvalidParameterError("visibility", "visibility must be 1 (visible series) or 13 (all)")
    where = deliverable(archive, SeriesFilter(collection=collection))
    rows = archive.catalog.iter_series(where, principal=principal)
    uids = [row.series_instance_uid for row in rows]
    flag = _flag("includeAnnotation", include_annotation)
    return _manifest(request, uids, flag, f"{collection}-{_stamp()}.tcia")
