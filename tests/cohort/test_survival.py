"""Kaplan-Meier views on real BRCA/OV imaging patients with real survival, against lifelines run directly on
the source table (the independent path), and the rendered plots."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from PIL import Image

from ria.access import OPERATOR
from ria.cohort import Cohort, CohortQuery
from ria.cohort.survival import kaplan_meier
from ria.errors import InvalidParameterError
from tests.cohort.conftest import Radiogenomic
from tests.cohort.truth import Truth


def _expected(table: pd.DataFrame, group: str) -> tuple[list[tuple[str, int, int, float | None]], float]:
    """Group sizes, events, medians and the log-rank p by lifelines directly (negative times, which
    the real table has (-7 days), are left out as the survival view documents)."""
    fitted = []
    for name, rows in table.groupby(group):
        fitter = KaplanMeierFitter().fit(rows.days, rows.dead, label=str(name))
        median = float(fitter.median_survival_time_)
        fitted.append((str(name), len(rows), int(rows.dead.sum()), None if math.isinf(median) else median))
    p_value = multivariate_logrank_test(table.days, table[group], table.dead).p_value
    return fitted, float(p_value)


def test_survival_split_by_project_matches_lifelines_on_the_source(
    radiogenomic: Radiogenomic, truth: Truth
) -> None:
    imaged = truth.patients_of(["TCGA-OV"], "CT") | truth.patients_of(["TCGA-BRCA"], "MR")
    survival = truth.survival()
    table = survival[survival.participant.isin(imaged) & (survival.days >= 0)]
    expected, p_value = _expected(table, "project")
    query = CohortQuery(collection=("TCGA-OV", "TCGA-BRCA"), modality=("CT", "MR"))
    result = kaplan_meier(Cohort(radiogenomic.archive, query, OPERATOR), "clinical:project")
    got = [(g.name, g.patients, g.events, g.median_days) for g in result.groups]
    assert got == expected
    assert result.logrank_p == pytest.approx(p_value)
    cohort_patients = len(Cohort(radiogenomic.archive, query, OPERATOR).patients())
    assert result.excluded == cohort_patients - len(table)
    # numbers at risk: patients whose time is at least the tick, per group
    for group in result.groups:
        rows = table[table.project == group.name]
        assert result.at_risk[group.name] == tuple(int((rows.days >= t).sum()) for t in result.at_risk_days)


def test_survival_split_by_a_label(radiogenomic: Radiogenomic, truth: Truth, tcga_data: Path) -> None:
    subtypes = pd.read_csv(tcga_data / "tcga_subtypes.csv.gz").rename(columns={"samples": "participant"})
    imaged = truth.patients_of(["TCGA-BRCA"])
    table = truth.survival().merge(subtypes, on="participant")
    table = table[table.participant.isin(imaged) & (table.days >= 0)]
    expected, p_value = _expected(table, "subtype")
    result = kaplan_meier(
        Cohort(radiogenomic.archive, CohortQuery(collection=("TCGA-BRCA",)), OPERATOR), "label:subtype"
    )
    assert [(g.name, g.patients, g.events) for g in result.groups] == [(n, p, e) for n, p, e, _ in expected]
    assert result.logrank_p == pytest.approx(p_value)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_plots_render(radiogenomic: Radiogenomic, fmt: str) -> None:
    query = CohortQuery(collection=("TCGA-OV", "TCGA-BRCA"))
    result = kaplan_meier(Cohort(radiogenomic.archive, query, OPERATOR), "clinical:project")
    data = result.render(fmt)  # type: ignore[arg-type]
    if fmt == "png":
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and image.width >= 600
    else:
        text = data.decode()
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        # the at-risk table and the p-value are drawn as text
        assert "log-rank p" in text or "log-rank" in text.replace("&#45;", "-")


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ("mutated", "split by"),
        ("clinical:days_to_death", "cannot split"),
        ("label:nope", "unknown label 'nope'"),
        ("mutated:KRAZ", "unknown gene 'KRAZ'; did you mean KRAS"),
    ],
)
def test_bad_splits_are_clear(radiogenomic: Radiogenomic, split: str, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        kaplan_meier(Cohort(radiogenomic.archive, CohortQuery(collection=("TCGA-OV",)), OPERATOR), split)


def test_cohort_without_survival_data_says_so(radiogenomic: Radiogenomic) -> None:
    with pytest.raises(InvalidParameterError, match="no patient of this cohort has survival data"):
        kaplan_meier(
            Cohort(radiogenomic.archive, CohortQuery(collection=("TCGA-LUAD",)), OPERATOR), "mutated:KRAS"
        )
