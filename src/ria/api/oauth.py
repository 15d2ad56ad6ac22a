"""``POST /nbia-api/oauth/token``: TCIA's token endpoint (OAuth 2.0 password and refresh grants).

TCIA's clients post a form — ``grant_type=password`` with ``username``, ``password`` and a
``client_id`` (``nbiaRestAPIClient`` with the published ``client_secret`` for the old NBIA
endpoint, ``nbia`` with ``scope=openid`` for its Keycloak successor) — and read
``access_token``, ``expires_in``, ``refresh_token`` and (Keycloak) ``id_token``. Ria answers
the same shape. The client id and secret are accepted whatever they are and kept nowhere:
they identify a program, not a person, and TCIA publishes its own.

Errors follow RFC 6749 §5.2 (``{"error", "error_description"}``, 400), not Ria's usual
body, because OAuth clients parse exactly that. A wrong password, an unknown user and a
disabled one get the same answer, so the endpoint cannot be used to find account names.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from ria.access.tokens import TokenPair, issue_session, refresh_session, sign_id_token
from ria.access.users import authenticate_password
from ria.api.deps import get_archive
from ria.api.openapi import OAUTH_ERRORS
from ria.api.origin import public_base_url
from ria.archive import Archive

__all__ = ["NO_STORE", "TOKEN_PATH", "oauth_error_body", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["Authentication"])

# RFC 6749 §5.1: token responses must not be cached anywhere.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FIELD = 1024

FormField = Annotated[str | None, Form()]
TOKEN_PATH = "/nbia-api/oauth/token"


def oauth_error_body(code: str, description: str) -> dict[str, str]:
    """RFC 6749 §5.2's error body; :mod:`ria.api.guards` answers it here too."""
    return {"error": code, "error_description": description}


def _error(code: str, description: str) -> JSONResponse:
    return JSONResponse(oauth_error_body(code, description), status_code=400, headers=NO_STORE)


def _id_token(request: Request, archive: Archive, pair: TokenPair, client_id: str) -> str:
    """An OpenID ID token (HS256, :func:`~ria.access.tokens.sign_id_token`): who signed in.

    Keycloak's clients read ``id_token`` from the answer (tcia_utils' ``getToken`` fails
    without it); none of TCIA's sends it back, and Ria never accepts it as a credential.
    """
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": public_base_url(request) + "/nbia-api/oauth",
        "sub": pair.user,
        "preferred_username": pair.user,
        "aud": client_id,
        "iat": now,
        "exp": now + pair.expires_in,
        "typ": "ID",
    }
    return sign_id_token(archive.settings.private_dir, claims)


def _answer(
    request: Request, archive: Archive, pair: TokenPair, scope: str | None, client_id: str
) -> JSONResponse:
    scopes = (scope or "").split()
    body: dict[str, object] = {
        "access_token": pair.access_token,
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
        "refresh_token": pair.refresh_token,
        "token_type": "bearer",
        "not-before-policy": 0,
        "scope": " ".join(scopes) if scopes else "read",
    }
    if "openid" in scopes:
        body["id_token"] = _id_token(request, archive, pair, client_id)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    TOKEN_PATH,
    summary="Sign in (grant_type=password) or refresh (grant_type=refresh_token); OAuth 2.0 form post",
    responses=OAUTH_ERRORS,
)
def token(
    request: Request,
    archive: Annotated[Archive, Depends(get_archive)],
    grant_type: FormField = None,
    username: FormField = None,
    password: FormField = None,
    refresh_token: FormField = None,
    client_id: FormField = None,
    scope: FormField = None,
) -> JSONResponse:
    """Issue an access token (1 hour) and a refresh token (30 days, single use: rotated on refresh)."""
    fields = (grant_type, username, password, refresh_token, client_id, scope)
    if any(value is not None and len(value) > _MAX_FIELD for value in fields):
        return _error("invalid_request", f"form fields are limited to {_MAX_FIELD} characters")
    client = client_id or "unknown"
    if grant_type is None:
        return _error("invalid_request", "grant_type is required (password or refresh_token)")
    if grant_type == "password":
        if not username or password is None:
            return _error("invalid_request", "grant_type=password needs username and password")
        user = authenticate_password(archive.engine, username, password)
        if user is None:
            log.info("token endpoint: a password sign-in was refused")
            return _error("invalid_grant", "invalid user credentials")
        return _answer(request, archive, issue_session(archive.engine, user), scope, client)
    if grant_type == "refresh_token":
        if not refresh_token:
            return _error("invalid_request", "grant_type=refresh_token needs refresh_token")
        pair = refresh_session(archive.engine, refresh_token)
        if pair is None:
            return _error("invalid_grant", "the refresh token is unknown, expired, revoked or already used")
        return _answer(request, archive, pair, scope, client)
    return _error(
        "unsupported_grant_type", f"grant_type {grant_type[:40]!r} is not supported (password, refresh_token)"
    )
