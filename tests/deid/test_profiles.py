"""Profiles composed from Table E.1-1: option semantics, Ria's rules for unlisted attributes, naming.

Expected actions are read from the data file with the json module (not through ria's loader)
or cited from rows of PS3.15 2025e Table E.1-1; CID 7050 codes are checked against pydicom's
PS3.16 concept dictionary.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom._dicom_dict import DicomDictionary
from pydicom.data import get_testdata_file
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.tag import Tag

from ria.deid.engine import ActionPolicy
from ria.deid.profiles import (
    BASIC_PROFILE_CODE,
    BURNED_IN_ANNOTATION,
    DEIDENTIFICATION_METHOD,
    DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
    OPTION_CODES,
    PATIENT_IDENTITY_REMOVED,
    PIXEL_OPTIONS,
    PROFILE_ALIASES,
    RECOGNIZABLE_VISUAL_FEATURES,
    SHORT_NAMES,
    Profile,
    SafePrivateList,
)
from ria.deid.table import DEFAULT_TABLE_FILE, AttributeType, Code, Option, default_table
from ria.errors import InvalidParameterError

DATA_FILE = Path(__file__).parents[2] / "src" / "ria" / "deid" / "data" / DEFAULT_TABLE_FILE
TABLE_OPTIONS = [option for option in Option if option.column is not None]
EXCLUSIVE = {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}


@pytest.fixture(scope="module")
def raw_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(DATA_FILE.read_text(encoding="utf-8"))["rows"]
    return rows


def _tag(text: str) -> int:
    return int(text[1:5] + text[6:10], 16)


def _exact_rows(raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in raw_rows if "x" not in row["tag"] and "g" not in row["tag"]]


# --- composition -------------------------------------------------------------------------------------


def test_basic_profile_is_the_basic_column(raw_rows: list[dict[str, Any]]) -> None:
    profile = Profile()
    for row in _exact_rows(raw_rows):
        assert profile.action_for(_tag(row["tag"])).text == row["basic"], row["tag"]


@pytest.mark.parametrize("option", TABLE_OPTIONS, ids=str)
def test_an_option_overrides_only_where_its_column_has_an_action(
    option: Option, raw_rows: list[dict[str, Any]]
) -> None:
    profile = Profile(frozenset({option}))
    overridden = 0
    for row in _exact_rows(raw_rows):
        expected = row["options"].get(option.column, row["basic"])
        overridden += option.column in row["options"]
        assert profile.action_for(_tag(row["tag"])).text == expected, row["tag"]
    # Retain Safe Private's only cell is the private row, checked in the private-attribute tests.
    assert overridden > 0 or option is Option.RETAIN_SAFE_PRIVATE


def test_with_several_options_clean_beats_keep(raw_rows: list[dict[str, Any]]) -> None:
    # Date of Last Calibration (0018,1200): Basic X, Rtn. Dev. Id. K, Rtn. Long. Full Dates K, Modif. Dates C.
    tag = 0x00181200
    assert Profile().action_for(tag).text == "X"
    assert Profile.parse("rdi").action_for(tag).text == "K"
    assert Profile.parse("rlmd").action_for(tag).text == "C"
    assert Profile.parse("rdi,rlmd").action_for(tag).text == "C"
    assert Profile.parse("rdi,rlfd").action_for(tag).text == "K"
    # In general: any selected option with C gives C, else any with K gives K, else Basic.
    everything = frozenset(Option) - {Option.RETAIN_LONGITUDINAL_FULL_DATES}
    profile = Profile(everything)
    for row in _exact_rows(raw_rows):
        cells = {row["options"][o.column] for o in everything if o.column in row["options"]}
        expected = "C" if "C" in cells else "K" if "K" in cells else row["basic"]
        assert profile.action_for(_tag(row["tag"])).text == expected, row["tag"]


def test_full_and_modified_dates_are_mutually_exclusive() -> None:
    with pytest.raises(InvalidParameterError, match="mutually exclusive") as caught:
        Profile.parse("basic,rlfd,rlmd")
    assert caught.value.parameter == "--deidentify"
    with pytest.raises(InvalidParameterError, match="mutually exclusive"):
        Profile(frozenset(EXCLUSIVE))


def test_uids_are_replaced_unless_retain_uids(raw_rows: list[dict[str, Any]]) -> None:
    uid_rows = [row for row in _exact_rows(raw_rows) if row["basic"] == "U"]
    others = frozenset(Option) - {Option.RETAIN_UIDS, Option.RETAIN_LONGITUDINAL_FULL_DATES}
    without, with_uids = Profile(others), Profile.parse("ruid")
    replaced = 0
    for row in uid_rows:
        tag = _tag(row["tag"])
        # Another option may keep a UID (Device UID under Retain Device Identity); otherwise it stays U.
        cells = {row["options"][o.column] for o in others if o.column in row["options"]}
        expected = "C" if "C" in cells else "K" if "K" in cells else "U"
        replaced += expected == "U"
        assert without.action(tag, "UI") == Code(expected), row["tag"]
        assert with_uids.action(tag, "UI") == Code(row["options"].get("retain_uids", "U")), row["tag"]
    assert replaced > 50
    assert Option.RETAIN_UIDS not in Profile.parse("tcia").options


# --- spot checks, cited from PS3.15 2025e Table E.1-1 ------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "spec", "expected", "resolved"),
    [
        ("PatientName", "basic", "Z", Code.Z),  # Patient's Name (0010,0010): Z
        ("PatientID", "basic", "Z/D", Code.D),  # Patient ID (0010,0020): Z/D (not plain Z)
        ("PatientBirthDate", "basic", "Z", Code.Z),  # Patient's Birth Date (0010,0030): Z
        ("StudyDate", "basic", "Z", Code.Z),  # Study Date (0008,0020): Z ...
        ("StudyDate", "rlmd", "C", Code.C),  # ... Rtn. Long. Modif. Dates C
        ("StudyDate", "rlfd", "K", Code.K),  # ... Rtn. Long. Full Dates K
        ("PatientAge", "basic", "X", Code.X),  # Patient's Age (0010,1010): X ...
        ("PatientAge", "rpc", "K", Code.K),  # ... Rtn. Pat. Chars. K
        ("PatientSex", "rpc", "K", Code.K),  # Patient's Sex (0010,0040): Z, Rtn. Pat. Chars. K
        ("SOPInstanceUID", "basic", "U", Code.U),  # SOP Instance UID (0008,0018): U ...
        ("SOPInstanceUID", "ruid", "K", Code.K),  # ... Rtn. UIDs K
        ("StudyInstanceUID", "tcia", "U", Code.U),  # Study Instance UID (0020,000D): U
        ("AccessionNumber", "tcia", "Z", Code.Z),  # Accession Number (0008,0050): Z
        ("DeviceSerialNumber", "basic", "X/Z/D", Code.D),  # Device Serial Number (0018,1000): X/Z/D ...
        ("DeviceSerialNumber", "rdi", "K", Code.K),  # ... Rtn. Dev. Id. K
        ("InstitutionName", "rii", "K", Code.K),  # Institution Name (0008,0080): X/Z/D, Rtn. Inst. Id. K
        ("ReferencedImageSequence", "basic", "X/Z/U*", Code.U),  # (0008,1140): X/Z/U*, Rtn. UIDs K
        ("ContentSequence", "csc", "C", Code.C),  # Content Sequence (0040,A730): D, Clean Struct. Cont. C
        ("StudyDescription", "cd", "C", Code.C),  # Study Description (0008,1030): X, Clean Desc. C
        ("IconImageSequence", "tcia", "X", Code.X),  # Icon Image Sequence (0088,0200): X (see Note 11)
    ],
)
def test_named_rows(keyword: str, spec: str, expected: str, resolved: Code) -> None:
    tag = tag_for_keyword(keyword)
    assert tag is not None
    profile = Profile.parse(spec)
    assert profile.action_for(tag).text == expected
    assert profile.action(tag, DicomDictionary[tag][0]) == resolved


def test_combined_actions_resolve_with_a_known_type() -> None:
    serial = tag_for_keyword("DeviceSerialNumber")
    assert serial is not None
    profile = Profile()
    assert profile.action(serial, "LO", attribute_type=AttributeType.TYPE_3) == Code.X
    assert profile.action(serial, "LO", attribute_type=AttributeType.TYPE_2) == Code.Z
    assert profile.action(serial, "LO", attribute_type=AttributeType.TYPE_1) == Code.D


# --- what the table does not list -----------------------------------------------------------------------

GEMS_ACQU = "GEMS_ACQU_01"  # PS3.15 Table E.3.10-1 lists (0019,xx23) GEMS_ACQU_01 Table Speed as safe


def test_private_attributes_are_removed_without_retain_safe_private() -> None:
    safelist = SafePrivateList.of([(GEMS_ACQU, 0x0019, 0x23)])
    for spec in ("basic", "tcia,ruid,rii,cg,csc,crvf"):
        profile = Profile.parse(spec.replace("tcia,", "basic,cd,rlmd,"), safe_private=safelist)
        for tag in (0x00191023, 0x00190010, 0x00090010, 0x00291010, 0x7FE11010, 0x00010010, 0xFFFF0000):
            assert profile.action(tag, "LO", private_creator=GEMS_ACQU) == Code.X


def test_retain_safe_private_keeps_only_the_safelist() -> None:
    empty = Profile.parse("basic,rsp")
    assert empty.action(0x00191023, "DS", private_creator=GEMS_ACQU) == Code.X
    profile = Profile.parse("basic,rsp", safe_private=SafePrivateList.of([(GEMS_ACQU, 0x0019, 0x23)]))
    assert profile.action(0x00191023, "DS", private_creator=GEMS_ACQU) == Code.K
    assert (
        profile.action(0x00194223, "DS", private_creator=GEMS_ACQU + "  ") == Code.K
    )  # any block, LO padding
    assert profile.action(0x00191024, "DS", private_creator=GEMS_ACQU) == Code.X  # another element
    assert (
        profile.action(0x00191023, "DS", private_creator="SIEMENS CT VA0  COAD") == Code.X
    )  # another creator
    assert profile.action(0x00191023, "DS") == Code.X  # creator unknown
    assert profile.action(0x00211023, "DS", private_creator=GEMS_ACQU) == Code.X  # another group
    assert profile.action(0x00190010, "LO", private_creator=GEMS_ACQU) == Code.K  # its Private Creator
    assert profile.action(0x00190011, "LO", private_creator="OTHER") == Code.X
    assert profile.action(0x00190001, "LO", private_creator=GEMS_ACQU) == Code.X  # not a valid private tag
    assert profile.action(0x00030010, "LO", private_creator=GEMS_ACQU) == Code.X  # odd but not private


def test_safelist_rejects_non_private_entries_and_offers_the_standard_sample() -> None:
    for entry in [
        (GEMS_ACQU, 0x0018, 0x23),
        (GEMS_ACQU, 0x0003, 0x23),
        (GEMS_ACQU, 0x0019, 0x123),
        ("", 0x19, 1),
    ]:
        with pytest.raises(InvalidParameterError, match="not a private attribute"):
            SafePrivateList.of([entry])
    assert len(SafePrivateList()) == 0
    sample = SafePrivateList.standard_sample()
    assert len(sample) == len(default_table().safe_private_attributes) == 479
    profile = Profile.parse("rsp", safe_private=sample)
    assert profile.action(0x00191023, "DS", private_creator=GEMS_ACQU) == Code.K
    assert profile.action(0x70531000, "DS", private_creator="Philips PET Private Group") == Code.K


@pytest.mark.parametrize(
    ("tag", "basic", "with_clean_graphics"),
    [
        (0x50003000, "X", "C"),  # Curve Data (50xx,xxxx): X, Clean Graph. C
        (0x501E0010, "X", "C"),
        (0x60003000, "X", "C"),  # Overlay Data (60xx,3000): X, Clean Graph. C
        (0x60024000, "X", "C"),  # Overlay Comments (60xx,4000): X, Clean Graph. C
        (0x60000010, "X", "K"),  # Overlay Rows: not listed; the overlay goes with its data
        (0x601E0050, "X", "K"),  # Overlay Origin
        (0x60013000, "X", "X"),  # odd group: private, never an overlay
    ],
)
def test_curves_and_overlays(tag: int, basic: str, with_clean_graphics: str) -> None:
    assert Profile().action_for(tag, "OW").text == basic
    assert Profile.parse("cg").action_for(tag, "OW").text == with_clean_graphics


def test_directory_records_and_unlisted_dates() -> None:
    assert Profile.parse("tcia").action(0x00041500, "CS") == Code.X  # group 0004 (E.1.1)
    unlisted = [
        tag
        for tag, (vr, _, _, retired, _) in DicomDictionary.items()
        if vr in ("DA", "DT", "TM")
        and tag >> 16 not in (0x0002, 0x0004)
        and default_table().row_for(tag) is None
    ]
    assert unlisted, "expected date/time attributes the table does not list"
    for tag in unlisted[:50]:
        vr = DicomDictionary[tag][0]
        assert Profile().action_for(tag, vr).text == "X/Z/D"
        assert Profile.parse("rlfd").action(tag, vr) == Code.K
        assert Profile.parse("rlmd").action(tag, vr) == Code.C
        assert Profile.parse("rdi").action(tag, vr) == Code.D


def test_unlisted_non_date_attributes_are_kept() -> None:
    for keyword in ("SOPClassUID", "Modality", "Rows", "PixelSpacing", "ImageType", BURNED_IN_ANNOTATION):
        tag = keyword if isinstance(keyword, int) else tag_for_keyword(keyword)
        assert tag is not None
        assert Profile().row_for(tag) is None
        assert Profile().action(tag, DicomDictionary[tag][0]) == Code.K


def test_constants_name_the_attributes_the_engine_writes() -> None:
    assert tag_for_keyword("BurnedInAnnotation") == BURNED_IN_ANNOTATION
    assert tag_for_keyword("RecognizableVisualFeatures") == RECOGNIZABLE_VISUAL_FEATURES
    assert (
        tag_for_keyword("LongitudinalTemporalInformationModified")
        == LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED
    )
    assert tag_for_keyword("PatientIdentityRemoved") == PATIENT_IDENTITY_REMOVED
    assert tag_for_keyword("DeidentificationMethod") == DEIDENTIFICATION_METHOD
    assert tag_for_keyword("DeidentificationMethodCodeSequence") == DEIDENTIFICATION_METHOD_CODE_SEQUENCE
    assert Profile().longitudinal_temporal_information_modified == "REMOVED"
    assert Profile.parse("rlfd").longitudinal_temporal_information_modified == "UNMODIFIED"
    assert Profile.parse("tcia").longitudinal_temporal_information_modified == "MODIFIED"
    assert Profile.parse("tcia").pixel_options == {Option.CLEAN_PIXEL_DATA} <= PIXEL_OPTIONS


# --- CID 7050 -------------------------------------------------------------------------------------------


def test_method_codes_are_cid_7050() -> None:
    pydicom_cid = {
        (code.value, code.meaning, code.scheme_designator)
        for code in map(codes.cid7050.__getattr__, codes.cid7050.dir())
    }
    ours = {(code.value, code.meaning, code.scheme) for code in (BASIC_PROFILE_CODE, *OPTION_CODES.values())}
    assert ours == pydicom_cid
    assert len(OPTION_CODES) == len(Option)
    assert [code.value for code in OPTION_CODES.values()] == [f"1131{n:02d}" for n in range(1, 13)]


def test_method_codes_of_a_profile() -> None:
    assert Profile().method_codes == (("113100", "Basic Application Confidentiality Profile"),)
    tcia = Profile.parse("tcia").method_codes
    assert [value for value, _ in tcia] == [
        "113100",
        "113101",
        "113105",
        "113107",
        "113108",
        "113109",
        "113111",
    ]
    assert all(item.scheme == "DCM" for item in Profile.parse("tcia").method_code_items)


# --- names and parsing ----------------------------------------------------------------------------------


def test_tcia_alias_is_the_published_option_set() -> None:
    assert PROFILE_ALIASES["tcia"] == {
        Option.CLEAN_PIXEL_DATA,
        Option.CLEAN_DESCRIPTORS,
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.RETAIN_DEVICE_IDENTITY,
        Option.RETAIN_SAFE_PRIVATE,
    }
    assert Profile.parse("tcia").spec == "basic,cpd,cd,rlmd,rpc,rdi,rsp"


def test_names() -> None:
    assert Profile().name == "basic" == Profile.parse("basic").name == str(Profile())
    profile = Profile.parse(" Basic + RLMD, rpc ")
    assert profile.options == {
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
    }
    assert profile.name == "basic+retain-longitudinal-modified-dates+retain-patient-characteristics"
    assert profile.spec == "basic,rlmd,rpc"
    assert Profile.parse("rpc,rlmd,rpc") == profile == Profile.parse("retain-patient-characteristics,rlmd")
    assert set(SHORT_NAMES.values()) == set(Option)


option_sets = st.sets(st.sampled_from(list(Option))).filter(lambda s: not s >= EXCLUSIVE)


@given(option_sets)
def test_name_and_spec_round_trip(options: set[Option]) -> None:
    profile = Profile(frozenset(options))
    assert Profile.parse(profile.name) == profile
    assert Profile.parse(profile.spec) == profile
    assert Profile.parse(profile.spec.upper().replace(",", " + ")) == profile


@pytest.mark.parametrize(
    "spec", ["", "  ", "basic,", "basic,,rpc", "foo", "basic,rlmd,retain-everything", "tcia2"]
)
def test_unknown_or_empty_specs_are_refused_naming_the_option(spec: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        Profile.parse(spec)
    error = caught.value
    assert error.parameter == "--deidentify" and error.details == {"parameter": "--deidentify"}
    assert (
        error.message.startswith("--deidentify:")
        and "rlmd (retain-longitudinal-modified-dates)" in error.message
    )
    assert error.http_status == 400 and error.exit_code == 2


def test_parameter_name_can_be_given() -> None:
    with pytest.raises(InvalidParameterError, match=r"^profile: unknown") as caught:
        Profile.parse("nope", parameter="profile")
    assert caught.value.parameter == "profile"


# --- the engine's view ------------------------------------------------------------------------------------


def test_profile_is_an_engine_action_policy_and_pickles() -> None:
    policy: ActionPolicy = Profile.parse("tcia")
    assert policy.name.startswith("basic+") and policy.method_codes[0][0] == "113100"
    clone = pickle.loads(pickle.dumps(policy))
    assert clone == policy
    assert clone.action(Tag("StudyDate"), "DA") == policy.action(Tag(0x00080020), "DA") == Code.C
    assert len(pickle.dumps(policy)) < 2000  # the table is reloaded in the worker, not shipped with each task


def _walk(ds: Dataset, profile: Profile, seen: list[tuple[int, str, Code]]) -> None:
    """How an engine asks: every element, at any depth, with its VR and (if private) its creator."""
    for element in ds:
        code = profile.action(element.tag, element.VR, private_creator=element.private_creator)
        seen.append((int(element.tag), element.VR, code))
        if element.VR == "SQ" and code in (Code.K, Code.C, Code.U):
            for item in element.value:
                _walk(item, profile, seen)


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm"])
def test_walking_real_files_gives_one_code_per_element(name: str, raw_rows: list[dict[str, Any]]) -> None:
    path = get_testdata_file(name)
    assert path is not None
    ds = pydicom.dcmread(path)
    expected = {_tag(row["tag"]): row for row in _exact_rows(raw_rows)}
    seen: list[tuple[int, str, Code]] = []
    _walk(ds, Profile.parse("tcia"), seen)
    assert len(seen) >= len(ds)
    for tag, vr, code in seen:
        assert code in Code
        if tag >> 16 & 1:
            assert code == Code.X  # tcia's Retain Safe Private with the default, empty safelist
        elif tag in expected:
            row = expected[tag]
            cells = {row["options"][o.column] for o in PROFILE_ALIASES["tcia"] if o.column in row["options"]}
            table_action = "C" if "C" in cells else "K" if "K" in cells else row["basic"]
            assert code == table_action.removesuffix("*").split("/")[-1], (hex(tag), vr)
    assert any(tag >> 16 & 1 for tag, _, _ in seen) or name != "CT_small.dcm"
