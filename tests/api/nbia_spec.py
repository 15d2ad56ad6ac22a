"""TCIA's v4 OpenAPI document as the tests read it, and where Ria knowingly answers otherwise.

Split from ``test_v4_openapi.py`` to keep modules small: the spec location, the schema
shapes TCIA's server code serves, :data:`KNOWN_DEVIATIONS` and the parameter tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from referencing import Registry

SPEC_FILE = Path(
    os.environ.get("RIA_NBIA_V4_YAML", Path(__file__).resolve().parent / "data" / "nbia-api-v4.yaml")
)
SPEC_URI = "urn:tcia:nbia-api-v4"
V1 = "/nbia-api/services/v1"
V4 = "/nbia-api/services/v4"
LUAD, BRCA = "TCGA-LUAD", "TCGA-BRCA"
DOI = "10.7937/K9/TCIA.2016.JGNIHEP5"
LICENSE_NAME = "Creative Commons Attribution 3.0 Unported License"
LICENSE_URI = "http://creativecommons.org/licenses/by/3.0/"
SINCE = "01-01-2000"  # v4 dates are MM-DD-YYYY; every series here was released after it
MANIFEST_TYPE = "application/x-nbia-manifest-file"

Json = Any
Row = dict[str, Any]

# Paths where Ria answers what TCIA's server code answers, not what the YAML documents.
KNOWN_DEVIATIONS: dict[str, str] = {
    # Value lists: TCIA's V4_get*Values write one object per value keyed by the column name
    # (formatResponse(format, values, "Modality")); the YAML says an array of plain strings.
    "/getModalityValues": 'array of {"Modality": ...} objects; the YAML says an array of strings',
    "/getManufacturerValues": 'array of {"Manufacturer": ...} objects; the YAML says an array of strings',
    # V4_getCollectionValues' column is "Collection"; the YAML's Collection schema requires "collection".
    "/getCollectionValues": 'key "Collection"; the YAML requires lowercase "collection"',
    # Get*ValuesAndCounts: columns={"<Value>", "Count", "Authorized"}; the YAML says lowercase keys.
    "/getModalityValuesAndCounts": 'keys "Modality"/"Count"/"Authorized"; the YAML says "modality"/"count"',
    "/getManufacturerValuesAndCounts": 'keys "Manufacturer"/"Count"/"Authorized"; the YAML says lowercase',
    "/getBodyPartValuesAndCounts": 'keys "BodyPart"/"Count"/"Authorized"; the YAML says "bodyPart"/"count"',
    "/getCollectionValuesAndCounts": 'keys "Collection"/"Count"/"Authorized"; the YAML says lowercase',
    "/getSpeciesValuesAndCounts": 'keys "Species"/"Count" (int); the YAML says "criteria"/"count" (string)',
    # V4_getSeriesSize: columns={"TotalSizeInBytes", "ObjectCount"}, one row in an array
    # (TCIA's server code, not the YAML, is what clients such as tcia_utils are written against).
    "/getSeriesSize": '[{"TotalSizeInBytes", "ObjectCount"}]; the YAML says {imageCount, seriesSize}',
    # GetSimpleSearch returns a PatientSearchSummary object: resultSet, totalPatients and facet counts.
    "/getSimpleSearch": "object {resultSet, totalPatients, ...}; the YAML says an array of series rows",
    # V4_getUpdatedSeries answers getSeries rows (the YAML's own example is such an object);
    # its schema says an array of strings.
    "/getUpdatedSeries": "array of getSeries objects; the YAML says an array of strings",
    # The manifest family: @Produces(TEXT_PLAIN) but Response.ok(manifest).type(
    # "application/x-nbia-manifest-file") wins; the YAML says text/plain.
    "/getManifestText": f"served as {MANIFEST_TYPE}; the YAML says text/plain",
    "/getManifestForCollection": f"served as {MANIFEST_TYPE}; the YAML says text/plain",
    "/getManifestForSimpleSearch": f"served as {MANIFEST_TYPE}; the YAML says text/plain",
    "/getManifestFromPatientStudySeries": f"served as {MANIFEST_TYPE}; the YAML says text/plain",
    # GetMD5Hierarchy: Response.ok().type("text/plain").entity(md5); the YAML says application/json.
    "/getMD5Hierarchy": "served as text/plain (a bare hex digest); the YAML says application/json",
}


def _items(properties: dict[str, Json], *, min_items: int = 1) -> dict[str, Json]:
    """An array of objects holding exactly ``properties``, every one present."""
    return {
        "type": "array",
        "minItems": min_items,
        "items": {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        },
    }


_STRING: dict[str, Json] = {"type": "string", "minLength": 1}
_COUNT: dict[str, Json] = {"type": "integer", "minimum": 1}
_AUTHORIZED: dict[str, Json] = {"type": "integer", "enum": [0, 1]}


def _counted(key: str) -> dict[str, Json]:
    return _items({key: _STRING, "Count": _COUNT, "Authorized": _AUTHORIZED})


@dataclass(frozen=True)
class Shape:
    """What TCIA's server code serves for a path: its media type and, for JSON, the body's schema."""

    media_type: str
    schema: dict[str, Json] | None = None


_SUBJECT: dict[str, Json] = {
    "type": "object",
    "required": ["subjectId", "project", "modalities", "totalNumberOfStudies", "totalNumberOfSeries"],
    "properties": {
        "subjectId": _STRING,
        "project": _STRING,
        "modalities": {"type": "array", "items": _STRING},
        "totalNumberOfStudies": _COUNT,
        "totalNumberOfSeries": _COUNT,
        "studyIdentifiers": {"type": "array", "items": {"type": "object"}},
    },
}
_FACET: dict[str, Json] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["value", "count"],
        "properties": {"value": {"type": "string"}, "count": {"type": "integer"}},
    },
}

SERVER_CODE_SHAPES: dict[str, Shape] = {
    "/getModalityValues": Shape("application/json", _items({"Modality": _STRING})),
    "/getManufacturerValues": Shape("application/json", _items({"Manufacturer": _STRING})),
    "/getCollectionValues": Shape("application/json", _items({"Collection": _STRING})),
    "/getModalityValuesAndCounts": Shape("application/json", _counted("Modality")),
    "/getManufacturerValuesAndCounts": Shape("application/json", _counted("Manufacturer")),
    "/getBodyPartValuesAndCounts": Shape("application/json", _counted("BodyPart")),
    "/getCollectionValuesAndCounts": Shape("application/json", _counted("Collection")),
    "/getSpeciesValuesAndCounts": Shape("application/json", _counted("Species")),
    "/getSeriesSize": Shape(
        "application/json",
        {
            **_items({"TotalSizeInBytes": {"type": "integer", "minimum": 1}, "ObjectCount": _COUNT}),
            "maxItems": 1,
        },
    ),
    "/getSimpleSearch": Shape(
        "application/json",
        {
            "type": "object",
            "required": ["resultSet", "totalPatients", "modalities", "collections", "bodyParts"],
            "properties": {
                "resultSet": {"type": "array", "items": _SUBJECT},
                "totalPatients": {"type": "integer", "minimum": 0},
                "modalities": _FACET,
                "collections": _FACET,
                "bodyParts": _FACET,
            },
        },
    ),
    "/getUpdatedSeries": Shape(
        "application/json",
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["SeriesInstanceUID", "StudyInstanceUID", "Modality", "Collection", "PatientID"],
                "properties": {
                    "SeriesInstanceUID": _STRING,
                    "ImageCount": _COUNT,
                    "FileSize": {"type": "integer"},
                    "Authorized": _AUTHORIZED,
                },
            },
        },
    ),
    "/getManifestText": Shape(MANIFEST_TYPE),
    "/getManifestForCollection": Shape(MANIFEST_TYPE),
    "/getManifestForSimpleSearch": Shape(MANIFEST_TYPE),
    "/getManifestFromPatientStudySeries": Shape(MANIFEST_TYPE),
    "/getMD5Hierarchy": Shape("text/plain"),
}

# v4 paths TCIA's code serves (V4_getSOPInstanceUIDs, V4_getSingleImage) that the YAML leaves out.
SERVED_BEYOND_YAML: dict[str, str] = {
    "/getSOPInstanceUIDs": "V4_getSOPInstanceUIDs: the SOPInstanceUIDs of a series",
    "/getSingleImage": "V4_getSingleImage: one DICOM instance",
}

# GET paths whose parameter list is fixed in TCIA's v4 code (Ria: allow_only), with valid parameters.
STRICT_GET_PATHS: tuple[str, ...] = (
    "/getCollectionValues", "/getModalityValues", "/getBodyPartValues", "/getManufacturerValues",
    "/getPatient", "/getPatientByCollectionAndModality", "/NewPatientsInCollection", "/getPatientStudy",
    "/NewStudiesInPatientCollection", "/getSeries", "/getUpdatedSeries", "/getSeriesSize",
    "/getSOPInstanceUIDs", "/getModalityValuesAndCounts", "/getBodyPartValuesAndCounts",
    "/getManufacturerValuesAndCounts", "/getCollectionDescriptions", "/getDicomTags",
    "/getMD5HashForImage", "/getImage", "/getImageWithMD5Hash", "/getSingleImage",
)  # fmt: skip
STRICT_POST_PATHS: tuple[str, ...] = (
    "/getCollectionOrSeriesForDOI", "/getMD5Hierarchy", "/getManifestText",
    "/getManifestFromPatientStudySeries", "/getManifestForCollection", "/getSeriesMetadata",
)  # fmt: skip

# List endpoints that take format=json|csv|xml|html.
FORMATTED_PATHS: tuple[str, ...] = (
    "/getCollectionValues", "/getModalityValues", "/getBodyPartValues", "/getManufacturerValues",
    "/getPatient", "/getPatientByCollectionAndModality", "/NewPatientsInCollection", "/getPatientStudy",
    "/NewStudiesInPatientCollection", "/getSeries", "/getUpdatedSeries", "/getSeriesSize",
    "/getSOPInstanceUIDs", "/getDicomTags",
)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# The YAML


@dataclass(frozen=True)
class Spec:
    document: dict[str, Json]
    registry: Registry[Json]

    def operations(self) -> dict[str, tuple[str, dict[str, Json]]]:
        """path → (method, operation); every path of this document has exactly one method."""
        found: dict[str, tuple[str, dict[str, Json]]] = {}
        for path, item in self.document["paths"].items():
            methods = [m for m in item if m in ("get", "post", "put", "delete", "patch", "head")]
            assert len(methods) == 1, f"{path}: {methods}"
            found[path] = (methods[0], item[methods[0]])
        return found

    def schema(self, path: str, method: str, media_type: str) -> dict[str, Json]:
        """The YAML's 200 schema of ``path`` served as ``media_type`` (its ``$ref``, if any, resolved)."""
        operation = self.document["paths"][path][method]
        return self.resolve(operation["responses"]["200"]["content"][media_type]["schema"])

    def resolve(self, schema: dict[str, Json]) -> dict[str, Json]:
        if "$ref" not in schema:
            return schema
        resolved: dict[str, Json] = self.registry.resolver(SPEC_URI).lookup(schema["$ref"]).contents
        return resolved

    def validator(self, path: str, method: str, media_type: str) -> Any:
        """A Draft 2020-12 validator for the 200 schema of ``path`` served as ``media_type``."""
        pointer = "/".join(
            _escape(part)
            for part in ("paths", path, method, "responses", "200", "content", media_type, "schema")
        )
        return jsonschema.Draft202012Validator({"$ref": f"{SPEC_URI}#/{pointer}"}, registry=self.registry)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def declared_parameters(operation: dict[str, Json]) -> tuple[set[str], set[str]]:
    """(every parameter name, the required ones) of a GET's query or a POST's form body."""
    names: set[str] = set()
    required: set[str] = set()
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            names.add(parameter["name"])
            if parameter.get("required"):
                required.add(parameter["name"])
    form = operation.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
    if form is not None:
        names.update(form["schema"].get("properties", {}))
        required.update(form["schema"].get("required", []))
    return names, required
