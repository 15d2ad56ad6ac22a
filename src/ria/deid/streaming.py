"""De-identify a large file without holding it: the header through the engine, the pixels streamed.

Why: the engine rewrites a file held in memory, which for a multi-frame acquisition of
hundreds of megabytes costs several times its size (the bytes read, the data set, the
bytes written). Yet Pixel Data is the one element de-identification copies as it came
(unless a curator's pixel rule blanks regions of it) and it is almost always the last
element of the file.

So a large file is cut in three: everything before the top-level Pixel Data element
(the *head*), the Pixel Data element itself, and whatever follows it (the *trailer*,
usually nothing; sometimes Data Set Trailing Padding or private tags). The engine
de-identifies a small *stand-in* file — head, a placeholder Pixel Data element of the
same encoding holding a random marker, trailer — with the very same rules and code as
any other file. Where the placeholder lands in the result, the original Pixel Data
element's bytes are streamed in from the source, in chunks, straight into the blob
store (which hashes as it writes). The stored bytes are the ones the in-memory path
would have written, which the tests check file by file.

Anything this module is not sure of returns ``None`` and the caller reads the file
whole as before: a stream that cannot seek, a file below the size where streaming
pays, Big Endian or deflated transfer syntaxes, a head or trailer too large to be a
header, a malformed or truncated structure (the in-memory path words the refusal),
and a placeholder the engine did not copy verbatim.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from ria.dicom.header import PREAMBLE_LENGTH
from ria.errors import InvalidDicomError
from ria.storage.base import CHUNK_SIZE

__all__ = ["WHOLE_FILE_LIMIT", "Cut", "SplicedReader", "cut", "whole_if_small"]

WHOLE_FILE_LIMIT = 32 << 20
"""Files smaller than this are read whole: cutting costs more than it saves there."""
HEAD_LIMIT = 16 << 20
"""A head larger than this is not a header the streaming path expects: read the file whole."""
TRAILER_LIMIT = 1 << 20
"""Elements after Pixel Data beyond this much are not trailing padding: read the file whole."""

_PIXEL_DATA = 0x7FE00010
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_HEADER_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_PIXEL_VRS = frozenset({b"OB", b"OW", b"UN"})
_MAX_DEPTH = 32
_IMPLICIT, _EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
_RLE, _ENCAPSULATED_PREFIX = "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4."
_JPIP_DEFLATE = "1.2.840.10008.1.2.4.95"  # encapsulated in name, deflated in fact
_TAG_LENGTH = struct.Struct("<HHI")
_MARKER_LENGTH = 16
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


class _Head:
    """The start of a stream, read on demand in ``step``-byte reads and never past :data:`HEAD_LIMIT`."""

    def __init__(self, stream: BinaryIO, step: int) -> None:
        self.stream = stream
        self.step = step
        self.data = bytearray()

    def need(self, end: int) -> bool:
        """Whether bytes up to ``end`` are (now) held; False at the end of the stream or past the limit."""
        if end > HEAD_LIMIT + 12:
            return False
        while len(self.data) < end:
            block = self.stream.read(max(self.step, end - len(self.data)))
            if not block:
                return False
            self.data += block
        return True

    def u16(self, offset: int) -> int:
        return int.from_bytes(self.data[offset : offset + 2], "little")

    def u32(self, offset: int) -> int:
        return int.from_bytes(self.data[offset : offset + 4], "little")

    def tag(self, offset: int) -> int:
        return (self.u16(offset) << 16) | self.u16(offset + 2)


@dataclass(frozen=True)
class _Element:
    tag: int
    vr: bytes | None  # None in implicit VR
    start: int
    value_start: int
    length: int


def _element(head: _Head, offset: int, implicit: bool) -> _Element | None:
    """The element header at ``offset``, or ``None`` if it is not a plain one."""
    if not head.need(offset + 8):
        return None
    tag = head.tag(offset)
    if tag >> 16 == 0xFFFE:
        return None  # an item or delimiter where an element should be
    if implicit:
        return _Element(tag, None, offset, offset + 8, head.u32(offset + 4))
    vr = bytes(head.data[offset + 4 : offset + 6])
    if not (vr.isalpha() and vr.isupper()):
        return None
    if vr in _LONG_HEADER_VRS:
        if not head.need(offset + 12):
            return None
        return _Element(tag, vr, offset, offset + 12, head.u32(offset + 8))
    return _Element(tag, vr, offset, offset + 8, head.u16(offset + 6))


def _skip(head: _Head, element: _Element, implicit: bool, depth: int) -> int | None:
    """Where the element ends; undefined-length sequences are walked item by item."""
    if element.length != _UNDEFINED:
        return element.value_start + element.length
    if implicit or element.vr == b"SQ":
        return _skip_items(head, element.value_start, implicit, depth + 1)
    if element.vr == b"UN":  # PS3.5 6.2.2: an undefined-length UN holds implicit VR items
        return _skip_items(head, element.value_start, True, depth + 1)
    return None


def _skip_items(head: _Head, offset: int, implicit: bool, depth: int) -> int | None:
    if depth > _MAX_DEPTH:
        return None
    while head.need(offset + 8):
        tag, length = head.tag(offset), head.u32(offset + 4)
        if tag == _SEQUENCE_END:
            return offset + 8
        if tag != _ITEM:
            return None
        offset += 8
        if length != _UNDEFINED:
            offset += length
            continue
        while True:  # an undefined-length item: its elements, up to the Item Delimitation Item
            if not head.need(offset + 8):
                return None
            if head.tag(offset) == _ITEM_END:
                offset += 8
                break
            element = _element(head, offset, implicit)
            end = _skip(head, element, implicit, depth) if element is not None else None
            if end is None:
                return None
            offset = end
    return None


def _transfer_syntax(head: _Head) -> tuple[str, int] | None:
    """The transfer syntax UID and where the data set starts (after the File Meta Information)."""
    offset = PREAMBLE_LENGTH + 4
    if not head.need(offset) or head.data[PREAMBLE_LENGTH:offset] != b"DICM":
        return None
    syntax = None
    while head.need(offset + 8) and head.u16(offset) == 0x0002:
        element = _element(head, offset, implicit=False)
        if element is None or element.length == _UNDEFINED:
            return None
        offset = element.value_start + element.length
        if element.tag == 0x00020010:
            if not head.need(offset):
                return None
            value = bytes(head.data[element.value_start : offset])
            syntax = value.rstrip(b"\x00 ").decode("ascii", "replace")
    return (syntax, offset) if syntax else None


def _implicit(syntax: str) -> bool | None:
    """True/False for the little-endian syntaxes streamed; ``None`` for Big Endian, deflated, unknown."""
    if syntax == _IMPLICIT:
        return True
    if syntax in (_EXPLICIT, _RLE) or (syntax.startswith(_ENCAPSULATED_PREFIX) and syntax != _JPIP_DEFLATE):
        return False
    return None


def _pixel_data(head: _Head, offset: int, implicit: bool) -> _Element | None:
    """The top-level Pixel Data element; its head (everything before it) is then held."""
    while True:
        element = _element(head, offset, implicit)
        if element is None:
            return None
        if element.tag == _PIXEL_DATA:
            return element if head.need(element.value_start) else None
        end = _skip(head, element, implicit, 0)
        if end is None:
            return None
        offset = end


def _fragments_end(stream: BinaryIO, offset: int) -> int | None:
    """Where encapsulated Pixel Data ends (after its Sequence Delimitation Item), seeking past fragments."""
    while True:
        stream.seek(offset)
        block = _read_exactly(stream, 8)
        if len(block) < 8:
            return None
        group, number, length = _TAG_LENGTH.unpack(block)
        tag = (group << 16) | number
        if tag == _SEQUENCE_END and length == 0:
            return offset + 8
        if tag != _ITEM or length == _UNDEFINED:
            return None
        offset += 8 + length


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of the stream (a raw stream may return short reads)."""
    parts, held = [], 0
    while held < size:
        block = stream.read(size - held)
        if not block:
            break
        parts.append(block)
        held += len(block)
    return b"".join(parts)


