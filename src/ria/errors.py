"""One exception hierarchy for the whole archive.

Every error Ria raises on purpose is a :class:`RiaError`. Each class carries the
HTTP status it maps to and the CLI exit code it maps to, so the HTTP layer and
the CLI translate errors in exactly one place each and never guess.

Messages are written for the person who has to fix the problem: they name the
parameter, file or value that is wrong. They never contain patient names.
"""

from __future__ import annotations

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
    "RangeNotSatisfiableError",
    "RiaError",
    "StorageError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
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


class ConfigurationError(RiaError):
    """A setting is invalid (bad database URL, unusable data folder)."""

    http_status = 500
    exit_code = 2
    code = "configuration_error"
