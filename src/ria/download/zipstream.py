"""Streaming ZIP archives for HTTP downloads: built while they are sent, never held.

A series download can be many gigabytes, so the archive is produced member by
member as the response is written: memory holds at most a couple of output
chunks plus the central directory (about a hundred bytes per member), and no
temporary file is ever created. A client that disconnects simply stops the
generator.

Records are packed by :mod:`ria.download.zipformat` (the standard library's
writer insists on computing every CRC itself). Every reader we test against
(``zipfile``, Info-ZIP ``unzip``/``zipinfo``) reads the output, ZIP64 included
(members and offsets past 4 GiB, more than 65,535 members). By design:

* Members are STORED, not deflated: DICOM pixel data barely compresses and
  stored members cost no CPU.
* A member whose size and CRC-32 are known (the catalogue records both at
  ingest; in-memory members are hashed up front) gets a complete local header
  and its bytes are passed through untouched — no checksum pass. Any other
  member is streamed: bit 3 set, CRC computed as it goes, a data descriptor
  after it, ZIP64 fields when its size is unknown. Declared sizes are always
  checked against the bytes sent.
* Member data chunks are yielded as they come, never copied or joined; only the
  small records between them are batched.
* A failure mid-stream (a storage error, a wrong size, a bad member name) is
  raised out of the generator and nothing more is emitted — in particular no
  central directory — so the HTTP server aborts the connection instead of
  finishing a truncated archive that looks valid.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ria.download.zipformat import (
    Entry,
    central_directory_entry,
    data_descriptor,
    end_records,
    local_header,
)
from ria.errors import InvalidParameterError, StorageError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MD5_MANIFEST_NAME",
    "Chunk",
    "Md5Manifest",
    "ZipMember",
    "iter_zip",
    "validate_member_name",
]

DEFAULT_CHUNK_SIZE = 1 << 20
MD5_MANIFEST_NAME = "md5hashes.csv"

# What a member's chunks may be: any contiguous bytes buffer. Buffers other than
# ``bytes`` are copied on arrival, so a reader may reuse one buffer for every read.
Chunk = bytes | bytearray | memoryview

_MAX_NAME_BYTES = 0xFFFF  # the name length field is 16 bits


def validate_member_name(name: str) -> str:
    """Return ``name`` if it is a safe relative path inside an archive; raise otherwise.

    Whoever unpacks the archive joins member names onto a folder of their own,
    so a name must not be able to escape it (absolute paths, ``..``, drive
    letters) or mean different things on different systems (backslashes are
    separators on Windows, ``:`` opens an NTFS stream). Control characters are
    refused because they break listings and the ``md5hashes.csv`` lines.
    """
    if not isinstance(name, str) or not name:
        raise InvalidParameterError("name", f"archive member name must be a non-empty string, got {name!r}")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        raise InvalidParameterError("name", f"archive member name has a control character: {name!r}")
    if "\\" in name or ":" in name:
        raise InvalidParameterError("name", f"archive member name may not contain '\\' or ':': {name!r}")
    if name.startswith("/"):
        raise InvalidParameterError("name", f"archive member name must be relative: {name!r}")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidParameterError(
            "name", f"archive member name has an empty, '.' or '..' path component: {name!r}"
        )
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidParameterError("name", f"archive member name is not valid Unicode: {name!r}") from exc
    if len(encoded) > _MAX_NAME_BYTES:
        raise InvalidParameterError("name", f"archive member name is longer than {_MAX_NAME_BYTES} bytes")
    return name


@dataclass(frozen=True)
class ZipMember:
    """One file of the archive: its name, its size if known, and how to read it.

    ``chunks`` is a factory, not an iterator, so nothing is opened until the
    archive reaches this member — a download of ten thousand instances holds
    one open blob at a time. It is called exactly once. If it returns a list or
    tuple and ``size`` is ``None``, the size is taken from it.

    ``size`` is what the catalogue says the member holds; the stream is checked
    against it (a mismatch raises :class:`~ria.errors.StorageError`). ``None``
    means unknown. ``modified`` defaults to the time the archive was started;
    it is written in UTC (the DOS field has no zone), naive datetimes are taken
    to be UTC already. ``crc32`` (with ``size``) lets the member go out without a
    checksum pass; ``md5`` is what an :class:`Md5Manifest` records instead of
    hashing the bytes again. Both must describe the bytes ``chunks`` yields.
    """

    name: str
    size: int | None
    chunks: Callable[[], Iterable[Chunk]]
    modified: datetime | None = None
    crc32: int | None = None
    md5: str | None = None

    def __post_init__(self) -> None:
        # Validated on construction, so a bad name is refused before the response starts
        # whenever the caller builds its member list up front.
        validate_member_name(self.name)
        if self.size is not None and (isinstance(self.size, bool) or self.size < 0):
            raise InvalidParameterError(
                "size", f"member size must be a non-negative integer, got {self.size!r}"
            )
        if self.crc32 is not None and not 0 <= self.crc32 <= 0xFFFFFFFF:
            raise InvalidParameterError(
                "crc32", f"member crc32 must be an unsigned 32-bit value, got {self.crc32!r}"
            )

    @classmethod
    def from_bytes(cls, name: str, data: bytes, modified: datetime | None = None) -> ZipMember:
        """A member held in memory (small generated files such as manifests)."""
        payload = bytes(data)
        return cls(name=name, size=len(payload), chunks=lambda: (payload,), modified=modified)

    @classmethod
    def from_path(
        cls, name: str, path: Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE, modified: datetime | None = None
    ) -> ZipMember:
        """A member read from a local file when the archive reaches it, ``chunk_size`` bytes at a time."""
        source = Path(path)
        return cls(
            name=name,
            size=source.stat().st_size,
            chunks=lambda: _read_file(source, chunk_size),
            modified=modified,
        )


def _read_file(path: Path, chunk_size: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


class Md5Manifest:
    """MD5 of each member, computed while it streams, and the ``md5hashes.csv`` that lists them.

    TCIA's ``getImageWithMD5Hash`` ends its zip with ``md5hashes.csv``
    (``Filename,MD5Hash`` then one line per file) and clients check downloads
    against it. Hashing as the bytes go out costs no second read; the manifest
    member's content is built only when the archive reaches it, so it lists
    every member streamed before it. The manifest never lists itself.
    """

    def __init__(self) -> None:
        self._hashes: dict[str, str] = {}
        self._own_names: set[str] = set()

    def record(self, name: str, md5_hex: str) -> None:
        """Note the MD5 of a member that has been streamed completely."""
        if name not in self._own_names:
            self._hashes[name] = md5_hex

    def exclude(self, name: str) -> None:
        """Leave member ``name`` out of the manifest (TCIA lists the DICOM files, not the LICENSE)."""
        self._own_names.add(validate_member_name(name))

    @property
    def hashes(self) -> dict[str, str]:
        """Member name → lowercase hex MD5, in streaming order (a copy)."""
        return dict(self._hashes)

    def csv_bytes(self) -> bytes:
        """The manifest as TCIA writes it: UTF-8, ``\\n`` line ends, quoted only where CSV needs it."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["Filename", "MD5Hash"])
        writer.writerows(self._hashes.items())
        return text.getvalue().encode("utf-8")

    def member(self, name: str = MD5_MANIFEST_NAME, modified: datetime | None = None) -> ZipMember:
        """The manifest as an archive member; place it after the members it should list."""
        self._own_names.add(validate_member_name(name))
        return ZipMember(name=name, size=None, chunks=lambda: (self.csv_bytes(),), modified=modified)


