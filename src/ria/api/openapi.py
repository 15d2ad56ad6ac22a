"""The OpenAPI contract: named response sets routes declare, and the rules every operation shares.

Generated clients (and schemathesis in CI) trust the description, so it must say exactly
what each route answers: every status code and every media type. Routes declare what is
their own with ``responses=`` built from the sets below (DICOM media types for DICOMweb,
zip/manifest/CSV/XML for TCIA, TCIA's empty 200). What holds for every operation alike is
added once, by :func:`install_openapi`, from what the route really depends on, so a new
route cannot forget it:

* the JSON error body of :mod:`ria.api.errors` is the ``Error`` schema component;
* a request FastAPI cannot validate is a 400 with that body (``errors.py`` maps it so),
  never FastAPI's 422, which is dropped;
* a route that resolves the caller's principal answers 401 to a dead or malformed token;
* a route that touches the catalogue answers 503 when it is unavailable;
* a route that declares the media types of its 200 declares all of them: FastAPI's
  default ``application/json`` is not added to a zip or a DICOM stream.

Inputs are declared as precisely as the routes read them: a UID parameter carries the
pattern and length :func:`ria.dicom.uids.is_valid_uid` accepts (:data:`StudyUID`,
:func:`uid_query`, ...), so generated clients and fuzzers send UIDs rather than noise;
a form a route parses itself is declared with :func:`form_body`.
"""

from __future__ import annotations

import http
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from ria.api.deps import get_archive, get_principal
from ria.dicom.uids import UID_MAX_LENGTH, UID_PATTERN

__all__ = [
    "DICOM_JSON",
    "ERROR_SCHEMA",
    "FORM",
    "OAUTH_ERRORS",
    "STOW_BODY",
    "UID_SCHEMA",
    "UNSATISFIABLE_RANGE",
    "Responses",
    "SeriesUID",
    "SopUID",
    "StudyUID",
    "collection_path",
    "dicomweb_retrieve",
    "dicomweb_search",
    "dicomweb_store",
    "errors",
    "form_body",
    "install_openapi",
    "merge",
    "success",
    "tcia_table",
    "uid_query",
]

Responses = dict[int | str, dict[str, Any]]
"""What ``responses=`` takes on a FastAPI route or router."""

DICOM_JSON = "application/dicom+json"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every error Ria answers on purpose (ria.errors.RiaError.to_json and ria.api.errors).",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid_parameter, not_found"},
        "message": {"type": "string", "description": "what is wrong, for the person who has to fix it"},
        "details": {
            "type": "object",
            "description": "e.g. the parameter at fault",
            "additionalProperties": True,
        },
    },
}

_WHY = {
    400: "A parameter or the body is missing, malformed or unknown.",
    401: "The bearer token is malformed, unknown, expired or revoked (or this route needs one).",
    403: "The caller may not do this.",
    404: "Nothing of that name is visible to the caller.",
    405: "The path exists for another method only.",
    406: "None of the media types the request accepts can be served.",
    409: "The request contradicts what the archive holds (e.g. a remote series is not fetched).",
    413: "The request body is too large.",
    415: "The request body's media type is not taken here.",
    416: "No requested byte range overlaps the resource.",
    422: "A stored-to-be DICOM instance is unusable.",
    503: "The catalogue or blob store is unavailable; try again later.",
}


def errors(*statuses: int) -> Responses:
    """The JSON error body for each of ``statuses``."""
    return {
        status: {
            "description": _WHY.get(status, http.HTTPStatus(status).phrase),
            "content": {"application/json": {"schema": ERROR_REF}},
        }
        for status in statuses
    }


def success(
    description: str, *media_types: str, schema: dict[str, Any] | None = None, status: int = 200
) -> Responses:
    """A success answered in each of ``media_types``; ``schema`` (if any) describes every one of them.

    Without a schema a media type is declared bare (a binary stream, or a body that may be
    empty, like TCIA's 200 with no content): validators check its type, not its content.
    """
    entry: dict[str, Any] = {} if schema is None else {"schema": schema}
    return {status: {"description": description, "content": {media: dict(entry) for media in media_types}}}


def tcia_table(description: str = "The matching rows in the format asked for.") -> Responses:
    """TCIA's listings: JSON by default, CSV, XML or HTML on ``format=`` (another format is a 400).

    TCIA answers a query that matches nothing with a 200 and an empty body (no JSON), and
    clients test for it; Ria keeps that, so the body carries no schema.
    """
    listing = success(
        f"{description} Nothing matching is an empty body (TCIA's empty 200), in the format's media type.",
        "application/json",
        "text/csv",
        "application/xml",
        "text/html",
    )
    return merge(listing, errors(400))


OAUTH_ERRORS: Responses = {
    400: {
        "description": "RFC 6749 section 5.2: the grant is invalid, or the request malformed.",
        "content": {
            "application/json": {
                "schema": {
                    "title": "OAuthError",
                    "type": "object",
                    "required": ["error", "error_description"],
                    "properties": {
                        "error": {
                            "type": "string",
                            "enum": ["invalid_request", "invalid_grant", "unsupported_grant_type"],
                        },
                        "error_description": {"type": "string"},
                    },
                }
            }
        },
    }
}
"""TCIA's token endpoint answers errors the OAuth way, not with Ria's ``Error`` body."""

UNSATISFIABLE_RANGE: Responses = {
    416: {
        "description": "No requested byte range overlaps the instance (Content-Range: its length); no body.",
        "headers": {"Content-Range": {"schema": {"type": "string"}, "description": "bytes */LENGTH"}},
    }
}


DICOM_JSON_ARRAY: dict[str, Any] = {
    "type": "array",
    "items": {"type": "object", "description": "a DICOM JSON dataset (PS3.18 F.2), keyed by tag"},
}
MULTIPART_DICOM = 'multipart/related; type="application/dicom"'


