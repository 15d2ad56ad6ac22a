"""Parameter handling shared by TCIA routes: v4's allow-lists, UID checks, comma lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from ria.api.tcia.formats import parse_format
from ria.dicom.uids import is_valid_uid
from ria.errors import InvalidParameterError

__all__ = ["allow_only", "check_format", "require_uid", "split_list"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def allow_only(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency answering 400 to any query or form parameter not in ``names`` (TCIA v4's rule).

    The message is TCIA's own wording, so a person comparing servers reads the
    same thing; the body is Ria's JSON error with the offending parameter named.
    """
    allowed = frozenset(names)
    listed = ", ".join(sorted(allowed))

    async def check(request: Request) -> None:
        given = list(request.query_params.keys())
        if request.method == "POST" and request.headers.get("content-type", "").startswith(_FORM_TYPES):
            given.extend((await request.form()).keys())
        for name in given:
            if name not in allowed:
                kind = "query" if name in request.query_params else "form"
                raise InvalidParameterError(
                    name,
                    f"Invalid {kind} parameter: '{name}'. Allowed parameters are: [{listed}]",
                )

    return check


async def check_format(request: Request) -> None:
    """A router dependency: a bad ``format`` (query or form) is a 400 before the catalogue is asked.

    Routes render with the format only after their query has run; a request that can
    only fail must not first pay for the whole query (getSeries over every series).
    """
    values = request.query_params.getlist("format")
    if request.method == "POST" and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        values.extend(str(value) for value in (await request.form()).getlist("format"))
    for value in values:
        parse_format(value)


def require_uid(parameter: str, value: str) -> str:
    """``value`` stripped, or a 400 naming ``parameter`` if it is not a DICOM UID."""
    value = value.strip()
    if not is_valid_uid(value):
        raise InvalidParameterError(parameter, f"{parameter} {value[:80]!r} is not a valid DICOM UID")
    return value


def split_list(parameter: str, values: list[str] | str | None, *, uids: bool = False) -> tuple[str, ...]:
    """A comma-separated (and/or repeated) parameter as a tuple without blanks or repeats."""
    if values is None:
        return ()
    raw = [values] if isinstance(values, str) else values
    items = [item.strip() for value in raw for item in value.split(",") if item.strip()]
    if uids:
        items = [require_uid(parameter, item) for item in items]
    return tuple(dict.fromkeys(items))