@dataclass(frozen=True)
class Cut:
    """A file cut around its top-level Pixel Data element: ``head`` + source[start:stop] + ``trailer``."""

    head: bytes
    element_header: bytes
    start: int
    stop: int
    trailer: bytes
    encapsulated: bool

    def stand_in(self, marker: bytes) -> tuple[bytes, bytes]:
        """(the stand-in file, its placeholder Pixel Data element) for a 16-byte ``marker``."""
        if len(marker) != _MARKER_LENGTH:
            raise ValueError("the marker must be 16 bytes")
        if self.encapsulated:
            # An empty Basic Offset Table, one fragment, the delimiter: as a real encapsulated value.
            value = _TAG_LENGTH.pack(0xFFFE, 0xE000, 0) + _TAG_LENGTH.pack(0xFFFE, 0xE000, 16) + marker
            placeholder = self.element_header + value + _SEQUENCE_DELIMITER
        else:
            placeholder = self.element_header[:-4] + struct.pack("<I", _MARKER_LENGTH) + marker
        return self.head + placeholder + self.trailer, placeholder

    def split(self, written: bytes, placeholder: bytes, marker: bytes) -> tuple[bytes, bytes] | None:
        """The engine's output before and after the placeholder, if it came through verbatim and once."""
        at = written.find(marker)
        if at < 0 or written.find(marker, at + 1) >= 0:
            return None
        start = at - placeholder.index(marker)
        end = start + len(placeholder)
        if start < 0 or written[start:end] != placeholder:
            return None
        return written[:start], written[end:]


