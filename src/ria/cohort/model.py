"""The cohort query model: imaging facets plus genomic, clinical and label conditions on the patient.

One frozen, validated :class:`CohortQuery` is what the Python API, ``ria cohort``
and ``POST /api/v1/cohorts/query`` all build; :mod:`ria.cohort.compiler` turns it
into SQL once. Constructors validate, so an invalid query never exists: a wrong
field, operator or value fails with the parameter named, before any SQL runs.

Conditions on a patient come in three families, each keyed by TCGA participant
barcode and joined to imaging through the PatientID:

* **genes** — :class:`GeneCondition`: "has a mutation in KRAS" (by default only
  protein-altering classes count, as in maftools and cBioPortal), or its negation
  "profiled for the gene, and no such mutation" (wild type: whole-exome MAFs profile every
  gene, a mutation table only the genes it lists);
* **clinical** — :class:`FieldCondition` on the merged clinical record
  (:data:`CLINICAL_FIELDS`);
* **labels** — :class:`FieldCondition` on any imported label column (IDH status,
  molecular subtype …), compared as a number or as text by the column's type.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ria.errors import InvalidParameterError, unknown_value

__all__ = [
    "CLINICAL_FIELDS",
    "NON_SILENT_CLASSES",
    "CohortQuery",
    "FieldCondition",
    "GeneCondition",
    "Operator",
    "parse_condition",
]

NON_SILENT_CLASSES: tuple[str, ...] = (
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Missense_Mutation",
    "Multi_Hit",
    "Nonsense_Mutation",
    "Nonstop_Mutation",
    "Splice_Site",
    "Translation_Start_Site",
)
"""MAF variant classes that alter the protein: what "mutated" means unless classes are given.

