"""A series as TCIA's getImage delivers it: a streamed ZIP, LICENSE first, then the DICOM files.

File names follow TCIA: ``00000001.dcm``… in instance order by default, or with
``new_file_names`` ``<acquisition run>-<instance>.dcm`` (``1-01.dcm``), each part
zero-padded to the width of its largest count, the instance counter restarting
with each acquisition — so files sort in acquisition, then instance, order.
With ``include_md5`` the archive ends with ``md5hashes.csv`` (``Filename,MD5Hash``),
hashed from the bytes actually sent.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ria.access.embargo import embargo_notice
from ria.access.principal import Principal
from ria.archive import Archive
from ria.catalog.queries import CollectionInfo
from ria.catalog.search import InstanceRow, SeriesFilter, SeriesRow
from ria.cohort.results import TCGA_ACKNOWLEDGMENT
from ria.download.zipstream import Md5Manifest, ZipMember, iter_zip
from ria.errors import NotFoundError
from ria.remote import fetch_for_download
from ria.storage.base import iter_range

__all__ = [
    "LICENSE_NAME",
    "SeriesZip",
    "license_text",
    "sequential_names",
    "series_zip",
    "tcia_new_file_names",
]

LICENSE_NAME = "LICENSE"


def sequential_names(count: int) -> list[str]:
    """TCIA's default member names: ``00000001.dcm``, ``00000002.dcm``, …"""
    return [f"{number:08d}.dcm" for number in range(1, count + 1)]


def tcia_new_file_names(instances: Sequence[InstanceRow]) -> list[str]:
    """``NewFileNames=Yes`` names for instances already in InstanceNumber order."""
    acquisitions = [row.acquisition_number or 0 for row in instances]
    runs = 1 + sum(1 for before, after in itertools.pairwise(acquisitions) if after != before)
    numbers = [row.instance_number for row in instances]
    distinct_instances = 1 + sum(
        1 for before, after in itertools.pairwise(numbers) if after is not None and after != before
    )
    run_width, instance_width = len(str(runs)), len(str(distinct_instances))
    names: list[str] = []
    run, counter, previous = 1, 0, acquisitions[0] if acquisitions else 0
    for acquisition in acquisitions:
        if acquisition != previous:
            run, counter, previous = run + 1, 0, acquisition
        counter += 1
        names.append(f"{run:0{run_width}d}-{counter:0{instance_width}d}.dcm")
    return names


def license_text(series: SeriesRow, info: CollectionInfo | None, *, at: dt.datetime | None = None) -> str:
    """The LICENSE member: the collection's licence, how to cite it, the TCGA acknowledgment and any
    publication embargo in force at ``at`` (default now), in plain words."""
    lines = ["License Information."]
    if info is not None and info.license_name:
        where = f" at {info.license_uri}" if info.license_uri else ""
        lines.append(
            f"The {series.collection} collection is distributed under the {info.license_name}{where}."
        )
        lines.append("By downloading the data, you agree to abide by terms of this license.")
    else:
        lines.append(
            f"No licence is recorded for the {series.collection} collection in this archive; "
            "ask the archive's curators for the terms of use before reusing these data."
        )
    if info is not None and info.doi_url:
        lines.append(f"Publications using these data must cite the collection: {info.doi_url}")
    notice = None if info is None else embargo_notice(info, at)
    if notice:
        lines.append(notice)
    if series.collection.upper().startswith("TCGA-"):
        lines.append(f"Publications must carry the TCGA acknowledgment: {TCGA_ACKNOWLEDGMENT}")
    lines.append(f"Series: {series.series_instance_uid}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SeriesZip:
    """Everything needed to stream one series; building it checks the series exists and is local.

    Instances carry the MD5 and CRC-32 recorded at ingest, so the ZIP goes out without a checksum
    pass: a corrupted blob shows up as a CRC error in the client's unzip, never as silently wrong data.
    """

    series: SeriesRow
    instances: list[InstanceRow]
    names: list[str]
    license: str | None
    md5: Md5Manifest | None

    @property
    def filename(self) -> str:
        return f"{self.series.series_instance_uid}.zip"

    def chunks(self, archive: Archive) -> Iterator[bytes]:
        """The ZIP, streamed: memory stays flat whatever the series' size."""
        members: list[ZipMember] = []
        if self.license is not None:
            members.append(ZipMember.from_bytes(LICENSE_NAME, self.license.encode("utf-8")))
            if self.md5 is not None:
                self.md5.exclude(LICENSE_NAME)
        members.extend(
            ZipMember(
                name=name,
                size=row.size,
                chunks=functools.partial(iter_range, archive.store, row.blob_key),
                crc32=row.crc32,
                md5=row.md5,
            )
            for name, row in zip(self.names, self.instances, strict=True)
        )
        if self.md5 is not None:
            members.append(self.md5.member())
        return iter_zip(members, md5=self.md5)


def series_zip(
    archive: Archive,
    series_instance_uid: str,
    *,
    principal: Principal,
    new_file_names: bool = False,
    include_license: bool = True,
    include_md5: bool = False,
) -> SeriesZip:
    """Prepare a series download; raises before any byte is sent if it cannot be served.

    A remote series is fetched from the mirror first when one is configured (:mod:`ria.remote`).
    """
    where = SeriesFilter(series_instance_uid=series_instance_uid)
    rows = archive.catalog.series(where, principal=principal)
    if not rows:  # not there, or not for this caller: the same answer, so nothing leaks
        raise NotFoundError(
            f"no series with SeriesInstanceUID {series_instance_uid}", parameter="SeriesInstanceUID"
        )
    series = rows[0]
    # A remote series is fetched from the mirror first (RIA_REMOTE_ROOT), or refused with a 409 saying how.
    if series.is_remote:
        fetch_for_download(archive, series_instance_uid)
        series = archive.catalog.series(where, principal=principal)[0]
    instances = archive.catalog.instances(series_instance_uid, principal=principal)
    names = tcia_new_file_names(instances) if new_file_names else sequential_names(len(instances))
    info = archive.catalog.collection(series.collection, principal=principal)
    return SeriesZip(
        series=series,
        instances=instances,
        names=names,
        license=license_text(series, info, at=principal.now()) if include_license else None,
        md5=Md5Manifest() if include_md5 else None,
    )
