"""What a cohort query may name: the collections, modalities, genes and labels its caller can see.

A typo ("KRAZ", "TCGA-LAUD") would otherwise compile to a query that matches nothing,
and the user would read an empty table as an answer. :func:`check_known` turns every
unknown value into an :class:`~ria.errors.InvalidParameterError` naming it, with the
nearest known spellings (:func:`ria.errors.unknown_value`).

Every vocabulary is read through :func:`ria.catalog.visibility.visible_collections`:
a restricted collection, and a gene or label found only among its patients, is unknown
to a caller who may not see it, with the very message a value that does not exist gets.
Genes and labels are not patient data, but "this gene is mutated somewhere here" is a
fact about a hidden collection, so the rule is the conservative one. A gene is known if
the imported mutations of visible patients name it; where a whole-exome MAF profiled
visible patients for every gene, any symbol is meaningful and only a near miss of a known
one ("KRAZ") is taken for a typo.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select

from ria.access.principal import Principal
from ria.catalog.schema import collection, genomic_source, label, mutation, patient
from ria.catalog.visibility import visible_collections
from ria.cohort.model import CohortQuery
from ria.errors import close_matches, unknown_value

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = ["check_gene", "check_known", "check_label", "visible_genes", "visible_label_names"]


def _visible_participants(principal: Principal) -> Select[Any]:
    """PatientIDs of every patient in a collection ``principal`` may see."""
    return (
        select(patient.c.patient_id)
        .join(collection, collection.c.id == patient.c.collection_id)
        .where(visible_collections(principal))
    )


def visible_genes(archive: Archive, principal: Principal, among: Iterable[str] | None = None) -> set[str]:
    """Gene symbols with a mutation among the patients ``principal`` may see (only ``among``, if given)."""
    query = (
        select(mutation.c.hugo_symbol)
        .where(mutation.c.participant.in_(_visible_participants(principal)))
        .distinct()
    )
    if among is not None:
        query = query.where(func.upper(mutation.c.hugo_symbol).in_(sorted({g.upper() for g in among})))
    with archive.engine.connect() as conn:
        return set(conn.execute(query).scalars())


def _exome_profiled(archive: Archive, principal: Principal) -> bool:
    """Whether a whole-exome MAF covers any patient ``principal`` may see.

    Such patients were profiled for every gene, so a real symbol absent from the data is
    a true answer ("nobody mutated", "all wild type"), not a typo; only a near miss of a
    symbol the data does name is then an error. Without one, an absent gene is unknown.
    """
    query = (
        select(mutation.c.id)
        .join(genomic_source, genomic_source.c.id == mutation.c.source_id)
        .where(genomic_source.c.kind == "maf", mutation.c.participant.in_(_visible_participants(principal)))
        .limit(1)
    )
    with archive.engine.connect() as conn:
        return conn.execute(query).first() is not None


def visible_label_names(archive: Archive, principal: Principal) -> set[str]:
    """Label names with a value for at least one patient ``principal`` may see."""
    query = select(label.c.name).where(label.c.participant.in_(_visible_participants(principal))).distinct()
    with archive.engine.connect() as conn:
        return set(conn.execute(query).scalars())


def _check(parameter: str, kind: str, wanted: Iterable[str], known: Iterable[str]) -> None:
    folded = {k.lower() for k in known}
    for value in wanted:
        if value.lower() not in folded:
            raise unknown_value(parameter, kind, value, known)


def check_known(archive: Archive, query: CohortQuery, principal: Principal) -> None:
    """Raise for the first collection, modality, gene or label of ``query`` unknown to ``principal``.

    Each vocabulary is read only when the query names something from it, and genes are
    first looked up by name, so a query without typos costs one small query per family.
    """
    if query.collection:
        names = [info.name for info in archive.catalog.collections(principal=principal)]
        _check("collection", "collection", query.collection, names)
    if query.modality:
        _check(
            "modality", "modality", query.modality, archive.catalog.values("modality", principal=principal)
        )
    if query.genes:
        found = {g.upper() for g in visible_genes(archive, principal, [g.gene for g in query.genes])}
        for gene in query.genes:
            if gene.gene.upper() not in found:
                check_gene(archive, principal, gene.gene, "mutated" if gene.mutated else "not_mutated")
    if query.labels:
        _check("labels", "label", [c.field for c in query.labels], visible_label_names(archive, principal))


def check_gene(archive: Archive, principal: Principal, gene: str, parameter: str) -> None:
    """Raise unless ``gene`` is one a query may name (see the module's docstring for the rule)."""
    if visible_genes(archive, principal, [gene]):
        return
    known = visible_genes(archive, principal)
    if close_matches(gene, known) or not _exome_profiled(archive, principal):
        raise unknown_value(parameter, "gene", gene, known)


def check_label(archive: Archive, principal: Principal, name: str, parameter: str) -> str:
    """The stored spelling of label ``name`` (any case), or raise naming the nearest visible ones."""
    known = visible_label_names(archive, principal)
    by_lower = {k.lower(): k for k in known}
    if name.lower() not in by_lower:
        raise unknown_value(parameter, "label", name, known)
    return by_lower[name.lower()]
