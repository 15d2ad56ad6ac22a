"""Ria, the Radiogenomic Imaging Archive.

Notebook use::

    import ria
    archive = ria.open_archive("ria-data")
    report = archive.ingest(["scans/"], collection="TCGA-LUAD")
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from os import PathLike

from ria.archive import Archive, ConsistencyReport, open_archive
from ria.errors import RiaError
from ria.ingestion import IngestReport
from ria.settings import Settings

__all__ = [
    "Archive",
    "ConsistencyReport",
    "IngestReport",
    "RiaError",
    "Settings",
    "__version__",
    "ingest",
    "open_archive",
]

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def ingest(
    paths: Iterable[str | PathLike[str]],
    collection: str,
    *,
    settings: Settings | None = None,
    data_dir: str | PathLike[str] | None = None,
) -> IngestReport:
    """Ingest ``paths`` into ``collection`` of the archive at ``data_dir`` (or ``settings``)."""
    with Archive(settings) if settings is not None else open_archive(data_dir) as archive:
        return archive.ingest(paths, collection)
