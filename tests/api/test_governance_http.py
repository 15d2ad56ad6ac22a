"""Governance over a live server: accrual JSON/PNG, terms, the admin settings API, audit, citations."""

from __future__ import annotations

import io
import json

import httpx
from PIL import Image

from ria.access.governance import CollectionChanges, change_settings, seed_tcga
from ria.access.tokens import issue_api_token
from ria.access.users import add_user
from ria.archive import Archive
from tests.conftest import Corpus

LUAD, BRCA = "TCGA-LUAD", "TCGA-BRCA"


def fill(archive: Archive, corpus: Corpus) -> None:
    for name in (LUAD, BRCA):
        archive.ingest([corpus.root / name], name, workers=1)
    seed_tcga(archive.engine, actor="tester")
    change_settings(archive.engine, LUAD, CollectionChanges(embargo_threshold=2), actor="tester", reason="t")


def bearer(archive: Archive, name: str, *, admin: bool) -> dict[str, str]:
    add_user(archive.engine, name, admin=admin, actor="tester")
    return {"Authorization": f"Bearer {issue_api_token(archive.engine, name, actor='tester')}"}


def test_accrual_and_terms(archive: Archive, corpus: Corpus, client: httpx.Client) -> None:
    fill(archive, corpus)
    body = client.get(f"/api/v1/collections/{LUAD}/accrual").json()
    patients = {p.name for p in (corpus.root / LUAD).iterdir()}
    assert body["cases"] == len(patients) and body["embargo_status"] == "active"
    assert body["by_site"] == {pid.split("-")[1]: 1 for pid in patients}
    png = client.get(f"/api/v1/collections/{LUAD}/accrual", params={"format": "png"})
    assert png.headers["content-type"] == "image/png" and Image.open(io.BytesIO(png.content)).format == "PNG"
    terms = client.get(f"/api/v1/collections/{LUAD}/governance").json()
    assert terms["doi"] == "10.7937/K9/TCIA.2016.JGNIHEP5" and terms["embargo_status"] == "active"
    assert terms["embargo_notice"].startswith(f"{LUAD}: publication embargo until")
    listed = {c["name"]: c for c in client.get("/api/v1/collections").json()}
    assert listed[LUAD]["embargo_status"] == "active" and listed[BRCA]["embargo_status"] == "none"
    missing = client.get("/api/v1/collections/TCGA-NOPE/accrual")
    assert missing.status_code == 404


def test_restricted_collection_is_not_found_like_a_missing_one(
    archive: Archive, corpus: Corpus, client: httpx.Client
) -> None:
    fill(archive, corpus)
    change_settings(archive.engine, BRCA, CollectionChanges(access="limited"), actor="tester", reason="DUA")
    for suffix in ("accrual", "governance"):
        hidden = client.get(f"/api/v1/collections/{BRCA}/{suffix}")
        absent = client.get(f"/api/v1/collections/TCGA-ABSENT/{suffix}")
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json()["message"].replace(BRCA, "X") == absent.json()["message"].replace(
            "TCGA-ABSENT", "X"
        )
    cited = client.get("/api/v1/citations", params={"collection": [LUAD, BRCA]}).json()
    assert [c["name"] for c in cited["collections"]] == [LUAD]


def test_admin_changes_are_audited_others_are_refused(
    archive: Archive, corpus: Corpus, client: httpx.Client
) -> None:
    fill(archive, corpus)
    admin, user = bearer(archive, "curator", admin=True), bearer(archive, "reader", admin=False)
    change = {"access": "restricted", "restricted_until_embargo_end": True, "reason": "pre-release"}
    for headers in ({}, user):
        refused = client.put(f"/api/v1/collections/{BRCA}/governance", json=change, headers=headers)
        assert refused.status_code == 403
        assert client.get("/api/v1/audit", headers=headers).status_code == 403
    no_reason = client.put(
        f"/api/v1/collections/{BRCA}/governance", json={"access": "limited"}, headers=admin
    )
    assert no_reason.status_code == 400 and no_reason.json()["details"]["parameter"] == "reason"
    done = client.put(f"/api/v1/collections/{BRCA}/governance", json=change, headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["access_level"] == "restricted" and done.json()["restricted_until_embargo_end"] is True
    (event, *_) = client.get("/api/v1/audit", params={"target": BRCA}, headers=admin).json()
    assert (event["actor"], event["action"], event["reason"]) == ("curator", "collection.set", "pre-release")
    assert event["details"]["access_level"] == {"old": "public", "new": "restricted"}
    assert client.get(f"/api/v1/collections/{BRCA}/governance").status_code == 404  # anonymous: gone


def test_citations_in_every_format(archive: Archive, corpus: Corpus, client: httpx.Client) -> None:
    fill(archive, corpus)
    uids = sorted(corpus.series_uids)
    for fmt, media in (("bibtex", "application/x-bibtex"), ("ris", "application/x-research-info-systems")):
        answer = client.post("/api/v1/citations", json={"series": uids, "format": fmt})
        assert answer.headers["content-type"].startswith(media)
        assert answer.text.count("10.7937/K9/TCIA.2016.") >= 2
    csl = client.post(
        "/api/v1/citations", json={"cohort": {"collection": [LUAD, BRCA]}, "format": "csl-json"}
    )
    items = json.loads(csl.text)  # two collections, then TCIA's paper (Clark et al. 2013)
    assert [item["type"] for item in items] == ["dataset", "dataset", "article-journal"]
    assert items[-1]["DOI"] == "10.1007/s10278-013-9622-7"
    manifest = "downloadServerUrl=http://x/\nListOfSeriesToDownload=\n" + "\n".join(uids) + "\n"
    full = client.post("/api/v1/citations", json={"manifest": manifest}).json()
    assert [c["name"] for c in full["collections"]] == [BRCA, LUAD]
    assert (
        full["acknowledgment"].endswith("http://cancergenome.nih.gov/") and len(full["embargo_notices"]) == 1
    )
    text = client.get("/api/v1/citations", params={"series": uids[:1], "format": "text"}).text
    assert text.startswith("Data citation:")
    assert client.get("/api/v1/citations").status_code == 400
