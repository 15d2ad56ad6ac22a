"""Dependencies routes share: the Archive lives on ``app.state``, set once by :func:`create_app`;
the caller's :class:`~ria.access.Principal` is resolved once per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ria.access import ANONYMOUS, Principal
from ria.access.tokens import principal_for_token
from ria.archive import Archive
from ria.errors import UnauthorizedError

__all__ = ["ArchiveDep", "PrincipalDep", "get_archive", "get_principal", "require_user"]


def get_archive(request: Request) -> Archive:
    archive = request.app.state.archive
    assert isinstance(archive, Archive)
    return archive


def get_principal(request: Request) -> Principal:
    """Who is calling: the holder of the ``Authorization: Bearer`` token, or :data:`~ria.access.ANONYMOUS`.

    A token that is unknown, expired or revoked is a 401, never a silent downgrade to
    anonymous: the client must learn its token died (and refresh it) rather than see less.
    Resolved once, when the request starts, so a download under way outlives its token.
    """
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "the Authorization header must be 'Bearer <token>'",
            challenge='Bearer realm="ria", error="invalid_token"',
        )
    principal = principal_for_token(get_archive(request).engine, token.strip())
    if principal is None:
        raise UnauthorizedError(
            "the bearer token is unknown, expired or revoked: refresh it or sign in again",
            challenge='Bearer realm="ria", error="invalid_token"',
        )
    return principal


def require_user(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The caller, who must have signed in (TCIA's v2 API, ``/api/v1/me``); anonymous is a 401."""
    if principal.is_anonymous:
        raise UnauthorizedError(
            "this endpoint needs a bearer token: get one from POST /nbia-api/oauth/token "
            "(or ria users token) and send it as 'Authorization: Bearer <token>'"
        )
    return principal


ArchiveDep = Annotated[Archive, Depends(get_archive)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
"""A route parameter of this type receives the caller: every catalogue query needs one."""
