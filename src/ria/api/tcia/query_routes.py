"""TCIA's query endpoints (getCollectionValues … getSeriesMetadata), built once per API version.

Each route is a thin translation: TCIA parameter names → a
:class:`~ria.catalog.search.SeriesFilter`, the catalogue answers with typed
rows, :mod:`ria.api.tcia.fields` names the fields the version's way and
:mod:`ria.api.tcia.formats` renders them.
"""

# No ``from __future__ import annotations``: FastAPI must evaluate annotations that use
# per-version aliases bound in build_query_router's closure.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response

from ria.access import Principal
from ria.api.deps import PrincipalDep, get_archive
from ria.api.openapi import Responses, errors, tcia_table, uid_query
from ria.api.tcia.dialect import Dialect, parse_date
from ria.api.tcia.fields import (
    embargoed,
    patient_fields,
    series_columns,
    series_fields,
    series_metadata_v1,
    series_metadata_v4,
    study_fields,
)
from ria.api.tcia.formats import TciaFormat, parse_format, render, stream
from ria.api.tcia.params import allow_only, check_format, require_uid, split_list
from ria.api.tcia.scope import deliverable
from ria.archive import Archive
from ria.catalog.search import SeriesFilter, StudyRow, ValueField
from ria.errors import InvalidParameterError, NotFoundError

__all__ = ["build_query_router"]

ArchiveDep = Annotated[Archive, Depends(get_archive)]
Format = Annotated[str | None, Query(description="json (default), csv, xml or html")]


