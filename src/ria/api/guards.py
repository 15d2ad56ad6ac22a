"""Request guards that run before any route: text no catalogue can compare is refused up front.

A NUL character is legal in a URL (``%00``), a form and a JSON string, but PostgreSQL cannot hold or
compare it (``DataError``) while SQLite compares it happily, so the same question would answer 200 on
one catalogue and fail on the other. No DICOM value, UID, barcode or name contains NUL, so a request
carrying one is a 400 naming the parameter, on every catalogue, before any work is done. The body is
Ria's error body, except on OAuth's token endpoint, whose clients parse RFC 6749's (and whose OpenAPI
description says so).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ria.api.oauth import NO_STORE, TOKEN_PATH, oauth_error_body
from ria.errors import InvalidParameterError

__all__ = ["MAX_GUARDED_BODY", "NulGuard"]

MAX_GUARDED_BODY = 1 << 20
"""Form and JSON bodies up to this size are read and checked; larger ones (none of Ria's are) pass."""

_CHECKED_BODIES = ("application/x-www-form-urlencoded", "application/json")


class NulGuard:
    """ASGI middleware: a 400 naming the parameter whose text holds a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        named = _nul_in_url(scope)
        body: list[Message] = []
        if named is None and _body_is_checked(scope):
            body, complete = await _read_body(receive)
            if complete:
                named = _nul_in_body(scope, b"".join(m.get("body", b"") for m in body))
        if named is not None:
            await _refuse(named, scope, send)
            return
        if body:
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


def _nul_in_url(scope: Scope) -> str | None:
    if b"\x00" in unquote_to_bytes(scope.get("raw_path") or b""):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" not in query.lower() and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return "query"


def _body_is_checked(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    media = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1").lower()
    length = headers.get(b"content-length", b"")
    return media in _CHECKED_BODIES and length.isdigit() and int(length) <= MAX_GUARDED_BODY


async def _read_body(receive: Receive) -> tuple[list[Message], bool]:
    """The request's body messages (bounded by Content-Length, checked above), and whether it ended."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def _nul_in_body(scope: Scope, body: bytes) -> str | None:
    headers = dict(scope.get("headers", []))
    media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if media == b"application/json":
        try:
            return _nul_in_json(json.loads(body), "")
        except ValueError:
            return None  # not JSON: the route says so, with its own message
    if b"%00" not in body.lower() and b"\x00" not in body:
        return None
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "body"
    return "body"


def _nul_in_json(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return (where or "body") if "\x00" in value else None
    if isinstance(value, list):
        for item in value:
            if (found := _nul_in_json(item, where)) is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if "\x00" in str(key):
                return name.replace("\x00", "")
            if (found := _nul_in_json(item, name)) is not None:
                return found
    return None


async def _refuse(parameter: str, scope: Scope, send: Send) -> None:
    error = InvalidParameterError(
        parameter, f"parameter {parameter}: a NUL character is not allowed in any value Ria matches or stores"
    )
    answer: dict[str, Any] = error.to_json()
    headers = [(b"content-type", b"application/json")]
    if scope.get("path") == TOKEN_PATH:
        answer = oauth_error_body("invalid_request", error.message)
        headers += [(name.lower().encode(), value.encode()) for name, value in NO_STORE.items()]
    body = json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.http_status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands the route the body already read, then whatever comes next (a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
