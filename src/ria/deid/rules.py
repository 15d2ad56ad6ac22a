"""What both de-identification paths (pydicom data sets and raw bytes) decide the same way.

Keeping these in one place is what lets the byte path (:mod:`ria.deid.bytewise`)
promise the pydicom path's results: dummy values, which identifiers are cut out
of free text and how, which instances wait for a curator, and what the profile's
method codes are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "BINARY_NUMBER_VRS",
    "IDENTIFIER_KEYWORDS",
    "NUMBER_STRING_VRS",
    "PIXEL_OPTION_CODES",
    "PRONE_MODALITIES",
    "PRONE_SOP_PREFIXES",
    "TEXT_VRS",
    "burned_in",
    "dummy_value",
    "identifier_needles",
    "recorded_method_codes",
    "remove_identifier",
]

TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN", "CS", "AE", "UR"})
NUMBER_STRING_VRS = frozenset({"IS", "DS"})
BINARY_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"})
# Modalities and SOP classes whose pixels often carry burned-in text (ultrasound,
# secondary captures, screenshots): quarantined unless BurnedInAnnotation says NO.
PRONE_MODALITIES = frozenset({"US", "SC", "OT", "XC", "ES", "DOC"})
PRONE_SOP_PREFIXES = ("1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.3")
# Clean Pixel Data / Clean Recognizable Visual Features: claimed only when pixels were actually
# cleaned. Ria does not alter pixels (instances that may need it are quarantined for a curator),
# so these codes are never recorded.
PIXEL_OPTION_CODES = frozenset({"113101", "113102"})
# Attributes whose values identify the patient and are cut out of free text the profile keeps.
IDENTIFIER_KEYWORDS = (
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthDate",
    "AccessionNumber",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "MedicalRecordLocator",
)


def dummy_value(vr: str) -> str | int | bytes:
    """PS3.15's D: a value of the right VR that says nothing."""
    if vr == "DA":
        return "19000101"
    if vr == "TM":
        return "000000"
    if vr == "DT":
        return "19000101000000"
    if vr == "AS":
        return "000Y"
    if vr in NUMBER_STRING_VRS:
        return "0"
    if vr in BINARY_NUMBER_VRS:
        return 0
    if vr in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
        return b"\x00\x00"
    return "ANONYMIZED"


def identifier_needles(values: Mapping[str, Sequence[str]], patient_name: str | None) -> list[str]:
    """Strings that identify this patient, to be cut out of free text (longest first).

    ``values`` holds each of :data:`IDENTIFIER_KEYWORDS`' values (one list per
    attribute, multi-valued attributes split); names also contribute their parts.
    Strings shorter than 3 characters would cut ordinary words and are left out.
    """
    found: set[str] = set()
    for keyword in IDENTIFIER_KEYWORDS:
        found.update(part.strip() for part in values.get(keyword, ()))
    if patient_name:
        found.add(patient_name)
        found.update(
            part for part in patient_name.replace("^", " ").replace("=", " ").split() if len(part) >= 3
        )
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def remove_identifier(text: str, needle: str) -> str:
    """``text`` with every case-insensitive occurrence of ``needle`` cut out."""
    lowered, target = text.lower(), needle.lower()
    start = lowered.find(target)
    while start != -1:
        text = text[:start] + text[start + len(needle) :]
        lowered = text.lower()
        start = lowered.find(target)
    return text


def burned_in(has_pixels: bool, declared: str, modality: str, sop_class: str) -> str | None:
    """Why an instance's pixels may show identifying text, or ``None`` if they are declared clean.

    ``declared`` is BurnedInAnnotation as written (YES, NO or empty).
    """
    if not has_pixels:
        return None
    declared = declared.strip().upper()
    if declared == "YES":
        return "BurnedInAnnotation is YES"
    if declared == "NO":
        return None
    modality = modality.strip().upper()
    if modality in PRONE_MODALITIES:
        return f"modality {modality} often has burned-in text and BurnedInAnnotation does not say NO"
    if sop_class.strip().startswith(PRONE_SOP_PREFIXES):
        return "a secondary-capture class often has burned-in text and BurnedInAnnotation does not say NO"
    return None


def recorded_method_codes(codes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The profile's CID 7050 codes this archive may truthfully record (no pixel-cleaning claims)."""
    return [(value, meaning) for value, meaning in codes if value not in PIXEL_OPTION_CODES]
