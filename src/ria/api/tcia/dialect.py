"""What differs between TCIA's API versions: date formats, parameter strictness, field names.

v1 (and v2) serialise dates as Java ``Timestamp.toString()`` (``2000-01-01
00:00:00.0``) and ignore unknown parameters; v4 writes ``MM-dd-yyyy`` and
answers 400 to any parameter an endpoint does not list. Everything else — which
rows match, counts, ordering — is the same query core for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ria.errors import InvalidParameterError

__all__ = ["V1", "V2", "V4", "Dialect", "parse_date", "pick"]

Version = Literal["v1", "v2", "v4"]


def _java_timestamp(value: dt.datetime) -> str:
    fraction = f"{value.microsecond:06d}".rstrip("0") or "0"
    return value.strftime("%Y-%m-%d %H:%M:%S.") + fraction


@dataclass(frozen=True)
class Dialect:
    """One TCIA API version as Ria speaks it."""

    version: Version
    strict_parameters: bool

    def date(self, value: dt.date | None) -> str | None:
        if value is None:
            return None
        if self.version == "v4":
            return value.strftime("%m-%d-%Y")
        return _java_timestamp(dt.datetime.combine(value, dt.time()))

    def timestamp(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        if self.version == "v4":
            return value.strftime("%m-%d-%Y")
        return _java_timestamp(value)


V1 = Dialect("v1", strict_parameters=False)
V2 = Dialect("v2", strict_parameters=False)
"""v1 behind a bearer token: the app mounts its routers with a dependency that refuses anonymous callers."""
V4 = Dialect("v4", strict_parameters=True)


def parse_date(parameter: str, value: str, pattern: str, shown: str) -> dt.datetime:
    """Parse a date parameter as midnight UTC, or name the parameter and the format it needs."""
    try:
        return dt.datetime.strptime(value.strip(), pattern).replace(tzinfo=dt.UTC)
    except ValueError:
        raise InvalidParameterError(
            parameter, f"{parameter} must be a date written {shown}, got {value[:40]!r}"
        ) from None


def pick(
    values: Mapping[str, object], columns: Sequence[str], aliases: Mapping[str, str] | None = None
) -> dict[str, object]:
    """``columns`` in order, each read from ``values`` (under its alias, if it has one)."""
    aliases = aliases or {}
    return {column: values.get(aliases.get(column, column)) for column in columns}
