"""Bearer tokens over HTTP on a live server: who am I, 401s that say why, TCIA's v2, revocation,
and a download that outlives its token."""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from ria.access import identity as idn
from ria.archive import Archive
from ria.sample import generate_corpus
from tests.api.conftest import PASSWORD, LiveServer, bearer
from tests.conftest import Corpus

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def luad(archive: Archive, corpus: Corpus) -> str:
    report = archive.ingest([corpus.root], "TCGA-LUAD")
    assert report.ok, report.summary()
    return "TCGA-LUAD"


def test_me_describes_the_tokens_user(
    client: httpx.Client, archive: Archive, alice: idn.User, luad: str
) -> None:
    idn.add_user_to_site(archive.engine, "alice", "05", actor="ops")
    idn.grant(archive.engine, "alice", luad, actor="ops")
    token = idn.issue_api_token(archive.engine, "alice", actor="ops", name="notebook")
    answer = client.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": "alice", "admin": False, "sites": ["05"], "grants": [luad]}


def test_anonymous_me_is_a_bare_challenge(client: httpx.Client) -> None:
    answer = client.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="ria"'
    assert answer.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer ria_at_not-a-real-token", "Bearer something-else", "Bearer", "Basic YWxpY2U6cHc="]
)
@pytest.mark.parametrize("path", ["/api/v1/me", "/nbia-api/services/v2/getCollectionValues"])
def test_a_bad_token_is_told_apart_from_no_token(client: httpx.Client, header: str, path: str) -> None:
    """A dead token is never treated as no token: the challenge says it is invalid, so the client refreshes.

    (Every route that takes the caller resolves it through the same dependency, public ones included.)
    """
    answer = client.get(path, headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="ria", error="invalid_token"'
    assert answer.json()["error"] == "unauthorized"
    assert "expired or revoked" in answer.json()["message"] or "Bearer <token>" in answer.json()["message"]


def test_v2_is_v1_behind_a_token(client: httpx.Client, archive: Archive, alice: idn.User, luad: str) -> None:
    token = idn.issue_session(archive.engine, alice).access_token
    for endpoint in ("getCollectionValues", "getSeries?Collection=TCGA-LUAD", "getPatient"):
        refused = client.get(f"/nbia-api/services/v2/{endpoint}")
        assert refused.status_code == 401, endpoint
        assert refused.headers["www-authenticate"] == 'Bearer realm="ria"'
        answer = client.get(f"/nbia-api/services/v2/{endpoint}", headers=bearer(token))
        assert answer.status_code == 200, answer.text
        assert answer.json() == client.get(f"/nbia-api/services/v1/{endpoint}").json()
    series = client.get("/nbia-api/services/v1/getSeries").json()[0]["SeriesInstanceUID"]
    assert (
        client.get("/nbia-api/services/v2/getImage", params={"SeriesInstanceUID": series}).status_code == 401
    )
    download = client.get(
        "/nbia-api/services/v2/getImage", params={"SeriesInstanceUID": series}, headers=bearer(token)
    )
    assert download.status_code == 200
    assert (
        download.content
        == client.get("/nbia-api/services/v1/getImage", params={"SeriesInstanceUID": series}).content
    )


def test_a_user_revokes_their_own_tokens(client: httpx.Client, archive: Archive, alice: idn.User) -> None:
    idn.add_user(archive.engine, "bob", PASSWORD, actor="ops")
    session = idn.issue_session(archive.engine, alice)
    script = idn.issue_api_token(archive.engine, "alice", actor="ops", name="script")
    bobs = idn.issue_api_token(archive.engine, "bob", actor="ops")
    # Bob cannot end Alice's token: the answer does not even say it exists.
    assert client.post("/api/v1/tokens/revoke", data={"token": script}, headers=bearer(bobs)).json() == {
        "revoked": False
    }
    assert client.get("/api/v1/me", headers=bearer(script)).status_code == 200
    assert client.post(
        "/api/v1/tokens/revoke", data={"token": script}, headers=bearer(session.access_token)
    ).json() == {"revoked": True}
    assert client.get("/api/v1/me", headers=bearer(script)).status_code == 401
    # Without a token field, the request's own token is signed out (with its refresh token).
    assert client.post("/api/v1/tokens/revoke", headers=bearer(session.access_token)).json() == {
        "revoked": True
    }
    assert client.get("/api/v1/me", headers=bearer(session.access_token)).status_code == 401
    assert idn.refresh_session(archive.engine, session.refresh_token) is None
    assert client.post("/api/v1/tokens/revoke", data={"token": script}).status_code == 401
    assert [e["actor"] for e in idn.audit_events(archive.engine) if e["action"] == "token.revoke"] == [
        "alice",
        "alice",
    ]


def test_the_openapi_document_lists_the_new_routes(client: httpx.Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/nbia-api/oauth/token",
        "/api/v1/me",
        "/api/v1/tokens/revoke",
        "/nbia-api/services/v2/getImage",
    } <= set(paths)


@SQLITE_ONLY
def test_a_download_under_way_outlives_its_token(archive: Archive, alice: idn.User, tmp_path: Path) -> None:
    """A 2-second token starts a series download read slowly for longer; the download completes, whole.

    The series (~15 MB) is several times what loopback socket buffers hold, so most of it is
    still being written by the server after the token has expired — while a new request with
    the same token is already refused.
    """
    generate_corpus(tmp_path / "big", 600, series_size=600, series_per_patient=1, seed="ria-long-download")
    report = archive.ingest([tmp_path / "big"], "TCGA-LUAD")
    assert report.ok and report.ingested == 600, report.summary()
    with LiveServer(archive) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        series = http.get("/nbia-api/services/v1/getSeries").json()[0]["SeriesInstanceUID"]
        lifetime = dt.timedelta(seconds=2)
        token = idn.issue_session(archive.engine, alice, access_ttl=lifetime).access_token
        expires = time.monotonic() + lifetime.total_seconds()
        received = bytearray()
        after_expiry = 0
        with http.stream(
            "GET",
            "/nbia-api/services/v2/getImage",
            params={"SeriesInstanceUID": series},
            headers=bearer(token),
        ) as download:
            assert download.status_code == 200
            chunks = download.iter_bytes(64 * 1024)
            received += next(chunks)
            time.sleep(max(0.0, expires - time.monotonic()) + 0.5)
            refused = http.get("/nbia-api/services/v2/getCollectionValues", headers=bearer(token))
            assert refused.status_code == 401
            assert 'error="invalid_token"' in refused.headers["www-authenticate"]
            for chunk in chunks:
                received += chunk
                after_expiry += len(chunk)
                time.sleep(0.002)
    with zipfile.ZipFile(io.BytesIO(bytes(received))) as archive_zip:
        assert archive_zip.testzip() is None
        assert len([name for name in archive_zip.namelist() if name.endswith(".dcm")]) == 600
    assert after_expiry > 8 * 1024 * 1024
