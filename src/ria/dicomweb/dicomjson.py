"""DICOM JSON attribute objects (PS3.18 Annex F) for values Ria computes rather than reads from a file.

The one place that decides what an attribute with no value becomes. PS3.18 F.2.5 spells
"present but empty" as an object with a ``vr`` and no ``Value``; a header read from a
file says that faithfully (WADO-RS metadata keeps pydicom's encoding of the file). A
value Ria *computes* — a catalogue column, ModalitiesInStudy from the study's series,
a count — has no "present but empty" state: nothing computed means the attribute is
unknown, so it is left out. Claiming it empty would be false (StudyTime is in the files,
not in the catalogue), and clients read ``Value`` of what they are given: OHIF 3.13's
study list fails with "Cannot read properties of undefined (reading 'length')" on a
ModalitiesInStudy without ``Value``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

__all__ = ["computed_attribute"]


def _values(value: object) -> list[object]:
    """The non-empty values of a single value or a list of them (``None`` and ``""`` carry nothing)."""
    values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    return [v for v in values if v is not None and v != ""]


def computed_attribute(vr: str, value: object) -> dict[str, Any] | None:
    """The DICOM JSON object for a computed value, or ``None`` (leave the attribute out) when it has none."""
    values = _values(value)
    if not values:
        return None
    if vr == "PN":
        return {"vr": vr, "Value": [{"Alphabetic": str(v)} for v in values]}
    if vr == "DA":
        return {
            "vr": vr,
            "Value": [v.strftime("%Y%m%d") if isinstance(v, dt.date) else str(v) for v in values],
        }
    if vr == "IS":
        return {"vr": vr, "Value": [int(str(v)) for v in values]}
    return {"vr": vr, "Value": [str(v) for v in values]}
