"""Which TCGA project a row belongs to, when the file says so.

Files name the project in several ways: a GDC ``project_id`` (``TCGA-LUAD``), the Firehose
``admin.disease_code`` (``luad``), or a ``subtype``/``disease`` column holding the study code
(``LUAD``, or a TCGAbiolinks pan-cancer subtype such as ``BRCA.LumA``). Only values that are a
real TCGA study are taken, so a free-text column is never mistaken for a project. When the file
says nothing, the store falls back to the imaging collection the participant is filed in.
"""

from __future__ import annotations

import re

from ria.errors import InvalidParameterError
from ria.genomics.readers import Row

__all__ = ["PROJECT_COLUMNS", "TCGA_STUDIES", "project_from_row", "study_project", "validate_project"]

TCGA_STUDIES = frozenset(
    [
        "ACC",
        "BLCA",
        "BRCA",
        "CESC",
        "CHOL",
        "COAD",
        "DLBC",
        "ESCA",
        "GBM",
        "HNSC",
        "KICH",
        "KIRC",
        "KIRP",
        "LAML",
        "LGG",
        "LIHC",
        "LUAD",
        "LUSC",
        "MESO",
        "OV",
        "PAAD",
        "PCPG",
        "PRAD",
        "READ",
        "SARC",
        "SKCM",
        "STAD",
        "TGCT",
        "THCA",
        "THYM",
        "UCEC",
        "UCS",
        "UVM",
    ]
)
"""The 33 TCGA studies (GDC projects TCGA-<code>)."""

PROJECT_COLUMNS = ("project_id", "project", "project.project_id")
"""Columns that name the project outright (``TCGA-LUAD``), in order of preference."""

STUDY_COLUMNS = (
    "admin.disease_code",
    "disease_code",
    "subtype",
    "disease",
    "cancer_type",
    "study",
    "tumor_type",
)
"""Columns that name it only when their value is a TCGA study code (``luad``, ``LUAD``, ``BRCA.LumA``)."""

_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def validate_project(project: str | None) -> str | None:
    """A ``--project`` value as given (``TCGA-LUAD``), or exit-2 naming what is wrong."""
    if project is None:
        return None
    if not _PROJECT.fullmatch(project):
        raise InvalidParameterError(
            "project", f"project {project!r} must be 1-64 letters, digits, '.', '_' or '-' (e.g. TCGA-LUAD)"
        )
    return project


def study_project(value: str | None) -> str | None:
    """``TCGA-<CODE>`` for a study code (``luad``, ``TCGA-LUAD``, ``BRCA.LumA``), else None."""
    if value is None:
        return None
    code = value.strip().upper()
    code = code.removeprefix("TCGA-").split(".", 1)[0]
    return f"TCGA-{code}" if code in TCGA_STUDIES else None


def project_from_row(row: Row, columns: list[str]) -> str | None:
    """The project a row names: an explicit project column first, then a study-code column."""
    for column in PROJECT_COLUMNS:
        if column in columns and (value := row.get(column)) is not None and _PROJECT.fullmatch(value):
            return study_project(value) or value
    for column in STUDY_COLUMNS:
        if column in columns and (project := study_project(row.get(column))) is not None:
            return project
    return None
