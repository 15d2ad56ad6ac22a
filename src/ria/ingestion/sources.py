"""What an ingest reads: files, folders (recursive) and zip archives, enumerated lazily.

Enumeration never opens DICOM files and never holds the whole listing in
memory, so a folder of millions of files costs only the walk.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ria.errors import InvalidParameterError

__all__ = ["SourceItem", "iter_sources", "open_source"]


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One candidate file: a path on disk, or a member of a zip archive on disk."""

    path: str
    member: str | None = None

    @property
    def display(self) -> str:
        """How reports name this item (``archive.zip!dir/file.dcm`` for zip members)."""
        return self.path if self.member is None else f"{self.path}!{self.member}"


def _is_zip(path: str) -> bool:
    return path.lower().endswith(".zip") and zipfile.is_zipfile(path)


def _zip_members(path: str) -> Iterator[SourceItem]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidParameterError("path", f"{path}: unreadable zip archive ({exc})") from None
    for name in names:
        yield SourceItem(path, name)


def _walk(root: Path) -> Iterator[SourceItem]:
    # Plain strings, not Path objects: pathlib interns every part of every path it builds, and
    # for millions of files that is an interpreter-wide table growing with the listing.
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if _is_zip(path):
                yield from _zip_members(path)
            else:
                yield SourceItem(path)


def iter_sources(paths: Iterable[str | os.PathLike[str]]) -> Iterator[SourceItem]:
    """Every candidate file under ``paths``, in a stable order.

    Raises:
        InvalidParameterError: a path does not exist (checked before anything is read).
    """
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise InvalidParameterError("path", f"{root}: no such file or folder")
    for root in roots:
        if root.is_dir():
            yield from _walk(root)
        elif _is_zip(str(root)):
            yield from _zip_members(str(root))
        else:
            yield SourceItem(str(root))


@contextmanager
def open_source(item: SourceItem, archives: dict[str, zipfile.ZipFile]) -> Iterator[BinaryIO]:
    """Open ``item`` for streaming; zip archives are opened once and kept in ``archives``."""
    if item.member is None:
        with open(item.path, "rb") as handle:
            yield handle
        return
    archive = archives.get(item.path)
    if archive is None:
        archive = archives[item.path] = zipfile.ZipFile(item.path)
    with archive.open(item.member) as member:
        yield member  # type: ignore[misc]
