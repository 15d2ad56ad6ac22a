"""An "until the embargo ends" restriction lifts exactly at the end, through the query core and over HTTP.

Collection D of the shared world is restricted until its publication embargo (set by a curator) ends:
one microsecond before, an anonymous caller finds none of it in series, value lists, statistics, QIDO-RS
or cohorts; at the end, all of it. The HTTP test uses an archive of its own, because lifting an embargo
for real changes what everyone sees.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx

from ria.access import ANONYMOUS, OPERATOR, Principal
from ria.access.governance import CollectionChanges, change_settings
from ria.archive import Archive
from ria.catalog.governance import read_governance
from ria.catalog.search import SeriesFilter
from ria.cohort import Cohort, CohortQuery
from ria.dicomweb import qido
from ria.errors import InvalidParameterError
from tests.access.leaks.world import D_EMBARGO_END, D, World
from tests.api.conftest import LiveServer
from tests.conftest import Corpus

TICK = dt.timedelta(microseconds=1)


def _what_anonymous_sees_of_d(world: World, principal: Principal) -> dict[str, set[str]]:
    archive = world.archive
    catalog = archive.catalog
    studies = qido.search(archive.engine, qido.QidoQuery(level="study"), "http://x/dicomweb", principal)
    try:
        query = CohortQuery(collection=(D,))
        cohort = {row.series_instance_uid for row in Cohort(archive, query, principal).iter_series()}
    except InvalidParameterError as error:  # a collection the caller may not see is unknown to them
        assert error.parameter == "collection" and D not in error.message.replace(f"{D!r}", "")
        cohort = set()
    return {
        "series": {
            row.series_instance_uid for row in catalog.series(SeriesFilter(collection=D), principal=principal)
        },
        "collections": set(catalog.values("collection", principal=principal)) & {D},
        "body parts": set(catalog.values("body_part_examined", principal=principal)) & {"KIDNEY"},
        "stats": {s.name for s in catalog.collection_stats(principal=principal)} & {D},
        "studies": {s["0020000D"]["Value"][0] for s in studies.items} & world.holdings[D].studies,
        "cohort": cohort,
        "patients": {p.patient_id for p in catalog.patients(SeriesFilter(collection=D), principal=principal)},
    }


def test_d_opens_to_everyone_exactly_when_its_embargo_ends(world: World) -> None:
    record = read_governance(world.archive.engine, D)
    assert record is not None and record.restricted_until_embargo_end
    end = record.embargo_ends_at
    assert end == D_EMBARGO_END
    held = world.holdings[D]
    everything = {
        "series": held.series,
        "collections": {D},
        "body parts": {"KIDNEY"},
        "stats": {D},
        "studies": held.studies,
        "cohort": held.series,
        "patients": held.patients,
    }
    assert _what_anonymous_sees_of_d(world, OPERATOR) == everything
    assert _what_anonymous_sees_of_d(world, ANONYMOUS.at_time(end - TICK)) == {k: set() for k in everything}
    assert _what_anonymous_sees_of_d(world, ANONYMOUS.at_time(end)) == everything
    member_a = world.callers["member-a"].principal
    assert _what_anonymous_sees_of_d(world, member_a.at_time(end - TICK))["series"] == set()
    assert _what_anonymous_sees_of_d(world, member_a.at_time(end))["series"] == held.series


def test_the_restriction_lifts_by_itself_over_http(archive: Archive, corpus: Corpus) -> None:
    """Nobody acts at the end: getCollectionValues starts listing the collection then, and not before."""
    name = "TCGA-LUAD"
    archive.ingest([corpus.root / name], name, workers=1, write_report=False)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    change_settings(
        archive.engine,
        name,
        CollectionChanges(
            access="restricted", restricted_until_embargo_end=True, embargo_start=end, embargo_days=0
        ),
        actor="leak-matrix",
        reason="an embargo that ends in two seconds",
    )
    record = read_governance(archive.engine, name)
    assert record is not None and record.embargo_ends_at == end
    with LiveServer(archive) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        deadline = time.monotonic() + 15
        while True:
            response = client.get("/nbia-api/services/v4/getCollectionValues")
            names = [row["Collection"] for row in response.json()] if response.content else []
            answered = dt.datetime.now(dt.UTC)
            if name in names:
                break
            assert time.monotonic() < deadline, "the restriction never lifted"
            time.sleep(0.05)
        assert answered >= end, (
            f"listed at {answered.isoformat()}, before the embargo ended at {end.isoformat()}"
        )
        assert answered - end < dt.timedelta(seconds=2)
        series = client.get("/nbia-api/services/v4/getSeries", params={"Collection": name}).json()
        expected = archive.catalog.series(SeriesFilter(collection=name), principal=OPERATOR)
        assert {row["SeriesInstanceUID"] for row in series} == {row.series_instance_uid for row in expected}
        assert expected and {row.series_instance_uid for row in expected} <= corpus.series_uids