def build_query_router(dialect: Dialect) -> APIRouter:
    """The query routes of one TCIA API version, mounted under ``/nbia-api/services/<version>``."""
    router = APIRouter(
        prefix=f"/nbia-api/services/{dialect.version}",
        tags=[f"TCIA {dialect.version}"],
        dependencies=[Depends(check_format)],  # before any route asks the catalogue
        responses=tcia_table(),
    )
    v4 = dialect.version == "v4"

    def get(
        path: str, summary: str, *allowed: str, responses: Responses | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        dependencies = [Depends(allow_only(*allowed))] if dialect.strict_parameters else []
        return router.get(path, summary=summary, dependencies=dependencies, responses=responses)

    def values(
        archive: Archive,
        principal: Principal,
        field: ValueField,
        key: str,
        where: SeriesFilter,
        fmt: str | None,
    ) -> Response:
        chosen = parse_format(fmt)
        found = archive.catalog.iter_values(field, deliverable(archive, where), principal=principal)
        return stream(found, lambda value: {key: value}, chosen)

    def series_rows(archive: Archive, principal: Principal, where: SeriesFilter, fmt: str | None) -> Response:
        """Matching series streamed from the catalogue's cursor: flat memory for the whole catalogue."""
        where = deliverable(archive, where)
        chosen = parse_format(fmt)
        collections = {info.name: info for info in archive.catalog.collections(principal=principal)}
        columns = None
        if chosen in (TciaFormat.CSV, TciaFormat.HTML):  # their header names every row's columns
            embargoed_here = {name for name, info in collections.items() if embargoed(info)}
            if embargoed_here:  # only then ask which collections the rows come from
                embargoed_here &= set(archive.catalog.values("collection", where, principal=principal))
            columns = series_columns(dialect, with_embargo=bool(embargoed_here))
        found = archive.catalog.iter_series(where, principal=principal)
        return stream(found, lambda row: series_fields(row, collections, dialect), chosen, columns=columns)

    def patients(archive: Archive, principal: Principal, where: SeriesFilter, fmt: str | None) -> Response:
        chosen = parse_format(fmt)
        found = archive.catalog.iter_patients(deliverable(archive, where), principal=principal)
        return stream(found, lambda row: patient_fields(row, dialect), chosen)

    def studies(archive: Archive, principal: Principal, where: SeriesFilter, fmt: str | None) -> Response:
        where = deliverable(archive, where)
        chosen = parse_format(fmt)
        people = {
            (p.collection, p.patient_id): p for p in archive.catalog.iter_patients(where, principal=principal)
        }

        def row_of(row: StudyRow) -> dict[str, object]:
            return study_fields(row, people.get((row.collection, row.patient_id)), dialect)

        return stream(archive.catalog.iter_studies(where, principal=principal), row_of, chosen)

    def new_since(value: str, parameter: str) -> Any:
        if v4:
            return parse_date(parameter, value, "%m-%d-%Y", "MM-DD-YYYY")
        return parse_date(parameter, value, "%Y/%m/%d", "YYYY/MM/DD")

    @get("/getCollectionValues", "Names of all collections that hold series", "format")
    def get_collection_values(
        archive: ArchiveDep, principal: PrincipalDep, format: Format = None
    ) -> Response:
        return values(archive, principal, "collection", "Collection", SeriesFilter(), format)

    @get("/getModalityValues", "Modalities, optionally within a collection and body part", *(
        "Collection", "BodyPartExamined", "format"))  # fmt: skip
    def get_modality_values(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: Annotated[str | None, Query(alias="Collection")] = None,
        body_part: Annotated[str | None, Query(alias="BodyPartExamined")] = None,
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(collection=collection, body_part_examined=body_part)
        return values(archive, principal, "modality", "Modality", where, format)

    @get("/getBodyPartValues", "Body parts examined, optionally within a collection and modality", *(
        "Collection", "Modality", "format"))  # fmt: skip
    def get_body_part_values(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: Annotated[str | None, Query(alias="Collection")] = None,
        modality: Annotated[str | None, Query(alias="Modality")] = None,
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(collection=collection, modality=modality)
        return values(archive, principal, "body_part_examined", "BodyPartExamined", where, format)

    @get("/getManufacturerValues", "Equipment manufacturers, optionally filtered", *(
        "Collection", "Modality", "BodyPartExamined", "format"))  # fmt: skip
    def get_manufacturer_values(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: Annotated[str | None, Query(alias="Collection")] = None,
        modality: Annotated[str | None, Query(alias="Modality")] = None,
        body_part: Annotated[str | None, Query(alias="BodyPartExamined")] = None,
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(collection=collection, modality=modality, body_part_examined=body_part)
        return values(archive, principal, "manufacturer", "Manufacturer", where, format)

    patient_key = "PatientId" if v4 else "PatientID"

    @get("/getPatient", "Patients, optionally of one collection", "Collection", patient_key, "format")
    def get_patient(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: Annotated[str | None, Query(alias="Collection")] = None,
        patient_id: Annotated[str | None, Query(alias=patient_key)] = None,
        format: Format = None,
    ) -> Response:
        return patients(
            archive, principal, SeriesFilter(collection=collection, patient_id=patient_id), format
        )

    @get("/getPatientByCollectionAndModality", "IDs of patients with a series of that modality", *(
        "Collection", "Modality", "format"))  # fmt: skip
    def get_patient_by_collection_and_modality(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: str = Query(alias="Collection"),
        modality: str = Query(alias="Modality"),
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(collection=collection, modality=modality)
        chosen = parse_format(format)
        authorized: dict[str, object] = {"Authorized": 1} if v4 else {}
        found = archive.catalog.iter_patients(where, principal=principal)
        return stream(found, lambda row: {"PatientId": row.patient_id, **authorized}, chosen)

    date_key = "fromDate" if v4 else "Date"
    date_help = "MM-DD-YYYY" if v4 else "YYYY/MM/DD"

    @get("/NewPatientsInCollection", "Patients with series released on or after a date", *(
        "Collection", date_key, "format"))  # fmt: skip
    def new_patients_in_collection(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: str = Query(alias="Collection"),
        since: str = Query(alias=date_key, description=f"a date written {date_help}"),
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(collection=collection, released_from=new_since(since, date_key))
        return patients(archive, principal, where, format)

    @get("/getPatientStudy", "Studies, with their patient's attributes", *(
        "Collection", "PatientID", "StudyInstanceUID", "format"))  # fmt: skip
    def get_patient_study(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: Annotated[str | None, Query(alias="Collection")] = None,
        patient_id: Annotated[str | None, Query(alias="PatientID")] = None,
        study_uid: Annotated[str | None, uid_query("StudyInstanceUID")] = None,
        format: Format = None,
    ) -> Response:
        if v4 and collection is None:
            raise InvalidParameterError("Collection", "Collection is required")
        if study_uid is not None:
            study_uid = require_uid("StudyInstanceUID", study_uid)
        where = SeriesFilter(collection=collection, patient_id=patient_id, study_instance_uid=study_uid)
        return studies(archive, principal, where, format)

    @get("/NewStudiesInPatientCollection", "Studies with series released on or after a date", *(
        "Collection", "PatientID", date_key, "format"))  # fmt: skip
    def new_studies_in_patient_collection(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: str = Query(alias="Collection"),
        since: str = Query(alias=date_key, description=f"a date written {date_help}"),
        patient_id: Annotated[str | None, Query(alias="PatientID")] = None,
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(
            collection=collection, patient_id=patient_id, released_from=new_since(since, date_key)
        )
        return studies(archive, principal, where, format)

    @get("/getSeries", "Series matching every given filter", *(
        "Collection", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "BodyPartExamined",
        "Manufacturer", "ManufacturerModelName", "format"))  # fmt: skip
    def get_series(
        archive: ArchiveDep,
        principal: PrincipalDep,
        collection: Annotated[str | None, Query(alias="Collection")] = None,
        patient_id: Annotated[str | None, Query(alias="PatientID")] = None,
        study_uid: Annotated[str | None, uid_query("StudyInstanceUID")] = None,
        series_uid: Annotated[str | None, uid_query("SeriesInstanceUID")] = None,
        modality: Annotated[str | None, Query(alias="Modality")] = None,
        body_part: Annotated[str | None, Query(alias="BodyPartExamined")] = None,
        manufacturer: Annotated[str | None, Query(alias="Manufacturer")] = None,
        model: Annotated[str | None, Query(alias="ManufacturerModelName")] = None,
        format: Format = None,
    ) -> Response:
        where = SeriesFilter(
            collection=collection,
            patient_id=patient_id,
            study_instance_uid=None if study_uid is None else require_uid("StudyInstanceUID", study_uid),
            series_instance_uid=None if series_uid is None else require_uid("SeriesInstanceUID", series_uid),
            modality=modality,
            body_part_examined=body_part,
            manufacturer=manufacturer,
            manufacturer_model_name=model,
        )
        return series_rows(archive, principal, where, format)

    updated_help = "MM-DD-YYYY" if v4 else "DD/MM/YYYY"

    @get("/getUpdatedSeries", "Series released on or after a date", "fromDate", "format")
    def get_updated_series(
        archive: ArchiveDep,
        principal: PrincipalDep,
        from_date: str = Query(alias="fromDate", description=f"a date written {updated_help}"),
        format: Format = None,
    ) -> Response:
        pattern = "%m-%d-%Y" if v4 else "%d/%m/%Y"
        since = parse_date("fromDate", from_date, pattern, updated_help)
        return series_rows(archive, principal, SeriesFilter(released_from=since), format)

    @get(
        "/getSeriesSize",
        "Bytes and instance count of one series",
        "SeriesInstanceUID",
        "format",
        responses=errors(404),
    )
    def get_series_size(
        archive: ArchiveDep,
        principal: PrincipalDep,
        series_uid: str = uid_query("SeriesInstanceUID"),
        format: Format = None,
    ) -> Response:
        uid = require_uid("SeriesInstanceUID", series_uid)
        rows = archive.catalog.series(SeriesFilter(series_instance_uid=uid), principal=principal)
        if not rows:
            raise NotFoundError(f"no series with SeriesInstanceUID {uid}", parameter="SeriesInstanceUID")
        size = {"TotalSizeInBytes": rows[0].file_size, "ObjectCount": rows[0].image_count}
        return render([size], parse_format(format))

    @get("/getSOPInstanceUIDs", "The SOPInstanceUIDs of one series", "SeriesInstanceUID", "format")
    def get_sop_instance_uids(
        archive: ArchiveDep,
        principal: PrincipalDep,
        series_uid: str = uid_query("SeriesInstanceUID"),
        format: Format = None,
    ) -> Response:
        uid = require_uid("SeriesInstanceUID", series_uid)
        chosen = parse_format(format)
        found = archive.catalog.iter_instances(uid, principal=principal)
        return stream(found, lambda row: {"SOPInstanceUID": row.sop_instance_uid}, chosen)

    if not v4:

        @router.get(
            "/getSeriesMetaData",
            summary="One series described with TCIA's human-readable labels",
            responses=errors(404),
        )
        def get_series_metadata_v1(
            archive: ArchiveDep,
            principal: PrincipalDep,
            series_uid: str = uid_query("SeriesInstanceUID"),
            format: Format = None,
        ) -> Response:
            uid = require_uid("SeriesInstanceUID", series_uid)
            rows = archive.catalog.series(SeriesFilter(series_instance_uid=uid), principal=principal)
            if not rows:
                raise NotFoundError(f"no series with SeriesInstanceUID {uid}", parameter="SeriesInstanceUID")
            info = archive.catalog.collection(rows[0].collection, principal=principal)
            first = archive.catalog.instances(uid, principal=principal)[:1]
            sop_class = first[0].sop_class_uid if first else None
            return render([series_metadata_v1(rows[0], info, sop_class, dialect)], parse_format(format))

    else:

        @router.post(
            "/getSeriesMetadata",
            summary="Series described with TCIA's 40 metadata columns (CSV by default)",
            dependencies=[Depends(allow_only("list", "format"))],
        )
        def get_series_metadata_v4(
            archive: ArchiveDep,
            principal: PrincipalDep,
            uid_list: Annotated[list[str], Form(alias="list")],
            format: Annotated[str | None, Form()] = None,
        ) -> Response:
            uids = split_list("list", uid_list, uids=True)
            collections = {c.name: c for c in archive.catalog.collections(principal=principal)}
            rows: list[dict[str, object]] = []
            for start in range(0, len(uids), 500):
                where = SeriesFilter(series_instance_uid=uids[start : start + 500])
                found = archive.catalog.series(where, principal=principal)
                people = {
                    (p.collection, p.patient_id): p
                    for p in archive.catalog.patients(where, principal=principal)
                }
                rows.extend(
                    series_metadata_v4(
                        row,
                        people.get((row.collection, row.patient_id)),
                        collections.get(row.collection),
                        dialect,
                    )
                    for row in found
                )
            fmt = parse_format(format) if format and format.lower() != "csv" else TciaFormat.CSV
            response = render(rows, fmt)
            if fmt is TciaFormat.CSV and rows:
                response.headers["Content-Disposition"] = 'attachment; filename="SeriesMetaData.csv"'
            return response

    return router
