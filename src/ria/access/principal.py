"""Who is asking: the :class:`Principal` every catalogue query is compiled for.

A principal is resolved once per request (HTTP: the bearer token; DIMSE: the
calling AE; CLI: the operator who owns the data folder) and passed down to the
one query compiler (:mod:`ria.catalog.search`), which applies the visibility rule
(:mod:`ria.catalog.visibility`). Nothing else decides what a caller may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["ANONYMOUS", "OPERATOR", "Principal"]


@dataclass(frozen=True)
class Principal:
    """A caller and what lets them see beyond public collections.

    ``sites`` are the Imaging Source Site codes the user belongs to (their ISS groups'
    restricted collections become visible); ``grants`` are collection names with an
    unrevoked grant (restricted or limited). ``at`` fixes the moment the rule is
    evaluated at (embargo ends are compared with it); ``None`` means "now", read when
    a query is compiled, so an embargo lifts by itself without anyone acting.
    """

    name: str | None = None
    is_admin: bool = False
    sites: frozenset[str] = field(default_factory=frozenset)
    grants: frozenset[str] = field(default_factory=frozenset)
    at: dt.datetime | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.name is None

    def now(self) -> dt.datetime:
        """The evaluation time: :attr:`at`, or the current UTC time."""
        return self.at if self.at is not None else dt.datetime.now(dt.UTC)

    def at_time(self, moment: dt.datetime) -> Principal:
        """This principal evaluated at ``moment`` (time travel for tests and previews)."""
        return Principal(self.name, self.is_admin, self.sites, self.grants, moment)


ANONYMOUS = Principal()
"""Anyone without credentials: public collections only."""

OPERATOR = Principal(name="operator", is_admin=True)
"""Whoever runs the CLI on the data folder: they hold the files, so they see everything."""
