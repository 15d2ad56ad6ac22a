"""Collection governance in the catalogue: settings, ISS sites, the audit trail, and what a selection cites.

Every change of a collection's settings goes through :func:`change_collection`, which writes the
new values, any ISS member sites, a recomputed embargo when its inputs changed, and one
``audit_event`` row (who, when, why, and each field's old → new value) in one transaction:
a setting can never change without its audit row, nor be audited without changing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from ria.access.principal import Principal
from ria.catalog.accrual import as_utc, refresh_embargo
from ria.catalog.schema import (
    audit_event,
    collection,
    iss_member,
    patient,
    series,
    shared_cart,
    shared_cart_series,
    site,
    study,
)
from ria.catalog.visibility import visible_collections

__all__ = [
    "EMBARGO_INPUTS",
    "SETTINGS",
    "AuditEvent",
    "Governance",
    "SelectedCollection",
    "audit_events",
    "change_collection",
    "collection_names",
    "collections_of_series",
    "read_governance",
    "record_audit",
]

# Settings whose change re-derives the embargo dates.
EMBARGO_INPUTS = frozenset(
    {"embargo_threshold", "embargo_window_days", "hundredth_case_at", "embargo_set_by_curator"}
)
_UID_BATCH = 500


@dataclass(frozen=True)
class Governance:
    """A collection's governance record: description, licence, access, embargo and ISS sites."""

    name: str
    description: str | None
    doi: str | None
    license_name: str | None
    license_uri: str | None
    cancer_type: str | None
    access_level: str
    restricted_until_embargo_end: bool
    embargo_threshold: int
    embargo_window_days: int
    hundredth_case_at: dt.datetime | None
    embargo_ends_at: dt.datetime | None
    embargo_set_by_curator: bool
    member_sites: tuple[str, ...] = ()
    """Sites named ISS members by a curator."""
    contributing_sites: tuple[str, ...] = ()
    """Sites whose patients the collection holds (from the PatientIDs' TCGA barcodes)."""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            body[f.name] = value
        return body


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    reason: str | None
    details: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "reason": self.reason,
            "details": self.details,
        }


_SETTINGS = (
    collection.c.name,
    collection.c.description,
    collection.c.doi,
    collection.c.license_name,
    collection.c.license_uri,
    collection.c.cancer_type,
    collection.c.access_level,
    collection.c.restricted_until_embargo_end,
    collection.c.embargo_threshold,
    collection.c.embargo_window_days,
    collection.c.hundredth_case_at,
    collection.c.embargo_ends_at,
    collection.c.embargo_set_by_curator,
)
SETTINGS = tuple(c.name for c in _SETTINGS[1:])
"""The collection columns :func:`change_collection` may set."""


def _read(conn: Connection, name: str) -> Governance | None:
    row = conn.execute(select(*_SETTINGS, collection.c.id).where(collection.c.name == name)).first()
    if row is None:
        return None
    pk = row.id
    members = conn.execute(
        select(site.c.code)
        .join(iss_member, iss_member.c.site_pk == site.c.id)
        .where(iss_member.c.collection_pk == pk)
        .order_by(site.c.code)
    ).scalars()
    contributing = conn.execute(
        select(patient.c.site_code)
        .where(patient.c.collection_id == pk, patient.c.site_code.is_not(None))
        .distinct()
        .order_by(patient.c.site_code)
    ).scalars()
    values = dict(row._mapping)
    values.pop("id")
    values["hundredth_case_at"] = as_utc(values["hundredth_case_at"])
    values["embargo_ends_at"] = as_utc(values["embargo_ends_at"])
    values["restricted_until_embargo_end"] = bool(values["restricted_until_embargo_end"])
    values["embargo_set_by_curator"] = bool(values["embargo_set_by_curator"])
    return Governance(**values, member_sites=tuple(members), contributing_sites=tuple(contributing))


def read_governance(engine: Engine, name: str) -> Governance | None:
    """One collection's governance record, or ``None`` if there is no such collection."""
    with engine.connect() as conn:
        return _read(conn, name)