def dicomweb_search() -> Responses:
    """QIDO-RS: DICOM JSON (an empty array when nothing matches); the Warning header says truncated."""
    return merge(success("The matches as DICOM JSON.", DICOM_JSON, schema=DICOM_JSON_ARRAY), errors(400, 406))


def dicomweb_retrieve(part: str, *, metadata: bool = False) -> Responses:
    """WADO-RS: multipart/related of ``part`` (or, for metadata, DICOM JSON), as stored (no transcoding)."""
    if metadata:
        answer = success("The instances' metadata as DICOM JSON.", DICOM_JSON, schema=DICOM_JSON_ARRAY)
    else:
        answer = success(f"multipart/related; one {part} part each, streamed.", "multipart/related")
    return merge(answer, errors(404, 406, 409))


def dicomweb_store() -> Responses:
    """STOW-RS: PS3.18 statuses; the body (DICOM JSON) lists stored and failed instances either way."""
    body = {
        DICOM_JSON: {"schema": {"type": "object", "description": "ReferencedSOPSequence, FailedSOPSequence"}}
    }
    return merge(
        {
            200: {"description": "Every instance was stored.", "content": body},
            202: {"description": "Some instances were stored, some failed or were changed.", "content": body},
            409: {
                "description": "No instance was stored: DICOM JSON whose FailedSOPSequence says why, "
                "or Ria's error body when the request itself conflicts (e.g. a collection name).",
                "content": {**body, **errors(409)[409]["content"]},
            },
        },
        errors(400, 403, 415),
    )


STOW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            MULTIPART_DICOM: {
                "schema": {"type": "string", "format": "binary"},
                "example": "",
            }
        },
    }
}
"""STOW-RS's body, which the route reads as a stream (so FastAPI cannot see it)."""


def merge(*sets: Responses) -> Responses:
    """One ``responses=`` from several sets (a later set wins for a status both name)."""
    merged: Responses = {}
    for one in sets:
        merged.update(one)
    return merged


def collection_path(
    collection: Annotated[str, Path(description="the collection this DICOMweb service root serves")],
) -> str:
    """A router dependency declaring the ``{collection}`` its prefix holds.

    FastAPI declares only the path parameters a route's function takes; the per-collection
    DICOMweb routes read theirs from the request, so without this the description named
    ``{collection}`` in 21 paths and declared it in none (an invalid document).
    """
    return collection


UID_SCHEMA: dict[str, Any] = {
    "pattern": UID_PATTERN,
    "maxLength": UID_MAX_LENGTH,
    "examples": ["1.2.840.113619.2.55.3.604688405.781.1554839724.467"],
}
"""A DICOM UID as the routes accept it (digits and dots, at most 64 characters).

The pattern is the lenient one :func:`ria.dicom.uids.is_valid_uid` applies, not PS3.5's
strict one: real archives hold UIDs with leading zeros, Ria stores and serves them, and a
client must be able to ask for what it was answered. Declared only: each route keeps its
own check (TCIA's 400 naming the parameter; DICOMweb's 404 for what is not held).
"""


def _uid(what: str) -> str:
    return f"the {what} (a DICOM UID: digits and dots, at most {UID_MAX_LENGTH} characters)"


StudyUID = Annotated[str, Path(description=_uid("Study Instance UID"), json_schema_extra=UID_SCHEMA)]
SeriesUID = Annotated[str, Path(description=_uid("Series Instance UID"), json_schema_extra=UID_SCHEMA)]
SopUID = Annotated[str, Path(description=_uid("SOP Instance UID"), json_schema_extra=UID_SCHEMA)]


def uid_query(alias: str, what: str | None = None) -> Any:
    """A query parameter holding one UID, e.g. ``uid_query("SeriesInstanceUID")``."""
    return Query(alias=alias, description=_uid(what or alias), json_schema_extra=UID_SCHEMA)


FORM = "application/x-www-form-urlencoded"


def form_body(
    properties: dict[str, dict[str, Any]], *, required: bool = False, **schema: Any
) -> dict[str, Any]:
    """``openapi_extra`` declaring a form the route reads itself (``await request.form()``).

    FastAPI declares a body only from ``Form()`` parameters; a route that parses a form
    with numbered fields (TCIA's ``criteriaType0``/``value0`` ...) would otherwise have no
    request body at all, and a generated client no way to send one. ``schema`` adds JSON
    Schema keywords (``patternProperties``, ``dependentRequired``, ...) beside the properties.
    """
    body = {"type": "object", "properties": properties, **schema}
    return {"requestBody": {"required": required, "content": {FORM: {"schema": body}}}}


def _calls(dependant: Dependant) -> Iterable[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _shared(route: RouteContext, operation: dict[str, Any]) -> None:
    """The responses every operation shares, derived from what ``route`` depends on."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validation = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema")
    if validation == {"$ref": "#/components/schemas/HTTPValidationError"}:
        del responses["422"]
        responses.setdefault("400", errors(400)[400])
    calls = set(_calls(route.dependant))
    if get_principal in calls:
        responses.setdefault("401", errors(401)[401])
    if get_archive in calls:
        responses.setdefault("503", errors(503)[503])
    declared = route.responses.get(200, route.responses.get("200", {}))
    if "content" in declared and "200" in responses:
        responses["200"]["content"] = {media: dict(entry) for media, entry in declared["content"].items()}


def _document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    # FastAPI's own walk: each route as included, with its routers' dependencies and responses
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        for method in context.methods or ():
            operation = document.get("paths", {}).get(context.path_format, {}).get(method.lower())
            if operation is not None:
                _shared(context, operation)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the description built by :func:`_document` (once, then cached like FastAPI's own)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
