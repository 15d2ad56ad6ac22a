"""TCIA v4's descriptive endpoints: value-and-count facets, collection descriptions, DOI lookup,
DICOM tags, MD5 digests, species and timepoints.

Field names follow TCIA's server code (``Modality``/``Count``/``Authorized`` and
so on); counts are distinct patients, as TCIA counts them.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ria.access import Principal
from ria.api.deps import PrincipalDep, get_archive
from ria.api.openapi import UID_SCHEMA, errors, merge, success, tcia_table, uid_query
from ria.api.tcia.dialect import V4
from ria.api.tcia.formats import parse_format, render, render_json
from ria.api.tcia.params import allow_only, check_format, require_uid
from ria.api.tcia.scope import deliverable
from ria.archive import Archive
from ria.catalog.hierarchy import md5_hierarchy
from ria.catalog.search import SeriesFilter, ValueField
from ria.dicom.tags import read_tag_rows
from ria.errors import InvalidParameterError, NotFoundError
from ria.storage.base import iter_range

__all__ = ["router"]

router = APIRouter(
    prefix="/nbia-api/services/v4",
    tags=["TCIA v4"],
    dependencies=[Depends(check_format)],
    responses=tcia_table(),
)
ArchiveDep = Annotated[Archive, Depends(get_archive)]
Text = Annotated[str | None, Query()]
HUMAN = {"speciesCode": "337915000", "speciesDescription": "Homo sapiens"}
SPECIES_TAXONOMY = [
    HUMAN,
    {"speciesCode": "447612001", "speciesDescription": "Mus musculus"},
    {"speciesCode": "448771007", "speciesDescription": "Canis lupus familiaris"},
]


def _counts(
    archive: Archive,
    principal: Principal,
    field: ValueField,
    key: str,
    where: SeriesFilter,
    upper: bool = False,
) -> Response:
    rows = [
        {key: value, "Count": count, "Authorized": 1}
        for value, count in archive.catalog.value_counts(
            field, deliverable(archive, where), upper=upper, principal=principal
        )
    ]
    return render(rows, parse_format(None))


@router.get("/getCollectionValuesAndCounts", summary="Collections with their number of patients")
def get_collection_values_and_counts(archive: ArchiveDep, principal: PrincipalDep) -> Response:
    return _counts(archive, principal, "collection", "Collection", SeriesFilter())


@router.get(
    "/getModalityValuesAndCounts",
    summary="Modalities with their number of patients",
    dependencies=[Depends(allow_only("Collection", "BodyPartExamined"))],
)
def get_modality_values_and_counts(
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection: Annotated[str | None, Query(alias="Collection")] = None,
    body_part: Annotated[str | None, Query(alias="BodyPartExamined")] = None,
) -> Response:
    where = SeriesFilter(collection=collection, body_part_examined=body_part)
    return _counts(archive, principal, "modality", "Modality", where)


@router.get(
    "/getBodyPartValuesAndCounts",
    summary="Body parts (upper case) with their number of patients",
    dependencies=[Depends(allow_only("Collection", "Modality"))],
)
def get_body_part_values_and_counts(
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection: Annotated[str | None, Query(alias="Collection")] = None,
    modality: Annotated[str | None, Query(alias="Modality")] = None,
) -> Response:
    where = SeriesFilter(collection=collection, modality=modality)
    return _counts(archive, principal, "body_part_examined", "BodyPart", where, upper=True)


@router.get(
    "/getManufacturerValuesAndCounts",
    summary="Manufacturers with their number of patients",
    dependencies=[Depends(allow_only("Collection", "Modality", "BodyPartExamined"))],
)
def get_manufacturer_values_and_counts(
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection: Annotated[str | None, Query(alias="Collection")] = None,
    modality: Annotated[str | None, Query(alias="Modality")] = None,
    body_part: Annotated[str | None, Query(alias="BodyPartExamined")] = None,
) -> Response:
    where = SeriesFilter(collection=collection, modality=modality, body_part_examined=body_part)
    return _counts(archive, principal, "manufacturer", "Manufacturer", where)


@router.get("/getSpeciesValuesAndCounts", summary="Species (SNOMED codes) with their number of patients")
def get_species_values_and_counts(archive: ArchiveDep, principal: PrincipalDep) -> Response:
    patients = sum(count for _name, count in archive.catalog.value_counts("collection", principal=principal))
    rows = [{"Species": HUMAN["speciesCode"], "Count": patients, "Authorized": 1}] if patients else []
    return render(rows, parse_format(None))


@router.get("/getSpeciesTax", summary="The species taxonomy (SNOMED code and name)")
def get_species_tax() -> Response:
    return render_json(SPECIES_TAXONOMY)


@router.get(
    "/getCollectionDescriptions",
    summary="Collections' descriptions and DOIs",
    dependencies=[Depends(allow_only("collectionName"))],
)
def get_collection_descriptions(
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection_name: Annotated[str | None, Query(alias="collectionName")] = None,
) -> Response:
    rows = [
        {
            # Always present (TCIA's clients index it, e.g. tcia_utils strips its HTML).
            "description": info.description or "",
            "id": number,
            "collectionName": info.name,
            "descriptionURI": info.doi_url,
            "licenseName": info.license_name,
            "licenseURI": info.license_uri,
        }
        for number, info in enumerate(archive.catalog.collections(principal=principal), start=1)
        if collection_name is None or info.name == collection_name
    ]
    return render_json([{k: v for k, v in row.items() if v is not None} for row in rows])


def _normalise_doi(value: str) -> str:
    value = value.strip().lower()
    for prefix in (
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
    ):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


@router.post(
    "/getCollectionOrSeriesForDOI",
    summary="The collection (or its series) a DOI names",
    responses=errors(404),
    dependencies=[Depends(allow_only("DOI", "CollectionOrSeries", "format"))],
)
def get_collection_or_series_for_doi(
    archive: ArchiveDep,
    principal: PrincipalDep,
    doi: Annotated[str, Form(alias="DOI")],
    collection_or_series: Annotated[str | None, Form(alias="CollectionOrSeries")] = None,
    format: Annotated[str | None, Form()] = None,
) -> Response:
    kind = (collection_or_series or "collection").lower()
    if kind not in ("collection", "series"):
        raise InvalidParameterError("CollectionOrSeries", "CollectionOrSeries must be collection or series")
    wanted = _normalise_doi(doi)
    names = [
        info.name
        for info in archive.catalog.collections(principal=principal)
        if info.doi and _normalise_doi(info.doi) == wanted
    ]
    if not names:
        raise NotFoundError(f"DOI {doi[:100]!r} is not recorded for any collection", parameter="DOI")
    if kind == "collection":
        rows: list[dict[str, object]] = [{"collection": name, "authorized": 1} for name in names]
    else:
        rows = [
            {"collection": row.collection, "seriesInstanceUID": row.series_instance_uid, "authorized": 1}
            for row in archive.catalog.iter_series(SeriesFilter(collection=tuple(names)), principal=principal)
        ]
    return render(rows, parse_format(format))


@router.get(
    "/getDicomTags",
    summary="The DICOM header of a series' first instance as element/name/data rows",
    responses=errors(404),
    dependencies=[Depends(allow_only("SeriesUID", "format"))],
)
async def get_dicom_tags(
    archive: ArchiveDep,
    principal: PrincipalDep,
    series_uid: Annotated[str, uid_query("SeriesUID", "Series Instance UID")],
    format: Text = None,
) -> Response:
    uid = require_uid("SeriesUID", series_uid)
    instances = await run_in_threadpool(lambda: archive.catalog.instances(uid, principal=principal))
    if not instances:
        raise NotFoundError(f"no series with SeriesInstanceUID {uid}", parameter="SeriesUID")

    def read() -> list[dict[str, object]]:
        with archive.store.open(instances[0].blob_key) as handle:
            return [{"element": r.element, "name": r.name, "data": r.data} for r in read_tag_rows(handle)]

    return render(await run_in_threadpool(read), parse_format(format))


def _blob_md5(archive: Archive, key: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in iter_range(archive.store, key):
        digest.update(chunk)
    return digest.hexdigest()


@router.get(
    "/getMD5HashForImage",
    summary="The MD5 of one instance's file",
    responses=merge(success("The MD5 digest, hexadecimal.", "text/plain"), errors(404)),
    dependencies=[Depends(allow_only("SOPInstanceUID", "format"))],
)
def get_md5_hash_for_image(
    archive: ArchiveDep,
    principal: PrincipalDep,
    sop_uid: Annotated[str, uid_query("SOPInstanceUID")],
    format: Text = None,
) -> Response:
    sop = require_uid("SOPInstanceUID", sop_uid)
    row = archive.catalog.instance(sop, principal=principal)
    if row is None:
        raise NotFoundError(f"no instance with SOPInstanceUID {sop}", parameter="SOPInstanceUID")
    return PlainTextResponse(row.md5 or _blob_md5(archive, row.blob_key))


@router.post(
    "/getMD5Hierarchy",
    summary="MD5 digest of a series, study, patient or collection (TCIA's hierarchy hash)",
    responses=success("The MD5 digest, hexadecimal; empty when nothing matches.", "text/plain"),
    dependencies=[Depends(allow_only("SeriesInstanceUID", "StudyInstanceUID", "PatientID", "Collection"))],
)
async def get_md5_hierarchy(
    archive: ArchiveDep,
    principal: PrincipalDep,
    series_uid: Annotated[str | None, Form(alias="SeriesInstanceUID", json_schema_extra=UID_SCHEMA)] = None,
    study_uid: Annotated[str | None, Form(alias="StudyInstanceUID", json_schema_extra=UID_SCHEMA)] = None,
    patient_id: Annotated[str | None, Form(alias="PatientID")] = None,
    collection: Annotated[str | None, Form(alias="Collection")] = None,
) -> Response:
    if series_uid:
        where = SeriesFilter(series_instance_uid=require_uid("SeriesInstanceUID", series_uid))
    elif study_uid:
        where = SeriesFilter(study_instance_uid=require_uid("StudyInstanceUID", study_uid))
    elif patient_id:
        where = SeriesFilter(patient_id=patient_id, collection=collection or None)
    elif collection:
        where = SeriesFilter(collection=collection)
    else:
        raise InvalidParameterError(
            "SeriesInstanceUID", "give one of SeriesInstanceUID, StudyInstanceUID, PatientID or Collection"
        )
    digest = await run_in_threadpool(
        md5_hierarchy, archive.engine, where, principal, lambda key: _blob_md5(archive, key)
    )
    return PlainTextResponse(digest or "")


@router.get("/getMinMaxTimepoints", summary="Earliest and latest study dates")
def get_min_max_timepoints(archive: ArchiveDep, principal: PrincipalDep) -> Response:
    dates = sorted(
        d for d in (row.study_date for row in archive.catalog.studies(principal=principal)) if d is not None
    )
    if not dates:
        return render([], parse_format(None))
    return render_json({"minTimepoint": V4.date(dates[0]), "maxTimepoint": V4.date(dates[-1])})
