"""``POST /api/v1/tokens/revoke`` on a live server: the token named as JSON or as a form, on both databases.

A body the endpoint cannot read is a 400 naming the problem — never a silent fall back to
revoking the caller's own session, which is what a JSON body used to get.
"""

from __future__ import annotations

import httpx
import pytest

from ria.access import identity as idn
from ria.archive import Archive
from tests.api.conftest import bearer

REVOKE = "/api/v1/tokens/revoke"


def alive(client: httpx.Client, token: str) -> bool:
    status = client.get("/api/v1/me", headers=bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


@pytest.mark.parametrize("spelling", ["json", "form"])
def test_the_named_token_is_revoked_and_the_callers_session_survives(
    client: httpx.Client, archive: Archive, alice: idn.User, spelling: str
) -> None:
    session = idn.issue_session(archive.engine, alice)
    script = idn.issue_api_token(archive.engine, "alice", actor="ops", name="script")
    other = idn.issue_api_token(archive.engine, "alice", actor="ops", name="other")
    body = {"json": {"token": script}} if spelling == "json" else {"data": {"token": script}}
    answer = client.post(REVOKE, headers=bearer(session.access_token), **body)  # type: ignore[arg-type]
    assert (answer.status_code, answer.json()) == (200, {"revoked": True})
    sent = answer.request.headers["content-type"]
    assert sent == ("application/json" if spelling == "json" else "application/x-www-form-urlencoded")
    assert not alive(client, script)
    assert alive(client, session.access_token) and alive(client, other)
    assert idn.refresh_session(archive.engine, session.refresh_token) is not None


def test_a_json_body_without_a_token_signs_the_caller_out(
    client: httpx.Client, archive: Archive, alice: idn.User
) -> None:
    session = idn.issue_session(archive.engine, alice)
    script = idn.issue_api_token(archive.engine, "alice", actor="ops")
    answer = client.post(REVOKE, json={}, headers=bearer(session.access_token))
    assert (answer.status_code, answer.json()) == (200, {"revoked": True})
    assert not alive(client, session.access_token) and alive(client, script)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "parameter", "message"),
    [
        ("application/json", b'{"token": ', 400, "body", "the body is not valid JSON: Expecting value"),
        ("application/json", b'["ria_at_x"]', 400, "body", "the JSON body must be an object"),
        ("application/json", b'{"token": 42}', 400, "token", "token must be a non-empty string"),
        ("application/json", b'{"token": ""}', 400, "token", "token must be a non-empty string"),
        ("application/x-www-form-urlencoded", b"token", 400, "body", "the body is not a valid form"),
        ("application/x-www-form-urlencoded", b"token=a&token=b", 400, "token", "given more than once"),
        ("application/x-www-form-urlencoded", b"x" * 5000, 400, "body", "larger than 4096 bytes"),
        ("text/plain", b"ria_at_x", 415, None, "send the token as application/json or"),
    ],
)
def test_a_malformed_body_is_a_precise_error_and_revokes_nothing(
    client: httpx.Client,
    archive: Archive,
    alice: idn.User,
    content_type: str,
    body: bytes,
    status: int,
    parameter: str | None,
    message: str,
) -> None:
    session = idn.issue_session(archive.engine, alice)
    headers = {**bearer(session.access_token), "Content-Type": content_type}
    answer = client.post(REVOKE, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["error"] == ("invalid_parameter" if status == 400 else "unsupported_media_type")
    assert message in error["message"]
    assert error.get("details", {}).get("parameter") == parameter
    assert alive(client, session.access_token)


def test_the_openapi_document_offers_both_spellings(client: httpx.Client) -> None:
    operation = client.get("/api/v1/openapi.json").json()["paths"][REVOKE]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    for media in content.values():
        assert media["schema"]["properties"]["token"]["type"] == "string"
