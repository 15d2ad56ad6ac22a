"""Kaplan-Meier survival of a cohort's patients, split by a genomic, label or clinical field.

Estimation and the log-rank test are lifelines'; drawing uses matplotlib's
object API (a ``Figure`` per call, never pyplot's global state), so concurrent
requests in the server cannot draw into each other's plots. The numbers at risk
under the plot are computed here from the same data the curves are.

Time is the merged clinical ``survival_days`` (days to death for the dead, to
last follow-up for the living) and the event is ``vital_status == "Dead"``.
Patients without both, or with a negative time (real TCGA tables have follow-ups recorded
a few days *before* diagnosis), are left out and counted in :attr:`SurvivalResult.excluded`.
"""

from __future__ import annotations

import bisect
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ria.cohort.model import GeneCondition
from ria.cohort.results import Cohort, PatientSummary
from ria.cohort.vocabulary import check_gene, check_label
from ria.errors import ConfigurationError, InvalidParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SurvivalGroup", "SurvivalResult", "describe_split", "kaplan_meier", "parse_split"]

_YEAR = 365.25
_SPLIT_HELP = (
    "split by mutated:GENE, label:NAME or clinical:FIELD (sex, stage, vital_status, race, ethnicity, "
    "primary_diagnosis, project)"
)
_CLINICAL_SPLITS = ("sex", "stage", "race", "ethnicity", "primary_diagnosis", "project")


@dataclass(frozen=True)
class SurvivalGroup:
    name: str
    patients: int
    events: int
    median_days: float | None
    """Median survival in days; ``None`` while the curve has not fallen to 0.5."""
    timeline: tuple[float, ...]
    survival: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]
    censored_days: tuple[float, ...] = ()
    """Times of the patients censored (alive at last contact), one entry per patient, ascending."""

    def survival_at(self, days: float) -> float:
        """The step curve's value at ``days`` (1.0 before the first time on the curve)."""
        index = bisect.bisect_right(self.timeline, days) - 1
        return self.survival[index] if index >= 0 else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "patients": self.patients,
            "events": self.events,
            "median_days": self.median_days,
            "censored_days": list(self.censored_days),
            "curve": [
                {"days": t, "survival": s, "ci_lower": lo, "ci_upper": hi}
                for t, s, lo, hi in zip(
                    self.timeline, self.survival, self.ci_lower, self.ci_upper, strict=True
                )
            ],
        }


