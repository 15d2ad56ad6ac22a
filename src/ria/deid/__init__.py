"""De-identification: PS3.15 Annex E confidentiality profiles as data, and what Ria does with them.

:mod:`ria.deid.table` is Table E.1-1 (one edition, generated from the standard's DocBook);
:mod:`ria.deid.profiles` composes the Basic Profile with options into a :class:`Profile`
that tells the engine what to do with each attribute.
"""

from __future__ import annotations

from ria.deid.profiles import (
    BASIC_PROFILE_CODE,
    BURNED_IN_ANNOTATION,
    OPTION_CODES,
    PROFILE_ALIASES,
    SHORT_NAMES,
    MethodCode,
    Profile,
    SafePrivateList,
)
from ria.deid.table import (
    Action,
    AttributeType,
    Code,
    ConfidentialityTable,
    Option,
    ProfileRow,
    TableError,
    TagPattern,
    default_table,
    load_table,
)

__all__ = [
    "BASIC_PROFILE_CODE",
    "BURNED_IN_ANNOTATION",
    "OPTION_CODES",
    "PROFILE_ALIASES",
    "SHORT_NAMES",
    "Action",
    "AttributeType",
    "Code",
    "ConfidentialityTable",
    "MethodCode",
    "Option",
    "Profile",
    "ProfileRow",
    "SafePrivateList",
    "TableError",
    "TagPattern",
    "default_table",
    "load_table",
]
