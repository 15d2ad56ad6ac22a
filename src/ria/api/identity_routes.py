"""``GET /api/v1/me`` (who does this token speak for) and ``POST /api/v1/tokens/revoke`` (sign out).

``/me`` lets a user check what a token grants before a long job, instead of finding out
from a listing that is shorter than expected. Revocation follows RFC 7009's spirit: a
caller may end their own tokens only, and an unknown token is not an error (the answer
says ``revoked: false``), so the endpoint reveals nothing about other people's tokens.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request

from ria.access import Principal
from ria.access.tokens import revoke_token
from ria.api.deps import get_archive, require_user
from ria.api.openapi import errors
from ria.archive import Archive
from ria.errors import InvalidParameterError, UnsupportedMediaTypeError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["Identity"])

UserDep = Annotated[Principal, Depends(require_user)]


@router.get("/me", summary="The signed-in user: name, administrator or not, sites, granted collections")
def me(principal: UserDep) -> dict[str, object]:
    return {
        "name": principal.name,
        "admin": principal.is_admin,
        "sites": sorted(principal.sites),
        "grants": sorted(principal.grants),
    }


def _bearer(request: Request) -> str:
    return request.headers.get("authorization", "").strip().partition(" ")[2].strip()


_MAX_BODY = 4096  # a token is ~50 characters; anything this long is not a revocation request
_FORM = "application/x-www-form-urlencoded"
_BODY = {
    "required": False,
    "content": {
        media: {
            "schema": {
                "type": "object",
                "properties": {"token": {"type": "string", "description": "the token to revoke"}},
            }
        }
        for media in ("application/json", _FORM)
    },
}


def _named_in(data: object, media: str) -> str | None:
    """The ``token`` of a decoded body; a body of another shape is an error, never ignored."""
    if not isinstance(data, dict):
        raise InvalidParameterError("body", f"the {media} body must be an object with a token field")
    token = data.get("token")
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise InvalidParameterError("token", "token must be a non-empty string")
    return token.strip() if token is not None else None


async def named_token(request: Request) -> str | None:
    """The token a revocation names, as JSON (``{"token": ...}``) or as a form (RFC 7009's ``token=...``).

    Both spellings are accepted because clients follow either the OpenAPI description (JSON)
    or RFC 7009 (form); an unreadable body is a 400 rather than a silent fall back to the
    caller's own token, which would sign the caller out instead of revoking what was named.
    """
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            raise InvalidParameterError("body", f"the request body is larger than {_MAX_BODY} bytes")
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not body.strip():
        return None  # no body: the request's own token
    if media == "application/json" or media.endswith("+json"):
        try:
            return _named_in(json.loads(body), "JSON")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidParameterError("body", f"the body is not valid JSON: {exc}") from None
    if media == _FORM:
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidParameterError("body", f"the body is not a valid form: {exc}") from None
        if len(fields.get("token", [])) > 1:
            raise InvalidParameterError("token", "token is given more than once")
        return _named_in({k: v[0] for k, v in fields.items()}, "form")
    raise UnsupportedMediaTypeError(
        f"send the token as application/json or {_FORM}, not {media or 'a body without a Content-Type'}"
    )


@router.post(
    "/tokens/revoke",
    summary="Revoke one of your tokens (token as JSON or form; without it, the token of this request)",
    openapi_extra={"requestBody": _BODY},
    responses=errors(400, 415),
)
def revoke(
    request: Request,
    principal: UserDep,
    archive: Annotated[Archive, Depends(get_archive)],
    token: Annotated[str | None, Depends(named_token)],
) -> dict[str, object]:
    """An access or refresh token ends its whole sign-in (all refreshed from it); an API token only itself."""
    target = token or _bearer(request)
    assert principal.name is not None
    revoked = revoke_token(archive.engine, target, actor=principal.name, owner=principal.name)
    return {"revoked": revoked}
