"""The matching core on real SQLite and PostgreSQL tables, against :func:`fnmatch.fnmatchcase`.

Hypothesis draws stored values (mixed case, non-ASCII, SQL metacharacters) and
DICOM patterns; each pattern is compiled by :mod:`ria.catalog.matching`, run on both
databases, and the rows found must be exactly those Python's own matcher picks.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)

from ria.catalog import matching
from ria.catalog.database import normalise_url
from ria.errors import InvalidParameterError
from tests.conftest import throwaway_postgres

_metadata = MetaData()
_values = Table(
    "matching_values", _metadata, Column("id", Integer, primary_key=True), Column("v", String(64))
)
ALPHABET = "aAbBzZüÜéÉß%_\\[]^ *?-"


def fold(text: str) -> str:
    """The test's own A-Z fold (independent of Ria's)."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def dicom_match(pattern: str, value: str | None) -> bool:
    """PS3.4 wildcard matching by fnmatchcase (``[`` made literal: DICOM has no classes)."""
    if pattern in ("", "*"):
        return True
    return value is not None and fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def fuzzy_match(pattern: str, value: str | None) -> bool:
    if pattern in ("", "*"):
        return True
    return value is not None and fnmatch.fnmatchcase(
        fold(value), "*" + fold(pattern).replace("[", "[[]") + "*"
    )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path_factory.mktemp('matching') / 'm.db'}")
        _metadata.create_all(made)
        yield made
        made.dispose()
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    with throwaway_postgres(admin_url) as url:
        made = create_engine(normalise_url(url))
        try:
            _metadata.create_all(made)
            yield made
        finally:
            made.dispose()


def found(engine: Engine, values: list[str | None], clause: ColumnElement[bool] | None) -> set[int]:
    with engine.begin() as conn:
        conn.execute(_values.delete())
        conn.execute(_values.insert(), [{"id": i, "v": v} for i, v in enumerate(values)])
        query = select(_values.c.id)
        if clause is not None:
            query = query.where(clause)
        return {row[0] for row in conn.execute(query)}


stored = st.text(ALPHABET, max_size=8)
values_strategy = st.lists(st.none() | stored, min_size=1, max_size=8)


@st.composite
def pattern_for(draw: st.DrawFn, values: list[str | None]) -> str:
    """A pattern: free text, or one of the values with some characters turned into wildcards or recased."""
    known = [v for v in values if v]
    if not known or draw(st.booleans()):
        return draw(st.text(ALPHABET, max_size=6))
    chars = list(draw(st.sampled_from(known)))
    for index in draw(st.lists(st.integers(0, len(chars) - 1), max_size=3)):
        chars[index] = draw(st.sampled_from(["*", "?", chars[index].swapcase(), chars[index].upper()]))
    return "".join(chars)


cases = values_strategy.flatmap(lambda values: st.tuples(st.just(values), pattern_for(values)))
hypothesis_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@hypothesis_settings
@given(case=cases)
def test_wildcards_are_case_sensitive_and_agree_with_fnmatchcase(
    engine: Engine, case: tuple[list[str | None], str]
) -> None:
    values, pattern = case
    clause = matching.text_clause(_values.c.v, [pattern])
    assert found(engine, values, clause) == {i for i, v in enumerate(values) if dicom_match(pattern, v)}


@hypothesis_settings
@given(case=cases)
def test_fuzzy_names_match_any_part_ignoring_ascii_case_only(
    engine: Engine, case: tuple[list[str | None], str]
) -> None:
    values, pattern = case
    clause = matching.text_clause(_values.c.v, [pattern], fuzzy=True)
    assert found(engine, values, clause) == {i for i, v in enumerate(values) if fuzzy_match(pattern, v)}


@hypothesis_settings
@given(case=cases)
def test_description_search_is_a_literal_contains_ignoring_ascii_case(
    engine: Engine, case: tuple[list[str | None], str]
) -> None:
    values, needle = case
    clause = matching.contains_ignoring_case(_values.c.v, needle)
    assert found(engine, values, clause) == {
        i for i, v in enumerate(values) if v is not None and fold(needle) in fold(v)
    }


NAMES: list[str | None] = [
    "Doe^Jane",
    "DOE^JOHN",
    "doe^jim",
    "Müller^Anna",
    "MÜLLER^ÉLODIE",
    "müller^élodie",
    None,
]


@pytest.mark.parametrize(
    ("vr", "value", "fuzzy", "wanted"),
    [
        ("PN", "doe*", False, {2}),
        ("PN", "Doe*\\DOE*", False, {0, 1}),
        ("PN", "*üller*", False, {3, 5}),
        ("PN", "MÜLLER^*", False, {4}),
        ("PN", "müller", True, {3, 5}),  # A-Z fold only: Ü is not ü
        ("PN", "doe^j", True, {0, 1, 2}),
        ("PN", "Doe^Jane=ドウ^ジェーン", False, {0}),  # only the alphabetic group is stored
        ("PN", "*", False, {0, 1, 2, 3, 4, 5, 6}),  # universal: the name-less row too
        ("PN", "", True, {0, 1, 2, 3, 4, 5, 6}),
        ("LO", "?oe^J*", False, {0}),
    ],
)
def test_attribute_values_compile_per_vr(
    engine: Engine, vr: str, value: str, fuzzy: bool, wanted: set[int]
) -> None:
    clause = matching.attribute_clause(_values.c.v, vr, value, key="PatientName", fuzzy=fuzzy)
    assert found(engine, NAMES, clause) == wanted


@pytest.mark.parametrize(
    ("vr", "value", "low", "high"),
    [
        ("DA", "20200101", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
        ("DA", "20200101-20200131", dt.date(2020, 1, 1), dt.date(2020, 1, 31)),
        ("DA", "-20200131", None, dt.date(2020, 1, 31)),
        ("DA", "20200101-", dt.date(2020, 1, 1), None),
        ("TM", "10-1130", dt.time(10), dt.time(11, 30, 59, 999_999)),
        ("TM", "101500.25", dt.time(10, 15, 0, 250_000), dt.time(10, 15, 0, 250_000)),
        ("DT", "202002-", dt.datetime(2020, 2, 1), None),
        ("DT", "-202002", None, dt.datetime(2020, 2, 29, 23, 59, 59, 999_999)),
        (
            "DT",
            "20200101103000",
            dt.datetime(2020, 1, 1, 10, 30),
            dt.datetime(2020, 1, 1, 10, 30, 0, 999_999),
        ),
    ],
)
def test_ranges_parse_to_inclusive_bounds(
    vr: str, value: str, low: dt.date | None, high: dt.date | None
) -> None:
    assert matching.parse_range(vr, value, "Key") == (low, high)


@pytest.mark.parametrize(
    ("vr", "value"),
    [
        ("DA", "20200101-abc"),
        ("DA", "2020-01-01"),
        ("DA", "-"),
        ("DA", "20201301"),
        ("TM", "25"),
        ("DT", "2020x"),
    ],
)
def test_malformed_ranges_are_invalid_parameters_naming_the_attribute(vr: str, value: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        matching.parse_range(vr, value, "StudyDate")
    assert caught.value.parameter == "StudyDate" and "StudyDate" in str(caught.value)


def test_integer_lists_match_and_non_integers_are_refused(engine: Engine) -> None:
    clause = matching.attribute_clause(_values.c.id, "IS", "0\\3", key="InstanceNumber")
    assert found(engine, ["a", "b", "c", "d"], clause) == {0, 3}
    with pytest.raises(InvalidParameterError):
        matching.attribute_clause(_values.c.id, "IS", "one", key="InstanceNumber")
