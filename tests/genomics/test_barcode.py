"""TCGA barcodes: property tests over generated barcodes, and every barcode in the real tables."""

from __future__ import annotations

import csv
import gzip
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ria import errors
from ria.errors import InvalidBarcodeError
from ria.genomics import TcgaBarcode, participant_of

ALNUM = string.ascii_uppercase + string.digits
PUNCT = "!#_@*/+"


@dataclass(frozen=True)
class Parts:
    """A barcode's parts as the test spells them, independent of the parser."""

    site: str
    participant: str
    sample_type: str | None = None
    vial: str | None = None
    portion: str | None = None
    analyte: str | None = None
    plate: str | None = None
    centre: str | None = None
    slide: str | None = None

    def text(self) -> str:
        out = f"TCGA-{self.site}-{self.participant}"
        if self.sample_type is not None:
            out += f"-{self.sample_type}{self.vial or ''}"
        if self.portion is not None:
            out += f"-{self.portion}{self.analyte or ''}"
        for extra in (self.plate, self.slide, self.centre):
            if extra is not None:
                out += f"-{extra}"
        return out


def alnum(n: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=n, max_size=n)


two_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
sample_types = st.integers(1, 29).map(lambda n: f"{n:02d}")
letters = st.sampled_from(string.ascii_uppercase)


@st.composite
def parts(draw: st.DrawFn) -> Parts:
    site, participant = draw(alnum(2)), draw(alnum(4))
    depth = draw(st.integers(0, 4))
    if depth == 0:
        return Parts(site, participant)
    sample_type, vial = draw(sample_types), draw(st.none() | letters)
    if depth == 1:
        return Parts(site, participant, sample_type, vial)
    portion = draw(two_digits)
    if draw(st.booleans()):  # a slide: portion without analyte, then DX1 / TSA / ...
        slide = draw(st.sampled_from(["DX", "TS", "BS", "MS"])) + draw(st.text(ALNUM, min_size=1, max_size=2))
        return Parts(site, participant, sample_type, vial, portion, slide=slide)
    analyte = draw(st.sampled_from("DGHRTWX"))
    plate = draw(alnum(4)) if depth >= 3 else None
    centre = draw(two_digits) if depth == 4 else None
    return Parts(site, participant, sample_type, vial, portion, analyte, plate, centre)


def random_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.lower() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False)
    )


@given(parts(), st.lists(st.booleans(), max_size=40))
def test_round_trip(p: Parts, flips: list[bool]) -> None:
    text = p.text()
    parsed = TcgaBarcode.parse(random_case(text, flips))
    assert (
        parsed.tissue_source_site,
        parsed.participant_code,
        parsed.sample_type,
        parsed.vial,
        parsed.portion,
        parsed.analyte,
        parsed.plate,
        parsed.centre,
        parsed.slide,
    ) == (p.site, p.participant, p.sample_type, p.vial, p.portion, p.analyte, p.plate, p.centre, p.slide)
    assert str(parsed) == text
    assert parsed.participant == text[:12] == participant_of(text.lower())
    if p.sample_type is None:
        assert parsed.sample_kind is None
    else:
        code = int(p.sample_type)
        assert parsed.sample_kind == ("tumor" if code < 10 else "normal" if code < 20 else "control")


def wrong_length(valid: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, max_size=valid + 2).filter(lambda s: len(s) != valid)


def with_punctuation(n: int) -> st.SearchStrategy[str]:
    return st.tuples(
        st.text(ALNUM, min_size=n - 1, max_size=n - 1), st.sampled_from(PUNCT), st.integers(0, n - 1)
    ).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :])


INVALID: dict[str, st.SearchStrategy[str]] = {
    "project": st.text(ALNUM, min_size=1, max_size=6).filter(lambda s: s != "TCGA"),
    "tissue source site": wrong_length(2) | with_punctuation(2),
    "participant": wrong_length(4) | with_punctuation(4),
    "sample type": st.sampled_from(["00", *(f"{n}" for n in range(30, 100))])
    | st.text(string.ascii_uppercase, min_size=2, max_size=2),
    "vial": st.sampled_from(string.digits + PUNCT) | st.text(string.ascii_uppercase, min_size=2, max_size=3),
    "portion": st.text(string.ascii_uppercase + PUNCT, min_size=1, max_size=2) | st.sampled_from(["", "1"]),
    "analyte": st.sampled_from([c for c in string.ascii_uppercase + PUNCT if c not in "DGHRTWX"]),
    "plate": wrong_length(4) | with_punctuation(4),
    "centre": st.text(string.ascii_uppercase + PUNCT, min_size=1, max_size=2)
    | st.sampled_from(["", "1", "123"]),
    "slide": st.sampled_from(["XX1", "DX", "DX123", "D1", "TS!"]),
}


