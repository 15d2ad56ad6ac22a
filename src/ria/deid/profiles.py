"""De-identification profiles: the Basic Profile plus chosen options, resolved per attribute.

A :class:`Profile` is what ``ria ingest --deidentify PROFILE`` names and what a collection
records: the PS3.15 Basic Application Level Confidentiality Profile plus a set of
:class:`~ria.deid.table.Option`. It answers one question for the engine —
"what do I do with this attribute?" — from Table E.1-1 (:mod:`ria.deid.table`) and from
the rules for what the table does not list, each taken from PS3.15 (2025e) and named here:

1. **Private attributes** (odd groups; the table's ``(gggg,eeee) where gggg is odd`` row):
   removed (X). With Retain Safe Private the row says C, which E.3.10 defines as "keep what
   is known to be safe, remove the rest": Ria keeps (K) exactly the entries of the
   profile's :class:`SafePrivateList` (empty unless the caller passes one) and removes
   everything else. The engine must pass each element's private creator.
2. **Table rows**: the Basic Profile's action, overridden by a selected option wherever
   that option's column has an action ("A requirement for an Option, when implemented,
   overrides any requirement for the underlying Profile", E.1.1). When two selected
   options both have an action for a row, C beats K: cleaning keeps information of
   similar meaning, so it honours the retaining option and the cleaning/modifying one,
   whereas K would break the latter (e.g. Retain Device Identity K vs Retain Longitudinal
   Modified Dates C on Date of Last Calibration).
3. **Overlay planes** (even groups 60xx): the table lists Overlay Data and Overlay
   Comments (X, or C with Clean Graphics). Without Overlay Data the rest of an overlay
   group describes a plane that no longer exists (an incomplete Overlay Plane Module),
   so Ria removes the whole group unless Clean Graphics is selected (then the listed
   elements are cleaned and the others kept). Curves ``(50xx,xxxx)`` are one table row.
4. **Group 0004** (directory records): removed, as E.1.1 requires for anything but a
   DICOMDIR file.
5. **Dates and times the table does not list** (VR DA, DT or TM): treated like the table's
   own date rows — X/Z/D, K with full dates, C with modified dates — as Note 4 of E.1.1
   suggests, because new date attributes keep being added to the standard.
6. Everything else: K (the profile retains what it does not list; on a sequence K means
   "keep it and apply the profile to its items").

Combined actions are resolved without the attribute's Type by the rule of
:meth:`ria.deid.table.Action.resolve` (the last code: valid for any Type).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Final

from ria.deid.table import (
    Action,
    AttributeType,
    Code,
    ConfidentialityTable,
    Option,
    ProfileRow,
    SafePrivateAttribute,
    TagPattern,
    default_table,
    is_private_group,
)
from ria.errors import InvalidParameterError

__all__ = [
    "BASIC_PROFILE_CODE",
    "BURNED_IN_ANNOTATION",
    "DEIDENTIFICATION_METHOD",
    "DEIDENTIFICATION_METHOD_CODE_SEQUENCE",
    "LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED",
    "OPTION_CODES",
    "PATIENT_IDENTITY_REMOVED",
    "PIXEL_OPTIONS",
    "PROFILE_ALIASES",
    "RECOGNIZABLE_VISUAL_FEATURES",
    "SHORT_NAMES",
    "MethodCode",
    "Profile",
    "SafePrivateList",
    "row_action",
]

# Attributes the engine writes or inspects around de-identification (PS3.15 E.1.1, E.2, E.3.1, E.3.2, E.3.6).
BURNED_IN_ANNOTATION: Final = 0x00280301  # "NO" only once burned-in text is known to be absent or removed
RECOGNIZABLE_VISUAL_FEATURES: Final = 0x00280302
LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED: Final = 0x00280303
PATIENT_IDENTITY_REMOVED: Final = 0x00120062
DEIDENTIFICATION_METHOD: Final = 0x00120063
DEIDENTIFICATION_METHOD_CODE_SEQUENCE: Final = 0x00120064
_OVERLAY_GROUP_MASK, _OVERLAY_GROUP = 0xFF01, 0x6000  # even groups 6000-60FE, as the table's 60xx
_DIRECTORY_GROUP = 0x0004
_DATE_TIME_VRS = frozenset({"DA", "DT", "TM"})


@dataclass(frozen=True)
class MethodCode:
    """A coded entry for De-identification Method Code Sequence (0012,0064): PS3.16 CID 7050."""

    value: str
    meaning: str
    scheme: str = "DCM"


BASIC_PROFILE_CODE: Final = MethodCode("113100", "Basic Application Confidentiality Profile")
# PS3.16 CID 7050 "De-identification Method". tests/deid/test_profiles.py checks them against pydicom's
# PS3.16 concept dictionary; pymedphys' transcription of CID 7050 (PS3.16 2026d) has the same codes.
OPTION_CODES: Final[Mapping[Option, MethodCode]] = MappingProxyType(
    {
        Option.CLEAN_PIXEL_DATA: MethodCode("113101", "Clean Pixel Data Option"),
        Option.CLEAN_RECOGNIZABLE_VISUAL_FEATURES: MethodCode(
            "113102", "Clean Recognizable Visual Features Option"
        ),
        Option.CLEAN_GRAPHICS: MethodCode("113103", "Clean Graphics Option"),
        Option.CLEAN_STRUCTURED_CONTENT: MethodCode("113104", "Clean Structured Content Option"),
        Option.CLEAN_DESCRIPTORS: MethodCode("113105", "Clean Descriptors Option"),
        Option.RETAIN_LONGITUDINAL_FULL_DATES: MethodCode(
            "113106", "Retain Longitudinal Temporal Information Full Dates Option"
        ),
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: MethodCode(
            "113107", "Retain Longitudinal Temporal Information Modified Dates Option"
        ),
        Option.RETAIN_PATIENT_CHARACTERISTICS: MethodCode("113108", "Retain Patient Characteristics Option"),
        Option.RETAIN_DEVICE_IDENTITY: MethodCode("113109", "Retain Device Identity Option"),
        Option.RETAIN_UIDS: MethodCode("113110", "Retain UIDs Option"),
        Option.RETAIN_SAFE_PRIVATE: MethodCode("113111", "Retain Safe Private Option"),
        Option.RETAIN_INSTITUTION_IDENTITY: MethodCode("113112", "Retain Institution Identity Option"),
    }
)
# Options that act on pixel data, not on attributes: a profile that names them obliges the engine to clean
# (or withhold) pixels before it may write their codes.
PIXEL_OPTIONS: Final = frozenset({Option.CLEAN_PIXEL_DATA, Option.CLEAN_RECOGNIZABLE_VISUAL_FEATURES})

# The short names accepted by --deidentify (the long names, Option values, work too).
SHORT_NAMES: Final[Mapping[str, Option]] = MappingProxyType(
    {
        "cpd": Option.CLEAN_PIXEL_DATA,
        "crvf": Option.CLEAN_RECOGNIZABLE_VISUAL_FEATURES,
        "cg": Option.CLEAN_GRAPHICS,
        "csc": Option.CLEAN_STRUCTURED_CONTENT,
        "cd": Option.CLEAN_DESCRIPTORS,
        "rlfd": Option.RETAIN_LONGITUDINAL_FULL_DATES,
        "rlmd": Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        "rpc": Option.RETAIN_PATIENT_CHARACTERISTICS,
        "rdi": Option.RETAIN_DEVICE_IDENTITY,
        "ruid": Option.RETAIN_UIDS,
        "rsp": Option.RETAIN_SAFE_PRIVATE,
        "rii": Option.RETAIN_INSTITUTION_IDENTITY,
    }
)
_SHORT_BY_OPTION = {option: short for short, option in SHORT_NAMES.items()}
_LONG_NAMES = frozenset(option.value for option in Option)
# Named sets of options. "tcia" is the set The Cancer Imaging Archive publishes for its submissions:
# "TCIA incorporates the Basic Application Confidentiality Profile which is amended by inclusion of the
# following profile options: Clean Pixel Data Option, Clean Descriptors Option, Retain Longitudinal With
# Modified Dates Option, Retain Patient Characteristics Option, Retain Device Identity Option, and Retain
# Safe Private Option" (TCIA wiki, "Submission and De-identification Overview", pageId=3539047, and the
# "De-identification Knowledge Base", pageId=4556123, which lists the same options).
PROFILE_ALIASES: Final[Mapping[str, frozenset[Option]]] = MappingProxyType(
    {
        "tcia": frozenset(
            {
                Option.CLEAN_PIXEL_DATA,
                Option.CLEAN_DESCRIPTORS,
                Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
                Option.RETAIN_PATIENT_CHARACTERISTICS,
                Option.RETAIN_DEVICE_IDENTITY,
                Option.RETAIN_SAFE_PRIVATE,
            }
        ),
    }
)
_EXCLUSIVE = frozenset({Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES})
# A date/time attribute the table does not list is handled like the table's own date rows.
_DATE_ROW = ProfileRow(
    name="(any DA, DT or TM attribute not in Table E.1-1)",
    tag=TagPattern("(xxxx,xxxx)", 0, 0, 0, 0),
    retired=False,
    in_std_comp_iod=False,
    basic=Action.parse("X/Z/D"),
    options=MappingProxyType(
        {
            Option.RETAIN_LONGITUDINAL_FULL_DATES: Action.of(Code.K),
            Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: Action.of(Code.C),
        }
    ),
)
_REMOVE, _KEEP, _CLEAN = Action.of(Code.X), Action.of(Code.K), Action.of(Code.C)


def _creator_key(creator: str) -> str:
    # Private Creator values are LO: leading/trailing spaces are padding, not content (PS3.5 §6.2).
    return creator.strip()


@dataclass(frozen=True)
class SafePrivateList:
    """Private attributes the curator vouches for, kept under Retain Safe Private.

    Each entry is (private creator, group, element offset): the offset is the ``ee`` of
    ``(gggg,xxee)``, because the block ``xx`` a creator reserves differs from file to file.
    Empty by default — nothing private is kept unless someone decided it is safe.
    :meth:`standard_sample` is PS3.15 Table E.3.10-1, which the standard itself calls a
    sample "thought to be safe" that vendors do not guarantee: opt in knowingly.
    """

    entries: frozenset[tuple[str, int, int]] = frozenset()

    @classmethod
    def of(cls, entries: Iterable[tuple[str, int, int]]) -> SafePrivateList:
        """From (private creator, group, element offset) triples; refuses non-private groups, bad offsets."""
        cleaned: set[tuple[str, int, int]] = set()
        for creator, group, offset in entries:
            if not is_private_group(group) or not 0 <= offset <= 0xFF or not _creator_key(creator):
                raise InvalidParameterError(
                    "safe_private", f"not a private attribute: ({group:04X},xx{offset:02X}) of {creator!r}"
                )
            cleaned.add((_creator_key(creator), group, offset))
        return cls(frozenset(cleaned))

    @classmethod
    def from_attributes(cls, attributes: Iterable[SafePrivateAttribute]) -> SafePrivateList:
        return cls.of((a.private_creator, a.group, a.element_offset) for a in attributes)

    @classmethod
    def standard_sample(cls, table: ConfidentialityTable | None = None) -> SafePrivateList:
        """PS3.15 Table E.3.10-1 of the table's edition (479 entries in 2025e)."""
        return cls.from_attributes((table or default_table()).safe_private_attributes)

    @cached_property
    def _creators(self) -> frozenset[tuple[str, int]]:
        return frozenset((creator, group) for creator, group, _ in self.entries)

    def allows(self, tag: int, private_creator: str | None) -> bool:
        """True if ``tag`` is a private data element of a listed (creator, group, offset)."""
        group, element = tag >> 16, tag & 0xFFFF
        if private_creator is None or element < 0x1000:
            return False
        return (_creator_key(private_creator), group, element & 0xFF) in self.entries

    def allows_creator(self, group: int, private_creator: str | None) -> bool:
        """True if a Private Creator element reserving a block for ``private_creator`` should be kept."""
        return private_creator is not None and (_creator_key(private_creator), group) in self._creators

    def __len__(self) -> int:
        return len(self.entries)


