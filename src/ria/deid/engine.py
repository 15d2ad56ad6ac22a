"""Apply a de-identification profile to one DICOM file, deterministically.

The profile decides, per attribute, one of PS3.15's actions — X remove, Z empty,
D dummy value, K keep, C clean, U new UID — and this module carries them out
over the whole data set, sequences included, then records what it did the way
PS3.15 asks (PatientIdentityRemoved, DeidentificationMethod and its code
sequence). Identity is *mapped*, not blanked: PatientID and PatientName become
the curator's target ID (a TCGA barcode), so the archive keeps one patient per
subject.

Nothing here logs or reports attribute values: a summary counts actions per
attribute keyword only.
"""

from __future__ import annotations

import io
import os
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, cast

import pydicom
from pydicom.charset import default_encoding
from pydicom.datadict import dictionary_has_tag, dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError as PydicomInvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag

import ria
from ria.deid import bytewise, rules, streaming
from ria.deid.mapping import IdMap, Replacements
from ria.deid.pixels import CLEAN_PIXEL_DATA, PixelRules, blank_regions
from ria.dicom.header import PREAMBLE_LENGTH, InstanceHeader, check_complete, dataset_header
from ria.errors import InvalidDicomError

__all__ = ["ActionPolicy", "DeidOutcome", "Deidentifier", "burned_in_reason"]

PATIENT_ID = Tag(0x0010, 0x0020)
PATIENT_NAME = Tag(0x0010, 0x0010)
_IDENTITY_REMOVED = Tag(0x0012, 0x0062)
_METHOD = Tag(0x0012, 0x0063)
_METHOD_CODES = Tag(0x0012, 0x0064)
_PIXEL_DATA = Tag(0x7FE0, 0x0010)
# Set by the engine at the top level; inside sequence items they follow the profile like anything else.
_TOP_HANDLED = frozenset({PATIENT_ID, PATIENT_NAME, _IDENTITY_REMOVED, _METHOD, _METHOD_CODES})
_PIXEL_SPECS = frozenset({"cpd", "crvf"})  # short names of the pixel options (see ria.deid.profiles)
PRONE_MODALITIES = rules.PRONE_MODALITIES
PRONE_SOP_PREFIXES = rules.PRONE_SOP_PREFIXES


class ActionPolicy(Protocol):
    """What a profile tells the engine (see :mod:`ria.deid.profiles`)."""

    @property
    def name(self) -> str: ...

    @property
    def method_codes(self) -> Sequence[tuple[str, str]]:
        """(code value, code meaning) pairs of CID 7050 for DeidentificationMethodCodeSequence."""
        ...

    @property
    def longitudinal_temporal_information_modified(self) -> str:
        """(0028,0303): REMOVED, UNMODIFIED or MODIFIED, as the profile treats dates."""
        ...

    def action(self, tag: int, vr: str | None = None, *, private_creator: str | None = None) -> str:
        """One of ``X Z D K C U`` for this attribute (``K`` where the profile says nothing)."""
        ...


@dataclass
class DeidOutcome:
    """One file's result: new bytes, or why it is refused; and whether it must wait for a curator."""

    data: bytes | None = None
    refusal: str | None = None
    quarantine: str | None = None
    actions: Counter[str] = field(default_factory=Counter)
    header: InstanceHeader | None = None
    """The catalogue's view of the new bytes, taken from the data set in hand (saves a parse)."""
    spliced: streaming.SplicedReader | None = None
    """Instead of ``data``, for a file de-identified as it streams (:meth:`Deidentifier.from_stream`)."""

    def body(self) -> BinaryIO | None:
        """The new file to store, read in chunks; ``None`` when the file was refused."""
        if self.spliced is not None:
            return self.spliced.stream()
        return io.BytesIO(self.data) if self.data is not None else None


class _WholeFileNeeded(Exception):
    """A stand-in file met a step that needs the real pixels (a curator's pixel rule)."""


