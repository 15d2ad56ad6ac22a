"""``/nbia-api/services/v1``: TCIA's public query API, as thin routes over ``Archive.catalog``.

Parameter names and JSON keys are TCIA's (``Collection``, ``BodyPartExamined``…).
More endpoints arrive with the TCIA API issue; docs/conformance.md lists what is served.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ria.api.deps import get_archive
from ria.api.responses import tcia_response
from ria.archive import Archive
from ria.catalog.search import SeriesFilter, ValueField
from ria.dicom.uids import is_valid_uid
from ria.errors import InvalidParameterError

router = APIRouter(prefix="/nbia-api/services/v1", tags=["TCIA v1"])

ArchiveDep = Annotated[Archive, Depends(get_archive)]
Format = Annotated[str | None, Query(description="json (default) or csv")]
Collection = Annotated[str | None, Query(alias="Collection")]
Modality = Annotated[str | None, Query(alias="Modality")]
BodyPart = Annotated[str | None, Query(alias="BodyPartExamined")]


def _values(archive: Archive, field: ValueField, key: str, where: SeriesFilter, fmt: str | None) -> Response:
    return tcia_response([{key: value} for value in archive.catalog.values(field, where)], fmt)


@router.get("/getCollectionValues", summary="Names of all collections that hold series")
def get_collection_values(archive: ArchiveDep, format: Format = None) -> Response:
    return _values(archive, "collection", "Collection", SeriesFilter(), format)


@router.get("/getModalityValues", summary="Modalities, optionally within a collection and body part")
def get_modality_values(
    archive: ArchiveDep, collection: Collection = None, body_part: BodyPart = None, format: Format = None
) -> Response:
    where = SeriesFilter(collection=collection, body_part_examined=body_part)
    return _values(archive, "modality", "Modality", where, format)


@router.get("/getBodyPartValues", summary="Body parts examined, optionally within a collection and modality")
def get_body_part_values(
    archive: ArchiveDep, collection: Collection = None, modality: Modality = None, format: Format = None
) -> Response:
    where = SeriesFilter(collection=collection, modality=modality)
    return _values(archive, "body_part_examined", "BodyPartExamined", where, format)


@router.get("/getManufacturerValues", summary="Equipment manufacturers, optionally filtered")
def get_manufacturer_values(
    archive: ArchiveDep,
    collection: Collection = None,
    modality: Modality = None,
    body_part: BodyPart = None,
    format: Format = None,
) -> Response:
    where = SeriesFilter(collection=collection, modality=modality, body_part_examined=body_part)
    return _values(archive, "manufacturer", "Manufacturer", where, format)


@router.get("/getSOPInstanceUIDs", summary="The SOPInstanceUIDs of one series")
def get_sop_instance_uids(
    archive: ArchiveDep,
    series_uid: Annotated[str, Query(alias="SeriesInstanceUID")],
    format: Format = None,
) -> Response:
    if not is_valid_uid(series_uid):
        raise InvalidParameterError(
            "SeriesInstanceUID", f"SeriesInstanceUID {series_uid[:80]!r} is not a valid UID"
        )
    rows = [{"SOPInstanceUID": row.sop_instance_uid} for row in archive.catalog.instances(series_uid)]
    return tcia_response(rows, format)
