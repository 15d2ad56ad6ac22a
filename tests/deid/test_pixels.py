"""Clean Pixel Data by a curator's rule: known regions blanked in every frame, everything else untouched."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from ria import __version__
from ria.access import OPERATOR
from ria.archive import Archive
from ria.deid.engine import Deidentifier
from ria.deid.mapping import IdMap, Replacements
from ria.deid.pixels import PixelRules
from ria.deid.profiles import Profile
from ria.errors import InvalidParameterError
from ria.sample import find_test_file
from ria.settings import Settings
from tests.cli.test_cli import db_args, ria
from tests.deid.phi import read_dataset

TARGET = "TCGA-05-4244"
US_RULE = {"name": "LOGIQ header band", "manufacturer": "G.E. Medical Systems", "model": "LOGIQ 700",
           "rows": 480, "columns": 640, "regions": [[0, 0, 640, 60], [600, 400, 40, 80]]}  # fmt: skip


def _rules(tmp_path: Path, *rules: Mapping[str, object]) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": list(rules)}))
    return path


def _deid(rules: PixelRules | None, patient: str) -> Deidentifier:
    return Deidentifier(
        Profile.parse("tcia"), IdMap({patient: TARGET}), Replacements(b"k" * 32), pixel_rules=rules
    )


def _mask(shape: tuple[int, ...], regions: list[list[int]]) -> np.ndarray:
    mask = np.zeros(shape[-3:-1] if len(shape) >= 3 else shape[-2:], dtype=bool)
    for x, y, width, height in regions:
        mask[y : y + height, x : x + width] = True
    return mask


def test_an_ultrasound_header_band_is_blanked_and_the_instance_released(tmp_path: Path) -> None:
    source = find_test_file("US1_UNCR.dcm")
    original = read_dataset(source)
    assert _deid(None, str(original.PatientID))(source.read_bytes()).quarantine  # held without a rule
    rules = PixelRules.read(_rules(tmp_path, US_RULE))
    outcome = _deid(rules, str(original.PatientID))(source.read_bytes())
    assert outcome.data is not None and outcome.quarantine is None
    out = read_dataset(outcome.data)
    before, after = original.pixel_array, out.pixel_array
    mask = _mask(before.shape, US_RULE["regions"])  # type: ignore[arg-type]
    assert before[mask].any()  # there was something in the band to remove
    assert not after[mask].any()
    assert np.array_equal(after[~mask], before[~mask])
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert "113101" in codes and out.BurnedInAnnotation == "NO"
    method = [f"Ria {__version__}: basic,cd,rlmd,rpc,rdi,rsp,cpd", "pixels: LOGIQ header band"]
    assert list(out.DeidentificationMethod) == method
    assert outcome.actions["clean pixel data (LOGIQ header band)"] == 1


@pytest.mark.parametrize("name", ["SC_rgb.dcm", "SC_rgb_2frame.dcm", "MR_small.dcm"])
def test_every_frame_and_sample_layout_is_blanked(tmp_path: Path, name: str) -> None:
    ds = read_dataset(find_test_file(name))
    ds.Manufacturer, ds.ManufacturerModelName = "Acme", "Capture 1"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    regions = [[2, 3, 20, 5], [50, 40, 7, 9]]
    rule = {"name": "corner", "manufacturer": "ACME", "model": "capture 1", "regions": regions}
    outcome = _deid(PixelRules.read(_rules(tmp_path, rule)), str(ds.PatientID))(buffer.getvalue())
    assert outcome.data is not None and outcome.quarantine is None
    before, after = ds.pixel_array, read_dataset(outcome.data).pixel_array
    frames = (
        [(before, after)]
        if int(ds.get("NumberOfFrames", 1) or 1) == 1
        else list(zip(before, after, strict=True))
    )
    for frame_before, frame_after in frames:
        mask = _mask(frame_before.shape if frame_before.ndim == 3 else (*frame_before.shape, 1), regions)
        assert not frame_after[mask].any()
        assert np.array_equal(frame_after[~mask], frame_before[~mask])


def test_compressed_pixels_and_misfit_rules_stay_held(tmp_path: Path) -> None:
    ds = read_dataset(find_test_file("SC_rgb_rle.dcm"))
    rule = {"name": "any", "manufacturer": "Acme", "model": "M", "regions": [[0, 0, 10, 10]]}
    ds.Manufacturer, ds.ManufacturerModelName = "Acme", "M"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    outcome = _deid(PixelRules.read(_rules(tmp_path, rule)), str(ds.PatientID))(buffer.getvalue())
    assert outcome.quarantine is not None and "compressed" in outcome.quarantine
    outside = {**US_RULE, "regions": [[600, 0, 100, 10]]}
    us = find_test_file("US1_UNCR.dcm")
    held = _deid(PixelRules.read(_rules(tmp_path, outside)), str(read_dataset(us).PatientID))(us.read_bytes())
    assert held.quarantine is not None and "outside" in held.quarantine


def test_other_devices_keep_the_byte_path_and_their_pixels(tmp_path: Path) -> None:
    ct = find_test_file("CT_small.dcm")
    original = read_dataset(ct)
    rules = PixelRules.read(_rules(tmp_path, US_RULE))
    outcome = _deid(rules, str(original.PatientID))(ct.read_bytes())
    assert outcome.data is not None
    out = read_dataset(outcome.data)
    assert out.PixelData == original.PixelData and "113101" not in [
        i.CodeValue for i in out[0x00120064].value
    ]


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ("not json", "not JSON"),
        ('{"rule": []}', '{"rules": [...]}'),
        ('{"rules": [{"name": "x", "manufacturer": "m", "model": "n"}]}', "rule 1: regions"),
        (
            '{"rules": [{"name": "x", "manufacturer": "m", "model": "n", "regions": [[0, 0, 0, 5]]}]}',
            "region 1",
        ),
        ('{"rules": [{"name": "", "manufacturer": "m", "model": "n", "regions": [[0, 0, 1, 1]]}]}', "name"),
        (
            '{"rules": [{"name": "x", "manufacturer": "m", "model": "n", "regions": [], "zoom": 0}]}',
            "unknown field(s) zoom",
        ),
    ],
)
def test_malformed_rules_are_one_clear_message(tmp_path: Path, document: str, needle: str) -> None:
    path = tmp_path / "rules.json"
    path.write_text(document)
    with pytest.raises(InvalidParameterError) as caught:
        PixelRules.read(path)
    assert needle in caught.value.message and caught.value.parameter == "--pixel-rules"


def test_the_cli_and_network_uploads_use_the_collections_rules(tmp_path: Path) -> None:
    source = find_test_file("US1_UNCR.dcm")
    site = tmp_path / "site"
    site.mkdir()
    (site / "us.dcm").write_bytes(source.read_bytes())
    id_map = tmp_path / "map.csv"
    id_map.write_text(f"source_patient_id,target_patient_id\n{read_dataset(source).PatientID},{TARGET}\n")
    data = tmp_path / "data"
    where = db_args(data, None)
    rules = _rules(tmp_path, US_RULE)
    assert ria("collections", "set", "TCGA-LUAD", "--deidentify", "tcia", "--pixel-rules", str(rules),
               *where).returncode == 0  # fmt: skip
    done = ria("ingest", str(site), "-c", "TCGA-LUAD", "--id-map", str(id_map), "--json", *where)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ingested"] == 1 and report["quarantined"] == 0
    with Archive(Settings(data_dir=data)) as archive:
        (row,) = archive.catalog.instances(
            archive.catalog.series(principal=OPERATOR)[0].series_instance_uid, principal=OPERATOR
        )
        with archive.store.open(row.blob_key) as handle:
            stored = read_dataset(handle.read())
        assert not stored.pixel_array[:60].any()
        assert archive.stored_pixel_rules("TCGA-LUAD") is not None
    bad = ria("ingest", str(site), "-c", "TCGA-BRCA", "--pixel-rules", str(rules), *where)
    assert bad.returncode == 2 and "--pixel-rules" in bad.stderr
