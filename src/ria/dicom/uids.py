"""DICOM UID checks and generation."""

from __future__ import annotations

import hashlib
import re

__all__ = ["RIA_UID_ROOT", "UID_MAX_LENGTH", "UID_PATTERN", "derive_uid", "is_valid_uid"]

# A UUID-derived root (2.25 arc, ITU-T X.667) so Ria needs no registered root of its own.
RIA_UID_ROOT = "2.25."
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_UID_LENIENT = re.compile(r"^[0-9]+(\.[0-9]+)*$")
UID_PATTERN = _UID_LENIENT.pattern
"""What :func:`is_valid_uid` accepts by default, as a regular expression (declared in OpenAPI)."""
UID_MAX_LENGTH = 64


def is_valid_uid(value: str, *, strict: bool = False) -> bool:
    """True if ``value`` can be used as a UID.

    Lenient mode (the default, used when reading what sites send) accepts
    components with leading zeros, which real archives contain; strict mode
    follows PS3.5 §9.1 exactly. Both cap the length at 64 characters and allow
    only digits and dots, which is what makes UIDs safe in URLs and queries.
    """
    if not value or len(value) > UID_MAX_LENGTH:
        return False
    return bool((_UID if strict else _UID_LENIENT).fullmatch(value))


def derive_uid(*parts: str) -> str:
    """A deterministic, strictly valid UID under ``2.25`` derived from ``parts``.

    The same inputs always give the same UID, so regenerated corpora and
    re-run demos are idempotent.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    number = int.from_bytes(digest[:16], "big")
    return f"{RIA_UID_ROOT}{number}"
