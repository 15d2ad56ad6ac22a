"""``POST /nbia-api/oauth/token`` on a live server, sent exactly what TCIA's clients send.

The installed ``tcia_utils`` (3.3) removed ``getToken``/``refreshToken`` ("no longer needed
with the new V4 API"), so their requests are replayed here with httpx, field for field, from
the last releases that had them: the Keycloak form (``client_id=nbia``, ``scope=openid``; the
client reads ``access_token``, ``expires_in``, ``id_token`` and ``refresh_token``) and the
older NBIA form (``client_id=nbiaRestAPIClient`` with TCIA's published ``client_secret``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat

import httpx
import jwt
import pytest

from ria.access import identity as idn
from ria.access.tokens import ID_TOKEN_KEY
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


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _signing_key(archive: Archive) -> bytes:
    """The key as the archive keeps it on disk, read here without Ria's code."""
    path = archive.settings.private_dir / ID_TOKEN_KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_bytes()


def _claims(token: str, key: bytes) -> dict[str, object]:
    """The ID token's claims, verified by PyJWT: HS256 only, this key, this audience, not expired."""
    decoded: dict[str, object] = jwt.decode(
        token, key, algorithms=["HS256"], audience="nbia", options={"require": ["exp", "iat", "sub"]}
    )
    return decoded


def test_the_keycloak_sign_in_tcia_utils_sent(client: httpx.Client, alice: str, archive: Archive) -> None:
    answer = _keycloak_sign_in(client, alice, PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    # Every key the client read, with the types it relied on.
    assert isinstance(body["access_token"], str) and body["access_token"].startswith("ria_at_")
    assert isinstance(body["refresh_token"], str) and body["refresh_token"].startswith("ria_rt_")
    assert body["expires_in"] == 3600 and body["refresh_expires_in"] == 30 * 86400
    assert body["token_type"] == "bearer" and body["scope"] == "openid"
    claims = _claims(body["id_token"], _signing_key(archive))
    assert (claims["sub"], claims["aud"], claims["preferred_username"]) == ("alice", "nbia", "alice")
    # The client then sent {'Authorization': 'Bearer ' + access_token}.
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.json() == {"name": "alice", "admin": False, "sites": ["05"], "grants": []}


def test_the_id_token_is_signed_hs256_with_the_archives_key(
    client: httpx.Client, alice: str, archive: Archive
) -> None:
    token = _keycloak_sign_in(client, alice, PASSWORD).json()["id_token"]
    key = _signing_key(archive)
    assert len(key) == 32
    header_b64, payload_b64, signature_b64 = token.split(".")
    assert json.loads(_unb64(header_b64)) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    # RFC 7515 §5.1 by hand: HMAC-SHA-256 over "header.payload" with the key on disk.
    expected = hmac.new(key, f"{header_b64}.{payload_b64}".encode("ascii"), hashlib.sha256).digest()
    assert hmac.compare_digest(_unb64(signature_b64), expected)
    claims = _claims(token, key)
    issued, expires = claims["iat"], claims["exp"]
    assert isinstance(issued, int) and expires == issued + 3600
    # The same key signs every sign-in (it is made once, then kept).
    again = _keycloak_sign_in(client, alice, PASSWORD).json()["id_token"]
    assert _claims(again, _signing_key(archive))["sub"] == "alice"


def test_a_verifier_rejects_forged_id_tokens(client: httpx.Client, alice: str, archive: Archive) -> None:
    token = _keycloak_sign_in(client, alice, PASSWORD).json()["id_token"]
    key = _signing_key(archive)
    header_b64, payload_b64, _ = token.split(".")
    # The same claims with "alg": "none" and no signature (what Ria used to send).
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload_b64}."
    with pytest.raises(jwt.InvalidTokenError):
        _claims(unsigned, key)
    # Claims changed to another user, the signature kept.
    claims = json.loads(_unb64(payload_b64))
    claims["sub"] = claims["preferred_username"] = "root"
    tampered = f"{header_b64}.{_b64(json.dumps(claims).encode())}.{token.split('.')[2]}"
    with pytest.raises(jwt.InvalidSignatureError):
        _claims(tampered, key)
    # Signed with another key, as anyone could sign it without the archive's.
    with pytest.raises(jwt.InvalidSignatureError):
        _claims(jwt.encode(claims, bytes(32), algorithm="HS256"), key)
    with pytest.raises(jwt.InvalidSignatureError):
        _claims(token, bytes(reversed(key)))


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
