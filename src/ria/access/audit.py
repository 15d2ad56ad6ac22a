"""The audit trail of identity changes: who did what to whom, when and why.

Rows are written in the same transaction as the change they describe, so the trail can
never claim a change that was rolled back, nor miss one that was committed. They hold
names, actions and reasons only — never a password, a token or a patient name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, select

from ria.catalog.governance import record_audit
from ria.catalog.schema import audit_event

__all__ = ["AuditEvent", "audit_events", "record_event"]

AuditEvent = dict[str, object]


def record_event(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    reason: str | None = None,
    details: Mapping[str, object] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one event; ``conn`` is the transaction making the change.

    One writer for the one trail: governance changes and identity changes both land through
    :func:`ria.catalog.governance.record_audit`, so their rows cannot drift apart in shape.
    """
    record_audit(
        conn,
        actor=actor,
        action=action,
        target=target,
        reason=reason,
        details=dict(details) if details else None,
        at=at or dt.datetime.now(dt.UTC),
    )


def audit_events(engine: Engine, *, target_prefix: str | None = None) -> list[AuditEvent]:
    """Events oldest first (optionally only targets starting with ``target_prefix``)."""
    query = select(audit_event).order_by(audit_event.c.id)
    if target_prefix is not None:
        query = query.where(audit_event.c.target.startswith(target_prefix, autoescape=True))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {**row, "details": json.loads(row["details"]) if row["details"] else None}
        for row in (dict(r) for r in rows)
    ]