def burned_in_reason(ds: Dataset) -> str | None:
    """Why this instance's pixels may show identifying text, or ``None`` if they are declared clean."""
    return rules.burned_in(
        _PIXEL_DATA in ds,
        str(ds.get("BurnedInAnnotation", "")),
        str(ds.get("Modality", "")),
        str(ds.get("SOPClassUID", "")),
    )


def _vr_of(tag: BaseTag) -> str:
    """The dictionary VR of a tag read without one (implicit VR files); UN when unknown or private."""
    if tag.is_private or not dictionary_has_tag(tag):
        return "UN"
    vr = dictionary_VR(tag)
    return vr.split(" or ")[0]


class Deidentifier:
    """De-identifies Part 10 files with one profile, one ID map and the archive's key.

    Picklable and stateless between files, so ingest can run it in worker processes.
    Explicit VR little-endian files with plain text take the byte path
    (:mod:`ria.deid.bytewise`); ``byte_path=False`` sends every file through
    pydicom data sets, which the byte path is tested against.
    """

    def __init__(
        self,
        policy: ActionPolicy,
        id_map: IdMap,
        replacements: Replacements,
        *,
        byte_path: bool = True,
        pixel_rules: PixelRules | None = None,
    ) -> None:
        self.policy = policy
        self.id_map = id_map
        self.replacements = replacements
        self.byte_path = byte_path
        self.pixel_rules = pixel_rules
        self._decisions: dict[tuple[int, str, str | None], tuple[str, str]] = {}

    def __getstate__(self) -> dict[str, object]:
        # Ship the configuration to worker processes, not the cache.
        return {**self.__dict__, "_decisions": {}}

    def __call__(self, data: bytes) -> DeidOutcome:
        with warnings.catch_warnings():
            # Lenient reading, as pydicom intends: sites send odd values; the profile decides their fate.
            warnings.simplefilter("ignore")
            return self._deidentify(data)

    def from_stream(self, stream: BinaryIO, *, whole_below: int = streaming.WHOLE_FILE_LIMIT) -> DeidOutcome:
        """De-identify the file ``stream`` holds without holding its Pixel Data, where that is safe.

        The engine rewrites a stand-in of the file, its Pixel Data replaced by a marked
        placeholder (:mod:`ria.deid.streaming`), by the same rules as :meth:`__call__`;
        the outcome's :meth:`~DeidOutcome.body` then streams the original Pixel Data from
        ``stream`` where the placeholder landed, so ``stream`` must stay open until the
        body is read. Files below ``whole_below`` bytes, or that cannot be cut with
        certainty, or whose pixels a curator's rule cleans, are read whole and go through
        :meth:`__call__`: the result is the same bytes either way.
        """
        whole = streaming.whole_if_small(stream, whole_below)
        found = streaming.cut(stream, whole_below=whole_below) if whole is None else None
        if found is None:
            return self(whole if whole is not None else stream.read())
        marker = os.urandom(16)  # never in the output: the real Pixel Data replaces it
        stand_in, placeholder = found.stand_in(marker)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = self._deidentify(stand_in, stand_in=True)
        except _WholeFileNeeded:
            return self(stream.read())  # cut() left the stream at its start
        if outcome.data is None:
            if (outcome.refusal or "").startswith("truncated"):
                return self(stream.read())  # the whole file's sizes belong in that refusal
            return outcome  # refused for what its header says (ID map, UIDs): the pixels do not matter
        parts = found.split(outcome.data, placeholder, marker)
        if parts is None:
            return self(stream.read())
        outcome.spliced = streaming.SplicedReader(parts[0], stream, found.start, found.stop, parts[1])
        outcome.data = None
        return outcome

    def _deidentify(self, data: bytes, *, stand_in: bool = False) -> DeidOutcome:
        if data[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] != b"DICM":
            return DeidOutcome(
                refusal="not a DICOM Part 10 file: no 'DICM' marker after the 128-byte preamble"
            )
        if self.byte_path:
            try:
                done = bytewise.rewrite(
                    data,
                    decide=self._decide,
                    replacements=self.replacements,
                    target_for=self.id_map.target,
                    method=self._method_text(),
                    method_codes=rules.recorded_method_codes(self.policy.method_codes),
                    temporal=self.policy.longitudinal_temporal_information_modified,
                    full_path_for_device=self.pixel_rules.for_device if self.pixel_rules else None,
                )
            except bytewise.StepAside:
                pass  # the pydicom path below handles it, refusals included
            except InvalidDicomError as exc:
                return DeidOutcome(refusal=exc.message)
            else:
                return DeidOutcome(
                    data=done.data, quarantine=done.quarantine, actions=done.actions, header=done.header
                )
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
            # Refuse exactly what plain ingest refuses: a truncated original is not de-identified.
            check_complete(ds, len(data), data[-8:])
        except InvalidDicomError as exc:
            return DeidOutcome(refusal=exc.message)
        except (PydicomInvalidDicomError, EOFError, ValueError, TypeError, KeyError) as exc:
            return DeidOutcome(refusal=f"not readable as DICOM for de-identification: {exc}")
        source_id = str(ds.get("PatientID", "")).strip()
        target = self.id_map.target(source_id) if source_id else None
        if target is None:
            where = self.id_map.source
            return DeidOutcome(refusal=f"this file's PatientID is not in the ID map {where}; add it there")
        if "SOPInstanceUID" not in ds:
            return DeidOutcome(refusal="missing SOPInstanceUID")
        outcome = DeidOutcome(quarantine=burned_in_reason(ds))
        cleaned = self._clean_pixels(ds, outcome, stand_in=stand_in)
        scrub = _identifiers(ds)
        self._clean(ds, target, scrub, outcome.actions, top=True)
        ds.PatientID = target
        ds.PatientName = target
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = (
            self._method_text()
            if cleaned is None
            else [self._method_text(cleaned), f"pixels: {cleaned}"[:64]]
        )
        codes = DicomSequence()
        recorded = rules.recorded_method_codes(self.policy.method_codes)
        if cleaned is not None:
            recorded.append(CLEAN_PIXEL_DATA)
        for value, meaning in recorded:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            codes.append(item)
        ds.DeidentificationMethodCodeSequence = codes
        ds.LongitudinalTemporalInformationModified = self.policy.longitudinal_temporal_information_modified
        self._fix_meta(ds)
        # The preamble is free for applications to fill (TIFF headers, vendor data): never pass it on.
        ds.preamble = b"\x00" * PREAMBLE_LENGTH
        try:
            written = _splice(ds, data)
            if written is None:
                buffer = io.BytesIO()
                ds.save_as(buffer, enforce_file_format=True)
                written = buffer.getvalue()
        except (ValueError, TypeError, OverflowError, KeyError) as exc:
            return DeidOutcome(refusal=f"cannot write the de-identified file: {exc}")
        try:
            outcome.header = dataset_header(ds)
        except InvalidDicomError as exc:
            return DeidOutcome(refusal=exc.message)
        outcome.data = written
        return outcome

    def _method_text(self, pixel_rule: str | None = None) -> str:
        """DeidentificationMethod: the profile's short spec, claiming pixel cleaning only when it was done."""
        spec = str(getattr(self.policy, "spec", self.policy.name))
        parts = [part for part in spec.split(",") if part not in _PIXEL_SPECS]
        if pixel_rule is not None:
            parts.append("cpd")
        return f"Ria {ria.__version__}: {','.join(parts)}"[:64]

    def _clean_pixels(self, ds: Dataset, outcome: DeidOutcome, *, stand_in: bool = False) -> str | None:
        """Blank the regions of a curator's pixel rule for this device; the rule's name when done.

        Matched on the values as the site sent them (the profile may remove the model name).
        """
        rule = self.pixel_rules.match(ds) if self.pixel_rules is not None and _PIXEL_DATA in ds else None
        if rule is None:
            return None
        if stand_in:
            raise _WholeFileNeeded(rule.name)
        problem = blank_regions(ds, rule)
        if problem is not None:
            outcome.quarantine = problem
            return None
        outcome.quarantine = None  # the known text is gone: nothing left for a curator to check
        outcome.actions[f"clean pixel data ({rule.name})"] += 1
        return rule.name

    def _fix_meta(self, ds: Dataset) -> None:
        meta = ds.file_meta if isinstance(ds.file_meta, FileMetaDataset) else FileMetaDataset()
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                        "ReceivingApplicationEntityTitle", "PrivateInformationCreatorUID",
                        "PrivateInformation"):  # fmt: skip
            if keyword in meta:
                delattr(meta, keyword)
        ds.file_meta = meta

    def _decide(self, tag: int, vr: str, creator: str | None) -> tuple[str, str]:
        """(action, report label) for an attribute, cached: a file has ~100 elements, a batch thousands."""
        key = (tag, vr, creator)
        found = self._decisions.get(key)
        if found is None:
            action = str(self.policy.action(tag, vr, private_creator=creator))
            name = "private" if tag >> 16 & 1 else (keyword_for_tag(tag) or str(BaseTag(tag)))
            found = self._decisions[key] = (action, f"{action} {name}")
        return found

    def _clean(
        self, ds: Dataset, target: str, scrub: list[str], counts: Counter[str], *, top: bool = False
    ) -> None:
        # Walk the raw elements and convert only those the profile changes: most of a file is kept,
        # and converting every value is where a naive walk spends its time.
        for number, raw in list(ds._dict.items()):
            tag = BaseTag(number)
            if tag == _PIXEL_DATA or (top and tag in _TOP_HANDLED):
                continue
            vr = raw.VR or _vr_of(tag)
            creator = None
            if tag.is_private_creator:
                creator = str(ds[tag].value)
            elif tag.is_private:
                owner = ds._dict.get(BaseTag((tag.group << 16) | (tag.element >> 8)))
                creator = str(ds[owner.tag].value) if owner is not None else None
            action, label = self._decide(int(tag), vr, creator)
            counts[label] += 1
            if action == "K" and vr != "SQ":
                continue
            if action == "X":
                del ds[tag]
                continue
            if action == "C" and _clean_keeps(raw, vr, scrub):
                continue  # nothing to clean: leave it raw, so the writer copies its bytes
            element = ds[tag]
            if action == "Z":
                element.value = DicomSequence() if element.VR == "SQ" else None
            elif action == "D":
                self._dummy(element)
            elif action == "U" and element.VR != "SQ":
                self._new_uids(element)
            elif action == "C":
                self._clean_value(element, target, scrub)
            elif element.VR == "SQ":
                # K, and U on a sequence (e.g. Referenced Image Sequence): the action applies to the
                # attributes inside, so walk the items with the same rules.
                for item in element.value:
                    self._clean(item, target, scrub, counts)

    def _dummy(self, element: DataElement) -> None:
        if element.VR == "SQ":
            element.value = DicomSequence()
        elif element.VR == "UI":
            self._new_uids(element)
        else:
            element.value = rules.dummy_value(element.VR)

    def _new_uids(self, element: DataElement) -> None:
        values = element.value if element.VM > 1 else [element.value]
        new = [self.replacements.uid(str(value)) for value in values if str(value).strip()]
        element.value = new if element.VM > 1 else (new[0] if new else "")

    def _clean_value(self, element: DataElement, target: str, scrub: list[str]) -> None:
        if element.VR == "DA":
            element.value = self._shift(element, target, self.replacements.shift_date)
        elif element.VR == "DT":
            element.value = self._shift(element, target, self.replacements.shift_datetime)
        elif element.VR == "SQ":
            for item in element.value:
                self._clean(item, target, scrub, Counter())
        elif element.VR in rules.TEXT_VRS and isinstance(element.value, str):
            text = element.value
            for needle in scrub:
                text = rules.remove_identifier(text, needle)
            element.value = text
        elif element.VR in rules.TEXT_VRS or element.VR in ("OB", "OW", "UN"):
            element.value = None

    @staticmethod
    def _shift(element: DataElement, target: str, shift: Callable[[str, str], str]) -> object:
        if element.value in (None, ""):
            return element.value
        if element.VM > 1:
            return [shift(str(v), target) for v in element.value]
        return shift(str(element.value), target)


