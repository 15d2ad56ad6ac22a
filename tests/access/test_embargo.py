"""The publication embargo lifts by itself, exactly at its end: notices, listings, LICENSE, cohort citations,
and a collection restricted until the embargo ends."""

from __future__ import annotations

import datetime as dt

from ria.access import ANONYMOUS, OPERATOR
from ria.access.embargo import embargo_fields, embargo_notice, embargo_status
from ria.access.governance import CollectionChanges, change_settings
from ria.archive import Archive
from ria.catalog.governance import Governance, collection_names, read_governance
from ria.catalog.search import SeriesFilter
from ria.cohort import Cohort, CohortQuery
from ria.download.series import license_text
from tests.conftest import Corpus

LUAD = "TCGA-LUAD"
TICK = dt.timedelta(microseconds=1)


def embargoed(archive: Archive, corpus: Corpus, **changes: object) -> Governance:
    """LUAD ingested patient by patient with a 2-case threshold: the embargo starts at the 2nd patient."""
    change_settings(
        archive.engine,
        LUAD,
        CollectionChanges(embargo_threshold=2, embargo_days=30, **changes),  # type: ignore[arg-type]
        actor="tester",
        reason="a small corpus reaches a small threshold",
    )
    for folder in sorted((corpus.root / LUAD).iterdir()):
        archive.ingest([folder], LUAD, workers=1)
    record = read_governance(archive.engine, LUAD)
    assert record is not None and record.embargo_ends_at is not None
    return record


def expected_notice(end: dt.datetime) -> str:
    shown = end.strftime("%Y-%m-%d %H:%M UTC") if end.time() != dt.time(0) else end.date().isoformat()
    return (
        f"TCGA-LUAD: publication embargo until {shown}. The TCGA-LUAD ISS group may publish a marker paper "
        "first: others may download and analyse these data but should not publish on TCGA-LUAD before "
        f"{shown} "
        "(TCGA publication guidelines)."
    )


def test_status_and_notice_flip_exactly_at_the_end(archive: Archive, corpus: Corpus) -> None:
    record = embargoed(archive, corpus)
    end = record.embargo_ends_at
    assert end is not None and end.tzinfo is not None
    assert embargo_status(record, end - TICK) == "active"
    assert embargo_notice(record, end - TICK) == expected_notice(end)
    assert embargo_status(record, end) == "ended" and embargo_notice(record, end) is None
    assert embargo_fields(record, end)["embargo_ends_at"] == end.isoformat()
    assert (
        record.hundredth_case_at is not None and embargo_status(record, record.hundredth_case_at) == "active"
    )


def test_a_date_at_midnight_reads_as_a_date() -> None:
    record = Governance(
        LUAD, None, None, None, None, None, "public", False, 100, 365, None, dt.datetime(2027, 5, 1), False
    )
    assert embargo_notice(record, dt.datetime(2027, 4, 30, 23, 59, tzinfo=dt.UTC)) == expected_notice(
        dt.datetime(2027, 5, 1, tzinfo=dt.UTC)
    )
    assert "until 2027-05-01." in (embargo_notice(record, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) or "")


def test_listing_license_and_cohort_citation_carry_the_notice_until_the_end(
    archive: Archive, corpus: Corpus
) -> None:
    record = embargoed(archive, corpus)
    end = record.embargo_ends_at
    assert end is not None
    before, after = OPERATOR.at_time(end - TICK), OPERATOR.at_time(end)

    (stats,) = [s for s in archive.catalog.collection_stats(principal=before) if s.name == LUAD]
    assert (stats.embargo_status, stats.embargo_notice) == ("active", expected_notice(end))
    assert stats.to_json()["embargo_ends_at"] == end.isoformat()
    (stats,) = [s for s in archive.catalog.collection_stats(principal=after) if s.name == LUAD]
    assert (stats.embargo_status, stats.embargo_notice) == ("ended", None)

    info = archive.catalog.collection(LUAD, principal=before)
    (row, *_) = archive.catalog.series(SeriesFilter(collection=LUAD), principal=before)
    assert info is not None and info.embargo_ends_at is not None
    assert expected_notice(end) in license_text(row, info, at=end - TICK)
    assert "embargo" not in license_text(row, info, at=end)
    assert "TCGA Research Network" in license_text(row, info, at=end)

    query = CohortQuery(collection=(LUAD,))
    assert Cohort(archive, query, before).citation().embargo_notices == (expected_notice(end),)
    assert expected_notice(end) in Cohort(archive, query, before).citation().text
    assert Cohort(archive, query, after).citation().embargo_notices == ()
    assert Cohort(archive, query, after).citation().to_json()["embargo_notices"] == []


def test_restricted_until_the_embargo_ends_opens_to_everyone_exactly_then(
    archive: Archive, corpus: Corpus
) -> None:
    record = embargoed(archive, corpus, access="restricted", restricted_until_embargo_end=True)
    end = record.embargo_ends_at
    assert end is not None
    assert LUAD not in collection_names(archive.engine, ANONYMOUS.at_time(end - TICK))
    assert LUAD in collection_names(archive.engine, ANONYMOUS.at_time(end))
    assert (
        archive.catalog.series(SeriesFilter(collection=LUAD), principal=ANONYMOUS.at_time(end - TICK)) == []
    )
    assert len(
        archive.catalog.series(SeriesFilter(collection=LUAD), principal=ANONYMOUS.at_time(end))
    ) == len(archive.catalog.series(SeriesFilter(collection=LUAD), principal=OPERATOR))