@dataclass(frozen=True)
class SurvivalResult:
    split_by: str
    groups: tuple[SurvivalGroup, ...]
    at_risk_days: tuple[float, ...]
    at_risk: dict[str, tuple[int, ...]]
    """Patients still at risk (no event, not censored before) at each of :attr:`at_risk_days`."""
    logrank_p: float | None
    """The log-rank test's p-value across groups; ``None`` with fewer than two groups."""
    excluded: int
    """Cohort patients left out: no survival time or vital status, or no value to split on."""

    def to_json(self) -> dict[str, Any]:
        return {
            "split_by": self.split_by,
            "groups": [g.to_json() for g in self.groups],
            "at_risk": {"days": list(self.at_risk_days), **{k: list(v) for k, v in self.at_risk.items()}},
            "logrank_p": self.logrank_p,
            "excluded": self.excluded,
        }

    def render(self, fmt: Literal["png", "svg"] = "png", *, title: str | None = None) -> bytes:
        """The figure of :meth:`figure` as PNG or SVG bytes."""
        from matplotlib import rc_context

        figure = self.figure(title=title)
        buffer = io.BytesIO()
        # SVG text stays text (searchable, accessible), not glyph outlines.
        with rc_context({"svg.fonttype": "none"}):
            figure.savefig(buffer, format=fmt, metadata={"Software": "Ria"} if fmt == "png" else None)
        return buffer.getvalue()

    def figure(self, *, title: str | None = None) -> Figure:
        """The curves with confidence bands and censoring ticks (``|``, as lifelines' ``show_censors``
        draws them), numbers at risk underneath and the log-rank p-value; the default title says the
        split in words ("by TP53 mutation"), not in the CLI's syntax."""
        from matplotlib.figure import Figure

        rows = len(self.groups)
        figure = Figure(figsize=(8, 5 + 0.28 * rows), dpi=100)
        top = 1 - 0.55 / figure.get_figheight()
        bottom = (0.9 + 0.28 * rows) / figure.get_figheight()
        ax = figure.add_axes((0.2, bottom, 0.76, top - bottom))
        colours = [f"C{i}" for i in range(len(self.groups))]
        for group, colour in zip(self.groups, colours, strict=True):
            years = [t / _YEAR for t in group.timeline]
            ax.step(
                years, group.survival, where="post", color=colour, label=f"{group.name} (n={group.patients})"
            )
            ax.fill_between(years, group.ci_lower, group.ci_upper, step="post", color=colour, alpha=0.15)
            censored = [t / _YEAR for t in group.censored_days]
            marks = ax.plot(
                censored,
                [group.survival_at(t) for t in group.censored_days],
                linestyle="none",
                marker="|",
                markersize=7,
                color=colour,
            )
            marks[0].set_gid(f"censored:{group.name}")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_ylabel("Survival probability")
        ax.set_xlabel("Years")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
        if self.logrank_p is not None:
            ax.text(0.02, 0.04, f"log-rank p = {self.logrank_p:.3g}", transform=ax.transAxes, fontsize=9)
        ax.set_title(title or f"Kaplan-Meier survival {describe_split(self.split_by)}", fontsize=11)
        ticks = [t / _YEAR for t in self.at_risk_days]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        figure.text(0.02, bottom - 0.55 / figure.get_figheight(), "At risk", fontsize=8, weight="bold")
        span = ax.get_xlim()
        for row, (group, colour) in enumerate(zip(self.groups, colours, strict=True)):
            y = bottom - (0.8 + 0.26 * row) / figure.get_figheight()
            figure.text(0.02, y, group.name[:24], fontsize=8, color=colour)
            for tick, count in zip(ticks, self.at_risk[group.name], strict=True):
                x = 0.2 + 0.76 * (tick - span[0]) / (span[1] - span[0])
                if 0 <= x <= 1:
                    figure.text(x, y, str(count), fontsize=8, ha="center")
        return figure


def parse_split(split_by: str) -> tuple[str, str]:
    """``"mutated:KRAS"`` → ``("mutated", "KRAS")``; errors name the accepted forms."""
    kind, _, name = split_by.partition(":")
    kind, name = kind.strip().lower(), name.strip()
    if kind not in ("mutated", "label", "clinical") or not name:
        raise InvalidParameterError("split_by", f"{split_by!r}: {_SPLIT_HELP}")
    if kind == "clinical" and name not in _CLINICAL_SPLITS:
        raise InvalidParameterError("split_by", f"cannot split on clinical field {name!r}: {_SPLIT_HELP}")
    if kind == "mutated":
        GeneCondition(name)
    return kind, name


_CLINICAL_WORDS = {"project": "TCGA project", "primary_diagnosis": "primary diagnosis"}


def describe_split(split_by: str) -> str:
    """``"mutated:TP53"`` → ``"by TP53 mutation"``, ``"clinical:project"`` → ``"by TCGA project"``:
    a plot's title is read by people who never typed the CLI's syntax."""
    kind, name = parse_split(split_by)
    if kind == "mutated":
        return f"by {GeneCondition(name).gene} mutation"
    if kind == "clinical":
        return f"by {_CLINICAL_WORDS.get(name, name.replace('_', ' '))}"
    return f"by {name.replace('_', ' ')}"


def _major_stage(stage: object) -> str | None:
    if stage is None:
        return None
    text = str(stage).upper().removeprefix("STAGE").strip()
    for major in ("IV", "III", "II", "I", "0"):
        if text.startswith(major):
            return f"Stage {major}"
    return None