_EXPLICIT_LE, _IMPLICIT_LE, _EXPLICIT_BE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
_LONG_HEADER_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_UNDEFINED = 0xFFFFFFFF


def _splice(ds: Dataset, original: bytes) -> bytes | None:
    """Write ``ds`` reusing the original bytes of every element the profile left untouched.

    Most of a file — pixel data above all — is kept as it came, and re-encoding it
    element by element is where writing spends its time; an untouched element is
    still the raw element pydicom read, so its bytes are copied from the original.
    Elements that were changed, added or converted are encoded by pydicom. Returns
    ``None`` (write it the ordinary way) for transfer syntaxes this does not handle.
    """
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if syntax == _IMPLICIT_LE:
        implicit, little = True, True
    elif syntax == _EXPLICIT_BE:
        implicit, little = False, False
    elif syntax.startswith("1.2.840.10008.1.2") and syntax != "1.2.840.10008.1.2.1.99":
        implicit, little = False, True  # explicit VR little endian, and every compressed syntax
    else:
        return None
    out = DicomBytesIO()
    out.write(ds.preamble or b"\x00" * PREAMBLE_LENGTH)
    out.write(b"DICM")
    write_file_meta_info(out, ds.file_meta, enforce_standard=True)
    out.is_implicit_VR, out.is_little_endian = implicit, little
    encoding = ds.get("SpecificCharacterSet", default_encoding)
    elements = cast(dict[BaseTag, Any], ds._dict)
    tags = sorted(elements)
    for tag in tags:
        if tag.element == 0 and tag.group > 6:
            continue  # group lengths are retired and would be wrong after changes
        element = elements[tag]
        if isinstance(element, RawDataElement) and element.value_tell is not None:
            header = 8 if implicit or element.VR not in _LONG_HEADER_VRS else 12
            start = element.value_tell - header
            if element.length != _UNDEFINED:
                out.write(original[start : element.value_tell + element.length])
                continue
            if tag == tags[-1]:
                out.write(original[start:])  # e.g. encapsulated pixel data, delimiter included
                continue
        write_data_element(out, ds[tag], encoding)
    return bytes(out.getvalue())