def row_action(row: ProfileRow, options: Iterable[Option]) -> Action:
    """A row's action under a set of options: the Basic action unless a selected option has one.

    If several selected options have an action for the row, C wins over K (see the module
    docstring); the table loader guarantees option cells hold only K or C.
    """
    chosen = [row.options[option] for option in options if option in row.options]
    if not chosen:
        return row.basic
    return _CLEAN if _CLEAN in chosen else chosen[0]


@dataclass(frozen=True)
class Profile:
    """The Basic Profile plus ``options``: a stable name, the method codes, and an action per attribute.

    Immutable and picklable (the shipped table is reloaded, not pickled, in worker processes).
    Usable wherever the engine expects an :class:`ria.deid.engine.ActionPolicy`.
    """

    options: frozenset[Option] = frozenset()
    safe_private: SafePrivateList = field(default_factory=SafePrivateList)
    table: ConfidentialityTable | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", frozenset(Option(o) for o in self.options))
        if self.options >= _EXCLUSIVE:
            raise InvalidParameterError(
                "options",
                "Retain Longitudinal Temporal Information with Full Dates and with Modified Dates are"
                " mutually exclusive (PS3.15 E.3.6): choose rlfd or rlmd",
            )

    # --- naming ---------------------------------------------------------------------------------

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        safe_private: SafePrivateList | None = None,
        table: ConfidentialityTable | None = None,
        parameter: str = "--deidentify",
    ) -> Profile:
        """A profile from a spec such as ``"basic"``, ``"basic,rlmd,rpc"``, ``"tcia"`` or a :attr:`name`.

        Items are separated by ``,`` or ``+``, case and surrounding spaces are ignored;
        each is ``basic`` (the Basic Profile, always included), a short name
        (:data:`SHORT_NAMES`), a long name (an :class:`Option` value) or an alias
        (:data:`PROFILE_ALIASES`). Errors name ``parameter`` and list what is accepted.
        """
        items = [item.strip().lower() for item in spec.replace("+", ",").split(",")]
        if not spec.strip() or any(not item for item in items):
            raise InvalidParameterError(
                parameter, f"{parameter}: empty profile item in {spec!r}; {_ACCEPTED}"
            )
        options: set[Option] = set()
        for item in items:
            if item == "basic":
                continue
            if item in SHORT_NAMES:
                options.add(SHORT_NAMES[item])
            elif item in PROFILE_ALIASES:
                options |= PROFILE_ALIASES[item]
            elif item in _LONG_NAMES:
                options.add(Option(item))
            else:
                raise InvalidParameterError(
                    parameter, f"{parameter}: unknown profile item {item!r}; {_ACCEPTED}"
                )
        if options >= _EXCLUSIVE:
            raise InvalidParameterError(
                parameter, f"{parameter}: rlfd and rlmd are mutually exclusive (PS3.15 E.3.6) in {spec!r}"
            )
        return cls(frozenset(options), safe_private or SafePrivateList(), table)

    @property
    def name(self) -> str:
        """Stable long name: ``basic`` then each option's long name in CID 7050 order, joined by ``+``."""
        return "+".join(["basic", *(option.value for option in self._ordered)])

    @property
    def spec(self) -> str:
        """The same profile in short names, e.g. ``basic,cd,rlmd``; :meth:`parse` reads it back."""
        return ",".join(["basic", *(_SHORT_BY_OPTION[option] for option in self._ordered)])

    @property
    def _ordered(self) -> list[Option]:
        return [option for option in Option if option in self.options]

    # --- what the engine records ------------------------------------------------------------------

    @property
    def method_code_items(self) -> tuple[MethodCode, ...]:
        """The CID 7050 codes for De-identification Method Code Sequence: 113100, then each option's."""
        return (BASIC_PROFILE_CODE, *(OPTION_CODES[option] for option in self._ordered))

    @property
    def method_codes(self) -> tuple[tuple[str, str], ...]:
        """(code value, code meaning) pairs, scheme DCM — the engine's ``ActionPolicy`` shape."""
        return tuple((code.value, code.meaning) for code in self.method_code_items)

    @property
    def pixel_options(self) -> frozenset[Option]:
        """Selected options the engine must carry out on pixel data before claiming them."""
        return self.options & PIXEL_OPTIONS

    @property
    def longitudinal_temporal_information_modified(self) -> str:
        """The value of (0028,0303) this profile requires: REMOVED, UNMODIFIED or MODIFIED (E.2, E.3.6)."""
        if Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options:
            return "UNMODIFIED"
        if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options:
            return "MODIFIED"
        return "REMOVED"

    # --- per attribute ---------------------------------------------------------------------------

    @cached_property
    def _table(self) -> ConfidentialityTable:
        return self.table or default_table()

    @cached_property
    def _exact(self) -> Mapping[int, Action]:
        return {
            tag: row_action(row, self.options)
            for row in self._table.rows
            if (tag := row.tag.exact) is not None
        }  # fmt: skip

    @cached_property
    def _patterns(self) -> tuple[tuple[ProfileRow, Action], ...]:
        rows = (row for row in self._table.rows if row.tag.exact is None and not row.tag.odd_group)
        return tuple((row, row_action(row, self.options)) for row in rows)

    def row_for(self, tag: int) -> ProfileRow | None:
        """The Table E.1-1 row that governs ``tag``, if any (``None``: one of Ria's rules 3-6 applies)."""
        return self._table.row_for(tag)

    def action_for(self, tag: int, vr: str | None = None, *, private_creator: str | None = None) -> Action:
        """The (possibly combined) action for one attribute, wherever it occurs, sequences included.

        ``tag`` is a pydicom ``BaseTag`` or any int ``0xGGGGEEEE``; ``vr`` the element's VR
        (used only for attributes the table does not list); ``private_creator`` the value of
        the Private Creator element that reserved the block of a private element
        (pydicom's ``DataElement.private_creator``), or, for a Private Creator element
        itself, its own value. Without it a private element is removed.
        """
        group, element = tag >> 16, tag & 0xFFFF
        if group & 1:
            if Option.RETAIN_SAFE_PRIVATE in self.options and is_private_group(group):
                if 0x0010 <= element <= 0x00FF:
                    safe = self.safe_private.allows_creator(group, private_creator)
                else:
                    safe = self.safe_private.allows(tag, private_creator)
                return _KEEP if safe else _REMOVE
            return self._table.private_row.basic
        action = self._exact.get(tag)
        if action is not None:
            return action
        for row, pattern_action in self._patterns:
            if row.tag.matches(tag):
                return pattern_action
        if group & _OVERLAY_GROUP_MASK == _OVERLAY_GROUP:
            return _KEEP if Option.CLEAN_GRAPHICS in self.options else _REMOVE
        if group == _DIRECTORY_GROUP:
            return _REMOVE
        if vr in _DATE_TIME_VRS:
            return row_action(_DATE_ROW, self.options)
        return _KEEP

    def action(
        self,
        tag: int,
        vr: str | None = None,
        *,
        private_creator: str | None = None,
        attribute_type: AttributeType | None = None,
    ) -> Code:
        """The single code to apply (``X Z D K C U``): :meth:`action_for` resolved for the attribute's Type.

        Without ``attribute_type`` combinations resolve to their last code (see
        :meth:`ria.deid.table.Action.resolve`). This is the engine's ``ActionPolicy.action``.
        """
        return self.action_for(tag, vr, private_creator=private_creator).resolve(attribute_type)

    def __reduce__(self) -> tuple[Any, ...]:
        # Cached lookups are rebuilt after unpickling; the shipped table is reloaded rather than copied.
        return (Profile, (self.options, self.safe_private, self.table))

    def __str__(self) -> str:
        return self.name


_ACCEPTED = (
    "use 'basic' optionally followed by options separated by ',' or '+': "
    + ", ".join(f"{short} ({option.value})" for short, option in SHORT_NAMES.items())
    + ", or the alias "
    + ", ".join(
        f"{alias} (= {'+'.join(sorted(_SHORT_BY_OPTION[o] for o in opts))})"
        for alias, opts in PROFILE_ALIASES.items()
    )
)