The list maftools (``vc_nonSyn``) and cBioPortal use, so counts agree with theirs, plus ``Multi_Hit``:
grouped patient-by-gene tables (maftools' oncoplot matrix, pymaftools, the shipped lung table) write it
for a patient with several mutations in one gene, which is a patient mutated in that gene.
"""

Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "exists", "missing"]
OPERATORS: tuple[str, ...] = get_args(Operator)
_ORDERING = {"lt", "le", "gt", "ge"}

CLINICAL_FIELDS: dict[str, str] = {
    "vital_status": "text",
    "days_to_death": "number",
    "days_to_last_follow_up": "number",
    "survival_days": "number",
    "sex": "text",
    "race": "text",
    "ethnicity": "text",
    "age_at_diagnosis": "number",
    "age_years": "number",
    "primary_diagnosis": "text",
    "stage": "stage",
    "project": "text",
}
"""Clinical fields a query may test, with how their values compare.

``survival_days`` is days to death for the dead and days to last follow-up for the
living (the time axis of a survival curve); ``age_years`` is age at diagnosis in
whole years; ``stage`` is the AJCC pathologic stage, where ``II`` also matches
``IIA``, ``IIB`` and ``IIC`` (``eq`` and ``in`` only).
"""

_STAGE = re.compile(r"^(?:STAGE\s+)?(0|I{1,3}|IV|X)([A-C]?)$")


NUMBER_LIMIT = 1e15
"""Largest magnitude a number condition takes: far beyond any clinical value (days, ages, counts),
well inside what both databases compare exactly, and never infinite or NaN (which the JSON
answer could not echo and the two databases would order differently)."""


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidParameterError(where, f"{_shown(value)} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise InvalidParameterError(where, f"{_shown(value)} is not a number") from None
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number) or abs(number) > NUMBER_LIMIT:
        raise InvalidParameterError(  # the CLI prints only the message: it names the field
            where, f"{where}: {_shown(value)} is out of range; give a finite number in ±{NUMBER_LIMIT:.0e}"
        )
    return number


def _shown(value: object) -> str:
    """A value for an error message, short whatever was sent (a JSON integer may have thousands of digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {round(value.bit_length() * math.log10(2))} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def normalise_stage(value: object, where: str = "stage") -> str:
    """``"Stage IIa"``, ``"iia"`` or ``"IIA"`` → ``"IIA"``; anything else is an error naming the value."""
    text = str(value).strip().upper()
    match = _STAGE.match(text)
    if match is None:
        raise InvalidParameterError(
            where, f"{value!r} is not an AJCC stage (expected 0, I-IV, optionally with A-C, e.g. 'IIB')"
        )
    return match.group(1) + match.group(2)


@dataclass(frozen=True)
class GeneCondition:
    """A gene mutated (``mutated=True``) or wild type (profiled for it, no qualifying mutation).

    ``classes`` are the MAF Variant_Classification values that count; the default is
    :data:`NON_SILENT_CLASSES`, and ``("any",)`` counts every recorded variant.
    """

    gene: str
    classes: tuple[str, ...] = NON_SILENT_CLASSES
    mutated: bool = True

    def __post_init__(self) -> None:
        gene = self.gene.strip() if isinstance(self.gene, str) else ""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", gene):
            raise InvalidParameterError("gene", f"{self.gene!r} is not a HUGO gene symbol (e.g. KRAS)")
        object.__setattr__(self, "gene", gene)
        classes = tuple(str(c).strip() for c in self.classes)
        if not classes or any(not c for c in classes):
            raise InvalidParameterError("classes", "variant classes must be non-empty (or 'any')")
        object.__setattr__(self, "classes", classes)

    @property
    def any_class(self) -> bool:
        return any(c.lower() == "any" for c in self.classes)


@dataclass(frozen=True)
class FieldCondition:
    """``field op value`` on a clinical field or a label column.

    ``in`` takes a sequence of values; ``exists``/``missing`` take none. Ordering
    operators need numbers on number fields; text comparisons ignore case.
    """

    field: str
    op: Operator = "eq"
    value: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field.strip():
            raise InvalidParameterError("field", "a condition needs a field name")
        object.__setattr__(self, "field", self.field.strip())
        if self.op not in OPERATORS:
            raise InvalidParameterError(
                self.field, f"unknown operator {self.op!r}; use one of {', '.join(OPERATORS)}"
            )
        if self.op in ("exists", "missing"):
            object.__setattr__(self, "value", None)
        elif self.op == "in":
            if isinstance(self.value, str) or not isinstance(self.value, Sequence) or not self.value:
                raise InvalidParameterError(self.field, "'in' needs a non-empty list of values")
            object.__setattr__(self, "value", tuple(self.value))
        elif self.value is None or isinstance(self.value, Mapping | list | tuple):
            raise InvalidParameterError(self.field, f"{self.op!r} needs one value")

    def checked(self, kind: str) -> FieldCondition:
        """This condition with its value(s) converted for a field of ``kind`` (number/text/stage)."""
        if self.op in ("exists", "missing"):
            return self
        values = self.value if self.op == "in" else (self.value,)
        if kind == "number":
            if self.op == "contains":
                raise InvalidParameterError(self.field, "'contains' applies to text fields only")
            converted: tuple[Any, ...] = tuple(_number(v, self.field) for v in values)
        elif kind == "stage":
            if self.op not in ("eq", "ne", "in"):
                raise InvalidParameterError(self.field, "stage takes eq, ne or in (e.g. stage=II)")
            converted = tuple(normalise_stage(v, self.field) for v in values)
        else:
            if self.op in _ORDERING:
                raise InvalidParameterError(self.field, f"{self.op!r} needs a number field")
            converted = tuple(str(v) for v in values)
        value: Any = converted if self.op == "in" else converted[0]
        return FieldCondition(self.field, self.op, value)


_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|!=|=|<|>|~)\s*(.*?)\s*$")
_SYMBOLS: dict[str, Operator] = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def parse_condition(text: str, parameter: str = "condition") -> FieldCondition:
    """``"vital_status=Dead"``, ``"days_to_death<=1095"``, ``"stage=II,III"``, ``"subtype~LUAD"``,
    ``"IDH_status?"`` (exists) or ``"IDH_status!"`` (missing): the CLI's spelling of a condition."""
    stripped = text.strip()
    if re.fullmatch(r"[A-Za-z_][\w.\-]*[?!]", stripped):
        return FieldCondition(stripped[:-1], "exists" if stripped.endswith("?") else "missing")
    match = _CONDITION.match(text)
    if match is None or not match.group(3):
        raise InvalidParameterError(
            parameter, f"{text!r} is not FIELD OP VALUE (ops: = != < <= > >= ~), e.g. vital_status=Dead"
        )
    name, symbol, value = match.groups()
    if symbol == "~":
        return FieldCondition(name, "contains", value)
    if symbol == "=" and "," in value:
        return FieldCondition(name, "in", tuple(v.strip() for v in value.split(",") if v.strip()))
    return FieldCondition(name, _SYMBOLS[symbol], value)


def _strings(values: object, name: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, Sequence) or not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidParameterError(name, "expected a list of non-empty strings")
    return tuple(v.strip() for v in values)


@dataclass(frozen=True)
class CohortQuery:
    """Series of patients matching every given condition; empty fields mean "any".

    Imaging facets select series (several values of one facet are alternatives);
    every gene, clinical and label condition must hold for the series' patient.
    """

    collection: tuple[str, ...] = ()
    modality: tuple[str, ...] = ()
    body_part: tuple[str, ...] = ()
    manufacturer: tuple[str, ...] = ()
    series_description: str | None = None
    study_date_from: dt.date | None = None
    study_date_to: dt.date | None = None
    patient_id: tuple[str, ...] = ()
    genes: tuple[GeneCondition, ...] = ()
    min_mutations: int | None = None
    max_mutations: int | None = None
    clinical: tuple[FieldCondition, ...] = ()
    labels: tuple[FieldCondition, ...] = ()
    include_remote: bool = True

    def __post_init__(self) -> None:
        for name in ("collection", "modality", "body_part", "manufacturer", "patient_id"):
            object.__setattr__(self, name, _strings(getattr(self, name), name))
        for name in ("min_mutations", "max_mutations"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidParameterError(name, f"{value!r} is not a non-negative whole number")
        if (
            self.study_date_from is not None
            and self.study_date_to is not None
            and self.study_date_from > self.study_date_to
        ):
            raise InvalidParameterError("study_date_from", "study_date_from is after study_date_to")
        clinical = []
        for condition in self.clinical:
            kind = CLINICAL_FIELDS.get(condition.field)
            if kind is None:
                raise unknown_value(condition.field, "clinical field", condition.field, CLINICAL_FIELDS)
            clinical.append(condition.checked(kind))
        object.__setattr__(self, "clinical", tuple(clinical))
        object.__setattr__(self, "genes", tuple(self.genes))
        object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def has_patient_conditions(self) -> bool:
        return bool(
            self.genes
            or self.clinical
            or self.labels
            or self.min_mutations is not None
            or self.max_mutations is not None
        )

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CohortQuery:
        """The query from its JSON form (the HTTP API's body; keys as in this class)."""
        if not isinstance(body, Mapping):
            raise InvalidParameterError("query", "a cohort query is a JSON object")
        known = {
            "collection",
            "modality",
            "body_part",
            "manufacturer",
            "series_description",
            "study_date_from",
            "study_date_to",
            "patient_id",
            "mutated",
            "not_mutated",
            "min_mutations",
            "max_mutations",
            "clinical",
            "labels",
            "include_remote",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            raise InvalidParameterError(
                unknown[0], f"unknown query field {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        genes: list[GeneCondition] = []
        for entry in body.get("mutated") or ():
            if isinstance(entry, str):
                genes.append(GeneCondition(entry))
            elif isinstance(entry, Mapping) and set(entry) <= {"gene", "classes"}:
                classes = _strings(entry.get("classes"), "classes") or NON_SILENT_CLASSES
                genes.append(GeneCondition(str(entry.get("gene", "")), classes))
            else:
                raise InvalidParameterError(
                    "mutated", 'entries are "GENE" or {"gene": ..., "classes": [...]}'
                )
        genes.extend(
            GeneCondition(gene, mutated=False) for gene in _strings(body.get("not_mutated"), "not_mutated")
        )

        def conditions(name: str) -> tuple[FieldCondition, ...]:
            found = []
            for entry in body.get(name) or ():
                if isinstance(entry, str):
                    found.append(parse_condition(entry, name))
                elif isinstance(entry, Mapping) and set(entry) <= {"field", "op", "value"}:
                    found.append(
                        FieldCondition(str(entry.get("field", "")), entry.get("op", "eq"), entry.get("value"))
                    )
                else:
                    raise InvalidParameterError(
                        name, f'{name} entries are "field=value" or {{"field", "op", "value"}}'
                    )
            return tuple(found)

        def day(name: str) -> dt.date | None:
            value = body.get(name)
            if value is None:
                return None
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                raise InvalidParameterError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None

        description = body.get("series_description")
        include_remote = body.get("include_remote", True)
        if not isinstance(include_remote, bool):
            raise InvalidParameterError("include_remote", "include_remote is true or false")
        return cls(
            collection=_strings(body.get("collection"), "collection"),
            modality=_strings(body.get("modality"), "modality"),
            body_part=_strings(body.get("body_part"), "body_part"),
            manufacturer=_strings(body.get("manufacturer"), "manufacturer"),
            series_description=None if description is None else str(description),
            study_date_from=day("study_date_from"),
            study_date_to=day("study_date_to"),
            patient_id=_strings(body.get("patient_id"), "patient_id"),
            genes=tuple(genes),
            min_mutations=body.get("min_mutations"),
            max_mutations=body.get("max_mutations"),
            clinical=conditions("clinical"),
            labels=conditions("labels"),
            include_remote=include_remote,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form :meth:`from_json` reads (what a saved query or a citation records)."""

        def condition(c: FieldCondition) -> dict[str, Any]:
            value = list(c.value) if isinstance(c.value, tuple) else c.value
            return {"field": c.field, "op": c.op, "value": value}

        body: dict[str, Any] = {}
        for name in ("collection", "modality", "body_part", "manufacturer", "patient_id"):
            if getattr(self, name):
                body[name] = list(getattr(self, name))
        if self.series_description:
            body["series_description"] = self.series_description
        for name in ("study_date_from", "study_date_to"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name).isoformat()
        mutated = [{"gene": g.gene, "classes": list(g.classes)} for g in self.genes if g.mutated]
        if mutated:
            body["mutated"] = mutated
        wild = [g.gene for g in self.genes if not g.mutated]
        if wild:
            body["not_mutated"] = wild
        for name in ("min_mutations", "max_mutations"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.clinical:
            body["clinical"] = [condition(c) for c in self.clinical]
        if self.labels:
            body["labels"] = [condition(c) for c in self.labels]
        if not self.include_remote:
            body["include_remote"] = False
        return body
