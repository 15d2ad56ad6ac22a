"""Curating a collection's terms: access level, embargo settings, licence, DOI, ISS sites — always audited.

One entry point for the CLI (``ria collections set``, ``seed-tcga``) and the admin API
(``PUT /api/v1/collections/{name}/governance``): :func:`change_settings` validates a
:class:`CollectionChanges`, insists on a reason for anything that changes who may see or
publish on a collection (the issue's "overrides audited: who, when, why"), and hands the
change to :func:`ria.catalog.governance.change_collection`, which writes it and its audit row
in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from ria.catalog.governance import Governance, change_collection, read_governance
from ria.catalog.visibility import ACCESS_LEVELS
from ria.errors import InvalidParameterError, NotFoundError

__all__ = [
    "CC_BY_3",
    "TCIA_LIMITED",
    "CollectionChanges",
    "TcgaCollection",
    "apply_tcia_access",
    "change_settings",
    "parse_embargo_start",
    "read_tcga_collections",
    "seed_tcga",
]

CC_BY_3 = ("Creative Commons Attribution 3.0 Unported License", "http://creativecommons.org/licenses/by/3.0/")
"""The licence TCIA distributes the TCGA collections under."""

_SITE = re.compile(r"[A-Z0-9]{1,16}")


def parse_embargo_start(text: str) -> dt.datetime | Literal["auto"]:
    """``auto`` (back to the computed date) or an ISO date/time; a date is midnight UTC, a naive time UTC."""
    value = text.strip()
    if value.lower() == "auto":
        return "auto"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameterError(
            "embargo_start",
            f"--embargo-start takes a date (2025-05-01), a date and time, or auto; not {text!r}",
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class CollectionChanges:
    """What to change on a collection; ``None`` (or no sites) leaves a setting as it is."""

    access: str | None = None
    restricted_until_embargo_end: bool | None = None
    embargo_threshold: int | None = None
    embargo_days: int | None = None
    embargo_start: dt.datetime | Literal["auto"] | None = None
    description: str | None = None
    doi: str | None = None
    license_name: str | None = None
    license_uri: str | None = None
    cancer_type: str | None = None
    sites: tuple[str, ...] = field(default=())

    @property
    def overrides(self) -> bool:
        """Whether this changes who may see the collection or when others may publish (needs a reason)."""
        return any(
            value is not None
            for value in (
                self.access,
                self.restricted_until_embargo_end,
                self.embargo_threshold,
                self.embargo_days,
                self.embargo_start,
            )
        )

    @property
    def empty(self) -> bool:
        return self == CollectionChanges()

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CollectionChanges:
        """From the admin API's JSON body (the same names as the fields; ``embargo_start`` as text)."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(body) - known - {"reason"})
        if unknown:
            raise InvalidParameterError(unknown[0], f"unknown setting {unknown[0]!r}")
        values = {key: value for key, value in body.items() if key in known}
        start = values.get("embargo_start")
        if start is not None:
            if not isinstance(start, str):
                raise InvalidParameterError("embargo_start", "embargo_start is a date or 'auto'")
            values["embargo_start"] = parse_embargo_start(start)
        if "sites" in values:
            sites = values["sites"]
            if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
                raise InvalidParameterError("sites", "sites is a list of site codes")
            values["sites"] = tuple(sites)
        return cls(**values)

    def validate(self) -> None:
        if self.access is not None and self.access not in ACCESS_LEVELS:
            raise InvalidParameterError(
                "access", f"access is one of {', '.join(ACCESS_LEVELS)}, not {self.access!r}"
            )
        for name, value, low in (
            ("embargo_threshold", self.embargo_threshold, 1),
            ("embargo_days", self.embargo_days, 0),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise InvalidParameterError(name, f"{name} is a whole number of at least {low}")
        for code in self.sites:
            if not _SITE.fullmatch(code):
                raise InvalidParameterError(
                    "site", f"a site code is 1-16 capital letters or digits, not {code!r}"
                )

    def values(self) -> dict[str, Any]:
        """Collection columns to set."""
        given: dict[str, Any] = {
            "access_level": self.access,
            "restricted_until_embargo_end": self.restricted_until_embargo_end,
            "embargo_threshold": self.embargo_threshold,
            "embargo_window_days": self.embargo_days,
            "description": self.description,
            "doi": self.doi,
            "license_name": self.license_name,
            "license_uri": self.license_uri,
            "cancer_type": self.cancer_type,
        }
        values = {key: value for key, value in given.items() if value is not None}
        if self.embargo_start == "auto":
            values.update(embargo_set_by_curator=False, hundredth_case_at=None)
        elif self.embargo_start is not None:
            values.update(embargo_set_by_curator=True, hundredth_case_at=self.embargo_start)
        return values


def change_settings(
    engine: Engine,
    name: str,
    changes: CollectionChanges,
    *,
    actor: str,
    reason: str | None,
    create: bool = True,
    at: dt.datetime | None = None,
) -> Governance:
    """Apply ``changes`` to collection ``name`` and audit them; returns the record afterwards.

    ``create`` makes a missing collection (the CLI: settings may precede the first ingest);
    without it a missing collection is not found (the API).
    """
    changes.validate()
    reason = reason.strip() if reason and reason.strip() else None
    if changes.overrides and reason is None:
        raise InvalidParameterError(
            "reason",
            "access and embargo changes are audited: give a reason (--reason TEXT, or 'reason' in the body)",
        )
    if not create and read_governance(engine, name) is None:
        raise NotFoundError(f"no collection named {name!r}", parameter="name")
    return change_collection(
        engine,
        name,
        changes.values(),
        add_sites=changes.sites,
        actor=actor,
        action="collection.set",
        reason=reason,
        at=at or dt.datetime.now(dt.UTC),
    )


@dataclass(frozen=True, slots=True)
class TcgaCollection:
    """One row of the TCGA collections table (``tcga-collections.csv``)."""

    name: str
    cancer_type: str
    subjects: int | None
    modalities: tuple[str, ...]
    doi: str

    @property
    def description(self) -> str:
        # Cancer type first: one-line citations cut a description at its first sentence.
        subjects = f"{self.subjects} subjects" if self.subjects is not None else "subjects"
        return (
            f"{self.cancer_type}. Radiology data from The Cancer Genome Atlas {self.cancer_type} "
            f"({self.name}) collection on The Cancer Imaging Archive: {subjects} "
            f"({', '.join(self.modalities)})."
        )


def read_tcga_collections(path: Path | str | None = None) -> list[TcgaCollection]:
    """The TCGA collections table: ``path``, or the packaged copy (provenance: sample/data/README.md)."""
    if path is None:
        text = (files("ria.sample") / "data" / "tcga-collections.csv").read_text(encoding="utf-8")
        where = "the packaged tcga-collections.csv"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InvalidParameterError("file", f"cannot read {path}: {exc.strerror or exc}") from exc
        where = str(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = {"collection", "cancer_type", "doi"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidParameterError("file", f"{where} lacks the column(s) {', '.join(sorted(missing))}")
    rows: list[TcgaCollection] = []
    for number, row in enumerate(reader, start=2):
        name, cancer, doi = ((row.get(k) or "").strip() for k in ("collection", "cancer_type", "doi"))
        if not name or not cancer or not doi:
            raise InvalidParameterError(
                "file", f"{where} line {number}: collection, cancer_type and doi are required"
            )
        subjects = (row.get("subjects_2021") or "").strip()
        modalities = tuple(m for m in (row.get("modalities") or "").replace(";", " ").split() if m)
        rows.append(
            TcgaCollection(name, cancer, int(subjects) if subjects.isdigit() else None, modalities, doi)
        )
    return rows


TCIA_LIMITED: tuple[str, ...] = ("TCGA-GBM", "TCGA-HNSC", "TCGA-LGG")
"""The TCGA collections TCIA made limited access: their head scans allow face reconstruction."""


def apply_tcia_access(engine: Engine, *, actor: str, at: dt.datetime | None = None) -> list[Governance]:
    """Make :data:`TCIA_LIMITED` limited access, as TCIA did — an audited curator decision, on request."""
    return [
        change_settings(
            engine,
            name,
            CollectionChanges(access="limited"),
            actor=actor,
            reason="TCIA policy: head imaging allows face reconstruction, so access is limited",
            at=at,
        )
        for name in TCIA_LIMITED
    ]


def seed_tcga(
    engine: Engine, path: Path | str | None = None, *, actor: str, at: dt.datetime | None = None
) -> list[Governance]:
    """Create or update the TCGA collections' descriptions, cancer types, DOIs and licences (CC BY 3.0).

    Access levels and embargo settings are left alone: they are a curator's audited decision.
    """
    from ria.ingestion.pipeline import validate_collection_name

    rows = read_tcga_collections(path)
    source = "the packaged tcga-collections.csv" if path is None else str(path)
    seeded: list[Governance] = []
    for row in rows:
        validate_collection_name(row.name)
        values = {
            "cancer_type": row.cancer_type,
            "doi": row.doi,
            "license_name": CC_BY_3[0],
            "license_uri": CC_BY_3[1],
            "description": row.description,
        }
        seeded.append(
            change_collection(
                engine,
                row.name,
                values,
                actor=actor,
                action="collection.seed",
                reason=f"seeded from {source}",
                at=at or dt.datetime.now(dt.UTC),
            )
        )
    return seeded