def collection_names(engine: Engine, principal: Principal | None = None) -> list[str]:
    """Every collection's name (including empty ones), or only those ``principal`` may see; sorted."""
    query = select(collection.c.name).order_by(collection.c.name)
    if principal is not None:
        query = query.where(visible_collections(principal))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def record_audit(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    reason: str | None,
    details: Mapping[str, Any] | None,
    at: dt.datetime,
) -> None:
    """Append one audit row (part of the caller's transaction, so it commits with the change)."""
    conn.execute(
        insert(audit_event).values(
            at=at,
            actor=actor[:64],
            action=action[:64],
            target=target[:256],
            reason=reason,
            details=None if details is None else json.dumps(details, sort_keys=True, default=str),
        )
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _ensure_site(conn: Connection, code: str, now: dt.datetime) -> int:
    pk = conn.execute(select(site.c.id).where(site.c.code == code)).scalar()
    if pk is None:
        pk = conn.execute(insert(site).values(code=code, created_at=now).returning(site.c.id)).scalar_one()
    return int(pk)


def change_collection(
    engine: Engine,
    name: str,
    values: Mapping[str, Any],
    *,
    add_sites: Sequence[str] = (),
    actor: str,
    action: str,
    reason: str | None,
    at: dt.datetime,
) -> Governance:
    """Set ``values`` (columns of :data:`SETTINGS`) and ISS member ``add_sites`` on collection ``name``
    (created if needed), recompute the embargo if its inputs changed, and audit what changed; one
    transaction. Returns the record afterwards. Setting values equal to the current ones records nothing.
    """
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise ValueError(f"not collection settings: {', '.join(unknown)}")
    with engine.begin() as conn:
        pk = conn.execute(select(collection.c.id).where(collection.c.name == name)).scalar()
        if pk is None:
            pk = conn.execute(
                insert(collection).values(name=name, created_at=at).returning(collection.c.id)
            ).scalar_one()
        # Locked so that concurrent changes (and an ingest reaching the threshold) apply one after the other.
        conn.execute(select(collection.c.id).where(collection.c.id == pk).with_for_update()).one()
        before = _read(conn, name)
        assert before is not None
        changed = {key: value for key, value in values.items() if getattr(before, key) != value}
        if changed:
            conn.execute(update(collection).where(collection.c.id == pk).values(**changed))
        if EMBARGO_INPUTS & set(changed):
            refresh_embargo(conn, int(pk), recompute=True)
        added: list[str] = []
        for code in dict.fromkeys(add_sites):
            if code in before.member_sites:
                continue
            conn.execute(insert(iss_member).values(site_pk=_ensure_site(conn, code, at), collection_pk=pk))
            added.append(code)
        after = _read(conn, name)
        assert after is not None
        details: dict[str, Any] = {
            key: {"old": _jsonable(getattr(before, key)), "new": _jsonable(getattr(after, key))}
            for key in SETTINGS
            if getattr(before, key) != getattr(after, key)
        }
        if added:
            details["member_sites"] = {"old": list(before.member_sites), "new": list(after.member_sites)}
        if details:
            record_audit(conn, actor=actor, action=action, target=name, reason=reason, details=details, at=at)
    return after


def audit_events(engine: Engine, *, target: str | None = None, limit: int = 1000) -> list[AuditEvent]:
    """The newest audit events first (optionally of one target)."""
    query = select(audit_event).order_by(audit_event.c.at.desc(), audit_event.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(audit_event.c.target == target)
    with engine.connect() as conn:
        return [
            AuditEvent(
                id=row.id,
                at=as_utc(row.at) or row.at,
                actor=row.actor,
                action=row.action,
                target=row.target,
                reason=row.reason,
                details=None if row.details is None else json.loads(row.details),
            )
            for row in conn.execute(query)
        ]


@dataclass(frozen=True, slots=True)
class SelectedCollection:
    """A collection a selection draws on, with how much of it."""

    name: str
    series: int
    patients: int
    remote_series: int = 0
    """Of :attr:`series`, those held elsewhere (IDC's index): cited with IDC as well."""
    slide_series: int = 0
    """Of :attr:`remote_series`, slide microscopy (SM): not the collection's radiology data."""


def _selection_query(principal: Principal) -> Any:
    return (
        select(
            collection.c.name,
            series.c.series_instance_uid,
            patient.c.id,
            series.c.is_remote,
            series.c.modality,
        )
        .select_from(collection)
        .join(patient, patient.c.collection_id == collection.c.id)
        .join(study, study.c.patient_pk == patient.c.id)
        .join(series, series.c.study_pk == study.c.id)
        .where(visible_collections(principal))
    )


def collections_of_series(
    engine: Engine,
    principal: Principal,
    *,
    series_uids: Sequence[str] = (),
    collections: Sequence[str] = (),
    cart: str | None = None,
) -> list[SelectedCollection]:
    """The collections ``principal`` may see that a selection draws on, with its series and patients in each.

    A selection is the union of series UIDs, whole collections and a shared cart's series; what
    the principal may not see is left out as if it did not exist (a citation names no collection
    its reader could not list).
    """
    series_of: dict[str, set[str]] = {}
    patients_of: dict[str, set[int]] = {}
    remote_of: dict[str, set[str]] = {}
    slides_of: dict[str, set[str]] = {}
    base = _selection_query(principal)

    def add(rows: Any) -> None:
        for name, uid, patient_pk, is_remote, modality in rows:
            series_of.setdefault(name, set()).add(uid)
            patients_of.setdefault(name, set()).add(patient_pk)
            if is_remote:
                remote_of.setdefault(name, set()).add(uid)
                if modality == "SM":
                    slides_of.setdefault(name, set()).add(uid)

    uids = list(dict.fromkeys(series_uids))
    with engine.connect() as conn:
        for start in range(0, len(uids), _UID_BATCH):
            add(conn.execute(base.where(series.c.series_instance_uid.in_(uids[start : start + _UID_BATCH]))))
        if collections:
            add(conn.execute(base.where(collection.c.name.in_(sorted(set(collections))))))
        if cart is not None:
            in_cart = (
                select(shared_cart_series.c.series_instance_uid)
                .join(shared_cart, shared_cart.c.id == shared_cart_series.c.cart_pk)
                .where(shared_cart.c.name == cart)
            )
            add(conn.execute(base.where(series.c.series_instance_uid.in_(in_cart))))
        if collections:
            # A collection named outright is cited even before it holds series (a paper cites
            # the collection it used), as long as the reader may see it.
            named = select(collection.c.name).where(
                collection.c.name.in_(sorted(set(collections))), visible_collections(principal)
            )
            for name in conn.execute(named).scalars():
                series_of.setdefault(name, set())
                patients_of.setdefault(name, set())
    return [
        SelectedCollection(
            name,
            len(series_of[name]),
            len(patients_of[name]),
            len(remote_of.get(name, ())),
            len(slides_of.get(name, ())),
        )
        for name in sorted(series_of)
    ]