def iter_zip(
    members: Iterable[ZipMember],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    md5: Md5Manifest | None = None,
) -> Generator[bytes, None, None]:
    """Stream a ZIP archive of ``members``, in order, as byte chunks for an HTTP response body.

    Output is coalesced: every chunk but the last is at least ``chunk_size``
    bytes (small headers and small members are batched, large member chunks are
    passed through uncopied). Memory stays within about twice ``chunk_size``
    plus the largest chunk a member yields, plus the central directory.
    ``members`` is consumed lazily, so it can page through the catalogue.

    With ``md5``, each member's MD5 is recorded in it as the member completes;
    put ``md5.member()`` last in ``members`` to append ``md5hashes.csv``.

    Errors — from a member's chunks, a size that disagrees with the declared
    one (:class:`~ria.errors.StorageError`) or a duplicate name
    (:class:`~ria.errors.InvalidParameterError`) — propagate out of the
    iterator and end the archive without a central directory.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidParameterError(
            "chunk_size", f"chunk_size must be a positive integer, got {chunk_size!r}"
        )
    # Arguments are checked here, eagerly; the generator below only runs once iterated.
    return _stream(members, chunk_size, md5)


def _stream(
    members: Iterable[ZipMember], chunk_size: int, md5: Md5Manifest | None
) -> Generator[bytes, None, None]:
    started = datetime.now(UTC)
    entries: list[Entry] = []
    seen: set[str] = set()
    pending: list[bytes] = []
    pending_size = 0
    offset = 0
    chunks: Iterable[Chunk] | None = None
    try:
        for member in members:
            if not isinstance(member, ZipMember):
                raise TypeError(f"iter_zip members must be ZipMember, got {type(member).__name__}")
            if member.name in seen:
                raise InvalidParameterError("name", f"duplicate archive member name: {member.name!r}")
            seen.add(member.name)
            modified = member.modified or started
            name = member.name.encode("utf-8")
            chunks = member.chunks()
            size, crc = member.size, member.crc32
            if isinstance(chunks, list | tuple) and (size is None or crc is None):
                # In memory already: hash it now and send a complete header.
                crc = 0
                total = 0
                for part in chunks:
                    crc = zlib.crc32(part, crc)
                    total += memoryview(part).nbytes
                if size is not None and total != size:
                    raise StorageError(
                        f"archive member {member.name!r} holds {total} bytes, not its declared {size}"
                    )
                size = total
            header, zip64 = local_header(name, modified, size=size, crc32=crc)
            streamed = size is None or crc is None
            entry_offset = offset
            pending.append(header)
            pending_size += len(header)
            offset += len(header)
            running = 0
            digest = hashlib.md5(usedforsecurity=False) if md5 is not None and member.md5 is None else None
            written = 0
            for chunk in chunks:
                data = chunk if type(chunk) is bytes else bytes(chunk)
                if not data:
                    continue
                written += len(data)
                if size is not None and written > size:
                    raise StorageError(
                        f"archive member {member.name!r} is longer than its declared {size} bytes"
                    )
                if streamed:
                    running = zlib.crc32(data, running)
                if digest is not None:
                    digest.update(data)
                offset += len(data)
                if len(data) >= chunk_size:
                    if pending:
                        yield pending[0] if len(pending) == 1 else b"".join(pending)
                        pending, pending_size = [], 0
                    yield data
                    continue
                pending.append(data)
                pending_size += len(data)
                if pending_size >= chunk_size:
                    yield b"".join(pending)
                    pending, pending_size = [], 0
            if size is not None and written != size:
                raise StorageError(
                    f"archive member {member.name!r} ended after {written} of its declared {size} bytes"
                )
            _close_source(chunks)
            chunks = None
            if streamed:
                crc = running
                descriptor = data_descriptor(crc, written, zip64)
                pending.append(descriptor)
                pending_size += len(descriptor)
                offset += len(descriptor)
            assert crc is not None
            entries.append(Entry(name, entry_offset, written, crc, streamed, zip64, modified))
            if md5 is not None:
                md5.record(member.name, digest.hexdigest() if digest is not None else str(member.md5))
            if pending_size >= chunk_size:
                yield b"".join(pending)
                pending, pending_size = [], 0
        directory_offset = offset
        directory = [central_directory_entry(entry) for entry in entries]
        directory_size = sum(len(record) for record in directory)
        pending.extend(directory)
        pending.append(end_records(len(entries), directory_offset, directory_size))
        yield b"".join(pending)
    finally:
        if chunks is not None:
            with suppress(Exception):
                _close_source(chunks)


def _close_source(chunks: Iterable[Chunk] | None) -> None:
    """Close a member's chunk generator now (its open blob), not whenever it is collected."""
    close = getattr(chunks, "close", None)
    if callable(close):
        close()
