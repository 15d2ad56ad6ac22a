"""The publication embargo in plain words, evaluated at a moment so that it lifts by itself.

TCGA's publication guidelines gave each collection's Imaging Source Site (ISS) group a window,
once the collection had accrued its 100th case, to publish a marker paper first. The data stay
downloadable meanwhile; what changes is what others may *publish*. Nothing stores "active": the
status is always ``embargo_ends_at`` compared with the evaluation time (a principal's
:meth:`~ria.access.Principal.now`, or an explicit ``at``), the same comparison the visibility rule
makes for "restricted until the embargo ends", so the notice, the listing and access all change
at the same instant without anyone acting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal, Protocol

from ria.catalog.schema import as_utc

__all__ = [
    "EMBARGO_STATUSES",
    "EmbargoFacts",
    "EmbargoStatus",
    "embargo_fields",
    "embargo_notice",
    "embargo_notices",
    "embargo_status",
    "format_moment",
]

EmbargoStatus = Literal["none", "active", "ended"]
EMBARGO_STATUSES: tuple[EmbargoStatus, ...] = ("none", "active", "ended")


class EmbargoFacts(Protocol):
    """What the notice needs of a collection (``CollectionInfo`` and ``Governance`` both qualify)."""

    @property
    def name(self) -> str: ...

    @property
    def embargo_ends_at(self) -> dt.datetime | None: ...


def _at(at: dt.datetime | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if at is None else as_utc(at)


def embargo_status(info: EmbargoFacts, at: dt.datetime | None = None) -> EmbargoStatus:
    """``none`` (no embargo date: threshold not reached), ``active`` before the end, ``ended`` from it on."""
    if info.embargo_ends_at is None:
        return "none"
    return "active" if _at(at) < as_utc(info.embargo_ends_at) else "ended"


def format_moment(value: dt.datetime) -> str:
    """A date for people: ``2027-05-01``, with the UTC time only when it is not midnight."""
    value = as_utc(value)
    if value.time() == dt.time(0):
        return value.date().isoformat()
    return value.strftime("%Y-%m-%d %H:%M UTC")


def embargo_notice(info: EmbargoFacts, at: dt.datetime | None = None) -> str | None:
    """What the embargo means for someone outside the ISS group, while it lasts; ``None`` otherwise."""
    if embargo_status(info, at) != "active" or info.embargo_ends_at is None:
        return None
    name, end = info.name, format_moment(info.embargo_ends_at)
    return (
        f"{name}: publication embargo until {end}. The {name} ISS group may publish a marker paper first: "
        f"others may download and analyse these data but should not publish on {name} before {end} "
        "(TCGA publication guidelines)."
    )


def embargo_fields(info: EmbargoFacts, at: dt.datetime | None = None) -> dict[str, str | None]:
    """The embargo as JSON fields every listing carries: status, end (ISO 8601) and notice."""
    ends = info.embargo_ends_at
    return {
        "embargo_status": embargo_status(info, at),
        "embargo_ends_at": None if ends is None else as_utc(ends).isoformat(),
        "embargo_notice": embargo_notice(info, at),
    }


def embargo_notices(infos: Iterable[EmbargoFacts], at: dt.datetime | None = None) -> dict[str, str]:
    """Collection name → notice, for the collections among ``infos`` under an embargo at ``at``."""
    found: dict[str, str] = {}
    for info in infos:
        notice = embargo_notice(info, at)
        if notice is not None:
            found[info.name] = notice
    return found
