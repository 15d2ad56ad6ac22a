"""Bounds on every integer a request can carry, and the one parser for integers read by hand.

A cheap request must not cost the server dearly: an integer from a URL goes into
SQL (``OFFSET``), into comparisons with row counts, into image sizes. Python ints
are unbounded while SQLite and PostgreSQL integers are 64-bit, so an unchecked
``offset=10**30`` used to reach the driver and fail there as a 500. Every integer
parameter is checked here, before any work, and a bad one is a 400 naming it.
"""

from __future__ import annotations

import re

from ria.errors import InvalidParameterError

__all__ = ["MAX_COUNT", "MAX_EMBARGO_DAYS", "MAX_OFFSET", "parse_int"]

MAX_OFFSET = 1_000_000_000
"""Largest paging offset (QIDO-RS ``offset``, TCIA ``start``): far beyond any catalogue, far below 2**63."""

MAX_COUNT = 1_000_000_000
"""Largest count or threshold a request body may carry (mutations, embargo days or cases)."""

MAX_EMBARGO_DAYS = 36_525
"""A century: an embargo window longer than that is a typo, and dates past 9999 do not exist."""

# ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then refuses or misreads.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")


def parse_int(parameter: str, text: str, *, minimum: int, maximum: int) -> int:
    """``text`` as an integer in ``[minimum, maximum]``, or a 400 naming ``parameter``."""
    value = text.strip()
    if not _INTEGER.fullmatch(value):
        raise InvalidParameterError(
            parameter, f"{parameter} must be an integer from {minimum} to {maximum}, got {text[:20]!r}"
        )
    number = int(value)
    if not minimum <= number <= maximum:
        raise InvalidParameterError(
            parameter, f"{parameter} must be from {minimum} to {maximum}, got {number}"
        )
    return number
