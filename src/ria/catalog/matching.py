"""PS3.4 C.2.2.2 attribute matching, compiled to SQLAlchemy once for every interface.

QIDO-RS (:mod:`ria.dicomweb.qido`), C-FIND (:mod:`ria.catalog.dimse_queries`) and the
TCIA description search (:mod:`ria.catalog.search`) all build their conditions here,
so the same question gets the same answer on SQLite and on PostgreSQL. That is not
what a bare SQL ``LIKE`` gives: SQLite's ``LIKE`` ignores ASCII case, PostgreSQL's
does not, and their ``lower()`` fold different letters (SQLite only A-Z, PostgreSQL
whatever its locale knows).

The case rule, chosen once:

* **Case-sensitive** everywhere (PS3.4's rule) — single values, wildcards, lists.
  Wildcards ``*``/``?`` compile to ``GLOB`` on SQLite (case-sensitive, and indexable
  for a literal prefix) and to ``LIKE`` on PostgreSQL (case-sensitive); literal
  ``%``, ``_``, ``\\`` and ``[`` are escaped for each.
* **Fuzzy person-name matching** (QIDO's ``fuzzymatching=true``; C-FIND never asks
  for it): the value matches if it matches *any part* of the name, ignoring the case
  of the ASCII letters A-Z only. Both sides are folded by the same rule on both
  databases (``lower()`` on SQLite, ``translate()`` of A-Z on PostgreSQL, in Python
  for the pattern), so ``müller`` finds ``Müller`` but not ``MÜLLER`` — on both.
  Folding more than ASCII would need a stored normalised column; a smaller, equal
  answer beats a larger one that depends on the server's locale.

Also here: universal matching (an empty value or ``*`` adds no constraint — ``*``
matches entities with no value too), list of UID matching (``\\``-separated),
range matching of dates, times and date-times (``a-b``, ``a-``, ``-b``; malformed
bounds are an :class:`~ria.errors.InvalidParameterError` naming the attribute).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, and_, false, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ria.errors import InvalidParameterError

__all__ = [
    "Bound",
    "alphabetic_group",
    "ascii_lower",
    "attribute_clause",
    "contains_ignoring_case",
    "equals_any",
    "fold_ascii",
    "has_wildcard",
    "parse_range",
    "range_clause",
    "text_clause",
    "uid_clause",
]

Bound = dt.date | dt.time | dt.datetime
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_RANGE_VRS = frozenset({"DA", "TM", "DT"})


def fold_ascii(text: str) -> str:
    """``text`` with A-Z lowered and nothing else touched: the fold both databases can agree on."""
    return text.translate(_FOLD)


def has_wildcard(value: str) -> bool:
    """Whether a DICOM matching value holds ``*`` or ``?`` (PS3.4 has no way to escape them)."""
    return "*" in value or "?" in value


def alphabetic_group(name: str) -> str:
    """A person name's alphabetic component group: the only group the catalogue stores."""
    return name.split("=")[0]


def _like_literal(text: str) -> str:
    """``text`` for a ``LIKE`` pattern, matching itself only (``\\`` is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_pattern(pattern: str) -> str:
    """A DICOM wildcard pattern as a ``LIKE`` pattern with ``\\`` as the escape character."""
    return _like_literal(pattern).replace("*", "%").replace("?", "_")


def _glob_pattern(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQLite ``GLOB`` pattern: only ``[`` needs a class of its own."""
    return pattern.replace("[", "[[]")


class _Wildcard(ColumnElement[bool]):
    """``column`` matches a DICOM wildcard pattern, case-sensitively, whatever the database.

    Compiled per dialect, so statements holding it are not cached (``inherit_cache``):
    the pattern is turned into a bound literal only when the dialect is known.
    """

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        self.column = column
        self.pattern = pattern

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.column._from_objects)


@compiles(_Wildcard)
def _wildcard_as_like(element: _Wildcard, compiler: SQLCompiler, **kw: Any) -> str:
    """PostgreSQL (and any deterministic collation): ``LIKE`` is already case-sensitive."""
    clause = element.column.like(_like_pattern(element.pattern), escape="\\")
    return compiler.process(clause, **kw)


@compiles(_Wildcard, "sqlite")
def _wildcard_as_glob(element: _Wildcard, compiler: SQLCompiler, **kw: Any) -> str:
    """SQLite: ``LIKE`` ignores ASCII case, ``GLOB`` does not (and uses the index for a prefix)."""
    clause = element.column.op("GLOB", is_comparison=True)(_glob_pattern(element.pattern))
    return compiler.process(clause, **kw)


class _AsciiLower(FunctionElement[str]):
    """``column`` with A-Z lowered, identically on every database (see :func:`fold_ascii`)."""

    name = "ascii_lower"
    type = String()
    inherit_cache = True