def whole_if_small(stream: BinaryIO, whole_below: int) -> bytes | None:
    """The whole file when it is one to read whole by size (or the stream cannot seek); else ``None``.

    Asks a file on disk its size; anything else (a zip member) is read up to the limit
    rather than sought to its end, which for a compressed member would inflate it twice.
    Leaves a stream it returns ``None`` for at its start.
    """
    try:
        size: int | None = os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        size = None
    if size is not None:
        return _read_exactly(stream, size) if size < whole_below else None
    start = _read_exactly(stream, whole_below)
    if len(start) < whole_below:
        return start
    if not stream.seekable():
        return start + stream.read()
    stream.seek(0)
    return None


def cut(stream: BinaryIO, *, whole_below: int = WHOLE_FILE_LIMIT, step: int = 1 << 16) -> Cut | None:
    """Cut ``stream`` around its Pixel Data, or ``None`` to read it whole (see the module docs).

    Leaves the stream at its start either way.
    """
    if not stream.seekable():
        return None
    try:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        if size < max(whole_below, 1):
            return None
        found = _cut(stream, size, step)
    finally:
        if stream.seekable():
            stream.seek(0)
    return found


def _cut(stream: BinaryIO, size: int, step: int) -> Cut | None:
    head = _Head(stream, step)
    syntax = _transfer_syntax(head)
    implicit = _implicit(syntax[0]) if syntax is not None else None
    if syntax is None or implicit is None:
        return None
    element = _pixel_data(head, syntax[1], implicit)
    if element is None or (element.vr is not None and element.vr not in _PIXEL_VRS):
        return None
    encapsulated = element.length == _UNDEFINED
    stop = (
        element.value_start + element.length
        if not encapsulated
        else _fragments_end(stream, element.value_start)
    )
    if stop is None or stop > size or size - stop > TRAILER_LIMIT:
        return None  # truncated or malformed: the in-memory path refuses it in its own words
    stream.seek(stop)
    trailer = _read_exactly(stream, size - stop)
    if len(trailer) != size - stop:
        return None
    return Cut(
        head=bytes(head.data[: element.start]),
        element_header=bytes(head.data[element.start : element.value_start]),
        start=element.start,
        stop=stop,
        trailer=trailer,
        encapsulated=encapsulated,
    )


class SplicedReader(io.RawIOBase):
    """Reads ``before`` + ``source[start:stop]`` + ``after``: the de-identified file, pixels streamed.

    The source's bytes are read in at most :data:`~ria.storage.base.CHUNK_SIZE` blocks as
    the store asks for them; a source that ends early is an error, never a short file.
    """

    def __init__(self, before: bytes, source: BinaryIO, start: int, stop: int, after: bytes) -> None:
        super().__init__()
        self._parts: list[bytes | tuple[int, int]] = [before, (start, stop), after]
        self._source = source
        self._offset = 0  # within the current part

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                chunk = part[self._offset : self._offset + len(target)]
            else:
                start, stop = part
                chunk = self._read_source(start + self._offset, min(len(target), stop - start - self._offset))
            if chunk:
                target[: len(chunk)] = chunk
                self._offset += len(chunk)
                return len(chunk)
            self._parts.pop(0)
            self._offset = 0
        return 0

    def _read_source(self, position: int, wanted: int) -> bytes:
        if wanted <= 0:
            return b""
        if self._source.tell() != position:
            self._source.seek(position)
        chunk = self._source.read(min(wanted, CHUNK_SIZE))
        if not chunk:
            raise InvalidDicomError("truncated: the file ended inside its Pixel Data as it was stored")
        return chunk

    def stream(self) -> BinaryIO:
        """This reader buffered, as the store's ``stage`` takes it."""
        return io.BufferedReader(self, CHUNK_SIZE)
