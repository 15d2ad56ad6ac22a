"""Typed catalogue rows → TCIA's field names, in TCIA's column order, per API version.

Column lists are those of TCIA's server code (CBIIT/NBIA-TCIA, ``V1_*.java`` and
``v4/V4_*.java``); where its OpenAPI document disagrees with the code, the code
wins, because that is what clients have been parsing for years. Fields Ria
does not hold (Phantom, species, longitudinal offsets, Site) are omitted like
any other null. ``Authorized`` is 1: every row a caller can see is one it may
download (visibility is decided before rows reach this module).
"""

from __future__ import annotations

from collections.abc import Mapping

from ria.access.embargo import embargo_notice, embargo_status
from ria.api.tcia.dialect import Dialect, pick
from ria.catalog.queries import CollectionInfo
from ria.catalog.search import PatientRow, SeriesRow, StudyRow

__all__ = [
    "embargoed",
    "patient_fields",
    "series_columns",
    "series_fields",
    "series_metadata_v1",
    "series_metadata_v4",
    "study_fields",
]

HUMAN = ("337915000", "Homo sapiens")
"""DICOM: a subject without PatientSpeciesCodeSequence is human (SNOMED 337915000)."""

_SERIES_V1 = (
    "SeriesInstanceUID", "StudyInstanceUID", "Modality", "ProtocolName", "SeriesDate", "SeriesDescription",
    "BodyPartExamined", "SeriesNumber", "AnnotationsFlag", "Collection", "PatientID", "Manufacturer",
    "ManufacturerModelName", "SoftwareVersions", "ImageCount", "TimeStamp", "LicenseName", "LicenseURI",
    "CollectionURI", "FileSize", "DateReleased", "StudyDesc", "StudyDate", "ThirdPartyAnalysis",
)  # fmt: skip
_SERIES_V4 = (
    "SeriesInstanceUID", "StudyInstanceUID", "Modality", "ProtocolName", "SeriesDate", "SeriesDescription",
    "BodyPartExamined", "SeriesNumber", "AnnotationsFlag", "Collection", "Site", "PatientID", "PatientSex",
    "PatientAge", "AdmittingDiagnosisDescription", "Manufacturer", "ManufacturerModelName",
    "SoftwareVersions", "ImageCount", "MaxSubmissionTimestamp", "LicenseName", "LicenseURI",
    "DataDescriptionURI", "FileSize", "ReleasedStatus", "DateReleased", "StudyDesc", "StudyDate",
    "ThirdPartyAnalysis", "Authorized",
)  # fmt: skip
_SERIES_ALIASES = {"TimeStamp": "MaxSubmissionTimestamp", "CollectionURI": "DataDescriptionURI"}

_PATIENT_V1 = (
    "PatientId", "PatientName", "PatientBirthDate", "PatientSex", "EthnicGroup", "Collection", "Phantom",
    "SpeciesCode", "SpeciesDescription",
)  # fmt: skip
_PATIENT_V4 = (
    "PatientId", "PatientName", "PatientSex", "EthnicGroup", "Collection", "Phantom", "SpeciesCode",
    "SpeciesDescription", "Authorized",
)  # fmt: skip

_STUDY_V1 = (
    "StudyInstanceUID", "StudyDate", "StudyDescription", "AdmittingDiagnosesDescription", "StudyID",
    "PatientAge", "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "EthnicGroup", "Collection",
    "SeriesCount", "LongitudinalTemporalEventType", "LongitudinalTemporalOffsetFromEvent",
)  # fmt: skip
_STUDY_V4 = (
    "StudyInstanceUID", "StudyDate", "StudyDescription", "AdmittingDiagnosesDescription", "StudyID",
    "PatientAge", "PatientID", "PatientName", "PatientSex", "EthnicGroup", "Collection", "SeriesCount",
    "LongitudinalTemporalEventType", "LongitudinalTemporalOffsetFromEvent", "Authorized",
)  # fmt: skip

