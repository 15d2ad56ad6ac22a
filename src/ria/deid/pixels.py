"""Blanking known regions of pixel data: PS3.15's Clean Pixel Data Option, for devices a curator knows.

Some devices burn identifying text into the same place on every image (an
ultrasound scanner's header band, a secondary-capture workstation's corner
label). A curator who has checked a device writes a rule for it — manufacturer,
model, optionally the image size, and the rectangles that hold the text — and
Ria blanks those rectangles in every frame on the way in, records Clean Pixel
Data (113101) in the method sequence and BurnedInAnnotation ``NO``, and no
longer holds those instances for review. Anything a rule cannot clean for
certain (compressed pixel data, a region outside the image) stays held.

Rules file (JSON)::

    {"rules": [{"name": "Acme Sono header band", "manufacturer": "ACME", "model": "Sono 3000",
                "rows": 480, "columns": 640, "regions": [[0, 0, 640, 40]]}]}

``regions`` are ``[x, y, width, height]`` in pixels from the top-left corner;
``rows``/``columns`` are optional (the rule then applies to any size).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from ria.errors import InvalidParameterError

__all__ = ["CLEAN_PIXEL_DATA", "PixelRule", "PixelRules", "Region", "blank_regions"]

CLEAN_PIXEL_DATA = ("113101", "Clean Pixel Data Option")
_NATIVE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"})
_OPTION = "--pixel-rules"
_HELD = "held for review"


@dataclass(frozen=True)
class Region:
    """A rectangle of pixels: left, top, width, height."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class PixelRule:
    """The regions to blank in images from one device model (and, optionally, one image size)."""

    name: str
    manufacturer: str
    model: str
    regions: tuple[Region, ...]
    rows: int | None = None
    columns: int | None = None

    def matches(
        self, manufacturer: str, model: str, rows: int | None = None, columns: int | None = None
    ) -> bool:
        """Whether this rule is for that device (case-insensitive) and, if it names one, that size."""
        if (
            manufacturer.strip().lower() != self.manufacturer.lower()
            or model.strip().lower() != self.model.lower()
        ):
            return False
        if rows is not None and self.rows is not None and rows != self.rows:
            return False
        return columns is None or self.columns is None or columns == self.columns


def _positive(value: object, where: str, *, zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if zero else 1):
        low = "0 or more" if zero else "1 or more"
        raise InvalidParameterError(_OPTION, f"{where} must be a whole number, {low}; got {value!r}")
    return value


def _rule(raw: Any, index: int) -> PixelRule:
    where = f"rule {index + 1}"
    if not isinstance(raw, dict):
        raise InvalidParameterError(_OPTION, f"{where} must be an object")
    unknown = set(raw) - {"name", "manufacturer", "model", "rows", "columns", "regions"}
    if unknown:
        raise InvalidParameterError(_OPTION, f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("name", "manufacturer", "model"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise InvalidParameterError(_OPTION, f"{where}: {key} must be a non-empty string")
    regions = raw.get("regions")
    if not isinstance(regions, list) or not regions:
        raise InvalidParameterError(_OPTION, f"{where}: regions must be a list of [x, y, width, height]")
    parsed = []
    for number, region in enumerate(regions, 1):
        if not isinstance(region, list) or len(region) != 4:
            raise InvalidParameterError(_OPTION, f"{where}, region {number}: expected [x, y, width, height]")
        x, y = (_positive(v, f"{where}, region {number}", zero=True) for v in region[:2])
        width, height = (_positive(v, f"{where}, region {number}") for v in region[2:])
        parsed.append(Region(x, y, width, height))
    rows = _positive(raw["rows"], f"{where}: rows") if raw.get("rows") is not None else None
    columns = _positive(raw["columns"], f"{where}: columns") if raw.get("columns") is not None else None
    return PixelRule(raw["name"].strip(), raw["manufacturer"].strip(), raw["model"].strip(),
                     tuple(parsed), rows, columns)  # fmt: skip


@dataclass(frozen=True)
class PixelRules:
    """A curator's rules, first match wins."""

    rules: tuple[PixelRule, ...]
    source: str = "<rules>"

    @classmethod
    def read(cls, path: Path | str) -> PixelRules:
        """Load and check a rules file; every mistake is one message naming the rule and field."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidParameterError(_OPTION, f"cannot read pixel rules {path}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidParameterError(_OPTION, f"pixel rules {path} are not JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
            raise InvalidParameterError(_OPTION, f'pixel rules {path}: expected {{"rules": [...]}}')
        return cls(tuple(_rule(raw, index) for index, raw in enumerate(document["rules"])), str(path))

    def for_device(self, manufacturer: str, model: str) -> bool:
        """Whether any rule is for this device, whatever the image size (to route files to the full path)."""
        return any(rule.matches(manufacturer, model) for rule in self.rules)

    def match(self, ds: Dataset) -> PixelRule | None:
        rows, columns = ds.get("Rows"), ds.get("Columns")
        for rule in self.rules:
            if rule.matches(
                str(ds.get("Manufacturer", "")),
                str(ds.get("ManufacturerModelName", "")),
                int(rows) if rows is not None else None,
                int(columns) if columns is not None else None,
            ):
                return rule
        return None


def blank_regions(ds: Dataset, rule: PixelRule) -> str | None:
    """Zero the rule's regions in every frame of ``ds``; returns why it cannot, or ``None`` when done."""
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if syntax not in _NATIVE:
        return (
            f"pixel rule {rule.name!r} matches, but the pixel data is compressed ({syntax}): held for review"
        )
    rows, columns = int(ds.get("Rows", 0)), int(ds.get("Columns", 0))
    bits, samples = int(ds.get("BitsAllocated", 0)), int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if bits % 8 or not rows or not columns:
        return (
            f"pixel rule {rule.name!r} matches, but {bits}-bit pixel data cannot be blanked: held for review"
        )
    for region in rule.regions:
        if region.x + region.width > columns or region.y + region.height > rows:
            return (
                f"pixel rule {rule.name!r}: a region lies outside the {columns}x{rows} image: held for review"
            )
    pixel_bytes = bits // 8
    planar = int(ds.get("PlanarConfiguration", 0) or 0) if samples > 1 else 0
    data = bytearray(ds.PixelData)
    frame_size = rows * columns * samples * pixel_bytes
    if len(data) < frame_size * frames:
        return f"pixel rule {rule.name!r} matches, but the pixel data is shorter than its frames; {_HELD}"
    planes = samples if planar else 1
    per_pixel = pixel_bytes * (1 if planar else samples)
    plane_size = rows * columns * pixel_bytes
    for frame in range(frames):
        for plane in range(planes):
            start = frame * frame_size + plane * plane_size
            for region in rule.regions:
                for row in range(region.y, region.y + region.height):
                    first = start + (row * columns + region.x) * per_pixel
                    data[first : first + region.width * per_pixel] = bytes(region.width * per_pixel)
    ds.PixelData = bytes(data)
    ds.BurnedInAnnotation = "NO"
    return None
