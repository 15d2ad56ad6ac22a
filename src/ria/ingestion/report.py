"""The ingest report: counts in memory, every file's outcome streamed to a JSON-lines file."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ria.catalog.records import Outcome, WriteResult

__all__ = ["IngestReport", "ReportWriter"]

MAX_PROBLEMS_IN_MEMORY = 1000


@dataclass
class IngestReport:
    """Summary of one ingest run.

    ``problems`` holds the first :data:`MAX_PROBLEMS_IN_MEMORY` files that were
    not ingested (conflicts, rejections and quarantined instances, with reasons)
    so memory stays bounded; the file at ``path`` lists every file's outcome.

    ``quarantined`` instances are stored but held apart, never served, until a
    curator releases or rejects them (``ria review``). That is the archive doing
    its job, not a failure, so they do not make :attr:`ok` false (nor ``ria
    ingest --strict`` exit 1); they are listed with their reasons so the curator
    knows what waits for review.
    """

    collection: str
    ingested: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    quarantined: int = 0
    bytes_ingested: int = 0
    seconds: float = 0.0
    problems: list[WriteResult] = field(default_factory=list)
    path: Path | None = None
    deid_actions: Counter[str] = field(default_factory=Counter)
    """De-identification: how often each action hit each attribute ("X OtherPatientIDs": 12); no values."""
    not_barcodes: dict[str, str] = field(default_factory=dict)
    """PatientIDs filed in a TCGA collection that are not TCGA participant barcodes, with why.

    Genomic and clinical data link to images by participant barcode, so such a patient's
    images never meet their genomics; the ingest still stores them (a curator may map the IDs
    with ``--id-map``), but says so, and ``ria ingest --strict`` fails.
    """
    _patients_seen: set[str] = field(default_factory=set, init=False, repr=False)

    def note_patient(self, patient_id: str) -> None:
        """Check the PatientID of a stored instance against the collection's naming (TCGA barcodes)."""
        if patient_id in self._patients_seen:
            return
        self._patients_seen.add(patient_id)
        # Imported here: ria.genomics imports the archive, which imports this module.
        from ria.errors import InvalidBarcodeError
        from ria.genomics.barcode import TcgaBarcode
        from ria.genomics.projects import study_project

        if study_project(self.collection) is None or len(self.not_barcodes) >= MAX_PROBLEMS_IN_MEMORY:
            return
        try:
            parsed = TcgaBarcode.parse(patient_id)
        except InvalidBarcodeError as exc:
            self.not_barcodes[patient_id] = exc.message
            return
        if patient_id != parsed.participant:
            self.not_barcodes[patient_id] = (
                f"{patient_id!r} is not a participant barcode (the participant is {parsed.participant})"
            )

    @property
    def warnings(self) -> list[str]:
        """What was stored but deserves a word: PatientIDs genomics cannot link to."""
        if not self.not_barcodes:
            return []
        ids = sorted(self.not_barcodes)
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        return [
            f"{len(ids)} PatientID{'s' if len(ids) != 1 else ''} in {self.collection} "
            f"{'are' if len(ids) != 1 else 'is'} not TCGA participant barcodes (TCGA-SS-PPPP): {shown}; "
            "genomic and clinical data will not link to them: map them with --id-map "
            "(CSV source_patient_id,target_patient_id)"
        ]

    @property
    def total(self) -> int:
        return self.ingested + self.duplicate + self.conflict + self.rejected + self.quarantined

    @property
    def ok(self) -> bool:
        """True when nothing was rejected or conflicting (held instances are not failures)."""
        return self.conflict == 0 and self.rejected == 0

    def add(self, result: WriteResult) -> None:
        match result.outcome:
            case Outcome.INGESTED:
                self.ingested += 1
            case Outcome.DUPLICATE:
                self.duplicate += 1
            case Outcome.CONFLICT:
                self.conflict += 1
            case Outcome.REJECTED:
                self.rejected += 1
            case Outcome.QUARANTINED:
                self.quarantined += 1
        if (
            result.outcome in (Outcome.CONFLICT, Outcome.REJECTED, Outcome.QUARANTINED)
            and len(self.problems) < MAX_PROBLEMS_IN_MEMORY
        ):
            self.problems.append(result)

    def summary(self) -> str:
        """One line of counts, then one ``warning:`` line per warning."""
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.collection}: {self.ingested} ingested, {self.duplicate} duplicate, "
            f"{self.conflict} conflict, {self.rejected} rejected, {self.quarantined} quarantined "
            f"({self.total} files in {self.seconds:.1f} s, {rate:.0f}/s)"
        ) + "".join(f"\n  warning: {w}" for w in self.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "ingested": self.ingested,
            "duplicate": self.duplicate,
            "conflict": self.conflict,
            "rejected": self.rejected,
            "quarantined": self.quarantined,
            "bytes_ingested": self.bytes_ingested,
            "seconds": round(self.seconds, 3),
            "report": str(self.path) if self.path else None,
            "problems": [_result_json(p) for p in self.problems],
            **({"deidentification": dict(sorted(self.deid_actions.items()))} if self.deid_actions else {}),
            "warnings": self.warnings,
            "not_tcga_barcodes": [
                {"patient_id": pid, "reason": why} for pid, why in sorted(self.not_barcodes.items())
            ],
        }


def _result_json(result: WriteResult) -> dict[str, Any]:
    body: dict[str, Any] = {"file": result.source, "outcome": result.outcome.value}
    if result.reason:
        body["reason"] = result.reason
    if result.sop_instance_uid:
        body["sop_instance_uid"] = result.sop_instance_uid
    return body


class ReportWriter:
    """Appends one JSON line per file to the report file (if any) and counts."""

    def __init__(self, report: IngestReport, path: Path | None) -> None:
        self.report = report
        self._handle: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())
            report.path = path

    def add(self, result: WriteResult) -> None:
        self.report.add(result)
        if self._handle is not None:
            self._handle.write(json.dumps(_result_json(result)) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            if self.report.deid_actions:
                actions = dict(sorted(self.report.deid_actions.items()))
                self._handle.write(json.dumps({"deidentification": actions}) + "\n")
            for warning in self.report.warnings:
                self._handle.write(json.dumps({"warning": warning}) + "\n")
            self._handle.close()
            self._handle = None

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
