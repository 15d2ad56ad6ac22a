"""What an import did, and what the catalogue holds: the answers a curator checks after loading a table.

Counting rows (not catalogue records) keeps the numbers comparable with what the curator sees in
the file: ``rows_read`` data rows = ``rows_stored`` + ``rows_rejected``, and the stored ones split
into ``rows_linked`` (the participant has images here) and ``rows_unmatched``. A clinical table
merges several rows of one participant into one record and a label table spreads one row over
several values, so ``participants`` says how many people the file describes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["KINDS", "MAX_REJECTS", "GenomicSource", "ImportReport"]

KINDS = ("maf", "clinical", "mutations", "labels")
"""The kinds of file the importers understand (``detect_kind`` answers one of these)."""

MAX_REJECTS = 20
"""How many reject reasons a report keeps; the count covers all of them."""


@dataclass
class ImportReport:
    """The outcome of importing one file."""

    kind: str
    name: str
    sha256: str
    source_id: int | None = None
    rows_read: int = 0
    rows_stored: int = 0
    rows_linked: int = 0
    rows_unmatched: int = 0
    rows_rejected: int = 0
    rejects: list[str] = field(default_factory=list)
    """The first :data:`MAX_REJECTS` reasons, each starting ``line N:`` (``case N:`` in JSON)."""
    projects: list[str] = field(default_factory=list)
    participants: int = 0
    participants_linked: int = 0
    replaced: bool = False
    """True when the same content had been imported before and its rows were replaced."""

    def reject(self, where: int | str, reason: str) -> None:
        """Count a rejected row (``where``: its line number, or e.g. ``case 3`` in JSON); keep the
        reason while fewer than MAX_REJECTS are kept."""
        self.rows_rejected += 1
        if len(self.rejects) < MAX_REJECTS:
            place = f"line {where}" if isinstance(where, int) else where
            self.rejects.append(f"{place}: {reason}")

    def summary(self) -> str:
        """One line: ``NAME (kind): R read, S stored (L linked to imaging, U unmatched), X rejected; …``."""
        projects = ", ".join(self.projects) or "none"
        again = " (replaced the earlier import of the same content)" if self.replaced else ""
        return (
            f"{self.name} ({self.kind}): {self.rows_read} read, {self.rows_stored} stored "
            f"({self.rows_linked} linked to imaging, {self.rows_unmatched} unmatched), "
            f"{self.rows_rejected} rejected; {self.participants} participants "
            f"({self.participants_linked} with imaging); projects: {projects}{again}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GenomicSource:
    """One imported file as the catalogue remembers it (a ``genomic_source`` row)."""

    id: int
    kind: str
    name: str
    sha256: str
    project: str | None
    rows_read: int
    rows_stored: int
    rows_linked: int
    rows_unmatched: int
    rows_rejected: int
    imported_at: datetime

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["imported_at"] = self.imported_at.isoformat()
        return body