def _groups_of(cohort: Cohort, kind: str, name: str, patients: Sequence[PatientSummary]) -> dict[str, str]:
    """Each patient's group name (patients with no value to split on are absent)."""
    ids = [p.patient_id for p in patients]
    if kind == "mutated":
        gene = GeneCondition(name)
        check_gene(cohort.archive, cohort.principal, gene.gene, "split_by")
        carriers = cohort.carriers(ids, gene)
        sequenced = cohort.profiled(ids, gene.gene)
        return {
            pid: (f"{gene.gene} mutated" if pid in carriers else f"{gene.gene} wild type")
            for pid in ids
            if pid in sequenced
        }
    if kind == "clinical":
        values = {p.patient_id: p.clinical.get(name) for p in patients}
        if name == "stage":
            values = {pid: _major_stage(v) for pid, v in values.items()}
        return {pid: str(v) for pid, v in values.items() if v is not None}
    from ria.cohort.compiler import label_types

    label_name = check_label(cohort.archive, cohort.principal, name, "split_by")
    kind_of = label_types(cohort.archive.engine)[label_name]
    values = cohort.label_values(ids, [label_name])[label_name]
    if kind_of != "number":
        return {pid: str(v) for pid, v in values.items() if v is not None}
    numbers = sorted(float(v) for v in values.values() if v is not None)
    if not numbers:
        return {}
    median = statistics.median(numbers)
    return {
        pid: (f"{label_name} ≤ {median:g}" if float(v) <= median else f"{label_name} > {median:g}")
        for pid, v in values.items()
        if v is not None
    }


def kaplan_meier(cohort: Cohort, split_by: str, *, min_group: int = 1) -> SurvivalResult:
    """Kaplan-Meier estimates for the cohort's patients in each group of ``split_by``.

    Groups smaller than ``min_group`` patients are dropped (and counted as excluded).
    """
    try:
        from lifelines import KaplanMeierFitter
        from lifelines.statistics import multivariate_logrank_test
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError("survival curves need lifelines: pip install 'ria[genomics]'") from exc
    kind, name = parse_split(split_by)
    patients = cohort.patients()
    groups = _groups_of(cohort, kind, name, patients)
    data: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for p in patients:
        days, status = p.clinical.get("survival_days"), p.clinical.get("vital_status")
        group = groups.get(p.patient_id)
        if days is None or status not in ("Dead", "Alive") or group is None or float(days) < 0:
            continue
        data[group].append((float(days), status == "Dead"))
    kept = {g: rows for g, rows in sorted(data.items()) if len(rows) >= min_group}
    excluded = len(patients) - sum(len(rows) for rows in kept.values())
    if not kept:
        raise InvalidParameterError(
            "split_by",
            f"no patient of this cohort has survival data and a value for {split_by!r} "
            "(import clinical data with ria genomics import)",
        )
    fitted: list[SurvivalGroup] = []
    horizon = max(t for rows in kept.values() for t, _ in rows)
    step = _YEAR * max(1, math.ceil(horizon / _YEAR / 8))
    at_risk_days = tuple(step * i for i in range(int(horizon // step) + 1))
    at_risk: dict[str, tuple[int, ...]] = {}
    for group, rows in kept.items():
        fitter = KaplanMeierFitter()
        fitter.fit([t for t, _ in rows], [e for _, e in rows], label=group)
        curve = fitter.survival_function_[group]
        bands = fitter.confidence_interval_survival_function_
        median = float(fitter.median_survival_time_)
        fitted.append(
            SurvivalGroup(
                name=group,
                patients=len(rows),
                events=sum(1 for _, e in rows if e),
                median_days=None if math.isinf(median) or math.isnan(median) else median,
                timeline=tuple(float(t) for t in curve.index),
                survival=tuple(float(s) for s in curve.to_numpy()),
                ci_lower=tuple(float(v) for v in bands.iloc[:, 0].to_numpy()),
                ci_upper=tuple(float(v) for v in bands.iloc[:, 1].to_numpy()),
                censored_days=tuple(sorted(t for t, e in rows if not e)),
            )
        )
        at_risk[group] = tuple(sum(1 for t, _ in rows if t >= day) for day in at_risk_days)
    p_value: float | None = None
    if len(kept) > 1:
        times = [t for rows in kept.values() for t, _ in rows]
        events = [e for rows in kept.values() for _, e in rows]
        labels = [g for g, rows in kept.items() for _ in rows]
        p_value = float(multivariate_logrank_test(times, labels, events).p_value)
    return SurvivalResult(
        split_by=split_by,
        groups=tuple(fitted),
        at_risk_days=at_risk_days,
        at_risk=at_risk,
        logrank_p=p_value,
        excluded=excluded,
    )
