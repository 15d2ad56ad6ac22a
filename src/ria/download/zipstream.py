"""Streaming ZIP archives for HTTP downloads: built while they are sent, never held.

A series download can be many gigabytes, so the archive is produced member by
member as the response is written: memory holds at most a couple of output
chunks plus the central directory (about a hundred bytes per member), and no
temporary file is ever created. A client that disconnects simply stops the
generator.

We drive the standard library's :class:`zipfile.ZipFile` over a write-only,
non-seekable spool that the generator drains, rather than writing headers by
hand: the standard writer already gets ZIP64 (members and offsets past 4 GiB,
more than 65,535 members) and data descriptors right, and every reader we test
against (``zipfile``, Info-ZIP ``unzip``/``zipinfo``) reads its output.
Consequences of streaming, by design:

* Members are STORED, not deflated: DICOM pixel data barely compresses and
  stored members cost no CPU.
* Each member's CRC is only known after its bytes are sent, so every member has
  a data descriptor (general-purpose bit 3) and its local header carries zero
  sizes, as APPNOTE 4.4.4 requires for bit 3. The *declared* size is still
  used: it decides whether the member needs ZIP64 fields (members over 2 GiB
  get them, as ``zipfile`` does) and the streamed bytes are checked against it.
  A member of unknown size gets ZIP64 fields in case it turns out large.
* A failure mid-stream (a storage error, a wrong size, a bad member name) is
  raised out of the generator and nothing more is emitted — in particular no
  central directory — so the HTTP server aborts the connection instead of
  finishing a truncated archive that looks valid.
"""

from __future__ import annotations

import csv
import hashlib
import io
import stat
import struct
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

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
_FILE_MODE = stat.S_IFREG | 0o644
_UNIX = 3  # "version made by" host system: extractors then honour the Unix mode
_EXTENDED_TIMESTAMP = 0x5455  # "UT" extra field: modification time in UTC seconds
_DOS_EPOCH = datetime(1980, 1, 1)
_DOS_END = datetime(2107, 12, 31, 23, 59, 58)


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
    to be UTC already.
    """

    name: str
    size: int | None
    chunks: Callable[[], Iterable[Chunk]]
    modified: datetime | None = None

    def __post_init__(self) -> None:
        # Validated on construction, so a bad name is refused before the response starts
        # whenever the caller builds its member list up front.
        validate_member_name(self.name)
        if self.size is not None and (isinstance(self.size, bool) or self.size < 0):
            raise InvalidParameterError(
                "size", f"member size must be a non-negative integer, got {self.size!r}"
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


class _Spool:
    """Write-only, non-seekable file that ``ZipFile`` writes into and the generator drains.

    Having no ``seek`` is what makes ``ZipFile`` use data descriptors instead of
    rewriting headers. Written ``bytes`` are kept by reference, not copied, until
    drained; after :meth:`discard`, writes are counted and dropped, so a failed
    archive's writer can be closed without holding its central directory.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self._discarding = False
        self.pending = 0

    def write(self, data: bytes) -> int:
        if type(data) is not bytes:
            data = bytes(data)
        size = len(data)
        self._position += size
        if size and not self._discarding:
            self._parts.append(data)
            self.pending += size
        return size

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        """Everything written since the last call, as one buffer (no copy when it is one write)."""
        parts, self._parts, self.pending = self._parts, [], 0
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def discard(self) -> None:
        self._discarding = True
        self._parts.clear()
        self.pending = 0


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
    spool = _Spool()
    archive = zipfile.ZipFile(spool, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
    started = datetime.now(UTC)
    handle: IO[bytes] | None = None
    chunks: Iterable[Chunk] | None = None
    finished = False
    try:
        for member in members:
            if not isinstance(member, ZipMember):
                raise TypeError(f"iter_zip members must be ZipMember, got {type(member).__name__}")
            if member.name in archive.NameToInfo:
                raise InvalidParameterError("name", f"duplicate archive member name: {member.name!r}")
            chunks = member.chunks()
            size = member.size
            if size is None and isinstance(chunks, list | tuple):
                size = sum(memoryview(chunk).nbytes for chunk in chunks)
            info = _zip_info(member.name, size, member.modified or started)
            digest = hashlib.md5(usedforsecurity=False) if md5 is not None else None
            written = 0
            # Unknown size: ZIP64 fields from the start, since the local header cannot be revisited.
            handle = archive.open(info, mode="w", force_zip64=size is None)
            for chunk in chunks:
                data = chunk if type(chunk) is bytes else bytes(chunk)
                if not data:
                    continue
                written += len(data)
                if size is not None and written > size:
                    raise StorageError(
                        f"archive member {member.name!r} is longer than its declared {size} bytes"
                    )
                handle.write(data)
                if digest is not None:
                    digest.update(data)
                if spool.pending >= chunk_size:
                    yield spool.take()
            if size is not None and written != size:
                raise StorageError(
                    f"archive member {member.name!r} ended after {written} of its declared {size} bytes"
                )
            _close_source(chunks)
            chunks = None
            handle.close()
            handle = None
            if md5 is not None and digest is not None:
                md5.record(member.name, digest.hexdigest())
            if spool.pending >= chunk_size:
                yield spool.take()
        archive.close()
        finished = True
        if spool.pending:
            yield spool.take()
    finally:
        if not finished:
            _abandon(spool, archive, handle, chunks)


def _abandon(
    spool: _Spool,
    archive: zipfile.ZipFile,
    handle: IO[bytes] | None,
    chunks: Iterable[Chunk] | None,
) -> None:
    """Release everything after a failure or an early stop, emitting nothing more.

    The writer is closed into a discarding spool (else ``ZipFile.__del__`` would
    try to finish the archive later); errors while tidying up are dropped so the
    original failure is the one that propagates.
    """
    spool.discard()
    with suppress(Exception):
        _close_source(chunks)
    if handle is not None:
        with suppress(Exception):
            handle.close()
    with suppress(Exception):
        archive.close()


def _close_source(chunks: Iterable[Chunk] | None) -> None:
    """Close a member's chunk generator now (its open blob), not whenever it is collected."""
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


def _zip_info(name: str, size: int | None, modified: datetime) -> zipfile.ZipInfo:
    utc = modified.astimezone(UTC).replace(tzinfo=None) if modified.tzinfo else modified
    dos = min(max(utc, _DOS_EPOCH), _DOS_END)  # the DOS field spans 1980-2107 only
    info = zipfile.ZipInfo(name, date_time=dos.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = _UNIX
    info.external_attr = _FILE_MODE << 16
    info.file_size = size or 0
    info.extra = _extended_timestamp(modified)
    return info


def _extended_timestamp(modified: datetime) -> bytes:
    """The "UT" extra field, so Info-ZIP and others restore the exact UTC time, not DOS local time.

    Omitted when the time does not fit its signed 32-bit seconds.
    """
    aware = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
    seconds = int(aware.timestamp())
    if not 0 <= seconds < 1 << 31:
        return b""
    return struct.pack("<HHBl", _EXTENDED_TIMESTAMP, 5, 1, seconds)
