"""Clinical facts: GDC TSV/CSV/JSON, legacy TCGA biotab, sample metadata and survival tables.

The same fact has many names across GDC generations and TCGA's legacy exports (``days_to_death``,
``death_days_to``, ``demographic.days_to_death``); :data:`FIELDS` maps them all onto the columns of
``clinical``. Values are normalised so a cohort query does not need to know the source: vital
status becomes ``Alive``/``Dead`` (from Alive/Dead, LIVING/DECEASED, 0/1), sex, race and ethnicity
take GDC's lower-case vocabulary, and ages are in DAYS, as GDC's ``age_at_diagnosis`` is: a legacy
``birth_days_to``/``days_to_birth`` (negative days) is negated, and an age in whole years
(``age_at_initial_pathologic_diagnosis``, ``age_at_index``) becomes round(years * 365.25), the
only approximation, used when no day count exists.

Several rows may describe one participant (a follow-up biotab, per-sample metadata, a JSON case
with several diagnoses); they are merged into one ``clinical`` row per participant as the catalogue
merges sources at query time: Dead wins over Alive, the largest day counts win, and the first known
value fills any other gap. That needs one small record per participant in memory, never the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ria.catalog.schema import clinical
from ria.genomics.fields import RowRejected, barcode_column, barcode_of, bounded, whole_number
from ria.genomics.projects import project_from_row
from ria.genomics.readers import Row, iter_json_records, open_table, parse_float
from ria.genomics.store import SourceWriter

__all__ = ["CLINICAL_MARKERS", "FIELDS", "ClinicalFacts", "import_clinical_json", "import_clinical_table"]

FIELDS: dict[str, tuple[str, ...]] = {
    "vital_status": ("vital_status", "vitalstatus", "os_status"),
    "days_to_death": ("days_to_death", "death_days_to"),
    "days_to_last_follow_up": (
        "days_to_last_follow_up",
        "last_contact_days_to",
        "days_to_last_followup",
        "days_to_follow_up",
    ),
    "sex": ("sex", "gender"),
    "race": ("race",),
    "ethnicity": ("ethnicity",),
    "age_at_diagnosis": ("age_at_diagnosis",),
    "days_to_birth": ("days_to_birth", "birth_days_to"),
    "age_years": ("age_at_initial_pathologic_diagnosis", "age_at_index"),
    "primary_diagnosis": ("primary_diagnosis", "histologic_diagnosis", "histological_type"),
    "ajcc_pathologic_stage": (
        "ajcc_pathologic_stage",
        "ajcc_pathologic_tumor_stage",
        "pathologic_stage",
        "tumor_stage",
    ),
    "times": ("times", "os.time", "os_time"),
}
"""Catalogue fact → the column names that carry it (lower case, after any ``demographic.``-style prefix)."""

CLINICAL_MARKERS = frozenset(
    name for key in ("vital_status", "days_to_death", "days_to_last_follow_up") for name in FIELDS[key]
)
"""Column names that make a table a clinical one for ``detect_kind``: survival facts, which a
generic label table rarely has (one with only sex or race is imported as labels unless forced)."""

PREFIXES = ("cases.", "demographic.", "diagnoses.", "follow_ups.", "patient.", "clinical.")

_VITAL = {"alive": "Alive", "living": "Alive", "0": "Alive", "dead": "Dead", "deceased": "Dead", "1": "Dead"}
_SEX = {"m": "male", "f": "female"}
_DAYS_PER_YEAR = 365.25
_LIMITS = {"sex": 16, "race": 128, "ethnicity": 128, "primary_diagnosis": 256, "ajcc_pathologic_stage": 64}


@dataclass
class ClinicalFacts:
    """One participant's facts from one source (the columns of ``clinical``)."""

    vital_status: str | None = None
    days_to_death: int | None = None
    days_to_last_follow_up: int | None = None
    sex: str | None = None
    race: str | None = None
    ethnicity: str | None = None
    age_at_diagnosis: int | None = None
    primary_diagnosis: str | None = None
    ajcc_pathologic_stage: str | None = None

    def merge(self, other: ClinicalFacts) -> None:
        """Fold ``other`` in: Dead wins, larger day counts win, known values fill gaps."""
        if other.vital_status == "Dead" or self.vital_status is None:
            self.vital_status = other.vital_status or self.vital_status
        for name in ("days_to_death", "days_to_last_follow_up"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None and (mine is None or theirs > mine):
                setattr(self, name, theirs)
        for spec in fields(self):
            if getattr(self, spec.name) is None:
                setattr(self, spec.name, getattr(other, spec.name))


def canonical(column: str) -> str:
    """``demographic.vital_status`` → ``vital_status``: GDC's newer TSVs prefix the entity."""
    for prefix in PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix) :]
    return column


