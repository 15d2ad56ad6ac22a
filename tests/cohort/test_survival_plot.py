"""What a Kaplan-Meier figure shows, read from its matplotlib artists (not its pixels): a censoring tick
for every censored patient, at the height lifelines' own curve has there, and a title in words."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from matplotlib.lines import Line2D

from ria.access import OPERATOR
from ria.cohort import Cohort, CohortQuery
from ria.cohort.survival import describe_split, kaplan_meier
from tests.cohort.conftest import Radiogenomic
from tests.cohort.truth import Truth

YEAR = 365.25


def test_censored_patients_are_ticked_on_their_curve(radiogenomic: Radiogenomic, truth: Truth) -> None:
    imaged = truth.patients_of(["TCGA-OV"], "CT") | truth.patients_of(["TCGA-BRCA"], "MR")
    survival = truth.survival()
    table = survival[survival.participant.isin(imaged) & (survival.days >= 0)]
    query = CohortQuery(collection=("TCGA-OV", "TCGA-BRCA"), modality=("CT", "MR"))
    result = kaplan_meier(Cohort(radiogenomic.archive, query, OPERATOR), "clinical:project")
    figure = result.figure()
    (ax, *_) = figure.axes
    ticks = {line.get_gid(): line for line in ax.get_lines() if line.get_marker() == "|"}
    assert set(ticks) == {f"censored:{name}" for name in table.project.unique()}
    for name, rows in table.groupby("project"):
        line: Line2D = ticks[f"censored:{name}"]
        assert line.get_linestyle() == "None"
        censored = np.sort(rows.days[~rows.dead.astype(bool)].to_numpy(dtype=float))
        assert len(censored) > 0
        np.testing.assert_allclose(np.asarray(line.get_xdata(), dtype=float), censored / YEAR)
        fitter = KaplanMeierFitter().fit(rows.days, rows.dead)
        expected = fitter.survival_function_at_times(censored).to_numpy()
        np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), expected)
    assert ax.get_title() == "Kaplan-Meier survival by TCGA project"
    assert all(math.isfinite(v) for v in ax.get_ylim())


@pytest.mark.parametrize(
    ("split", "words"),
    [
        ("mutated:TP53", "by TP53 mutation"),
        ("clinical:project", "by TCGA project"),
        ("clinical:primary_diagnosis", "by primary diagnosis"),
        ("clinical:stage", "by stage"),
        ("label:mutations_count", "by mutations count"),
    ],
)
def test_titles_speak_words(split: str, words: str) -> None:
    assert describe_split(split) == words


def test_a_given_title_wins(radiogenomic: Radiogenomic) -> None:
    query = CohortQuery(collection=("TCGA-OV",))
    result = kaplan_meier(Cohort(radiogenomic.archive, query, OPERATOR), "clinical:project")
    assert result.figure(title="Ovarian cancer").axes[0].get_title() == "Ovarian cancer"
