"""What TCIA's routes list: the series this server can deliver.

A catalogue imported from NCI Imaging Data Commons holds *remote* series: metadata only,
their files in IDC's buckets. A TCIA client has no field that says "not here": ``tcia_utils``
lists ``getSeries`` and then asks ``getImage`` for every row, so a listing of 4,851 series of
which 3 are local ends in 4,848 errors. TCIA's routes therefore list only what a download can
serve: local series, plus remote ones when a mirror of their buckets is mounted
(``RIA_REMOTE_ROOT``), since then ``getImage`` fetches them. A series asked for by its UID
still answers, and its download still says where it lives (409). Ria's own API, the CLI and
cohorts keep listing remote series with their ``Remote`` marker and source URL.
"""

from __future__ import annotations

from dataclasses import replace

from ria.archive import Archive
from ria.catalog.search import SeriesFilter

__all__ = ["deliverable"]


def deliverable(archive: Archive, where: SeriesFilter) -> SeriesFilter:
    """``where`` narrowed to the series this server can deliver (see the module's docstring)."""
    if where.local_only or archive.settings.remote_root is not None:
        return where
    return replace(where, local_only=True)
