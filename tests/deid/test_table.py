"""Ria's Table E.1-1 against independent copies, and the loader's refusals.

The shipped table (PS3.15 2025e, generated from NEMA's DocBook) is compared row by row
with innolitics/dicom-standard's JSON (PS3.15 2024b, parsed by another program from the
standard's HTML; provenance in tests/deid/data/README.md) and with pydicom's PS3.6 data
dictionary. Every difference between the editions is listed below with its reason; an
unexplained one fails.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary

from ria.deid.table import (
    DEFAULT_TABLE_FILE,
    Action,
    AttributeType,
    Code,
    Option,
    TableError,
    TagPattern,
    default_table,
    load_table,
    parse_table,
)

DATA_FILE = Path(__file__).parents[2] / "src" / "ria" / "deid" / "data" / DEFAULT_TABLE_FILE
INNOLITICS_FILE = Path(__file__).parent / "data" / "innolitics-confidentiality_profile_attributes-2024b.json"
INNOLITICS_SHA256 = "a99a35d1278e2bace8d90ff791b11aea2d45f1e3e1230388eb5224c9dbcd29e6"
INNOLITICS_OPTIONS = {
    "rtnSafePrivOpt": Option.RETAIN_SAFE_PRIVATE,
    "rtnUIDsOpt": Option.RETAIN_UIDS,
    "rtnDevIdOpt": Option.RETAIN_DEVICE_IDENTITY,
    "rtnInstIdOpt": Option.RETAIN_INSTITUTION_IDENTITY,
    "rtnPatCharsOpt": Option.RETAIN_PATIENT_CHARACTERISTICS,
    "rtnLongFullDatesOpt": Option.RETAIN_LONGITUDINAL_FULL_DATES,
    "rtnLongModifDatesOpt": Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
    "cleanDescOpt": Option.CLEAN_DESCRIPTORS,
    "cleanStructContOpt": Option.CLEAN_STRUCTURED_CONTENT,
    "cleanGraphOpt": Option.CLEAN_GRAPHICS,
}

_NEW = "new attribute, added to PS3.6 and to Table E.1-1 after 2024b"
_SEX_GENDER = "new patient sex/gender/name-to-use attribute, added to PS3.6 and to Table E.1-1 after 2024b"
_LISTED_LATER = "attribute already in PS3.6 before 2024b; first listed in Table E.1-1 after 2024b"
# Rows of 2025e that the 2024b table does not have.
ADDED_SINCE_2024B: dict[str, str] = {
    "(0008,1301)": _NEW,  # Principal Diagnosis Code Sequence
    "(0008,1302)": _NEW,  # Primary Diagnosis Code Sequence
    "(0008,1303)": _NEW,  # Secondary Diagnoses Code Sequence
    "(0008,1304)": _NEW,  # Histological Diagnoses Code Sequence
    "(0010,0011)": _SEX_GENDER,
    "(0010,0012)": _SEX_GENDER,
    "(0010,0013)": _SEX_GENDER,
    "(0010,0014)": _SEX_GENDER,
    "(0010,0015)": _SEX_GENDER,
    "(0010,0016)": _SEX_GENDER,
    "(0010,0041)": _SEX_GENDER,
    "(0010,0042)": _SEX_GENDER,
    "(0010,0043)": _SEX_GENDER,
    "(0010,0044)": _SEX_GENDER,
    "(0010,0045)": _SEX_GENDER,
    "(0010,0046)": _SEX_GENDER,
    "(0010,0047)": _SEX_GENDER,
    "(0010,2161)": _NEW + " (replaces the retired Ethnic Group (0010,2160))",
    "(0010,2162)": _NEW + " (replaces the retired Ethnic Group (0010,2160))",
    "(0040,A034)": _NEW,  # Effective Start DateTime
    "(0040,A035)": _NEW,  # Effective Stop DateTime
    "(0040,B034)": _NEW,  # Annotation DateTime
    "(0040,B036)": _NEW,  # Segment Definition DateTime
    "(0040,B03B)": _NEW,  # Montage Name
    "(0040,B03F)": _NEW,  # Montage Channel Label
    "(0018,1010)": _LISTED_LATER,  # Secondary Capture Device ID
    "(0018,1011)": _LISTED_LATER,  # Hardcopy Creation Device ID (retired)
    "(003A,0020)": _LISTED_LATER,  # Multiplex Group Label
    "(003A,0203)": _LISTED_LATER,  # Channel Label
    "(003A,020C)": _LISTED_LATER,  # Channel Derivation Description
    "(0040,0556)": _LISTED_LATER,  # Acquisition Context Description
    "(0040,B020)": _LISTED_LATER,  # Waveform Annotation Sequence
    "(0070,0006)": _LISTED_LATER,  # Unformatted Text Value
    "(300A,0054)": _LISTED_LATER,  # Table Top Position Alignment UID
}
# Cells that changed between 2024b and 2025e: tag -> {column: (2024b, 2025e)} and why.
CHANGED_SINCE_2024B: dict[str, tuple[dict[str, tuple[str, str]], str]] = {
    "(0010,2160)": (
        {"in_std_comp_iod": ("Y", "N")},
        "Ethnic Group is retired in 2025e (Retd. Y), replaced by (0010,2161) and (0010,2162)",
    ),
    "(0032,1033)": (
        {"in_std_comp_iod": ("N", "Y"), Option.CLEAN_DESCRIPTORS.value: ("", "C")},
        "Requesting Service is now used in a standard composite IOD and, being free text,"
        " cleaned by Clean Descriptors",
    ),
}
# Retd. column vs pydicom's PS3.6 dictionary, where pydicom's edition is older than 2025e.
RETIRED_SINCE_PYDICOM_DICTIONARY = {0x00102160: "Ethnic Group, retired in 2025e (see CHANGED_SINCE_2024B)"}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\(see Note \d+\)", "", name)).strip()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads(DATA_FILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def innolitics() -> dict[str, dict[str, str]]:
    raw = INNOLITICS_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == INNOLITICS_SHA256, "the vendored independent copy was altered"
    return {row["tag"].upper(): row for row in json.loads(raw)}


# --- the file itself ------------------------------------------------------------------------------


def test_edition_and_provenance_are_recorded(document: dict[str, Any]) -> None:
    table = default_table()
    assert table.edition == document["edition"] == "2025e"
    assert f"ps3.15-table-e.1-1-{table.edition}.json" == DEFAULT_TABLE_FILE
    source = document["source"]
    assert source["url"].startswith("https://dicom.nema.org/")
    assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source["retrieved"])
    assert "2025e" in source["document"] and "NEMA" in document["copyright"]


def test_content_digest_matches_so_the_file_was_not_hand_edited(document: dict[str, Any]) -> None:
    content = {key: document[key] for key in ("columns", "action_codes", "rows", "safe_private_attributes")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert digest == document["content_sha256"]


def test_structure_every_cell_parses(document: dict[str, Any]) -> None:
    table = default_table()
    assert len(table) == len(document["rows"]) == 655
    assert set(table.action_codes) == {"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}
    for raw, row in zip(document["rows"], table.rows, strict=True):
        assert row.basic.text == raw["basic"]
        assert TagPattern.parse(raw["tag"]) == row.tag
        assert {option.column: action.text for option, action in row.options.items()} == raw["options"]
        assert all(action.codes in ((Code.K,), (Code.C,)) for action in row.options.values())
    patterns = sorted(row.tag.text for row in table.rows if row.tag.exact is None)
    assert patterns == ["(50xx,xxxx)", "(60xx,3000)", "(60xx,4000)", "(gggg,eeee) where gggg is odd"]
    assert len(table.safe_private_attributes) == 479


# --- against the independent copy ----------------------------------------------------------------


def test_rows_match_the_independent_2024b_copy(innolitics: dict[str, dict[str, str]]) -> None:
    table = default_table()
    ours = {row.tag.text.upper(): row for row in table.rows}
    assert set(innolitics) <= set(ours), f"rows dropped since 2024b: {sorted(set(innolitics) - set(ours))}"
    assert set(ours) - set(innolitics) == set(ADDED_SINCE_2024B)
    assert len(ours) == len(innolitics) + len(ADDED_SINCE_2024B)
    differences: dict[str, dict[str, tuple[str, str]]] = {}
    for tag, theirs in innolitics.items():
        row = ours[tag]
        assert _norm(row.name).lower() == _norm(theirs["name"]).lower(), tag
        cells = {"basic": (theirs["basicProfile"], row.basic.text)}
        cells["in_std_comp_iod"] = (theirs["stdCompIOD"], "Y" if row.in_std_comp_iod else "N")
        for key, option in INNOLITICS_OPTIONS.items():
            mine = row.options.get(option)
            cells[option.value] = (theirs.get(key, ""), "" if mine is None else mine.text)
        changed = {column: pair for column, pair in cells.items() if pair[0] != pair[1]}
        if changed:
            differences[tag] = changed
    assert differences == {tag: cells for tag, (cells, _) in CHANGED_SINCE_2024B.items()}


def test_basic_profile_counts_agree_with_the_independent_copy(innolitics: dict[str, dict[str, str]]) -> None:
    table = default_table()
    ours_basic = {row.tag.text.upper(): row.basic.text for row in table.rows}
    ours_on_common: dict[str, int] = {}
    theirs_count: dict[str, int] = {}
    for tag, theirs in innolitics.items():
        theirs_count[theirs["basicProfile"]] = theirs_count.get(theirs["basicProfile"], 0) + 1
        ours_on_common[ours_basic[tag]] = ours_on_common.get(ours_basic[tag], 0) + 1
    assert ours_on_common == theirs_count


def test_allow_list_reasons_hold_where_pydicom_can_tell() -> None:
    for tag, reason in ADDED_SINCE_2024B.items():
        if reason == _LISTED_LATER:
            number = int(tag[1:5] + tag[6:10], 16)
            assert number in DicomDictionary, f"{tag} is said to predate 2024b but PS3.6 (pydicom) lacks it"
    row = default_table().row_for(0x00102160)
    assert row is not None and row.retired and not row.in_std_comp_iod


def test_retired_flags_and_names_match_pydicoms_ps36_dictionary() -> None:
    def squash(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())  # pydicom writes "GenerationMode" without a space

    unknown = []
    for row in default_table().rows:
        tag = row.tag.exact
        if tag is None:
            continue
        entry = DicomDictionary.get(tag)
        if entry is None:
            unknown.append(row.tag.text)
            continue
        assert squash(entry[2]) == squash(row.name), row.tag
        if tag not in RETIRED_SINCE_PYDICOM_DICTIONARY:
            assert (entry[3] == "Retired") == row.retired, row.tag
    # Only attributes newer than pydicom's dictionary may be missing from it.
    assert set(unknown) <= {tag for tag, reason in ADDED_SINCE_2024B.items() if reason != _LISTED_LATER}


def test_repeating_group_rows_match_pydicoms_repeaters() -> None:
    table = default_table()
    overlay_data, overlay_comments = table.row_for(0x60003000), table.row_for(0x60004000)
    assert overlay_data is not None and overlay_comments is not None
    assert overlay_data.retired == (RepeatersDictionary["60xx3000"][3] == "Retired")
    assert overlay_comments.retired == (RepeatersDictionary["60xx4000"][3] == "Retired")
    curve = table.row_for(0x50023000)
    assert curve is not None and curve.retired
    assert all(entry[3] == "Retired" for key, entry in RepeatersDictionary.items() if key.startswith("50xx"))


# --- lookups ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        (0x00100010, "Patient's Name"),
        (0x50003000, "Curve Data"),
        (0x501E0010, "Curve Data"),
        (0x60003000, "Overlay Data"),
        (0x601E4000, "Overlay Comments"),
        (0x60013000, "Private Attributes"),  # odd group: private, not an overlay
        (0x00091010, "Private Attributes"),
        (0x00010010, "Private Attributes"),  # odd groups PS3.5 forbids are still covered by the row
        (0x00080016, None),  # SOP Class UID is not in the table
        (0x60000010, None),  # Overlay Rows is not in the table (ria.deid.profiles handles it)
    ],
)
def test_row_for(tag: int, name: str | None) -> None:
    row = default_table().row_for(tag)
    assert (row.name if row else None) == name


# --- actions ---------------------------------------------------------------------------------------

# Table E.1-1a, read as: for an attribute of Type t, which single action applies.
E11A_BY_TYPE = {
    "Z/D": {AttributeType.TYPE_1: Code.D, AttributeType.TYPE_2: Code.Z},
    "X/Z": {AttributeType.TYPE_2: Code.Z, AttributeType.TYPE_3: Code.X},
    "X/D": {AttributeType.TYPE_1: Code.D, AttributeType.TYPE_3: Code.X},
    "X/Z/D": {AttributeType.TYPE_1: Code.D, AttributeType.TYPE_2: Code.Z, AttributeType.TYPE_3: Code.X},
    "X/Z/U*": {AttributeType.TYPE_1: Code.U, AttributeType.TYPE_2: Code.Z, AttributeType.TYPE_3: Code.X},
}


@pytest.mark.parametrize("text", sorted(E11A_BY_TYPE))
def test_combined_actions_resolve_per_table_e11a(text: str) -> None:
    action = Action.parse(text)
    assert action.combined and action.text == text == str(action)
    for attribute_type, code in E11A_BY_TYPE[text].items():
        assert action.resolve(attribute_type) == code
    # Without the Type: the code that is valid for every Type (never X, never empty for Type 1).
    assert action.resolve() == {"Z/D": Code.D, "X/Z": Code.Z, "X/D": Code.D, "X/Z/D": Code.D}.get(
        text, Code.U
    )


@pytest.mark.parametrize("code", list(Code))
def test_single_codes_resolve_to_themselves(code: Code) -> None:
    action = Action.parse(code.value)
    assert not action.combined
    assert all(action.resolve(t) == code for t in (None, *AttributeType))


@pytest.mark.parametrize("text", ["", "Q", "x", "X/", "Z/X", "K/C", "X/Z/D*", "U*", "X/Z/U", "D/Z", "X//Z"])
def test_unknown_action_codes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"Table E\.1-1a"):
        Action.parse(text)


def test_attribute_type_parse() -> None:
    assert [AttributeType.parse(t) for t in ("1", "1C", "2", "2c", " 3 ")] == [1, 1, 2, 2, 3]
    with pytest.raises(ValueError, match="not an attribute Type"):
        AttributeType.parse("4")


# --- tag patterns, against a regex-free reference --------------------------------------------------


def reference_matches(pattern: str, tag: int) -> bool:
    """Independent matcher: compare the pattern's characters with the tag's hex digits one by one."""
    if pattern == "(gggg,eeee) where gggg is odd":
        return (tag >> 16) % 2 == 1
    wanted = pattern[1:5] + pattern[6:10]
    actual = format(tag, "08X")
    return all(w in "xX" or w.upper() == a for w, a in zip(wanted, actual, strict=True))


def reference_overlaps(a: str, b: str) -> bool:
    first, second = a[1:5] + a[6:10], b[1:5] + b[6:10]
    return all(x in "xX" or y in "xX" or x.upper() == y.upper() for x, y in zip(first, second, strict=True))


hex_or_x = st.sampled_from("0123456789ABCDEFabcdefxX")
fields = st.text(hex_or_x, min_size=4, max_size=4)
pattern_texts = st.builds(lambda g, e: f"({g},{e})", fields, fields)
tags = st.integers(min_value=0, max_value=0xFFFFFFFF)


def instantiate(pattern: str, digits: str) -> int:
    """A tag that matches ``pattern``: its wildcards filled from ``digits``."""
    chars = iter(digits)
    return int("".join(next(chars) if c in "xX" else c for c in pattern[1:5] + pattern[6:10]), 16)


@given(pattern_texts, tags)
def test_pattern_matching_agrees_with_reference(pattern: str, tag: int) -> None:
    assert TagPattern.parse(pattern).matches(tag) == reference_matches(pattern, tag)


@given(pattern_texts, st.text(st.sampled_from("0123456789ABCDEF"), min_size=8, max_size=8))
def test_pattern_matches_its_own_instances(pattern: str, digits: str) -> None:
    tag = instantiate(pattern, digits)
    assert reference_matches(pattern, tag)
    assert TagPattern.parse(pattern).matches(tag)


@given(tags)
def test_private_pattern_agrees_with_reference(tag: int) -> None:
    pattern = "(gggg,eeee) where gggg is odd"
    assert TagPattern.parse(pattern).matches(tag) == reference_matches(pattern, tag)


@given(pattern_texts, pattern_texts)
def test_overlap_agrees_with_reference(a: str, b: str) -> None:
    assert TagPattern.parse(a).overlaps(TagPattern.parse(b)) == reference_overlaps(a, b)


@given(tags)
def test_exact_patterns_match_only_their_tag(tag: int) -> None:
    text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    pattern = TagPattern.parse(text)
    assert pattern.exact == tag and pattern.matches(tag) and not pattern.matches(tag ^ 1)


@pytest.mark.parametrize("text", ["(0010,001)", "0010,0010", "(0010;0010)", "(001G,0010)", "(gggg,eeee)", ""])
def test_bad_tag_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a tag"):
        TagPattern.parse(text)


# --- the loader refuses what it cannot interpret -----------------------------------------------------


def _row(rows: list[dict[str, Any]], tag: str) -> dict[str, Any]:
    return next(row for row in rows if row["tag"] == tag)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = _row(target, key) if isinstance(key, str) and key.startswith("(") else target[key]
        target[path[-1]] = value

    return edit


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown basic code": (_set(("rows", "(0010,0010)", "basic"), "Q"), r"\(0010,0010\).*'Q'"),
    "unknown combination": (_set(("rows", "(0010,0010)", "basic"), "Z/X"), "Z/X"),
    "option with X": (
        _set(("rows", "(0010,1010)", "options", "retain_patient_characteristics"), "X"),
        "only K",
    ),
    "unknown option": (
        _set(("rows", "(0010,1010)", "options", "retain_everything"), "K"),
        "retain_everything",
    ),
    "duplicate tag": (_set(("rows", "(0010,0020)", "tag"), "(0010,0010)"), "duplicate tag"),
    "tag in a pattern": (_set(("rows", "(0010,0020)", "tag"), "(6000,3000)"), "also matches"),
    "overlapping patterns": (_set(("rows", "(0010,0020)", "tag"), "(60xx,xxxx)"), "overlap"),
    "odd exact tag": (_set(("rows", "(0010,0020)", "tag"), "(0011,0020)"), "odd group"),
    "bad tag": (_set(("rows", "(0010,0020)", "tag"), "(0010,002)"), "not a tag"),
    "no private row": (_set(("rows", "(gggg,eeee) where gggg is odd", "tag"), "(0013,xxxx)"), "exactly one"),
    "retired not boolean": (_set(("rows", "(0010,0020)", "retired"), "N"), "booleans"),
    "missing basic": (lambda d: _row(d["rows"], "(0010,0020)").pop("basic"), "missing 'basic'"),
    "no edition": (_set(("edition",), ""), "edition"),
    "other format": (_set(("format",), "something/2"), "unknown table format"),
    "columns changed": (lambda d: d["columns"].pop(), "columns"),
    "new action code": (_set(("action_codes", "R"), "redact"), "action codes"),
    "no rows": (_set(("rows",), []), "no rows"),
    "non-private safe group": (_set(("safe_private_attributes", 0, "tag"), "(0008,xx00)"), "not a private"),
    "duplicate safe entry": (
        lambda d: d["safe_private_attributes"].append(d["safe_private_attributes"][0]),
        "dup",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_loader_refuses_broken_tables(case: str, document: dict[str, Any], tmp_path: Path) -> None:
    edit, message = BROKEN[case]
    broken = copy.deepcopy(document)
    edit(broken)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(TableError, match=message) as caught:
        load_table(path)
    assert caught.value.to_json()["error"] == "deidentification_table_error"


def test_loader_refuses_non_json(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(TableError, match="not JSON"):
        load_table(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(TableError, match="not a table document"):
        load_table(path)


def test_loading_a_copy_of_the_file_gives_the_same_table(document: dict[str, Any]) -> None:
    copied = parse_table(document)
    assert copied.rows == default_table().rows
    assert load_table(DATA_FILE).rows == default_table().rows