@compiles(_AsciiLower)
def _ascii_lower_sqlite(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    """SQLite's built-in ``lower()`` folds exactly A-Z (without the ICU extension, which Ria never loads)."""
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_AsciiLower, "postgresql")
def _ascii_lower_postgresql(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    """PostgreSQL's ``lower()`` follows the locale; ``translate()`` of A-Z does not."""
    arguments = compiler.process(element.clauses, **kw)
    return f"translate({arguments}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"


def ascii_lower(column: Any) -> ColumnElement[str]:
    """``column`` with A-Z lowered in SQL, the same on every database: compare it with :func:`fold_ascii`.

    For any "ignoring case" comparison outside DICOM matching too (cohort text fields,
    manufacturers, label names), so those answers agree across databases as well.
    """
    return _AsciiLower(column)


def _fuzzy_clause(column: Any, pattern: str) -> ColumnElement[bool]:
    """Fuzzy person-name matching: ``pattern`` matches any part of the name, ASCII case ignored."""
    folded = _like_pattern(fold_ascii(pattern))
    return _AsciiLower(column).like(f"%{folded}%", escape="\\")


def contains_ignoring_case(column: Any, needle: str) -> ColumnElement[bool]:
    """``column`` contains ``needle`` (literally), ignoring the case of A-Z: TCIA's description search."""
    return _AsciiLower(column).like(f"%{_like_literal(fold_ascii(needle))}%", escape="\\")


def text_clause(column: Any, values: Sequence[str], *, fuzzy: bool = False) -> ColumnElement[bool] | None:
    """Any of ``values`` matches ``column`` (a list is an OR); ``None`` for universal matching.

    ``*`` among the values, or no non-empty value, is universal matching: no constraint
    at all, so entities without a value match too (``LIKE '%'`` would drop them).
    """
    wanted = [value for value in values if value != ""]
    if not wanted or "*" in wanted:
        return None
    if fuzzy:
        return or_(*(_fuzzy_clause(column, value) for value in wanted))
    exact = [value for value in wanted if not has_wildcard(value)]
    clauses: list[ColumnElement[bool]] = [column.in_(exact)] if exact else []
    clauses += [_Wildcard(column, value) for value in wanted if has_wildcard(value)]
    return or_(*clauses)


def equals_any(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """Single value (or list) matching on an exact value: integers, codes, identifiers."""
    if not values:
        return false()
    if len(values) == 1:
        return column == values[0]  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


def uid_clause(column: Any, uids: Sequence[str]) -> ColumnElement[bool] | None:
    """List of UID matching; ``None`` (universal) when no UID is given."""
    wanted = [uid.strip() for uid in uids if uid.strip()]
    return equals_any(column, wanted) if wanted else None


def range_clause(column: Any, low: Bound | None, high: Bound | None) -> ColumnElement[bool] | None:
    """Range matching, both bounds inclusive; ``None`` when neither bound is given."""
    parts = []
    if low is not None:
        parts.append(column >= low)
    if high is not None:
        parts.append(column <= high)
    return and_(*parts) if parts else None


_TIME = re.compile(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?")
_DATETIME = re.compile(r"(\d{4})(\d{2})?(\d{2})?((?:\d{2}){0,3}(?:\.\d{1,6})?)?")


def _parse_time(text: str, upper: bool) -> dt.time:
    found = _TIME.fullmatch(text)
    if not found:
        raise ValueError(text)
    hour, minute, second, fraction = found.groups()
    top = upper and fraction is None
    return dt.time(
        int(hour),
        int(minute) if minute else (59 if upper else 0),
        int(second) if second else (59 if upper else 0),
        int(fraction.ljust(6, "0")) if fraction else (999_999 if top else 0),
    )


def _parse_bound(vr: str, text: str, upper: bool) -> Bound:
    """One bound; a partial time or date-time covers its whole span (``10`` to 10:59:59.999999)."""
    if vr == "DA":
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError(text)
        return dt.datetime.strptime(text, "%Y%m%d").date()
    if vr == "TM":
        return _parse_time(text, upper)
    found = _DATETIME.fullmatch(text)
    if not found:
        raise ValueError(text)
    year, month, day, clock = found.groups()
    date = dt.date(int(year), int(month or (12 if upper else 1)), 1)
    if day:
        date = date.replace(day=int(day))
    elif upper:
        date = (date.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    time = _parse_time(clock, upper) if clock else (dt.time.max if upper else dt.time.min)
    return dt.datetime.combine(date, time)


_FORMS = {"DA": "a date YYYYMMDD", "TM": "a time HHMMSS.FFFFFF", "DT": "a date-time YYYYMMDDHHMMSS.FFFFFF"}


def parse_range(vr: str, value: str, key: str) -> tuple[Bound | None, Bound | None]:
    """A DA, TM or DT matching value as inclusive bounds: ``a``, ``a-b``, ``a-`` or ``-b``.

    A malformed value is an :class:`InvalidParameterError` naming ``key`` (a 400, not a 500).
    """
    text = value.replace(" ", "")
    start, dash, end = text.partition("-")
    if dash and not start and not end:
        raise InvalidParameterError(key, f"{key}: a range needs at least one bound")
    try:
        low = _parse_bound(vr, start, upper=False) if start else None
        high = _parse_bound(vr, end if dash else start, upper=True) if (end or not dash) else None
    except ValueError:
        shown = value[:40]
        raise InvalidParameterError(key, f"{key}: {shown!r} is not {_FORMS[vr]} or a range of them") from None
    return low, high


def attribute_clause(
    column: Any, vr: str, value: str, *, key: str, fuzzy: bool = False
) -> ColumnElement[bool] | None:
    """One query value of attribute ``key`` (VR ``vr``) as a condition on ``column``.

    ``None`` is universal matching. Text of every VR is case-sensitive; ``fuzzy``
    applies to person names (PN) only. ``\\`` separates a list of values; UIDs may also
    be separated by commas, as QIDO-RS allows.
    """
    if value == "":
        return None
    if vr == "UI":
        return uid_clause(column, re.split(r"[,\\]", value))
    if vr in _RANGE_VRS:
        low, high = parse_range(vr, value, key)
        return range_clause(column, low, high)
    if vr == "IS":
        items = [item.strip() for item in value.split("\\")]
        if not all(re.fullmatch(r"[+-]?\d{1,12}", item) for item in items):
            raise InvalidParameterError(key, f"{key} must be an integer, got {value[:20]!r}")
        return equals_any(column, [int(item) for item in items])
    values = value.split("\\")
    if vr == "PN":
        return text_clause(column, [alphabetic_group(name) for name in values], fuzzy=fuzzy)
    return text_clause(column, values)