def mutate(p: Parts, part: str, value: str) -> str:
    """``p`` spelled with one part replaced by ``value`` (written by hand, not by the parser)."""
    pieces = {
        "project": "TCGA",
        "tissue source site": p.site,
        "participant": p.participant,
        "sample type": p.sample_type,
        "vial": p.vial,
        "portion": p.portion,
        "analyte": p.analyte,
        "plate": p.plate,
        "centre": p.centre,
        "slide": p.slide,
    }
    pieces[part] = value
    out = f"{pieces['project']}-{pieces['tissue source site']}-{pieces['participant']}"
    if pieces["sample type"] is not None:
        out += f"-{pieces['sample type']}{pieces['vial'] or ''}"
    if pieces["portion"] is not None:
        out += f"-{pieces['portion']}{pieces['analyte'] or ''}"
    for extra in ("plate", "slide", "centre"):
        if pieces[extra] is not None:
            out += f"-{pieces[extra]}"
    return out


@given(parts(), st.data())
def test_one_invalid_part_is_named(p: Parts, data: st.DataObject) -> None:
    present = ["project", "tissue source site", "participant"] + [
        name
        for name, value in (
            ("sample type", p.sample_type),
            ("vial", p.vial),
            ("portion", p.portion),
            ("analyte", p.analyte),
            ("plate", p.plate),
            ("centre", p.centre),
            ("slide", p.slide),
        )
        if value is not None
    ]
    part = data.draw(st.sampled_from(present))
    bad = mutate(p, part, data.draw(INVALID[part]))
    with pytest.raises(InvalidBarcodeError) as caught:
        TcgaBarcode.parse(bad)
    assert caught.value.part == part
    assert part in caught.value.message


def test_message_names_the_part_and_the_value() -> None:
    with pytest.raises(
        InvalidBarcodeError, match=r"^TCGA-02-00X!: participant '00X!' must be 4 letters or digits$"
    ):
        participant_of("TCGA-02-00X!")


def test_error_is_a_400_with_exit_code_2() -> None:
    error = InvalidBarcodeError("X", "participant", "bad")
    assert isinstance(error, errors.InvalidParameterError)
    assert (error.http_status, error.exit_code, error.code) == (400, 2, "invalid_barcode")
    assert error.to_json()["details"] == {"parameter": "barcode", "barcode": "X", "part": "participant"}


@pytest.mark.parametrize(
    ("text", "slide", "uuid"),
    [
        ("TCGA-02-0001-01Z-00-DX1", "DX1", None),
        ("TCGA-02-0001-01A-01-TS1", "TS1", None),
        ("TCGA-02-0001-01A-01-BSA", "BSA", None),
        ("TCGA-02-0001-01A-01-MS1", "MS1", None),
        (
            "TCGA-02-0001-01Z-00-DX1.83FCE43E-42AC-4DCD-B156-2908E75F2E47",
            "DX1",
            "83fce43e-42ac-4dcd-b156-2908e75f2e47",
        ),
    ],
)
def test_slides(text: str, slide: str, uuid: str | None) -> None:
    parsed = TcgaBarcode.parse(text)
    assert (parsed.slide, parsed.slide_uuid, parsed.participant) == (slide, uuid, "TCGA-02-0001")


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("TCGA-02-0001-01Z-00-DX1.svs", "slide UUID"),
        ("TCGA-02-0001-01A-01D-0182-01.83fce43e-42ac-4dcd-b156-2908e75f2e47", "slide UUID"),
        ("TCGA-02-0001-01Z-00-DX1-01", "slide"),
        ("TCGA-02-0001-01A-01D-0182-01-77", "barcode"),
        ("TCGA-02", "barcode"),
        ("", "barcode"),
    ],
)
def test_rejected_shapes(text: str, part: str) -> None:
    with pytest.raises(InvalidBarcodeError) as caught:
        TcgaBarcode.parse(text)
    assert caught.value.part == part


def column(path: Path, name: str) -> list[str]:
    with gzip.open(path, "rt", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return [row[name] for row in csv.DictReader(lines, delimiter="\t")]


@pytest.mark.parametrize(
    "maf", ["tcga_luad_6patients.maf.gz", "tcga_lusc_1sample.maf.gz", "tcga_chol_bcgsc_hg19.maf.gz"]
)
def test_every_real_maf_barcode_parses(tcga_data: Path, maf: str) -> None:
    tumours = column(tcga_data / maf, "Tumor_Sample_Barcode")
    normals = column(tcga_data / maf, "Matched_Norm_Sample_Barcode")
    for text in tumours + normals:
        parsed = TcgaBarcode.parse(text)
        assert str(parsed) == text
        assert parsed.participant == text[:12]
        assert parsed.sample_kind == ("tumor" if int(text[13:15]) < 10 else "normal")
    assert {TcgaBarcode.parse(t).sample_kind for t in normals} == {"normal"}
