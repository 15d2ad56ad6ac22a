"""The ZIP records a streamed archive needs (APPNOTE 6.3.x), packed by hand.

Why by hand: :mod:`zipfile` computes every member's CRC-32 while writing and
cannot take one that is already known. Ria records each instance's CRC-32 at
ingest, so a download can put sizes and CRC in the local header and send the
stored bytes untouched — no checksum pass over gigabytes, no data descriptor.
Members whose CRC is not known (generated files of unknown length) still get
the streaming form: general-purpose bit 3 and a data descriptor after the data.

Only what Ria writes is implemented: STORED members, UTF-8 names, Unix file
mode, the "UT" extended-timestamp extra field, and ZIP64 wherever a size, an
offset or the number of entries needs it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "ZIP32_LIMIT",
    "Entry",
    "central_directory_entry",
    "data_descriptor",
    "dos_date_time",
    "end_records",
    "extended_timestamp",
    "local_header",
]

ZIP32_LIMIT = 0xFFFFFFFF
_UTF8_NAMES = 0x0800
_STREAMED = 0x0008
_UNIX = 3
_FILE_MODE = 0o100644
_ZIP64_EXTRA = 0x0001
_TIMESTAMP_EXTRA = 0x5455
_DOS_EPOCH = datetime(1980, 1, 1)
_DOS_END = datetime(2107, 12, 31, 23, 59, 58)


@dataclass(frozen=True)
class Entry:
    """What the central directory needs to know about one member once it has been sent."""

    name: bytes
    offset: int
    size: int
    crc32: int
    streamed: bool
    zip64_local: bool
    modified: datetime

    @property
    def needs_zip64(self) -> bool:
        return self.zip64_local or self.size >= ZIP32_LIMIT or self.offset >= ZIP32_LIMIT


def dos_date_time(modified: datetime) -> tuple[int, int]:
    """(time, date) in MS-DOS format, in UTC, clamped to the years the field can hold."""
    utc = modified.astimezone(UTC).replace(tzinfo=None) if modified.tzinfo else modified
    value = min(max(utc, _DOS_EPOCH), _DOS_END)
    time = (value.hour << 11) | (value.minute << 5) | (value.second // 2)
    date = ((value.year - 1980) << 9) | (value.month << 5) | value.day
    return time, date


def extended_timestamp(modified: datetime) -> bytes:
    """The "UT" extra field (exact UTC modification time); empty if it does not fit 32 bits."""
    aware = modified if modified.tzinfo else modified.replace(tzinfo=UTC)
    seconds = int(aware.timestamp())
    if not 0 <= seconds < 1 << 31:
        return b""
    return struct.pack("<HHBl", _TIMESTAMP_EXTRA, 5, 1, seconds)


def _version(zip64: bool) -> int:
    return 45 if zip64 else 20


def local_header(
    name: bytes, modified: datetime, *, size: int | None, crc32: int | None, force_zip64: bool = False
) -> tuple[bytes, bool]:
    """A local file header, and whether it carries ZIP64 sizes.

    With ``size`` and ``crc32`` both known the header is complete; otherwise the
    member is streamed (bit 3) and its sizes follow in :func:`data_descriptor`.
    A streamed member of unknown size always gets ZIP64 fields, since the header
    cannot be revisited once sent.
    """
    streamed = size is None or crc32 is None
    zip64 = force_zip64 or size is None or (size is not None and size >= ZIP32_LIMIT)
    flags = _UTF8_NAMES | (_STREAMED if streamed else 0)
    time, date = dos_date_time(modified)
    extra = extended_timestamp(modified)
    if streamed:
        crc, compressed, uncompressed = 0, 0, 0
    else:
        assert size is not None and crc32 is not None
        crc, compressed, uncompressed = crc32, size, size
    if zip64:
        extra = struct.pack("<HHQQ", _ZIP64_EXTRA, 16, uncompressed, compressed) + extra
        compressed = uncompressed = ZIP32_LIMIT
    header = struct.pack(
        "<IHHHHHIIIHH",
        0x04034B50,
        _version(zip64),
        flags,
        0,  # STORED
        time,
        date,
        crc,
        compressed,
        uncompressed,
        len(name),
        len(extra),
    )
    return header + name + extra, zip64


def data_descriptor(crc32: int, size: int, zip64: bool) -> bytes:
    """The record after a streamed member's data: its CRC and sizes (8-byte sizes with ZIP64)."""
    if zip64:
        return struct.pack("<IIQQ", 0x08074B50, crc32, size, size)
    return struct.pack("<IIII", 0x08074B50, crc32, size, size)


def central_directory_entry(entry: Entry) -> bytes:
    """One central directory header; ZIP64 extra fields only for the values that overflow."""
    values: list[int] = []
    size32 = entry.size
    offset32 = entry.offset
    if entry.size >= ZIP32_LIMIT:
        values += [entry.size, entry.size]
        size32 = ZIP32_LIMIT
    if entry.offset >= ZIP32_LIMIT:
        values.append(entry.offset)
        offset32 = ZIP32_LIMIT
    extra = b""
    if values:
        extra = struct.pack(f"<HH{len(values)}Q", _ZIP64_EXTRA, 8 * len(values), *values)
    extra += extended_timestamp(entry.modified)
    time, date = dos_date_time(entry.modified)
    flags = _UTF8_NAMES | (_STREAMED if entry.streamed else 0)
    version = _version(entry.needs_zip64)
    header = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        (_UNIX << 8) | version,
        version,
        flags,
        0,
        time,
        date,
        entry.crc32,
        size32,
        size32,
        len(entry.name),
        len(extra),
        0,  # comment
        0,  # disk number start
        0,  # internal attributes
        _FILE_MODE << 16,
        offset32,
    )
    return header + entry.name + extra


def end_records(count: int, directory_offset: int, directory_size: int) -> bytes:
    """End of central directory, preceded by the ZIP64 end record and locator when anything overflows."""
    records = b""
    if count >= 0xFFFF or directory_offset >= ZIP32_LIMIT or directory_size >= ZIP32_LIMIT:
        zip64_end_offset = directory_offset + directory_size
        records += struct.pack(
            "<IQHHIIQQQQ",
            0x06064B50,
            44,
            (_UNIX << 8) | 45,
            45,
            0,
            0,
            count,
            count,
            directory_size,
            directory_offset,
        )
        records += struct.pack("<IIQI", 0x07064B50, 0, zip64_end_offset, 1)
    records += struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        min(count, 0xFFFF),
        min(count, 0xFFFF),
        min(directory_size, ZIP32_LIMIT),
        min(directory_offset, ZIP32_LIMIT),
        0,
    )
    return records
