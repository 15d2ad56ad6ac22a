"""PS3.15 Table E.1-1 as typed data: action codes, tag patterns, rows, options.

Why data and not code: the table is normative, long (655 rows in 2025e) and revised
several times a year. Ria ships it as a versioned JSON file generated from NEMA's own
DocBook source (``data/ps3.15-table-e.1-1-<edition>.json``, see ``data/README.md``) and
only *interprets* it here, so updating to a new edition is "regenerate, run the tests,
read the diff" — never "edit 600 lines of Python by hand".

What this module decides, and why:

* :class:`Action` parses the codes of Table E.1-1a (``D Z X K C U`` and the combinations
  ``Z/D X/Z X/D X/Z/D X/Z/U*``). A combination means "the first code, unless a later one is
  needed to keep the IOD valid": X for a Type 3 attribute, Z for Type 2, D (or U) for
  Type 1. Ria does not know every attribute's Type in every IOD, so
  :meth:`Action.resolve` without a Type picks the **last** code — the one that is valid
  whatever the Type. That is as protective as removal (a zero-length, dummy or remapped
  value carries no identifying information; Z itself allows a dummy value) and never
  breaks a Type 1 or Type 2 attribute. The cost is explicit: for an attribute that is
  Type 3 where it occurs, the standard would remove it and Ria keeps it empty or dummy.
  Callers that know the Type pass it and get the standard's exact choice.
* :class:`TagPattern` matches the table's tag notation: exact tags, ``x`` nibble
  wildcards such as ``(50xx,xxxx)`` and ``(60xx,3000)``, and the private row
  ``(gggg,eeee) where gggg is odd``.
* :func:`load_table` refuses a file it cannot interpret exactly — unknown action codes,
  unknown or missing columns, duplicate or overlapping tags — because a de-identifier that
  guesses is worse than one that stops.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ria.errors import ConfigurationError

__all__ = [
    "DEFAULT_TABLE_FILE",
    "FORMAT",
    "Action",
    "AttributeType",
    "Code",
    "ConfidentialityTable",
    "Option",
    "ProfileRow",
    "SafePrivateAttribute",
    "TableError",
    "TagPattern",
    "default_table",
    "load_table",
]

FORMAT = "ria-ps3.15-table-e.1-1/1"
DEFAULT_TABLE_FILE = "ps3.15-table-e.1-1-2025e.json"
# Groups with an odd number that PS3.5 §7.8.1 does not allow for private data elements.
_NOT_PRIVATE_ODD_GROUPS = frozenset({0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF})


class TableError(ConfigurationError):
    """The confidentiality table file cannot be interpreted exactly (names the row and the problem)."""

    code = "deidentification_table_error"


class Code(StrEnum):
    """One action of PS3.15 Table E.1-1a.

    A ``str`` so that ``code == "X"`` works wherever a plain action letter is expected.
    """

    D = "D"  # replace with a non-zero length (dummy) value consistent with the VR
    Z = "Z"  # replace with a zero-length value (or a dummy one)
    X = "X"  # remove; for a sequence, with all its items
    K = "K"  # keep; for a sequence, keep it and apply the profile to its items
    C = "C"  # clean: replace with values of similar meaning that do not identify
    U = "U"  # replace with a UID that is consistent within the set of instances


class AttributeType(IntEnum):
    """An attribute's Type in the IOD where it occurs (PS3.5 §7.4); 1C/2C count as 1/2 when required."""

    TYPE_1 = 1
    TYPE_2 = 2
    TYPE_3 = 3

    @classmethod
    def parse(cls, text: str) -> AttributeType:
        """``"1"``, ``"1C"``, ``"2"``, ``"2C"`` or ``"3"``, as written in PS3.3's module tables."""
        value = text.strip().upper().removesuffix("C")
        if value not in ("1", "2", "3"):
            raise ValueError(f"not an attribute Type: {text!r} (expected 1, 1C, 2, 2C or 3)")
        return cls(int(value))


