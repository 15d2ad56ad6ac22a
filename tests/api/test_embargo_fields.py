"""A series under an active publication embargo says so in TCIA's series lists and its LICENSE file."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import httpx

from ria.access.governance import CollectionChanges, change_settings
from ria.archive import Archive
from tests.conftest import Corpus


def test_embargoed_series_rows_carry_the_embargo_and_others_do_not(
    archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    archive.ingest([corpus.root / "TCGA-LUAD"], "TCGA-LUAD")
    archive.ingest([corpus.root / "TCGA-BRCA"], "TCGA-BRCA")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    change_settings(
        archive.engine,
        "TCGA-LUAD",
        CollectionChanges(embargo_start=start, embargo_days=365),
        actor="curator",
        reason="the ISS group's marker paper window",
    )
    ends = (start + dt.timedelta(days=365)).date()
    v4 = client.get("/nbia-api/services/v4/getSeries").json()
    luad = [row for row in v4 if row["Collection"] == "TCGA-LUAD"]
    brca = [row for row in v4 if row["Collection"] == "TCGA-BRCA"]
    assert luad and brca
    for row in luad:
        assert row["EmbargoStatus"] == "active"
        assert row["EmbargoEndDate"] == ends.strftime("%m-%d-%Y")
        assert "TCGA-LUAD" in row["EmbargoNotice"] and "should not publish" in row["EmbargoNotice"]
    assert not any(key.startswith("Embargo") for row in brca for key in row)
    v1 = client.get("/nbia-api/services/v1/getSeries", params={"Collection": "TCGA-LUAD"}).json()
    assert {row["EmbargoStatus"] for row in v1} == {"active"}
    uid = luad[0]["SeriesInstanceUID"]
    answer = client.get("/nbia-api/services/v1/getImage", params={"SeriesInstanceUID": uid})
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zipped:
        licence = zipped.read("LICENSE").decode()
    assert "embargo" in licence.lower() and "TCGA-LUAD" in licence


def test_csv_manifests_carry_the_notice_per_series(
    archive: Archive, client: httpx.Client, corpus: Corpus
) -> None:
    import csv

    archive.ingest([corpus.root / "TCGA-LUAD"], "TCGA-LUAD")
    archive.ingest([corpus.root / "TCGA-BRCA"], "TCGA-BRCA")
    change_settings(
        archive.engine,
        "TCGA-LUAD",
        CollectionChanges(embargo_start=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)),
        actor="curator",
        reason="marker paper",
    )
    text = client.get("/api/v1/manifest", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["Collection"] for r in rows} == {"TCGA-LUAD", "TCGA-BRCA"}
    for row in rows:
        if row["Collection"] == "TCGA-LUAD":
            assert "TCGA-LUAD" in row["EmbargoNotice"] and "embargo" in row["EmbargoNotice"].lower()
        else:
            assert row["EmbargoNotice"] == ""
    from ria.manifest import parse_manifest

    assert len(parse_manifest(text).series_uids) == len(rows)  # still a manifest any reader takes
