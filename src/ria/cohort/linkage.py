"""The linkage report: how well imaging and genomic/clinical data meet, per collection and the reverse.

A patient is linked when its imaging PatientID equals a participant barcode in
the genomics tables. "Genomics" here means somatic mutations or molecular labels
(IDH status, subtypes …); clinical data are counted separately, so a curator sees
which collections can answer "mutated in X" and which can answer survival.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ria.access.principal import Principal
from ria.catalog.schema import clinical, collection, label, mutation, patient
from ria.catalog.visibility import visible_collections

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = ["CollectionLinkage", "LinkageReport", "ProjectLinkage", "linkage_report"]


@dataclass(frozen=True)
class CollectionLinkage:
    """One imaging collection: its patients split by which data they link to."""

    collection: str
    imaging_patients: int
    with_mutations: int
    with_labels: int
    with_clinical: int
    with_genomics_and_clinical: int
    with_genomics_only: int
    with_clinical_only: int
    with_neither: int
    unlinked_patients: tuple[str, ...] = field(default=())
    """Imaging PatientIDs that match no participant in any genomic or clinical table."""


@dataclass(frozen=True)
class ProjectLinkage:
    """One project of the genomic/clinical data (as its sources said): participants without imaging."""

    project: str
    participants: int
    with_imaging: int
    without_imaging: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class LinkageReport:
    collections: tuple[CollectionLinkage, ...]
    projects: tuple[ProjectLinkage, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "collections": [asdict(c) for c in self.collections],
            "projects": [asdict(p) for p in self.projects],
        }


def _participants(archive: Archive, table: Any) -> dict[str, str | None]:
    """Each participant in ``table`` with a project its rows name (if any)."""
    found: dict[str, str | None] = {}
    with archive.engine.connect() as conn:
        for participant, project in conn.execute(select(table.c.participant, table.c.project).distinct()):
            if found.get(participant) is None:
                found[participant] = project
    return found


def linkage_report(
    archive: Archive, collections: tuple[str, ...] = (), *, principal: Principal
) -> LinkageReport:
    """Linkage per imaging collection (all, or those named) and per genomic project.

    Only imaging ``principal`` may see counts: a participant whose images are in a collection
    hidden from the caller reads as "without imaging", never as a hint that such images exist.
    """
    query = (
        select(collection.c.name, patient.c.patient_id)
        .join(patient, patient.c.collection_id == collection.c.id)
        .where(visible_collections(principal))
    )
    if collections:
        query = query.where(collection.c.name.in_(collections))
    imaging: dict[str, set[str]] = defaultdict(set)
    with archive.engine.connect() as conn:
        for name, patient_id in conn.execute(query):
            imaging[name].add(patient_id)
    mutated = _participants(archive, mutation)
    labelled = _participants(archive, label)
    described = _participants(archive, clinical)
    genomic = set(mutated) | set(labelled)
    rows = []
    for name in sorted(imaging):
        ids = imaging[name]
        with_genomics, with_clinical = ids & genomic, ids & set(described)
        rows.append(
            CollectionLinkage(
                collection=name,
                imaging_patients=len(ids),
                with_mutations=len(ids & set(mutated)),
                with_labels=len(ids & set(labelled)),
                with_clinical=len(with_clinical),
                with_genomics_and_clinical=len(with_genomics & with_clinical),
                with_genomics_only=len(with_genomics - with_clinical),
                with_clinical_only=len(with_clinical - with_genomics),
                with_neither=len(ids - with_genomics - with_clinical),
                unlinked_patients=tuple(sorted(ids - with_genomics - with_clinical)),
            )
        )
    imaged = set().union(*imaging.values()) if imaging else set()
    if collections:
        every = (
            select(patient.c.patient_id)
            .join(collection, collection.c.id == patient.c.collection_id)
            .where(visible_collections(principal))
            .distinct()
        )
        with archive.engine.connect() as conn:
            imaged = set(conn.execute(every).scalars())
    project_of: dict[str, str | None] = {}
    for source in (mutated, labelled, described):
        for participant, project in source.items():
            if project_of.get(participant) is None:
                project_of[participant] = project
    projects: dict[str, set[str]] = defaultdict(set)
    for participant, project in project_of.items():
        projects[project or "(unknown project)"].add(participant)
    reverse = tuple(
        ProjectLinkage(
            project=project,
            participants=len(ids),
            with_imaging=len(ids & imaged),
            without_imaging=tuple(sorted(ids - imaged)),
        )
        for project, ids in sorted(projects.items())
    )
    return LinkageReport(collections=tuple(rows), projects=reverse)