def _clean_keeps(raw: Any, vr: str, scrub: list[str]) -> bool:
    """True when cleaning would leave this still-raw element as it is (decided without converting it).

    Times of day and UIDs are kept by cleaning; ASCII text is kept when none of the
    patient's identifiers occur in it (compared case-insensitively on the raw bytes).
    """
    if not isinstance(raw, RawDataElement) or not isinstance(raw.value, bytes | None):
        return False
    if vr in ("TM", "UI"):
        return True
    if vr not in rules.TEXT_VRS:
        return False
    text = (raw.value or b"").lower()
    if not text.isascii() or not all(needle.isascii() for needle in scrub):
        return False  # other character sets: let pydicom decode it and clean the text itself
    return not any(needle.lower().encode("ascii") in text for needle in scrub)


def _identifiers(ds: Dataset) -> list[str]:
    """Strings that identify this patient, to be cut out of free text the profile keeps (longest first)."""
    values: dict[str, list[str]] = {}
    for keyword in rules.IDENTIFIER_KEYWORDS:
        value = ds.get(keyword)
        if value:
            values[keyword] = [
                str(part) for part in (value if isinstance(value, list | MultiValue) else [value])
            ]
    name = ds.get("PatientName")
    return rules.identifier_needles(values, str(name) if name else None)
