"""Private, deterministic replacements: site patient IDs → TCGA barcodes, UIDs → new UIDs, dates → shifted.

Everything is a pure function of the input and the archive's *de-identification
secret* (a random key created once under ``<data-dir>/private/``, never served,
never logged): the same UID always becomes the same new UID, in any batch, any
worker process, any day — so a series split across uploads stays together — yet
nobody without the key can link a new UID back to the original. Losing the key
only means new uploads of already-ingested studies get new UIDs; keep it with
the archive's backups.

Patient IDs are not derived but *mapped*, from a table the curator provides:
an instance whose patient is not in the table is refused, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ria.errors import ConfigurationError, InvalidParameterError
from ria.keys import load_key

__all__ = [
    "ID_MAP_HEADER",
    "MAX_SHIFT_DAYS",
    "MIN_SHIFT_DAYS",
    "IdMap",
    "Replacements",
    "load_secret",
]

ID_MAP_HEADER = ("source_patient_id", "target_patient_id")
MIN_SHIFT_DAYS = 365
MAX_SHIFT_DAYS = 3650
_SECRET_BYTES = 32
_ROOT = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def load_secret(private_dir: Path) -> bytes:
    """The archive's de-identification key, created (mode 0600) on first use (see :mod:`ria.keys`)."""
    return load_key(private_dir, "deid.key", purpose="de-identification key", size=_SECRET_BYTES)


@dataclass(frozen=True)
class IdMap:
    """Site patient ID → target (TCGA) patient ID, as the curator's CSV says."""

    targets: Mapping[str, str]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        # DICOM pads values with spaces: compare IDs without them, however the map was built.
        object.__setattr__(self, "targets", {k.strip(): v.strip() for k, v in self.targets.items()})

    @classmethod
    def read(cls, path: Path | str) -> IdMap:
        """Read a CSV with header ``source_patient_id,target_patient_id``; every problem names its line."""
        path = Path(path)
        try:
            handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise InvalidParameterError("--id-map", f"cannot read {path}: {exc.strerror or exc}") from exc
        with handle:
            reader = csv.reader(handle)
            header = [cell.strip() for cell in next(reader, [])]
            if tuple(header) != ID_MAP_HEADER:
                raise InvalidParameterError(
                    "--id-map",
                    f"{path}: the header must be {','.join(ID_MAP_HEADER)}, got {','.join(header)!r}",
                )
            targets: dict[str, str] = {}
            for number, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != 2:
                    raise InvalidParameterError("--id-map", f"{path} line {number}: expected 2 columns")
                source, target = row[0].strip(), row[1].strip()
                if not source or not target:
                    raise InvalidParameterError("--id-map", f"{path} line {number}: empty patient ID")
                if len(target) > 64 or "\\" in target:
                    raise InvalidParameterError(
                        "--id-map", f"{path} line {number}: {target[:70]!r} is not a valid PatientID"
                    )
                if targets.get(source, target) != target:
                    raise InvalidParameterError(
                        "--id-map",
                        f"{path} line {number}: source patient listed twice with different targets",
                    )
                targets[source] = target
        if not targets:
            raise InvalidParameterError("--id-map", f"{path} maps no patients")
        return cls(targets, str(path))

    def target(self, source_patient_id: str) -> str | None:
        return self.targets.get(source_patient_id.strip())


@dataclass(frozen=True)
class Replacements:
    """Keyed, deterministic replacements for UIDs and per-patient date offsets."""

    secret: bytes
    uid_root: str = "2.25"

    def __post_init__(self) -> None:
        root = self.uid_root.rstrip(".")
        if not _ROOT.fullmatch(root) or len(root) > 40:
            raise ConfigurationError(
                f"UID root {self.uid_root!r} must be dotted numbers without leading zeros, "
                "at most 40 characters"
            )
        object.__setattr__(self, "uid_root", root)

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.secret, f"{purpose}\x1f{value}".encode(), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """The replacement for ``original``: the same for the same input, unlinkable without the key.

        Under ``2.25`` the number is 128 bits, as X.667 defines that arc; under
        another root it is as wide as the 64-character limit allows (at least 23
        decimal digits, about 76 bits, for a 40-character root). Collisions are
        negligible either way, and the catalogue's unique UIDs would refuse one.
        """
        mac = self._mac("uid", original.strip())
        if self.uid_root == "2.25":
            # X.667: under 2.25 the number is a 128-bit UUID value.
            return f"2.25.{int.from_bytes(mac[:16], 'big')}"
        room = 64 - len(self.uid_root) - 1
        digits = str(int.from_bytes(mac, "big"))[:room].lstrip("0") or "0"
        return f"{self.uid_root}.{digits}"

    def day_offset(self, target_patient_id: str) -> int:
        """Days every date of this patient moves back, the same for all their data.

        At least a year (a shift of a few days hides nothing: a date is still recognisable
        next to a known event), at most ten.
        """
        number = int.from_bytes(self._mac("date", target_patient_id)[:8], "big")
        return MIN_SHIFT_DAYS + number % (MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1)

    def shift_date(self, value: str, target_patient_id: str) -> str:
        """A DA value (YYYYMMDD) moved back by the patient's offset; unparseable values are emptied."""
        try:
            date = dt.datetime.strptime(value.strip()[:8], "%Y%m%d").date()
        except ValueError:
            return ""
        return (date - dt.timedelta(days=self.day_offset(target_patient_id))).strftime("%Y%m%d")

    def shift_datetime(self, value: str, target_patient_id: str) -> str:
        """A DT value moved back by the patient's offset, the time of day and zone kept."""
        text = value.strip()
        shifted = self.shift_date(text[:8], target_patient_id)
        return shifted + text[8:] if shifted else ""
