"""The accrual report: cases per collection, by site and over time, days to the threshold, embargo status.

Curators watch a collection approach its 100th case because that day starts its ISS group's
publication window; the report shows where each collection stands (JSON for scripts, a table
for the CLI, a PNG chart for people). Cases are counted by :mod:`ria.catalog.accrual` (distinct
patients with a local series, dated by their first local ingest); the embargo dates are the
ones stored on the collection, which are what access and notices use, so the report can never
show an embargo other than the one in force.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ria.access.embargo import EmbargoStatus, embargo_notice, embargo_status
from ria.catalog.accrual import AccruedCase, accrued_cases, as_utc
from ria.catalog.governance import Governance, collection_names, read_governance
from ria.errors import ConfigurationError, NotFoundError

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = ["AccrualReport", "CollectionAccrual", "accrual_report"]

Period = Literal["day", "month"]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
UNKNOWN_SITE = "unknown"
"""The site key for patients whose PatientID is not a TCGA barcode."""


@dataclass(frozen=True)
class CollectionAccrual:
    """One collection's accrual and embargo, evaluated at the report's moment."""

    name: str
    access_level: str
    cases: int
    by_site: dict[str, int]
    cumulative: tuple[tuple[str, int, int], ...]
    """(period, new cases, cumulative cases) per day (``2025-05-01``) or month (``2025-05``) with arrivals."""
    first_case_at: dt.datetime | None
    threshold: int
    window_days: int
    threshold_reached_at: dt.datetime | None
    """When the accrual reached the threshold (the computed date, whatever a curator set)."""
    days_to_threshold: int | None
    hundredth_case_at: dt.datetime | None
    embargo_ends_at: dt.datetime | None
    embargo_set_by_curator: bool
    status: EmbargoStatus
    notice: str | None
    arrivals: tuple[dt.datetime, ...] = ()
    """Each case's arrival, in order (for the chart)."""

    def to_json(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "collection": self.name,
            "access_level": self.access_level,
            "cases": self.cases,
            "by_site": dict(sorted(self.by_site.items())),
            "over_time": [{"period": p, "new": n, "cases": c} for p, n, c in self.cumulative],
            "first_case_at": iso(self.first_case_at),
            "embargo_threshold": self.threshold,
            "embargo_window_days": self.window_days,
            "threshold_reached_at": iso(self.threshold_reached_at),
            "days_to_threshold": self.days_to_threshold,
            "hundredth_case_at": iso(self.hundredth_case_at),
            "embargo_ends_at": iso(self.embargo_ends_at),
            "embargo_set_by_curator": self.embargo_set_by_curator,
            "embargo_status": self.status,
            "embargo_notice": self.notice,
        }


