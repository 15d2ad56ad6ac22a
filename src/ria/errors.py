"""One exception hierarchy for the whole archive.

Every error Ria raises on purpose is a :class:`RiaError`. Each class carries the
HTTP status it maps to and the CLI exit code it maps to, so the HTTP layer and
the CLI translate errors in exactly one place each and never guess.

Messages are written for the person who has to fix the problem: they name the
parameter, file or value that is wrong. They never contain patient names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, ClassVar

__all__ = [
    "CatalogUnavailableError",
    "ConfigurationError",
    "ConflictError",
    "ForbiddenError",
    "InvalidBarcodeError",
    "InvalidDicomError",
    "InvalidParameterError",
    "NotAcceptableError",
    "NotFoundError",
    "PortUnavailableError",
    "RangeNotSatisfiableError",
    "RiaError",
    "StorageError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "close_matches",
    "unknown_value",
]


class RiaError(Exception):
    """Base class: a failure Ria understands and can explain."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_json(self) -> dict[str, Any]:
        """The JSON body served for this error (HTTP) — stable keys clients can rely on."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidParameterError(RiaError):
    """A caller passed a missing, malformed or unknown parameter."""

    http_status = 400
    exit_code = 2
    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str, **details: Any) -> None:
        super().__init__(message, parameter=parameter, **details)
        self.parameter = parameter


def close_matches(value: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """The known spellings nearest to ``value`` (case-insensitive), best first.

    One suggestion rule for every "unknown X" message, so a typo in a collection, gene,
    modality, field or label gets the same kind of help wherever it is made.
    """
    spellings = {name.lower(): name for name in known}
    close = difflib.get_close_matches(value.lower(), list(spellings), n=limit, cutoff=0.75)
    return [spellings[c] for c in close]


def unknown_value(parameter: str, kind: str, value: str, known: Iterable[str]) -> InvalidParameterError:
    """The error for a ``kind`` named ``value`` that is not among ``known``, with the nearest ones.

    ``known`` must hold only what the caller may see: the message and its suggestions are
    then the same for a value that does not exist and one the caller may not know about.
    """
    names = sorted(set(known))
    close = close_matches(value, names)
    if close:
        hint = (
            "; did you mean " + " or ".join([", ".join(close[:-1]), close[-1]] if close[:-1] else close) + "?"
        )
    elif names:
        shown = ", ".join(names[:10]) + (f" … ({len(names)} in all)" if len(names) > 10 else "")
        hint = f"; known: {shown}"
    else:
        hint = f"; there is no {kind} here yet"
    return InvalidParameterError(parameter, f"unknown {kind} {value!r}{hint}", close_matches=close)


class InvalidBarcodeError(InvalidParameterError):
    """A TCGA barcode is malformed; ``part`` names the piece that is wrong (e.g. "participant").

    A 400 like any bad parameter, but its own class so importers can reject one row and go on
    while every other invalid parameter still stops the request.
    """

    code = "invalid_barcode"

    def __init__(self, barcode: str, part: str, message: str) -> None:
        super().__init__("barcode", message, barcode=barcode, part=part)
        self.barcode = barcode
        self.part = part


class NotFoundError(RiaError):
    """The named collection, series, instance or blob does not exist."""

    http_status = 404
    code = "not_found"


class UnauthorizedError(RiaError):
    """The caller's credentials are missing, unknown, expired or revoked (HTTP 401).

    ``challenge`` is the ``WWW-Authenticate`` value served with it (RFC 6750 §3): a client
    learns its token died and that it should refresh, instead of silently seeing less.
    """

    http_status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, challenge: str = 'Bearer realm="ria"', **details: Any) -> None:
        super().__init__(message, **details)
        self.challenge = challenge


class ForbiddenError(RiaError):
    """The caller may not do this here (e.g. store over DICOMweb from another machine)."""

    http_status = 403
    code = "forbidden"


class NotAcceptableError(RiaError):
    """None of the media types the client accepts can be produced (HTTP 406)."""

    http_status = 406
    code = "not_acceptable"


class UnsupportedMediaTypeError(RiaError):
    """The request body's media type is not one this endpoint takes (HTTP 415)."""

    http_status = 415
    code = "unsupported_media_type"


class ConflictError(RiaError):
    """The request contradicts what the archive already holds."""

    http_status = 409
    code = "conflict"


class RangeNotSatisfiableError(RiaError):
    """No requested byte range overlaps the resource.

    Carries the resource's length because the 416 answer must say it
    (``Content-Range: bytes */LENGTH``, RFC 9110 §15.5.17) so the client can retry.
    """

    http_status = 416
    code = "range_not_satisfiable"

    def __init__(self, complete_length: int, message: str, **details: Any) -> None:
        super().__init__(message, complete_length=complete_length, **details)
        self.complete_length = complete_length

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header value for the 416 response."""
        return f"bytes */{self.complete_length}"


class InvalidDicomError(RiaError):
    """A file is not a usable DICOM instance (not DICOM, truncated, missing UIDs)."""

    http_status = 422
    code = "invalid_dicom"


class StorageError(RiaError):
    """The blob store could not read or write an object."""

    http_status = 503
    code = "storage_error"


class CatalogUnavailableError(RiaError):
    """The catalogue database cannot be reached or opened."""

    http_status = 503
    code = "catalog_unavailable"


class PortUnavailableError(RiaError):
    """A port a server must listen on cannot be bound (in use, not permitted, no such address)."""

    code = "port_unavailable"


class ConfigurationError(RiaError):
    """A setting is invalid (bad database URL, unusable data folder)."""

    http_status = 500
    exit_code = 2
    code = "configuration_error"
