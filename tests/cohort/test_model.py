"""The cohort query model: what validates, what is refused (with the parameter named), JSON round trips."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ria.cohort import CohortQuery, FieldCondition, GeneCondition, parse_condition
from ria.cohort.model import NON_SILENT_CLASSES, normalise_stage
from ria.errors import InvalidParameterError


def test_gene_condition_defaults_to_protein_altering_classes() -> None:
    gene = GeneCondition(" KRAS ")
    assert gene.gene == "KRAS"
    assert gene.classes == NON_SILENT_CLASSES
    assert "Silent" not in gene.classes
    assert GeneCondition("TP53", ("any",)).any_class


@pytest.mark.parametrize("bad", ["", "K RAS", "KRAS;DROP", "-KRAS"])
def test_gene_symbols_are_checked(bad: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        GeneCondition(bad)
    assert caught.value.parameter == "gene"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vital_status=Dead", FieldCondition("vital_status", "eq", "Dead")),
        ("days_to_death<=1095", FieldCondition("days_to_death", "le", "1095")),
        ("age_years > 60", FieldCondition("age_years", "gt", "60")),
        ("stage=II,III", FieldCondition("stage", "in", ("II", "III"))),
        ("subtype~LUAD", FieldCondition("subtype", "contains", "LUAD")),
        ("sex!=female", FieldCondition("sex", "ne", "female")),
        ("IDH_status?", FieldCondition("IDH_status", "exists")),
        ("IDH_status!", FieldCondition("IDH_status", "missing")),
    ],
)
def test_parse_condition(text: str, expected: FieldCondition) -> None:
    assert parse_condition(text) == expected


@pytest.mark.parametrize("text", ["", "vital_status", "=Dead", "days<", "a b=c"])
def test_unparseable_conditions_say_what_to_write(text: str) -> None:
    with pytest.raises(InvalidParameterError, match="FIELD OP VALUE"):
        parse_condition(text, "--clinical")


def test_clinical_fields_are_checked_and_typed() -> None:
    query = CohortQuery(clinical=(parse_condition("days_to_death<=1095"), parse_condition("stage=Stage IIb")))
    assert query.clinical[0].value == 1095.0
    assert query.clinical[1].value == "IIB"
    with pytest.raises(InvalidParameterError, match="unknown clinical field 'survival'"):
        CohortQuery(clinical=(parse_condition("survival<3"),))
    with pytest.raises(InvalidParameterError, match="is not a number"):
        CohortQuery(clinical=(parse_condition("days_to_death<=soon"),))
    with pytest.raises(InvalidParameterError, match="needs a number field"):
        CohortQuery(clinical=(parse_condition("vital_status<Dead"),))
    with pytest.raises(InvalidParameterError, match="not an AJCC stage"):
        CohortQuery(clinical=(parse_condition("stage=V"),))


@given(st.sampled_from(["0", "I", "II", "III", "IV"]), st.sampled_from(["", "A", "B", "C"]), st.booleans())
def test_stage_spellings_normalise(major: str, sub: str, prefixed: bool) -> None:
    spelled = ("Stage " if prefixed else "") + major + sub.lower()
    assert normalise_stage(spelled) == major + sub


def test_from_json_refuses_unknown_fields_and_bad_values() -> None:
    with pytest.raises(InvalidParameterError, match="unknown query field 'colection'"):
        CohortQuery.from_json({"colection": ["TCGA-LUAD"]})
    with pytest.raises(InvalidParameterError, match="not a date"):
        CohortQuery.from_json({"study_date_from": "yesterday"})
    with pytest.raises(InvalidParameterError, match="non-negative"):
        CohortQuery.from_json({"min_mutations": -1})
    with pytest.raises(InvalidParameterError, match="after"):
        CohortQuery(study_date_from=dt.date(2020, 1, 2), study_date_to=dt.date(2020, 1, 1))


cohort_bodies = st.fixed_dictionaries(
    {},
    optional={
        "collection": st.lists(
            st.sampled_from(["TCGA-LUAD", "TCGA-LUSC", "TCGA-BRCA"]), min_size=1, unique=True
        ),
        "modality": st.lists(st.sampled_from(["CT", "MR", "PT"]), min_size=1, unique=True),
        "mutated": st.lists(
            st.fixed_dictionaries(
                {
                    "gene": st.sampled_from(["KRAS", "EGFR", "TP53"]),
                    "classes": st.just(list(NON_SILENT_CLASSES)),
                }
            ),
            min_size=1,
            max_size=2,
        ),
        "not_mutated": st.lists(st.sampled_from(["STK11", "KEAP1"]), min_size=1, unique=True),
        "min_mutations": st.integers(0, 2000),
        "clinical": st.lists(
            st.builds(
                lambda field, op, value: {"field": field, "op": op, "value": value},
                st.just("days_to_death"),
                st.sampled_from(["lt", "le", "gt", "ge", "eq"]),
                st.floats(0, 10000, allow_nan=False),
            ),
            min_size=1,
            max_size=2,
        ),
        "labels": st.lists(
            st.builds(
                lambda value: {"field": "IDH_status", "op": "eq", "value": value},
                st.sampled_from(["Mutant", "WT"]),
            ),
            max_size=1,
        ),
        "include_remote": st.just(False),
    },
)


@given(cohort_bodies)
def test_json_round_trip(body: dict[str, Any]) -> None:
    query = CohortQuery.from_json(body)
    assert CohortQuery.from_json(query.to_json()) == query