@dataclass(frozen=True)
class AccrualReport:
    at: dt.datetime
    period: Period
    collections: tuple[CollectionAccrual, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "period": self.period,
            "collections": [c.to_json() for c in self.collections],
        }

    def table(self) -> list[tuple[str, ...]]:
        """Rows for the CLI table: collection, access, cases, sites, days to threshold, embargo."""
        rows: list[tuple[str, ...]] = []
        for c in self.collections:
            sites = ", ".join(
                f"{site} {n}" for site, n in sorted(c.by_site.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            ends = c.embargo_ends_at.date().isoformat() if c.embargo_ends_at else "-"
            rows.append(
                (
                    c.name,
                    c.access_level,
                    f"{c.cases}/{c.threshold}",
                    sites or "-",
                    "-" if c.days_to_threshold is None else str(c.days_to_threshold),
                    c.hundredth_case_at.date().isoformat() if c.hundredth_case_at else "-",
                    ends,
                    c.status,
                )
            )
        return rows

    def render_png(self, *, title: str | None = None) -> bytes:
        """Cumulative cases over time per collection, each threshold as a dashed line and each
        embargo window shaded (matplotlib's object API: no global pyplot state in a server)."""
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError("accrual charts need matplotlib: pip install 'ria[genomics]'") from exc
        figure = Figure(figsize=(9, 5), dpi=100)
        ax = figure.add_subplot()
        drawn = False
        for index, c in enumerate(self.collections):
            colour = f"C{index % 10}"
            if c.arrivals:
                times = [_day_number(t) for t in (c.arrivals[0], *c.arrivals, max(self.at, c.arrivals[-1]))]
                counts = [0, *range(1, len(c.arrivals) + 1), len(c.arrivals)]
                ax.step(times, counts, where="post", color=colour, label=f"{c.name} ({c.cases} cases)")
                drawn = True
            ax.axhline(c.threshold, color=colour, linestyle="--", linewidth=0.8, alpha=0.7)
            if c.hundredth_case_at is not None and c.embargo_ends_at is not None:
                ax.axvspan(
                    _day_number(c.hundredth_case_at),
                    _day_number(c.embargo_ends_at),
                    color=colour,
                    alpha=0.12,
                    label=f"{c.name} embargo until {c.embargo_ends_at.date().isoformat()}",
                )
                drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "no accrued cases", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.legend(loc="upper left", fontsize=8)
        ax.xaxis_date()
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Cases (patients with local images)")
        ax.set_xlabel("Date of first ingest")
        ax.grid(alpha=0.3)
        ax.set_title(title or "Accrual and publication embargo (dashed: embargo threshold)", fontsize=11)
        figure.autofmt_xdate()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": "Ria"})
        return buffer.getvalue()


def _day_number(moment: dt.datetime) -> float:
    """Matplotlib's date number (days since its default epoch, 1970-01-01 UTC)."""
    return (moment - _EPOCH).total_seconds() / 86400


def _period_key(moment: dt.datetime, period: Period) -> str:
    return moment.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def _collection(
    info: Governance, cases: list[AccruedCase], at: dt.datetime, period: Period
) -> CollectionAccrual:
    # Cases that arrived after ``at`` are not yet there: the report can be evaluated in the past.
    arrived = [case for case in cases if case.first_at <= at]
    new = Counter(_period_key(case.first_at, period) for case in arrived)
    total, cumulative = 0, []
    for key in sorted(new):
        total += new[key]
        cumulative.append((key, new[key], total))
    first = arrived[0].first_at if arrived else None
    reached = arrived[info.embargo_threshold - 1].first_at if len(arrived) >= info.embargo_threshold else None
    return CollectionAccrual(
        name=info.name,
        access_level=info.access_level,
        cases=len(arrived),
        by_site=dict(Counter(case.site_code or UNKNOWN_SITE for case in arrived)),
        cumulative=tuple(cumulative),
        first_case_at=first,
        threshold=info.embargo_threshold,
        window_days=info.embargo_window_days,
        threshold_reached_at=reached,
        days_to_threshold=None if reached is None or first is None else (reached - first).days,
        hundredth_case_at=info.hundredth_case_at,
        embargo_ends_at=info.embargo_ends_at,
        embargo_set_by_curator=info.embargo_set_by_curator,
        status=embargo_status(info, at),
        notice=embargo_notice(info, at),
        arrivals=tuple(case.first_at for case in arrived),
    )


def accrual_report(
    archive: Archive,
    collection: str | None = None,
    *,
    at: dt.datetime | None = None,
    period: Period = "day",
    names: list[str] | None = None,
) -> AccrualReport:
    """Accrual of one collection (``NotFoundError`` if absent) or of every collection (or of ``names``)."""
    moment = as_utc(at) or dt.datetime.now(dt.UTC)
    cases = accrued_cases(archive.engine, collection)
    by_collection: dict[str, list[AccruedCase]] = {}
    for case in cases:
        by_collection.setdefault(case.collection, []).append(case)
    if collection is not None:
        wanted = [collection]
    elif names is not None:
        wanted = sorted(set(names))
    else:
        wanted = collection_names(archive.engine)
    report: list[CollectionAccrual] = []
    for name in wanted:
        info = read_governance(archive.engine, name)
        if info is None:
            if collection is not None:
                raise NotFoundError(f"no collection named {name!r}", parameter="collection")
            continue
        report.append(_collection(info, by_collection.get(name, []), moment, period))
    return AccrualReport(moment, period, tuple(report))
