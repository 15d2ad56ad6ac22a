"""How the matrix reads a response: every byte a client could see, and a form that can be compared."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping

import httpx

from tests.access.leaks.routes import Req
from tests.access.leaks.world import Target

# Moments a response is stamped with: two calls a millisecond apart differ in these and nothing else.
_STAMPS = (
    (re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"), b"{time}"),
    (re.compile(rb"-\d{13}\.tcia"), b"-{stamp}.tcia"),
)
# A mistyped name's hint ("did you mean TCGA-LUAD?", "known: …") is computed from the asked spelling
# and only the names the caller may see (ria.errors.unknown_value): it differs between two asked names
# by their spelling alone, as it would between two names that exist nowhere. That it never names what
# the caller may not see is what `found` checks on every response; here it is set aside.
_HINTS = (
    (re.compile(rb'; (did you mean [^"]*?\?|known: [^"]*|there is no [a-z ]+ here yet)"'), b'; {hint}"'),
    (re.compile(rb'"close_matches":\[[^\]]*\]'), b'"close_matches":[]'),
)
# Headers whose values differ between any two responses (time, length of echoed values, cookies' ids).
_VOLATILE = {"date", "content-length", "server", "etag", "content-disposition"}


def send(client: httpx.Client, req: Req, headers: Mapping[str, str]) -> httpx.Response:
    return client.request(
        req.method,
        req.url,
        params=dict(req.params),
        data=None if req.data is None else dict(req.data),
        json=req.json,
        headers={**req.headers, **headers},
    )


def exposed(response: httpx.Response) -> bytes:
    """Body, headers and — for a zip — every member's name and content, as one byte string."""
    parts = [response.content, *(f"{k}: {v}".encode() for k, v in response.headers.items())]
    if response.content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            for info in archive.infolist():
                parts.extend((info.filename.encode(), archive.read(info)))
    return b"\n".join(parts)


def found(text: bytes, tokens: Iterable[str]) -> list[str]:
    return sorted(token for token in tokens if token.encode() in text)


def comparable(response: httpx.Response, target: Target) -> tuple[int, str, bytes, list[str]]:
    """Status, media type, body and header names with the asked-for values replaced by placeholders.

    Two answers that are equal in this form tell the caller the same thing, whatever was asked.
    """
    body = response.content
    for value, placeholder in sorted(target.placeholders().items(), key=lambda kv: -len(kv[0])):
        body = body.replace(value.encode(), placeholder.encode())
    for pattern, stamp in (*_STAMPS, *_HINTS):
        body = pattern.sub(stamp, body)
    names = sorted(k for k in response.headers if k.lower() not in _VOLATILE)
    return response.status_code, response.headers.get("content-type", ""), body, names
