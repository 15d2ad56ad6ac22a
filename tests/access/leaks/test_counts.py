"""Counts, totals and value lists over HTTP equal what pydicom reads from the visible collections' files.

A leak need not name anything: a total one too high, a facet for a body part only a restricted collection
has, or a cart listing one series more all tell a caller that data they may not see exists. Every
expectation here is computed from :class:`~tests.access.leaks.world.Holdings` (the written files read
back), restricted to the caller's visible collections; the admin row is the non-vacuous baseline.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.access.leaks.conftest import Served
from tests.access.leaks.world import MIXED_CART, Caller, Instance, World

CALLERS = ("anonymous", "member-a", "member-b", "grantee-c", "admin")
V1, V4 = "/nbia-api/services/v1", "/nbia-api/services/v4"


def _get(served: Served, caller: Caller, url: str, **params: Any) -> Any:
    response = served.client.get(url, params=params, headers=caller.headers)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def _patients_by(instances: list[Instance], attribute: str) -> dict[str, int]:
    """Distinct patients per value of ``attribute`` (TCIA's ``…ValuesAndCounts`` count patients)."""
    seen = {(getattr(i, attribute), i.collection, i.patient_id) for i in instances}
    return dict(Counter(value for value, _, _ in seen))


def _series_by(instances: list[Instance], attribute: str) -> dict[str, int]:
    seen = {(getattr(i, attribute), i.series_uid) for i in instances}
    return dict(Counter(value for value, _ in seen))


@pytest.fixture(params=CALLERS)
def caller(request: pytest.FixtureRequest, world: World) -> Caller:
    return world.callers[request.param]


def test_value_lists_hold_exactly_the_visible_values(served: Served, world: World, caller: Caller) -> None:
    mine = world.visible_instances(caller)
    for version in (V1, V4):
        names = [row["Collection"] for row in _get(served, caller, f"{version}/getCollectionValues")]
        assert sorted(names) == sorted(caller.visible)
        parts = [row["BodyPartExamined"] for row in _get(served, caller, f"{version}/getBodyPartValues")]
        assert sorted(parts) == sorted({i.body_part for i in mine})
        makers = [row["Manufacturer"] for row in _get(served, caller, f"{version}/getManufacturerValues")]
        assert sorted(makers) == sorted({i.manufacturer for i in mine})
        modalities = [row["Modality"] for row in _get(served, caller, f"{version}/getModalityValues")]
        assert sorted(modalities) == sorted({i.modality for i in mine})


def test_values_and_counts_count_only_visible_patients(served: Served, world: World, caller: Caller) -> None:
    mine = world.visible_instances(caller)
    for route, key, attribute in (
        ("getCollectionValuesAndCounts", "Collection", "collection"),
        ("getModalityValuesAndCounts", "Modality", "modality"),
        ("getBodyPartValuesAndCounts", "BodyPart", "body_part"),
        ("getManufacturerValuesAndCounts", "Manufacturer", "manufacturer"),
    ):
        rows = _get(served, caller, f"{V4}/{route}")
        assert {row[key]: row["Count"] for row in rows} == _patients_by(mine, attribute), route
    species = _get(served, caller, f"{V4}/getSpeciesValuesAndCounts")
    assert [row["Count"] for row in species] == [len({(i.collection, i.patient_id) for i in mine})]
    dates = sorted(i.study_date for i in mine)
    timepoints = _get(served, caller, f"{V4}/getMinMaxTimepoints")
    assert timepoints == {
        "minTimepoint": f"{dates[0][4:6]}-{dates[0][6:]}-{dates[0][:4]}",
        "maxTimepoint": f"{dates[-1][4:6]}-{dates[-1][6:]}-{dates[-1][:4]}",
    }


def test_simple_search_totals_and_facets(served: Served, world: World, caller: Caller) -> None:
    mine = world.visible_instances(caller)
    response = served.client.post(
        f"{V4}/getSimpleSearch", data={"start": "0", "size": "100"}, headers=caller.headers
    )
    page = response.json()
    patients = {(i.collection, i.patient_id) for i in mine}
    assert page["totalPatients"] == len(patients)
    assert sorted((row["project"], row["subjectId"]) for row in page["resultSet"]) == sorted(patients)
    facets = {
        name: {row["value"]: row["count"] for row in page[name]} for name in ("collections", "modalities")
    }
    assert facets["collections"] == _patients_by(mine, "collection")
    assert facets["modalities"] == _patients_by(mine, "modality")
    assert {row["value"]: row["count"] for row in page["bodyParts"]} == _patients_by(mine, "body_part")


def test_collection_statistics_and_accrual(served: Served, world: World, caller: Caller) -> None:
    stats = {row["name"]: row for row in _get(served, caller, "/api/v1/collections")}
    assert sorted(stats) == sorted(caller.visible)
    for name in caller.visible:
        held = world.holdings[name]
        assert (stats[name]["patients"], stats[name]["studies"], stats[name]["series"]) == (
            len(held.patients),
            len(held.studies),
            len(held.series),
        )
        assert (stats[name]["instances"], stats[name]["bytes"]) == (
            len(held.instances),
            sum(i.size for i in held.instances),
        )
        accrual = _get(served, caller, f"/api/v1/collections/{name}/accrual")
        assert accrual["cases"] == len(held.patients)
        assert sum(accrual["by_site"].values()) == len(held.patients)


def test_cohort_facets_and_linkage_count_only_visible_data(
    served: Served, world: World, caller: Caller
) -> None:
    mine = world.visible_instances(caller)
    response = served.client.post(
        "/api/v1/cohorts/query", params={"view": "facets"}, json={}, headers=caller.headers
    )
    facets = response.json()["facets"]
    patients = _patients_by(mine, "collection")
    series = _series_by(mine, "collection")
    assert {row["value"]: (row["patients"], row["series"]) for row in facets["collection"]} == {
        name: (patients[name], series[name]) for name in patients
    }
    assert {row["value"]: row["series"] for row in facets["modality"]} == _series_by(mine, "modality")
    linkage = _get(served, caller, "/api/v1/genomics/linkage")
    assert {row["collection"]: row["imaging_patients"] for row in linkage["collections"]} == patients
    patients_view = served.client.post(
        "/api/v1/cohorts/query", params={"view": "patients"}, json={}, headers=caller.headers
    ).json()
    assert patients_view["count"] == len({(i.collection, i.patient_id) for i in mine})


def test_the_mixed_cart_and_listings_show_exactly_the_visible_series(
    served: Served, world: World, caller: Caller
) -> None:
    mine = world.visible_instances(caller)
    visible_series = sorted({i.series_uid for i in mine})
    contents = _get(served, caller, f"{V1}/getContentsByName", name=MIXED_CART)
    assert sorted(row["SeriesInstanceUID"] for row in contents) == visible_series
    assert sorted(_get(served, caller, f"/api/v1/carts/{MIXED_CART}")["series"]) == visible_series
    updated = _get(served, caller, f"{V4}/getUpdatedSeries", fromDate="01-01-2000")
    assert sorted(row["SeriesInstanceUID"] for row in updated) == visible_series
    studies = _get(served, caller, "/dicomweb/studies")
    assert sorted(s["0020000D"]["Value"][0] for s in studies) == sorted({i.study_uid for i in mine})
    instances = _get(served, caller, "/dicomweb/instances")
    assert sorted(s["00080018"]["Value"][0] for s in instances) == sorted({i.sop_uid for i in mine})
    citation = _get(served, caller, "/api/v1/citations", cart=MIXED_CART)
    assert sorted(c["name"] for c in citation["collections"]) == sorted(caller.visible)