_METADATA_V1 = {
    "Series UID": "SeriesInstanceUID", "Collection": "Collection", "3rd Party Analysis": "ThirdPartyAnalysis",
    "Data Description URI": "DataDescriptionURI", "Subject ID": "PatientID", "Study UID": "StudyInstanceUID",
    "Study Description": "StudyDesc", "Study Date": "StudyDateV4", "Series Description": "SeriesDescription",
    "Manufacturer": "Manufacturer", "Modality": "Modality", "SOP Class UID": "SOPClassUID",
    "Number of Images": "ImageCount", "File Size": "FileSize", "File Location": "StudyID",
    "Series Number": "SeriesNumber", "License Name": "LicenseName", "License URL": "LicenseURI",
    "Annotation Size": "AnnotationSize", "Date Released": "DateReleased", "Series Date": "SeriesDate",
    "Protocol Name": "ProtocolName", "Body Part Examined": "BodyPartExamined",
    "Annotations Flag": "AnnotationsFlag", "Manufacturer Model Name": "ManufacturerModelName",
    "Software Versions": "SoftwareVersions", "TimeStamp": "MaxSubmissionTimestamp",
}  # fmt: skip
_METADATA_V4 = (
    "PatientID", "PatientName", "PatientSex", "EthnicGroup", "Phantom", "SpeciesCode", "SpeciesDescription",
    "StudyInstanceUID", "StudyDate", "StudyDesc", "AdmittingDiagnosisDescription", "StudyID", "PatientAge",
    "LongitudinalTemporalEventType", "LongitudinalTemporalOffsetFromEvent", "SeriesInstanceUID",
    "Collection", "Site", "Modality", "ProtocolName", "SeriesDate", "SeriesDescription", "BodyPartExamined",
    "SeriesNumber", "AnnotationsFlag", "Manufacturer", "ManufacturerModelName", "PixelSpacing(mm)-Row",
    "SliceThickness(mm)", "SoftwareVersions", "ImageCount", "MaxSubmissionTimestamp", "LicenseName",
    "LicenseURI", "DataDescriptionURI", "FileSize", "ReleasedStatus", "DateReleased", "ThirdPartyAnalysis",
    "Authorized",
)  # fmt: skip


def _series_values(row: SeriesRow, info: CollectionInfo | None, dialect: Dialect) -> dict[str, object]:
    return {
        "SeriesInstanceUID": row.series_instance_uid,
        "StudyInstanceUID": row.study_instance_uid,
        "Modality": row.modality,
        "ProtocolName": row.protocol_name,
        "SeriesDate": dialect.date(row.series_date),
        "SeriesDescription": row.series_description,
        "BodyPartExamined": row.body_part_examined,
        "SeriesNumber": row.series_number,
        "Collection": row.collection,
        "PatientID": row.patient_id,
        "PatientSex": row.patient_sex,
        "PatientAge": row.patient_age,
        "AdmittingDiagnosisDescription": row.admitting_diagnoses_description,
        "Manufacturer": row.manufacturer,
        "ManufacturerModelName": row.manufacturer_model_name,
        "SoftwareVersions": row.software_versions,
        "ImageCount": row.image_count,
        "MaxSubmissionTimestamp": dialect.timestamp(row.updated_at),
        "LicenseName": info.license_name if info else None,
        "LicenseURI": info.license_uri if info else None,
        "DataDescriptionURI": info.doi_url if info else None,
        "FileSize": row.file_size,
        "ReleasedStatus": "Yes" if row.released_at is not None else "No",
        "DateReleased": dialect.timestamp(row.released_at),
        "StudyDesc": row.study_description,
        "StudyDate": dialect.date(row.study_date),
        "ThirdPartyAnalysis": "NO",
        "Authorized": 1,
    }


_EMBARGO_COLUMNS = ("EmbargoStatus", "EmbargoEndDate", "EmbargoNotice")


def embargoed(info: CollectionInfo | None) -> bool:
    """Whether a collection's series rows carry the embargo columns (its embargo is active)."""
    return info is not None and info.embargo_ends_at is not None and embargo_status(info) == "active"