def facts_of(row: Row, names: dict[str, str]) -> ClinicalFacts:
    """The facts of one row; ``names`` maps each fact to the row's column that carries it."""
    facts = ClinicalFacts()
    vital = row.get(names.get("vital_status"))
    if vital is not None:
        word = vital.split(":", 1)[-1].strip().lower()
        number = parse_float(word)
        word = {0.0: "0", 1.0: "1"}.get(number, word) if number is not None else word
        if word not in _VITAL:
            raise RowRejected(f"vital_status {vital!r} is not Alive/Dead (or LIVING/DECEASED, 0/1)")
        facts.vital_status = _VITAL[word]
    facts.days_to_death = whole_number(row, names.get("days_to_death"), "days_to_death")
    facts.days_to_last_follow_up = whole_number(
        row, names.get("days_to_last_follow_up"), "days_to_last_follow_up"
    )
    times = whole_number(row, names.get("times"), "times")
    if times is not None:  # a survival table's one time: to death for the dead, else to last contact
        target = "days_to_death" if facts.vital_status == "Dead" else "days_to_last_follow_up"
        if getattr(facts, target) is None:
            setattr(facts, target, times)
    for name, limit in _LIMITS.items():
        value = bounded(row, names.get(name), name, limit)
        if value is not None and name in ("sex", "race", "ethnicity"):
            value = value.lower()
            value = _SEX.get(value, value) if name == "sex" else value
        setattr(facts, name, value)
    facts.age_at_diagnosis = _age_days(row, names)
    return facts


def _age_days(row: Row, names: dict[str, str]) -> int | None:
    days = whole_number(row, names.get("age_at_diagnosis"), "age_at_diagnosis")
    if days is not None:
        return days
    birth = whole_number(row, names.get("days_to_birth"), "days_to_birth")
    if birth is not None:
        return abs(birth)
    years = whole_number(row, names.get("age_years"), "age in years")
    return None if years is None else round(years * _DAYS_PER_YEAR)


def _column_names(columns: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for column in columns:
        name = canonical(column)
        for fact, aliases in FIELDS.items():
            if name in aliases and fact not in names:
                names[fact] = column
    return names


class _Merger:
    """One ClinicalFacts (and the project the file named) per participant, written at the end."""

    def __init__(self, writer: SourceWriter) -> None:
        self.writer = writer
        self.people: dict[str, tuple[ClinicalFacts, str | None]] = {}

    def add(self, participant: str, facts: ClinicalFacts, project: str | None) -> None:
        self.writer.kept(participant)
        if participant in self.people:
            known, named = self.people[participant]
            known.merge(facts)
            self.people[participant] = (known, named or project)
        else:
            self.people[participant] = (facts, project)

    def write(self) -> None:
        for participant, (facts, project) in self.people.items():
            self.writer.put(clinical, asdict(facts), participant=participant, project=project)


def import_clinical_table(path: Path, writer: SourceWriter) -> None:
    """Stream a clinical TSV/CSV (GDC, biotab, sample metadata, survival) into ``clinical``."""
    merger = _Merger(writer)
    with open_table(path) as table:
        barcode = barcode_column(table, path.name)
        names = _column_names(table.columns)
        for row in table.rows:
            try:
                if row.problem is not None:
                    raise RowRejected(row.problem)
                participant = barcode_of(row, barcode).participant
                facts = facts_of(row, names)
            except RowRejected as exc:
                writer.reject(row.line, str(exc))
                continue
            merger.add(participant, facts, project_from_row(row, table.columns))
    merger.write()


def import_clinical_json(path: Path, writer: SourceWriter) -> None:
    """Stream GDC clinical JSON (cases with nested ``demographic``, ``diagnoses``, ``follow_ups``)."""
    merger = _Merger(writer)
    for index, case in iter_json_records(path):
        try:
            participant, facts = _case_facts(case)
        except RowRejected as exc:
            writer.reject(f"case {index}", str(exc))
            continue
        project = case.get("project")
        project_id = project.get("project_id") if isinstance(project, dict) else case.get("project_id")
        merger.add(participant, facts, project_id if isinstance(project_id, str) else None)
    merger.write()


def _case_facts(case: dict[str, Any]) -> tuple[str, ClinicalFacts]:
    top = _as_row(case)
    participant = barcode_of(top, "submitter_id").participant
    facts = facts_of(top, _column_names(list(top.cells)))
    parts: list[Any] = [case.get("demographic")]
    for key in ("diagnoses", "follow_ups"):
        entries = case.get(key)
        parts.extend(entries if isinstance(entries, list) else [entries])
    for part in parts:
        if isinstance(part, dict):
            row = _as_row(part)
            facts.merge(facts_of(row, _column_names(list(row.cells))))
    return participant, facts


def _as_row(entity: dict[str, Any]) -> Row:
    """A JSON entity's scalar fields as a row, so JSON and tables share one reading of each fact."""
    cells = {
        str(key).lower(): "" if value is None else str(value)
        for key, value in entity.items()
        if not isinstance(value, dict | list)
    }
    return Row(0, cells)
