"""Shared carts: a named, saved list of series anyone holding the name can list and download.

TCIA's search portal shares a cart as a name (``nbia-49121659384603347``) that
``getContentsByName`` expands to series rows; Ria creates them through its own
API (``POST /api/v1/carts``) or from Python, and serves them on the TCIA route.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Select, insert, select
from sqlalchemy.exc import IntegrityError

from ria.access.principal import Principal
from ria.catalog.schema import collection, patient, series, shared_cart, shared_cart_series, study
from ria.catalog.visibility import visible_collections
from ria.dicom.uids import is_valid_uid
from ria.errors import ConflictError, InvalidParameterError, NotFoundError

__all__ = ["MAX_CART_SERIES", "cart_series", "create_cart"]

MAX_CART_SERIES = 100_000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidParameterError(
            "name", "a cart name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


def _visible_series(principal: Principal) -> Select[Any]:
    """SeriesInstanceUIDs of series in collections ``principal`` may see."""
    return (
        select(series.c.series_instance_uid)
        .join(study, study.c.id == series.c.study_pk)
        .join(patient, patient.c.id == study.c.patient_pk)
        .join(collection, collection.c.id == patient.c.collection_id)
        .where(visible_collections(principal))
    )


def create_cart(
    engine: Engine,
    series_uids: Sequence[str],
    name: str | None = None,
    description: str | None = None,
    *,
    principal: Principal,
) -> str:
    """Save ``series_uids`` (which must all exist, visible to ``principal``) as a cart and return its name.

    Without a name, one is drawn at random (``ria-`` and 17 digits, the shape of
    TCIA's); an explicit name that is taken is a conflict, never an overwrite.
    """
    uids = list(dict.fromkeys(series_uids))
    if not uids:
        raise InvalidParameterError("series", "a cart needs at least one SeriesInstanceUID")
    if len(uids) > MAX_CART_SERIES:
        raise InvalidParameterError("series", f"a cart holds at most {MAX_CART_SERIES} series")
    for uid in uids:
        if not is_valid_uid(uid):
            raise InvalidParameterError("series", f"{uid[:80]!r} is not a valid SeriesInstanceUID")
    if name is not None:
        _check_name(name)
    with engine.begin() as conn:
        known: set[str] = set()
        for start in range(0, len(uids), 500):
            chunk = uids[start : start + 500]
            query = _visible_series(principal).where(series.c.series_instance_uid.in_(chunk))
            known.update(conn.execute(query).scalars())
        missing = [uid for uid in uids if uid not in known]
        if missing:
            raise NotFoundError(
                f"{len(missing)} series not in the archive, e.g. {missing[0]}", missing=missing[:10]
            )
        chosen = name or f"ria-{secrets.randbelow(10**17):017d}"
        try:
            pk = conn.execute(
                insert(shared_cart)
                .values(name=chosen, description=description, created_at=dt.datetime.now(dt.UTC))
                .returning(shared_cart.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise ConflictError(f"a cart named {chosen!r} already exists") from exc
        rows = [{"cart_pk": pk, "series_instance_uid": uid} for uid in uids]
        conn.execute(insert(shared_cart_series), rows)
    return chosen


def cart_series(engine: Engine, name: str, *, principal: Principal) -> list[str]:
    """The SeriesInstanceUIDs saved in cart ``name`` that ``principal`` may see, sorted.

    A cart is shared by name with anyone; what it shows each of them is still decided by
    the visibility rule, so a cart cannot carry restricted series to the public.
    """
    _check_name(name)
    with engine.connect() as conn:
        pk = conn.execute(select(shared_cart.c.id).where(shared_cart.c.name == name)).scalar()
        if pk is None:
            raise NotFoundError(f"no shared cart named {name!r}")
        query = (
            select(shared_cart_series.c.series_instance_uid)
            .where(
                shared_cart_series.c.cart_pk == pk,
                shared_cart_series.c.series_instance_uid.in_(_visible_series(principal)),
            )
            .order_by(shared_cart_series.c.series_instance_uid)
        )
        return list(conn.execute(query).scalars())
