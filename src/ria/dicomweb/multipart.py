"""multipart/related, DICOMweb's envelope (PS3.18 §8.6): read as it streams in, written as it streams out.

Reading pushes each part's bytes straight into a sink (for STOW-RS, a spool file)
so a request of any size costs a fixed amount of memory, and tells a part that
ended properly from one cut off by a truncated body. Parsing uses
python-multipart's push parser rather than a hand-rolled boundary scanner.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from python_multipart.multipart import MultipartParser

from ria.errors import InvalidParameterError, UnsupportedMediaTypeError

__all__ = [
    "MediaType",
    "MultipartReader",
    "PartReceipt",
    "iter_multipart",
    "new_boundary",
    "parse_media_type",
]


@dataclass(frozen=True)
class MediaType:
    """A media type with its parameters, as in ``multipart/related; type="application/dicom"``."""

    type: str
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.type + "".join(f'; {key}="{value}"' for key, value in self.params.items())


def _split_quoted(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_media_type(text: str) -> MediaType:
    """Parse one media range or Content-Type value (parameter names lower-cased, quotes removed)."""
    pieces = _split_quoted(text, ";")
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        key, value = piece.split("=", 1)
        params[key.strip().lower()] = value.strip().strip('"')
    return MediaType(pieces[0].strip().lower(), params)


def parse_accept(header: str | None) -> list[MediaType]:
    """The media ranges of an Accept header, most preferred first (q=0 ranges dropped)."""
    if not header:
        return []
    ranked: list[tuple[float, int, MediaType]] = []
    for position, text in enumerate(_split_quoted(header, ",")):
        if not text.strip():
            continue
        media = parse_media_type(text)
        try:
            quality = float(media.params.pop("q", "1"))
        except ValueError:
            quality = 1.0
        if quality > 0:
            ranked.append((-quality, position, media))
    return [media for _q, _p, media in sorted(ranked, key=lambda item: (item[0], item[1]))]


def new_boundary() -> str:
    return f"ria-{secrets.token_hex(16)}"


BLOCK_SIZE = 4 << 20


def iter_multipart(
    parts: Iterable[tuple[str, Iterable[bytes]]], boundary: str, *, block_size: int = BLOCK_SIZE
) -> Iterator[bytes]:
    """A multipart/related body from (content type, chunks) parts, streamed in blocks of about ``block_size``.

    Small pieces (part headers, small instances) are gathered into blocks: a server
    hands every yielded piece to the network separately, so one piece per block,
    not three per part, is what keeps retrieval near the disk's speed. Memory holds
    at most one block plus one chunk.
    """
    pending: list[bytes] = []
    pending_size = 0

    def pieces() -> Iterator[bytes]:
        for content_type, chunks in parts:
            yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode("latin-1")
            yield from chunks
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode("latin-1")

    for piece in pieces():
        pending.append(piece)
        pending_size += len(piece)
        if pending_size >= block_size:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)


@dataclass
class PartReceipt:
    """One part as it arrived: its index, Content-Type and whether it ended before the body did."""

    index: int
    content_type: str | None
    complete: bool = False
    size: int = 0


class MultipartReader:
    """Push parser for a multipart/related request body, writing each part into its own sink.

    ``open_sink(index)`` is called at the start of each part and must return a
    writable binary file; it is closed when the part ends (or the body does).
    Feed chunks with :meth:`write`, then call :meth:`finish`.
    """

    def __init__(self, content_type: str, open_sink: Callable[[int], BinaryIO]) -> None:
        media = parse_media_type(content_type)
        if media.type != "multipart/related":
            raise UnsupportedMediaTypeError(
                'expected Content-Type multipart/related; type="application/dicom", '
                f"got {media.type or 'none'}"
            )
        boundary = media.params.get("boundary")
        if not boundary:
            raise InvalidParameterError("Content-Type", "multipart/related without a boundary parameter")
        self.media = media
        self.receipts: list[PartReceipt] = []
        self._open_sink = open_sink
        self._sink: BinaryIO | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[str, str] = {}
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_end": self._end,
            },
        )

    def write(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own errors on malformed bodies
            self._close_sink()
            raise InvalidParameterError("body", f"malformed multipart/related body: {exc}") from None

    def finish(self) -> list[PartReceipt]:
        """Close the last sink; parts cut off by the end of the body stay ``complete=False``."""
        with contextlib.suppress(Exception):  # a truncated body: its open part stays incomplete
            self._parser.finalize()
        self._close_sink()
        return self.receipts

    @property
    def ended(self) -> bool:
        """Whether the closing boundary arrived (a truncated body never sends it)."""
        return self._ended

    def _part_begin(self) -> None:
        self._headers = {}
        self.receipts.append(PartReceipt(len(self.receipts), None))

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        receipt = self.receipts[-1]
        receipt.content_type = self._headers.get("content-type")
        self._sink = self._open_sink(receipt.index)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._sink is not None:
            self._sink.write(data[start:end])
            self.receipts[-1].size += end - start

    def _part_end(self) -> None:
        self.receipts[-1].complete = True
        self._close_sink()

    def _end(self) -> None:
        self._ended = True

    def _close_sink(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
