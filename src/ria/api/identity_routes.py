"""``GET /api/v1/me`` (who does this token speak for) and ``POST /api/v1/tokens/revoke`` (sign out).

``/me`` lets a user check what a token grants before a long job, instead of finding out
from a listing that is shorter than expected. Revocation follows RFC 7009's spirit: a
caller may end their own tokens only, and an unknown token is not an error (the answer
says ``revoked: false``), so the endpoint reveals nothing about other people's tokens.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from ria.access import Principal
from ria.access.tokens import revoke_token
from ria.api.deps import get_archive, require_user
from ria.archive import Archive

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


@router.post(
    "/tokens/revoke",
    summary="Revoke one of your tokens (form field token; without it, the token of this request)",
)
def revoke(
    request: Request,
    principal: UserDep,
    archive: Annotated[Archive, Depends(get_archive)],
    token: Annotated[str | None, Form()] = None,
) -> dict[str, object]:
    """An access or refresh token ends its whole sign-in (all refreshed from it); an API token only itself."""
    target = token or _bearer(request)
    assert principal.name is not None
    revoked = revoke_token(archive.engine, target, actor=principal.name, owner=principal.name)
    return {"revoked": revoked}