def series_columns(dialect: Dialect, *, with_embargo: bool) -> list[str]:
    """The columns of a table of series rows: TCIA's, plus the embargo columns if any row is of
    an :func:`embargoed` collection. A streamed CSV must write them before its first row."""
    columns = list(_SERIES_V4 if dialect.version == "v4" else _SERIES_V1)
    return columns + list(_EMBARGO_COLUMNS) if with_embargo else columns


def series_fields(
    row: SeriesRow, collections: Mapping[str, CollectionInfo], dialect: Dialect
) -> dict[str, object]:
    """One getSeries row; a series under an active publication embargo also says so.

    TCIA's fields stay exactly TCIA's for every other series. An embargoed collection's rows
    add ``EmbargoStatus``, ``EmbargoEndDate`` and ``EmbargoNotice`` (plain words for someone
    outside the ISS group), because a researcher reading a series list must learn there that
    they should not publish on it yet; clients ignore keys they do not know.
    """
    info = collections.get(row.collection)
    values = _series_values(row, info, dialect)
    columns = _SERIES_V4 if dialect.version == "v4" else _SERIES_V1
    picked = pick(values, columns, _SERIES_ALIASES)
    if info is not None and info.embargo_ends_at is not None and embargoed(info):
        picked["EmbargoStatus"] = "active"
        picked["EmbargoEndDate"] = dialect.date(info.embargo_ends_at.date())
        picked["EmbargoNotice"] = embargo_notice(info)
    return picked


def _patient_values(row: PatientRow, dialect: Dialect) -> dict[str, object]:
    return {
        "PatientId": row.patient_id,
        "PatientID": row.patient_id,
        "PatientName": row.patient_name,
        "PatientBirthDate": dialect.date(row.patient_birth_date),
        "PatientSex": row.patient_sex,
        "EthnicGroup": row.ethnic_group,
        "Collection": row.collection,
        "SpeciesCode": HUMAN[0],
        "SpeciesDescription": HUMAN[1],
        "Authorized": 1,
    }


def patient_fields(row: PatientRow, dialect: Dialect) -> dict[str, object]:
    """One getPatient / NewPatientsInCollection row."""
    return pick(_patient_values(row, dialect), _PATIENT_V4 if dialect.version == "v4" else _PATIENT_V1)


def study_fields(row: StudyRow, patient: PatientRow | None, dialect: Dialect) -> dict[str, object]:
    """One getPatientStudy / NewStudiesInPatientCollection row (patient attributes joined in)."""
    values: dict[str, object] = _patient_values(patient, dialect) if patient else {}
    values.update(
        {
            "StudyInstanceUID": row.study_instance_uid,
            "StudyDate": dialect.date(row.study_date),
            "StudyDescription": row.study_description,
            "AdmittingDiagnosesDescription": row.admitting_diagnoses_description,
            "StudyID": row.study_id,
            "PatientAge": row.patient_age,
            "PatientID": row.patient_id,
            "Collection": row.collection,
            "SeriesCount": row.series_count,
        }
    )
    return pick(values, _STUDY_V4 if dialect.version == "v4" else _STUDY_V1)


def series_metadata_v1(
    row: SeriesRow, info: CollectionInfo | None, sop_class_uid: str | None, dialect: Dialect
) -> dict[str, object]:
    """v1 getSeriesMetaData: human-readable labels, every value a string (as TCIA serves them)."""
    values = _series_values(row, info, dialect)
    values["StudyDateV4"] = row.study_date.strftime("%m-%d-%Y") if row.study_date else None
    values["SOPClassUID"] = sop_class_uid
    picked = pick(values, list(_METADATA_V1), _METADATA_V1)
    return {key: None if value is None else str(value) for key, value in picked.items()}


def series_metadata_v4(
    row: SeriesRow, patient: PatientRow | None, info: CollectionInfo | None, dialect: Dialect
) -> dict[str, object]:
    """v4 getSeriesMetadata: one CSV row per series, TCIA's 40 columns."""
    values = _series_values(row, info, dialect)
    if patient is not None:
        values.update(
            {
                key: value
                for key, value in _patient_values(patient, dialect).items()
                if key not in ("PatientID", "Collection", "Authorized")
            }
        )
    return pick(values, _METADATA_V4)
