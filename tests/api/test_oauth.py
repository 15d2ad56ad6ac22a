"""``POST /nbia-api/oauth/token`` on a live server, sent exactly what TCIA's clients send.

The installed ``tcia_utils`` (3.3) removed ``getToken``/``refreshToken`` ("no longer needed
with the new V4 API"), so their requests are replayed here with httpx, field for field, from
the last releases that had them: the Keycloak form (``client_id=nbia``, ``scope=openid``; the
client reads ``access_token``, ``expires_in``, ``id_token`` and ``refresh_token``) and the
older NBIA form (``client_id=nbiaRestAPIClient`` with TCIA's published ``client_secret``).
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from ria.access import identity as idn
from ria.archive import Archive
from tests.api.conftest import LiveServer

PASSWORD = "correct horse battery"
TOKEN_PATH = "/nbia-api/oauth/token"


@pytest.fixture
def alice(archive: Archive) -> str:
    idn.add_user(archive.engine, "alice", PASSWORD, actor="ops")
    idn.add_user_to_site(archive.engine, "alice", "05", actor="ops")
    return "alice"


def _keycloak_sign_in(client: httpx.Client, user: str, password: str) -> httpx.Response:
    """What tcia_utils.nbia.getToken(user=..., pw=...) posted (tcia_utils 1.5 - 3.2)."""
    form = {
        "client_id": "nbia",
        "scope": "openid",
        "grant_type": "password",
        "username": user,
        "password": password,
    }
    return client.post(TOKEN_PATH, data=form)


def _claims(jwt: str) -> dict[str, object]:
    payload = jwt.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def test_the_keycloak_sign_in_tcia_utils_sent(client: httpx.Client, alice: str) -> None:
    answer = _keycloak_sign_in(client, alice, PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    # Every key the client read, with the types it relied on.
    assert isinstance(body["access_token"], str) and body["access_token"].startswith("ria_at_")
    assert isinstance(body["refresh_token"], str) and body["refresh_token"].startswith("ria_rt_")
    assert body["expires_in"] == 3600 and body["refresh_expires_in"] == 30 * 86400
    assert body["token_type"] == "bearer" and body["scope"] == "openid"
    claims = _claims(body["id_token"])
    assert (claims["sub"], claims["aud"], claims["preferred_username"]) == ("alice", "nbia", "alice")
    # The client then sent {'Authorization': 'Bearer ' + access_token}.
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.json() == {"name": "alice", "admin": False, "sites": ["05"], "grants": []}


def test_the_older_nbia_sign_in(client: httpx.Client, alice: str) -> None:
    form = {
        "client_id": "nbiaRestAPIClient",
        "client_secret": "ItsBetweenUAndMe",
        "grant_type": "password",
        "username": alice,
        "password": PASSWORD,
    }
    body = client.post(TOKEN_PATH, data=form).json()
    assert {"access_token", "refresh_token", "expires_in"} <= set(body) and "id_token" not in body


def test_refresh_rotates_and_replay_is_refused(client: httpx.Client, alice: str) -> None:
    first = _keycloak_sign_in(client, alice, PASSWORD).json()
    # What tcia_utils.nbia.refreshToken() posted.
    refreshed = client.post(
        TOKEN_PATH,
        data={"client_id": "nbia", "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"] and "id_token" not in second
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Bearer " + second["access_token"]}).status_code
        == 200
    )
    replay = client.post(
        TOKEN_PATH, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The replay ended the whole sign-in: the rotated tokens are dead too.
    gone = client.get("/api/v1/me", headers={"Authorization": "Bearer " + second["access_token"]})
    assert gone.status_code == 401
    again = client.post(
        TOKEN_PATH, data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert again.json()["error"] == "invalid_grant"


def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.Client, alice: str, archive: Archive
) -> None:
    idn.add_user(archive.engine, "gone", PASSWORD, actor="ops")
    idn.disable_user(archive.engine, "gone", actor="ops")
    answers = [
        _keycloak_sign_in(client, alice, "not the password"),
        _keycloak_sign_in(client, "nobody", PASSWORD),
        _keycloak_sign_in(client, "gone", PASSWORD),
    ]
    assert {(a.status_code, a.text) for a in answers} == {
        (400, '{"error":"invalid_grant","error_description":"invalid user credentials"}')
    }


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "alice"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "x"}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "alice", "password": "x" * 5000}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "ria_rt_made-up"}, "invalid_grant"),
    ],
)
def test_errors_follow_rfc_6749(client: httpx.Client, alice: str, form: dict[str, str], error: str) -> None:
    answer = client.post(TOKEN_PATH, data=form)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == error and body["error_description"]


def test_a_json_body_is_an_invalid_request(client: httpx.Client, alice: str) -> None:
    answer = client.post(TOKEN_PATH, json={"grant_type": "password", "username": alice, "password": PASSWORD})
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_server_never_logs_secrets(
    server: LiveServer, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG"), httpx.Client(base_url=server.url) as http:
        token = _keycloak_sign_in(http, alice, PASSWORD).json()["access_token"]
        _keycloak_sign_in(http, alice, "a wrong password")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert PASSWORD not in logged and "a wrong password" not in logged and token not in logged