# The combinations Table E.1-1a defines, and nothing else.
_COMBINATIONS = frozenset({"Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})


@dataclass(frozen=True)
class Action:
    """A cell of Table E.1-1: one code, or a Type-dependent combination such as ``X/Z/D``.

    ``uid_references`` is the asterisk of ``X/Z/U*``: the attribute is a sequence whose
    items carry UID references, and "U" means keeping the sequence while the contained
    instance UIDs are replaced (the profile's rules applied to the items do that).
    """

    codes: tuple[Code, ...]
    uid_references: bool = False

    def __post_init__(self) -> None:
        if self.text not in _COMBINATIONS and not (len(self.codes) == 1 and not self.uid_references):
            raise ValueError(f"not an action of PS3.15 Table E.1-1a: {self.text!r}")

    @classmethod
    def parse(cls, text: str) -> Action:
        """Parse ``"X"``, ``"X/Z/D"``, ``"X/Z/U*"``…; anything Table E.1-1a does not define is an error."""
        body = text.strip()
        starred = body.endswith("*")
        parts = body.removesuffix("*").split("/")
        try:
            codes = tuple(Code(part) for part in parts)
        except ValueError:
            raise ValueError(f"not an action of PS3.15 Table E.1-1a: {text!r}") from None
        return cls(codes, starred)

    @classmethod
    def of(cls, code: Code) -> Action:
        return cls((code,))

    @property
    def text(self) -> str:
        """The code as printed in the standard, e.g. ``X/Z/U*``."""
        return "/".join(self.codes) + ("*" if self.uid_references else "")

    @property
    def combined(self) -> bool:
        return len(self.codes) > 1

    def resolve(self, attribute_type: AttributeType | None = None) -> Code:
        """The single code to apply.

        With the attribute's Type, the standard's rule (Table E.1-1a): X if Type 3, else Z if
        Type 2 (or 3), else the last code (D, or U for ``X/Z/U*``). Without it, the last code:
        valid for any Type and no more revealing than removal (see the module docstring).
        """
        if len(self.codes) == 1:
            return self.codes[0]
        if attribute_type is AttributeType.TYPE_3 and Code.X in self.codes:
            return Code.X
        if attribute_type in (AttributeType.TYPE_2, AttributeType.TYPE_3) and Code.Z in self.codes:
            return Code.Z
        return self.codes[-1]

    def __str__(self) -> str:
        return self.text


class Option(StrEnum):
    """The options of PS3.15 E.3, in the order of their codes in CID 7050 (113101 to 113112).

    The value is Ria's stable long name. Two options (Clean Pixel Data, Clean Recognizable
    Visual Features) act on pixels and have no column in Table E.1-1.
    """

    CLEAN_PIXEL_DATA = "clean-pixel-data"
    CLEAN_RECOGNIZABLE_VISUAL_FEATURES = "clean-recognizable-visual-features"
    CLEAN_GRAPHICS = "clean-graphics"
    CLEAN_STRUCTURED_CONTENT = "clean-structured-content"
    CLEAN_DESCRIPTORS = "clean-descriptors"
    RETAIN_LONGITUDINAL_FULL_DATES = "retain-longitudinal-full-dates"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "retain-longitudinal-modified-dates"
    RETAIN_PATIENT_CHARACTERISTICS = "retain-patient-characteristics"
    RETAIN_DEVICE_IDENTITY = "retain-device-identity"
    RETAIN_UIDS = "retain-uids"
    RETAIN_SAFE_PRIVATE = "retain-safe-private"
    RETAIN_INSTITUTION_IDENTITY = "retain-institution-identity"

    @property
    def column(self) -> str | None:
        """This option's column key in the data file, or ``None`` for the pixel options."""
        return _COLUMN_KEYS.get(self)


_COLUMN_KEYS: Mapping[Option, str] = MappingProxyType(
    {
        Option.RETAIN_SAFE_PRIVATE: "retain_safe_private",
        Option.RETAIN_UIDS: "retain_uids",
        Option.RETAIN_DEVICE_IDENTITY: "retain_device_identity",
        Option.RETAIN_INSTITUTION_IDENTITY: "retain_institution_identity",
        Option.RETAIN_PATIENT_CHARACTERISTICS: "retain_patient_characteristics",
        Option.RETAIN_LONGITUDINAL_FULL_DATES: "retain_longitudinal_full_dates",
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: "retain_longitudinal_modified_dates",
        Option.CLEAN_DESCRIPTORS: "clean_descriptors",
        Option.CLEAN_STRUCTURED_CONTENT: "clean_structured_content",
        Option.CLEAN_GRAPHICS: "clean_graphics",
    }
)
_OPTION_BY_COLUMN = {key: option for option, key in _COLUMN_KEYS.items()}
# The data file's columns, in the standard's order (Table E.1-1, left to right).
_COLUMNS = (
    "name", "tag", "retired", "in_std_comp_iod", "basic", "retain_safe_private", "retain_uids",
    "retain_device_identity", "retain_institution_identity", "retain_patient_characteristics",
    "retain_longitudinal_full_dates", "retain_longitudinal_modified_dates", "clean_descriptors",
    "clean_structured_content", "clean_graphics",
)  # fmt: skip
_PATTERN = re.compile(r"\(([0-9A-Fa-fxX]{4}),([0-9A-Fa-fxX]{4})\)")
_PRIVATE_TEXT = "(gggg,eeee) where gggg is odd"


def _nibbles(text: str) -> tuple[int, int]:
    """(mask, value) of a 4-digit hex field in which ``x`` is any digit."""
    mask = value = 0
    for char in text:
        mask, value = mask << 4, value << 4
        if char not in "xX":
            mask |= 0xF
            value |= int(char, 16)
    return mask, value


@dataclass(frozen=True)
class TagPattern:
    """A Tag cell of Table E.1-1: an exact tag, a nibble-wildcard pattern, or "any odd group".

    Matching is done on masks, so each lookup is two ANDs and two compares.
    """

    text: str
    group_mask: int
    group_value: int
    element_mask: int
    element_value: int
    odd_group: bool = False

    @classmethod
    def parse(cls, text: str) -> TagPattern:
        """``(0010,0010)``, ``(50xx,xxxx)``, ``(60xx,3000)`` or ``(gggg,eeee) where gggg is odd``."""
        if text.strip().lower() == _PRIVATE_TEXT:
            return cls(_PRIVATE_TEXT, 0, 0, 0, 0, odd_group=True)
        match = _PATTERN.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"not a tag or tag pattern of PS3.15 Table E.1-1: {text!r}")
        group_mask, group_value = _nibbles(match.group(1))
        element_mask, element_value = _nibbles(match.group(2))
        canonical = f"({match.group(1).upper().replace('X', 'x')},{match.group(2).upper().replace('X', 'x')})"
        return cls(canonical, group_mask, group_value, element_mask, element_value)

    @property
    def exact(self) -> int | None:
        """The tag as an int if the pattern has no wildcard, else ``None``."""
        if self.odd_group or self.group_mask != 0xFFFF or self.element_mask != 0xFFFF:
            return None
        return self.group_value << 16 | self.element_value

    def matches(self, tag: int) -> bool:
        group, element = tag >> 16, tag & 0xFFFF
        if self.odd_group:
            return group % 2 == 1
        return (
            group & self.group_mask == self.group_value and element & self.element_mask == self.element_value
        )

    def overlaps(self, other: TagPattern) -> bool:
        """True if some tag matches both wildcard patterns (used to refuse ambiguous tables)."""
        if self.odd_group or other.odd_group:
            raise ValueError("the odd-group pattern is resolved before any other; it is not compared")

        def meets(mask_a: int, value_a: int, mask_b: int, value_b: int) -> bool:
            common = mask_a & mask_b
            return value_a & common == value_b & common

        return meets(self.group_mask, self.group_value, other.group_mask, other.group_value) and meets(
            self.element_mask, self.element_value, other.element_mask, other.element_value
        )

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ProfileRow:
    """One row of Table E.1-1: the Basic Profile's action and each option's override."""

    name: str
    tag: TagPattern
    retired: bool
    in_std_comp_iod: bool
    basic: Action
    options: Mapping[Option, Action] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[int, ...] = ()


@dataclass(frozen=True)
class SafePrivateAttribute:
    """A row of PS3.15 Table E.3.10-1: a private attribute the standard lists as thought to be safe.

    ``element_offset`` is the low byte of the element number (the ``ee`` of ``(gggg,xxee)``):
    the high byte depends on which block the private creator reserved in each file.
    """

    group: int
    element_offset: int
    private_creator: str
    vr: str
    vm: str
    meaning: str

    @property
    def tag_text(self) -> str:
        return f"({self.group:04X},xx{self.element_offset:02X})"


@dataclass(frozen=True, eq=False)
class ConfidentialityTable:
    """Table E.1-1 of one edition, with lookups by tag."""

    edition: str
    source: Mapping[str, Any]
    action_codes: Mapping[str, str]
    rows: tuple[ProfileRow, ...]
    safe_private_attributes: tuple[SafePrivateAttribute, ...] = ()
    _exact: Mapping[int, ProfileRow] = field(init=False, repr=False, compare=False)
    _patterns: tuple[ProfileRow, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact = {row.tag.exact: row for row in self.rows if row.tag.exact is not None}
        object.__setattr__(self, "_exact", MappingProxyType(exact))
        object.__setattr__(self, "_patterns", tuple(row for row in self.rows if row.tag.exact is None))

    def row_for(self, tag: int) -> ProfileRow | None:
        """The row whose Tag cell matches ``tag``.

        An odd group is always the private row, even where a repeating-group pattern such as
        ``(60xx,3000)`` would also match: those patterns stand for the even groups 6000-601E
        (PS3.5 §7.6), while every odd group is private (PS3.5 §7.8.1) or not allowed at all.
        Load-time checks guarantee that no other tag matches two rows.
        """
        if tag >> 16 & 1:
            return self.private_row
        row = self._exact.get(tag)
        if row is not None:
            return row
        for candidate in self._patterns:
            if not candidate.tag.odd_group and candidate.tag.matches(tag):
                return candidate
        return None

    @property
    def private_row(self) -> ProfileRow:
        """The ``(gggg,eeee) where gggg is odd`` row."""
        for row in self._patterns:
            if row.tag.odd_group:
                return row
        raise TableError(f"the {self.edition} table has no private attributes row")

    def __len__(self) -> int:
        return len(self.rows)


def is_private_group(group: int) -> bool:
    """Odd groups other than 0001, 0003, 0005, 0007 and FFFF hold private data elements (PS3.5 §7.8.1)."""
    return group % 2 == 1 and group not in _NOT_PRIVATE_ODD_GROUPS


def _row(raw: Mapping[str, Any], index: int) -> ProfileRow:
    where = f"row {index + 1} ({raw.get('tag', '?')} {raw.get('name', '?')})"
    unknown = set(raw) - {"name", "tag", "retired", "in_std_comp_iod", "basic", "options", "notes"}
    if unknown:
        raise TableError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        name, tag_text, basic = str(raw["name"]).strip(), str(raw["tag"]), str(raw["basic"])
        retired, in_iod, options = raw["retired"], raw["in_std_comp_iod"], raw["options"]
    except KeyError as exc:
        raise TableError(f"{where}: missing {exc.args[0]!r}") from None
    if (
        not name
        or not isinstance(retired, bool)
        or not isinstance(in_iod, bool)
        or not isinstance(options, dict)
    ):
        raise TableError(f"{where}: name must be text, retired/in_std_comp_iod booleans, options an object")
    try:
        tag = TagPattern.parse(tag_text)
        action = Action.parse(basic)
    except ValueError as exc:
        raise TableError(f"{where}: {exc}") from None
    parsed: dict[Option, Action] = {}
    for key, value in options.items():
        option = _OPTION_BY_COLUMN.get(key)
        if option is None:
            raise TableError(f"{where}: unknown option column {key!r}")
        if value not in (Code.K, Code.C):
            # Options in the standard only keep (K) or clean (C); anything else needs a decision on
            # precedence between options (see ria.deid.profiles) before Ria may use it.
            raise TableError(f"{where}: option {key} has action {value!r}; only K and C are understood")
        parsed[option] = Action.parse(value)
    notes = tuple(int(n) for n in raw.get("notes", ()))
    return ProfileRow(name, tag, retired, in_iod, action, MappingProxyType(parsed), notes)


def _safe_private(raw: Mapping[str, Any], index: int) -> SafePrivateAttribute:
    where = f"safe private attribute {index + 1} ({raw.get('tag', '?')})"
    match = re.fullmatch(r"\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)", str(raw.get("tag", "")))
    creator = str(raw.get("private_creator", "")).strip()
    if match is None or not creator:
        raise TableError(f"{where}: expected a (gggg,xxee) tag and a private creator")
    group = int(match.group(1), 16)
    if not is_private_group(group):
        raise TableError(f"{where}: group {group:04X} is not a private group")
    return SafePrivateAttribute(
        group, int(match.group(2), 16), creator, str(raw.get("vr", "")), str(raw.get("vm", "")),
        str(raw.get("meaning", "")),
    )  # fmt: skip


def _check_unambiguous(rows: tuple[ProfileRow, ...]) -> None:
    """Every tag must match at most one row, else the lookup would depend on row order."""
    if sum(1 for row in rows if row.tag.odd_group) != 1:
        raise TableError("the table must have exactly one '(gggg,eeee) where gggg is odd' row")
    seen: dict[int, ProfileRow] = {}
    patterns: list[ProfileRow] = []
    for row in rows:
        exact = row.tag.exact
        if row.tag.odd_group:
            continue
        if exact is None:
            for other in patterns:
                if row.tag.overlaps(other.tag):
                    raise TableError(f"tag patterns {other.tag} and {row.tag} overlap")
            patterns.append(row)
        elif exact in seen:
            raise TableError(f"duplicate tag {row.tag}: {seen[exact].name!r} and {row.name!r}")
        elif exact >> 16 & 1:
            raise TableError(f"tag {row.tag} ({row.name}) is in an odd group, which the private row covers")
        else:
            seen[exact] = row
    for exact, row in seen.items():
        for pattern in patterns:
            if pattern.tag.matches(exact):
                raise TableError(f"tag {row.tag} ({row.name}) also matches pattern {pattern.tag}")


def parse_table(document: Mapping[str, Any]) -> ConfidentialityTable:
    """Validate and type a table document (the JSON object of a data file)."""
    if document.get("format") != FORMAT:
        raise TableError(f"unknown table format {document.get('format')!r}, expected {FORMAT!r}")
    edition = str(document.get("edition", ""))
    if not re.fullmatch(r"\d{4}[a-e]", edition):
        raise TableError(f"the table does not record a standard edition such as '2025e' (found {edition!r})")
    columns = tuple(column.get("key") for column in document.get("columns", ()))
    if columns != _COLUMNS:
        raise TableError(f"the table's columns {columns} are not Table E.1-1's {_COLUMNS}")
    codes = document.get("action_codes", {})
    known = {code.value for code in Code} | _COMBINATIONS
    if set(codes) != known:
        raise TableError(f"the table defines action codes {sorted(codes)}; Ria understands {sorted(known)}")
    rows = tuple(_row(raw, index) for index, raw in enumerate(document.get("rows", ())))
    if not rows:
        raise TableError("the table has no rows")
    _check_unambiguous(rows)
    safe = tuple(_safe_private(raw, i) for i, raw in enumerate(document.get("safe_private_attributes", ())))
    keys = [(s.group, s.element_offset, s.private_creator) for s in safe]
    if len(set(keys)) != len(keys):
        raise TableError("duplicate entries in the safe private attributes")
    source = MappingProxyType(dict(document.get("source", {})))
    return ConfidentialityTable(edition, source, MappingProxyType(dict(codes)), rows, safe)


def load_table(path: str | Path | None = None) -> ConfidentialityTable:
    """Load and validate a table file; without ``path``, the edition Ria ships (``DEFAULT_TABLE_FILE``)."""
    if path is None:
        text = (
            resources.files("ria.deid")
            .joinpath("data")
            .joinpath(DEFAULT_TABLE_FILE)
            .read_text(encoding="utf-8")
        )
        where = DEFAULT_TABLE_FILE
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TableError(f"{where} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise TableError(f"{where} is not a table document")
    return parse_table(document)


@functools.cache
def default_table() -> ConfidentialityTable:
    """The shipped table, parsed once per process (it is immutable, so sharing it is safe)."""
    return load_table()
