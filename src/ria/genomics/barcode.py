"""TCGA barcodes: parse, validate, and reduce to the participant that links genomics to images.

Genomic and clinical tables name TCGA material at every level of the hierarchy — participant
(``TCGA-02-0001``), sample (``-01C``), portion and analyte (``-01D``), plate (``-0182``), centre
(``-01``) — or a slide (``TCGA-02-0001-01Z-00-DX1``, sometimes with the slide's UUID appended
as in SVS file names). Imaging is filed by participant only, so every importer reduces what it
reads to the 12-character participant, and a malformed barcode must be rejected with the part
that is wrong named: a silent mis-parse would link a mutation to the wrong patient's scans.

Format (https://docs.gdc.cancer.gov/Encyclopedia/pages/TCGA_Barcode/)::

    TCGA-02-0001-01C-01D-0182-01          aliquot
    TCGA-02-0001-01Z-00-DX1[.UUID]        slide (DX diagnostic, TS/BS/MS top/bottom/middle frozen)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from ria.errors import InvalidBarcodeError

__all__ = ["ANALYTES", "SLIDE_TYPES", "SampleKind", "TcgaBarcode", "participant_of"]

SampleKind = Literal["tumor", "normal", "control"]

ANALYTES = frozenset("DGHRTWX")
"""Analyte codes: DNA, whole-genome amplified (G, X), mirVana RNA (H), RNA, total RNA, W (GenomePlex)."""

SLIDE_TYPES = ("DX", "TS", "BS", "MS")
"""Diagnostic (FFPE) slides and the top, bottom and middle sections of frozen tissue."""

_ALNUM2 = re.compile(r"[A-Z0-9]{2}")
_ALNUM4 = re.compile(r"[A-Z0-9]{4}")
_DIGITS2 = re.compile(r"[0-9]{2}")
_LETTER = re.compile(r"[A-Z]")
_SLIDE = re.compile(r"(DX|TS|BS|MS)[A-Z0-9]{1,2}")
_ANALYTE_RULE = f"must be one of {', '.join(sorted(ANALYTES))}"
_SLIDE_RULE = "must be DX, TS, BS or MS followed by 1-2 letters or digits"


@dataclass(frozen=True, slots=True)
class TcgaBarcode:
    """A parsed TCGA barcode; every part after the participant is optional, in order.

    Parts are kept as the strings the barcode spells (``"01"``, not ``1``) so that ``str()``
    gives back the normalised barcode exactly.
    """

    tissue_source_site: str
    participant_code: str
    sample_type: str | None = None
    vial: str | None = None
    portion: str | None = None
    analyte: str | None = None
    plate: str | None = None
    centre: str | None = None
    slide: str | None = None
    slide_uuid: str | None = None
    project: str = "TCGA"

    @classmethod
    def parse(cls, text: str) -> TcgaBarcode:
        """Parse ``text`` (any case, surrounding blanks ignored); raise naming the wrong part."""
        if not isinstance(text, str):
            raise InvalidBarcodeError(repr(text), "barcode", f"a TCGA barcode must be text, not {text!r}")
        barcode = text.strip().upper()
        head, dot, tail = barcode.partition(".")
        slide_uuid = _parse_uuid(barcode, tail) if dot else None
        parts = head.split("-")
        if len(parts) < 3:
            raise InvalidBarcodeError(
                barcode,
                "barcode",
                f"{barcode!r} is not a TCGA barcode: expected TCGA-<site>-<participant>[-...]",
            )
        project, site, participant = parts[:3]
        _check(barcode, "project", project, project == "TCGA", "must be TCGA")
        _check(barcode, "tissue source site", site, _ALNUM2.fullmatch(site), "must be 2 letters or digits")
        _check(
            barcode, "participant", participant, _ALNUM4.fullmatch(participant), "must be 4 letters or digits"
        )
        rest = parts[3:]
        if len(rest) > 4:
            raise InvalidBarcodeError(
                barcode, "barcode", f"{barcode}: unexpected {rest[4]!r} after the centre (at most 7 parts)"
            )
        sample_type = vial = portion = analyte = plate = centre = slide = None
        if rest:
            sample_type, vial = _split_code(barcode, rest[0], "sample type", "vial")
            _sample_kind(barcode, sample_type)
        if len(rest) > 1:
            portion, analyte = _split_code(barcode, rest[1], "portion", "analyte")
            _check(barcode, "analyte", analyte, analyte is None or analyte in ANALYTES, _ANALYTE_RULE)
        if len(rest) > 2 and analyte is None:
            # Slides are cut from a portion, not from an analyte: ``-01Z-00-DX1``.
            slide = rest[2]
            _check(barcode, "slide", slide, _SLIDE.fullmatch(slide), _SLIDE_RULE)
            if len(rest) > 3:
                raise InvalidBarcodeError(
                    barcode, "slide", f"{barcode}: nothing may follow the slide {slide!r}"
                )
        elif len(rest) > 2:
            plate = rest[2]
            _check(barcode, "plate", plate, _ALNUM4.fullmatch(plate), "must be 4 letters or digits")
            if len(rest) > 3:
                centre = rest[3]
                _check(barcode, "centre", centre, _DIGITS2.fullmatch(centre), "must be 2 digits")
        if slide_uuid is not None and slide is None:
            raise InvalidBarcodeError(
                barcode, "slide UUID", f"{barcode}: only a slide barcode may carry a UUID suffix"
            )
        return cls(site, participant, sample_type, vial, portion, analyte, plate, centre, slide, slide_uuid)

    @property
    def participant(self) -> str:
        """The 12-character participant barcode (``TCGA-02-0001``) imaging PatientIDs use."""
        return f"{self.project}-{self.tissue_source_site}-{self.participant_code}"

    @property
    def sample(self) -> str | None:
        """The sample barcode (``TCGA-02-0001-01C``), or None when the barcode stops at the participant."""
        if self.sample_type is None:
            return None
        return f"{self.participant}-{self.sample_type}{self.vial or ''}"

    @property
    def sample_kind(self) -> SampleKind | None:
        """Tumour (01-09), normal (10-19) or control (20-29) material; None without a sample type."""
        if self.sample_type is None:
            return None
        return _sample_kind(str(self), self.sample_type)

    def __str__(self) -> str:
        parts = [self.participant]
        if self.sample_type is not None:
            parts.append(f"{self.sample_type}{self.vial or ''}")
        if self.portion is not None:
            parts.append(f"{self.portion}{self.analyte or ''}")
        for part in (self.plate, self.slide, self.centre):
            if part is not None:
                parts.append(part)
        text = "-".join(parts)
        return f"{text}.{self.slide_uuid}" if self.slide_uuid is not None else text


def participant_of(text: str) -> str:
    """The 12-character participant of any TCGA barcode; raises :class:`InvalidBarcodeError`."""
    return TcgaBarcode.parse(text).participant


def _check(barcode: str, part: str, value: str | None, ok: object, rule: str) -> None:
    if not ok:
        raise InvalidBarcodeError(barcode, part, f"{barcode}: {part} {value!r} {rule}")


def _split_code(barcode: str, token: str, number: str, letter: str) -> tuple[str, str | None]:
    """A two-digit code and its optional letter (``01C``: sample type + vial, ``01D``: portion + analyte)."""
    digits, suffix = token[:2], token[2:]
    _check(barcode, number, digits, _DIGITS2.fullmatch(digits), "must be 2 digits")
    if not suffix:
        return digits, None
    _check(barcode, letter, suffix, _LETTER.fullmatch(suffix), "must be one letter A-Z")
    return digits, suffix


def _sample_kind(barcode: str, sample_type: str) -> SampleKind:
    code = int(sample_type)
    if 1 <= code <= 9:
        return "tumor"
    if 10 <= code <= 19:
        return "normal"
    if 20 <= code <= 29:
        return "control"
    raise InvalidBarcodeError(
        barcode,
        "sample type",
        f"{barcode}: sample type {sample_type!r} must be 01-29 (01-09 tumour, 10-19 normal, 20-29 control)",
    )


def _parse_uuid(barcode: str, text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidBarcodeError(
            barcode, "slide UUID", f"{barcode}: slide UUID {text!r} is not a UUID (a file extension?)"
        ) from None
