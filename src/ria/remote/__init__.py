"""Remote series — catalogued from an index, files elsewhere — fetched into the archive from a mirror."""

from ria.remote.fetch import (
    FetchReport,
    fetch_for_download,
    fetch_for_retrieve,
    fetch_series,
    first_remote,
    mirror_files,
    mirror_path,
    remote_refusal,
)

__all__ = [
    "FetchReport",
    "fetch_for_download",
    "fetch_for_retrieve",
    "fetch_series",
    "first_remote",
    "mirror_files",
    "mirror_path",
    "remote_refusal",
]
