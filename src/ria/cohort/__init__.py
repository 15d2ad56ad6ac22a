"""Cohort queries across imaging, genomics, clinical data and labels (one model, three interfaces).

See :mod:`ria.cohort.model` for the query, :mod:`ria.cohort.results` for what a
cohort hands back, :mod:`ria.cohort.survival` for Kaplan-Meier views and
:mod:`ria.cohort.linkage` for how well imaging and genomics are linked.
"""

from ria.cohort.compiler import compile_query
from ria.cohort.model import (
    CLINICAL_FIELDS,
    NON_SILENT_CLASSES,
    CohortQuery,
    FieldCondition,
    GeneCondition,
    parse_condition,
)
from ria.cohort.results import TCGA_ACKNOWLEDGMENT, Citation, Cohort, FacetCount, PatientSummary

__all__ = [
    "CLINICAL_FIELDS",
    "NON_SILENT_CLASSES",
    "TCGA_ACKNOWLEDGMENT",
    "Citation",
    "Cohort",
    "CohortQuery",
    "FacetCount",
    "FieldCondition",
    "GeneCondition",
    "PatientSummary",
    "compile_query",
    "parse_condition",
]
