"""HTTP ``Range`` requests for one resource of known length (RFC 9110 §14).

Large downloads fail part-way; resuming them (``curl -C -``, browsers, download
managers) needs single byte ranges, so that is what we serve. Policy, all of it
allowed by RFC 9110 §14.2 ("a server MAY ignore the Range header field"):

* One range (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) → a :class:`ByteRange`
  to answer with 206, ``last-pos`` beyond the end clamped to the end and a
  suffix longer than the resource taken as the whole resource.
* One range that starts at or past the end, or the suffix ``-0`` →
  :class:`~ria.errors.RangeNotSatisfiableError`: answer 416 with its
  ``content_range`` (``bytes */LENGTH``).
* Several ranges → ``None``: answer 200 with the whole resource. Serving only
  some of them as a single part would be misread by a client that asked for
  several, and multipart/byteranges buys little for DICOM downloads.
* No header, another unit, or a header that does not follow the grammar →
  ``None`` (200 with the whole resource), as the RFC asks for unknown units
  and allows for invalid ones. A bad header never costs the client its data.
* A zero-length resource has no byte to start a range at: ``bytes=-n`` is
  "the whole (empty) resource" → ``None``, every other range → 416.

``If-Range`` is the caller's business: evaluate it first, and pass ``None``
here when the validator does not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ria.errors import InvalidParameterError, RangeNotSatisfiableError

__all__ = ["ByteRange", "content_range", "parse_range"]

# RFC 9110 §14.1.1 byte-range-spec / suffix-range: ASCII digits only (never Unicode digits).
_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)", re.ASCII)
_OWS = " \t"


@dataclass(frozen=True)
class ByteRange:
    """A satisfiable range: bytes ``start`` to ``end`` *inclusive* of a resource of ``complete_length``.

    ``stop`` (exclusive) is what Python slices and ``ria.storage.base.iter_range``
    take; ``length`` is the 206 response's ``Content-Length``.
    """

    start: int
    end: int
    complete_length: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end < self.complete_length:
            raise ValueError(
                f"not a byte range: {self.start}-{self.end} of a {self.complete_length}-byte resource"
            )

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def stop(self) -> int:
        return self.end + 1


def content_range(byte_range: ByteRange) -> str:
    """The ``Content-Range`` header value for a 206 response, e.g. ``bytes 0-499/1234``."""
    return f"bytes {byte_range.start}-{byte_range.end}/{byte_range.complete_length}"


def parse_range(header: str | None, complete_length: int) -> ByteRange | None:
    """The single range to serve from a ``Range`` header value, or ``None`` to serve everything (200).

    Raises :class:`~ria.errors.RangeNotSatisfiableError` (416) when the one
    range requested lies wholly past the end. See the module docstring for the
    policy on several ranges and malformed headers.
    """
    if isinstance(complete_length, bool) or not isinstance(complete_length, int) or complete_length < 0:
        raise InvalidParameterError(
            "complete_length", f"resource length must be a non-negative integer, got {complete_length!r}"
        )
    if header is None:
        return None
    unit, equals, range_set = header.strip(_OWS).partition("=")
    if not equals or unit.lower() != "bytes":
        return None
    # range-set = 1#range-spec: comma-separated, optional whitespace, empty elements ignored (§5.6.1).
    specs = [element.strip(_OWS) for element in range_set.split(",")]
    specs = [spec for spec in specs if spec]
    if len(specs) != 1:
        return None
    match = _SPEC.fullmatch(specs[0])
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        return _suffix(_bounded(suffix, complete_length), complete_length)
    if last and _magnitude(last) < _magnitude(first):
        return None  # invalid byte-range-spec (§14.1.1): ignore the header
    start = _bounded(first, complete_length)
    end = None if last == "" else _bounded(last, complete_length)
    if start >= complete_length:
        raise RangeNotSatisfiableError(
            complete_length,
            f"range starts at byte {start} but the resource has {complete_length} bytes",
        )
    last_byte = complete_length - 1 if end is None else min(end, complete_length - 1)
    return ByteRange(start, last_byte, complete_length)


def _suffix(suffix_length: int, complete_length: int) -> ByteRange | None:
    if suffix_length == 0:
        raise RangeNotSatisfiableError(complete_length, "a suffix range of zero bytes selects nothing")
    if complete_length == 0:
        return None
    return ByteRange(max(0, complete_length - suffix_length), complete_length - 1, complete_length)


def _magnitude(digits: str) -> tuple[int, str]:
    """Sort key that orders decimal digit strings by value, however long, without converting them."""
    significant = digits.lstrip("0")
    return len(significant), significant


def _bounded(digits: str, complete_length: int) -> int:
    """The number, or ``complete_length + 1`` for anything longer than that.

    Any position past the end behaves alike, and converting a thousand-digit
    header value would be wasted work (past 4300 digits ``int`` refuses it).
    """
    significant = digits.lstrip("0")
    if len(significant) > len(str(complete_length)):
        return complete_length + 1
    return int(significant or "0")
