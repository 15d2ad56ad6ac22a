"""The visibility rule, in one place: which collections a :class:`Principal` may see.

* **public** — everyone;
* **restricted** — the collection's ISS group (users of a site that contributed its
  patients, or a site named a member) and users with a grant; with
  ``restricted_until_embargo_end`` it becomes visible to everyone the moment its
  publication embargo ends;
* **limited** — users with a grant only (e.g. after a data-use agreement);
* anything else — nobody but administrators (an unknown level fails closed).

:func:`visible_collections` is a SQL condition over the ``collection`` table that
:mod:`ria.catalog.search` ANDs into every query it compiles, so listings, counts,
value lists, downloads and error messages can only ever see what it admits.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select, true

from ria.access.principal import Principal
from ria.catalog.schema import collection, iss_member, patient, site

__all__ = ["ACCESS_LEVELS", "visible_collections"]

ACCESS_LEVELS = ("public", "restricted", "limited")


def visible_collections(principal: Principal) -> ColumnElement[bool]:
    """A condition true for exactly the ``collection`` rows ``principal`` may see, at ``principal.now()``."""
    if principal.is_admin:
        return true()
    now = principal.now()
    restricted = collection.c.access_level == "restricted"
    allowed: list[ColumnElement[bool]] = [
        collection.c.access_level == "public",
        and_(
            restricted,
            collection.c.restricted_until_embargo_end.is_(True),
            collection.c.embargo_ends_at.is_not(None),
            collection.c.embargo_ends_at <= now,
        ),
    ]
    if principal.grants:
        allowed.append(
            and_(
                collection.c.access_level.in_(("restricted", "limited")),
                collection.c.name.in_(sorted(principal.grants)),
            )
        )
    if principal.sites:
        codes = sorted(principal.sites)
        contributed = select(patient.c.collection_id).where(patient.c.site_code.in_(codes))
        named = (
            select(iss_member.c.collection_pk)
            .join(site, site.c.id == iss_member.c.site_pk)
            .where(site.c.code.in_(codes))
        )
        allowed.append(and_(restricted, or_(collection.c.id.in_(contributed), collection.c.id.in_(named))))
    return or_(*allowed)
