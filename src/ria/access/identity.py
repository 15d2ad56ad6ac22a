"""Identity in one import: accounts, sites, grants, passwords and tokens.

The pieces live in small modules (:mod:`~ria.access.users`, :mod:`~ria.access.tokens`,
:mod:`~ria.access.passwords`, :mod:`~ria.access.audit`); interfaces (CLI, HTTP) import
them from here so they do not depend on how the core is split.
"""

from __future__ import annotations

from ria.access.audit import audit_events, record_event
from ria.access.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from ria.access.tokens import (
    ACCESS_TTL,
    REFRESH_TTL,
    TokenPair,
    issue_api_token,
    issue_session,
    principal_for_token,
    refresh_session,
    revoke_all,
    revoke_token,
    token_digest,
)
from ria.access.users import (
    User,
    UserInfo,
    add_user,
    add_user_to_site,
    authenticate_password,
    disable_user,
    grant,
    list_users,
    principal_for_user,
    revoke_grant,
    set_password,
    validate_user_name,
)

__all__ = [
    "ACCESS_TTL",
    "MIN_PASSWORD_LENGTH",
    "REFRESH_TTL",
    "TokenPair",
    "User",
    "UserInfo",
    "add_user",
    "add_user_to_site",
    "audit_events",
    "authenticate_password",
    "disable_user",
    "grant",
    "hash_password",
    "issue_api_token",
    "issue_session",
    "list_users",
    "principal_for_token",
    "principal_for_user",
    "record_event",
    "refresh_session",
    "revoke_all",
    "revoke_grant",
    "revoke_token",
    "set_password",
    "token_digest",
    "validate_user_name",
    "verify_password",
]
