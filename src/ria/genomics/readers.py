"""Reading genomic and clinical files as streams: gzip by magic bytes, headers, biotab rows, JSON arrays.

Tables from the GDC, TCGA's legacy archive and R packages come as TSV, CSV, gzipped or not, with
``#`` comment lines (GDC MAFs) or two extra header rows (legacy biotab: a second names row and a
CDE_ID row). Every importer reads through here so those quirks are handled once, and nothing
ever holds a whole file in memory: a pan-cancer MAF is gigabytes.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ria.errors import InvalidParameterError

__all__ = [
    "MISSING",
    "Row",
    "Table",
    "content_sha256",
    "is_json",
    "is_missing",
    "iter_json_records",
    "open_table",
    "open_text",
    "parse_float",
    "parse_int",
]

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20

MISSING = frozenset(
    {"", "na", "n/a", "nan", "null", "none", ".", "--", "'--", "not reported", "not available", "unknown"}
)
"""Spellings of "no value" in GDC, TCGA and R exports (compared in lower case). Bracketed biotab
placeholders (``[Not Available]``, ``[Unknown]``, ``[Discrepancy]``, ``[Completed]`` …) are missing too."""


def is_missing(value: str | None) -> bool:
    """True for an empty cell or any placeholder that means "no value"."""
    if value is None:
        return True
    text = value.strip()
    return text.lower() in MISSING or (text.startswith("[") and text.endswith("]"))


def parse_float(value: str) -> float | None:
    """A finite float, or None: "inf" and "nan" are not measurements."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_int(value: str) -> int | None:
    """A whole number, accepting R's and pandas' ``460.0`` (rounded, not truncated); None otherwise."""
    number = parse_float(value)
    return None if number is None else round(number)


def _file_error(path: Path, message: str) -> InvalidParameterError:
    return InvalidParameterError("file", f"{path.name}: {message}", file=str(path))


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as raw:
            return raw.read(2) == _GZIP_MAGIC
    except FileNotFoundError:
        raise _file_error(path, "no such file") from None
    except IsADirectoryError:
        raise _file_error(path, "is a folder, not a file") from None


@contextmanager
def _guard(path: Path) -> Iterator[None]:
    """Turn a damaged gzip stream into one error naming the file (the archive stays as it was)."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise _file_error(path, f"damaged or truncated gzip data ({exc})") from None


def content_sha256(path: Path) -> str:
    """SHA-256 of the (decompressed) content: the same table gzipped or not is the same source.

    Reading the whole stream once before anything is written also finds a truncated gzip
    early, so such a file is refused before the catalogue is touched.
    """
    digest = hashlib.sha256()
    opener = gzip.open if _is_gzip(path) else open
    with _guard(path), opener(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """The file as text, gunzipped when its first bytes say gzip (whatever its name)."""
    options: dict[str, Any] = {"encoding": "utf-8-sig", "errors": "replace", "newline": ""}
    opener: Callable[..., TextIO] = gzip.open if _is_gzip(path) else open
    with _guard(path), opener(path, "rt", **options) as text:
        yield text


def is_json(path: Path) -> bool:
    """True when the first non-blank character opens a JSON array or object (GDC clinical JSON)."""
    with open_text(path) as text:
        while chunk := text.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[0] in "[{"
    return False


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its line number in the file (1-based, as an editor shows it) and its cells.

    ``cells`` is keyed by lower-case column name; ``problem`` says why the row's shape is wrong.
    """

    line: int
    cells: dict[str, str]
    problem: str | None = None

    def get(self, column: str | None) -> str | None:
        """The stripped value of ``column`` (lower-case name), None when absent or missing."""
        if column is None:
            return None
        value = self.cells.get(column)
        return None if is_missing(value) else value.strip()  # type: ignore[union-attr]


@dataclass
class Table:
    """A delimited table being streamed: its columns (lower case, file order) and its rows.

    ``header`` keeps the names as the file spells them, for what is shown or stored (label names).
    """

    columns: list[str]
    rows: Iterator[Row]
    header: list[str]

    def has(self, *names: str) -> str | None:
        """The first of ``names`` that is a column, or None."""
        return next((name for name in names if name in self.columns), None)


@contextmanager
def open_table(path: Path) -> Iterator[Table]:
    """Stream ``path`` as a table: leading ``#`` lines skipped, tab or comma sniffed from the header.

    Tab-separated files (MAF, biotab, GDC TSV) are read without quoting, as their producers write
    them; comma-separated ones with CSV quoting (R's write.csv quotes multi-line cells). The two
    extra biotab header rows are skipped. A row with the wrong number of cells is yielded with a
    ``problem`` so the importer can reject it by line number and carry on.
    """
    with open_text(path) as text:
        skipped = 0
        header_line = text.readline()
        while header_line.startswith("#"):
            skipped += 1
            header_line = text.readline()
        if not header_line.strip():
            raise _file_error(path, "no header row (the file is empty)")
        tabbed = "\t" in header_line
        options: dict[str, Any] = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tabbed else {}
        header = [name.strip() for name in next(csv.reader([header_line], **options))]
        columns = [name.lower() for name in header]
        reader = csv.reader(text, **options)
        yield Table(columns, _rows(path, reader, columns, skipped + 1), header)


def _rows(path: Path, reader: Any, columns: list[str], offset: int) -> Iterator[Row]:
    width = len(columns)
    first = True
    leading = 0
    try:
        for cells in reader:
            line = offset + reader.line_num
            if not cells or cells == [""]:
                continue
            if leading < 2 and _biotab_header(cells, columns, first):
                leading += 1
                continue
            first = False
            leading = 2
            problem = None if len(cells) == width else f"{len(cells)} cells where the header has {width}"
            yield Row(line, dict(zip(columns, cells, strict=False)), problem)
    except csv.Error as exc:
        raise _file_error(path, f"line {offset + reader.line_num}: {exc}") from None


def _biotab_header(cells: list[str], columns: list[str], first: bool) -> bool:
    """Biotab's second names row (same first name as the header) and its ``CDE_ID:`` row."""
    head = cells[0].strip()
    return head.startswith("CDE_ID:") or (first and head.lower() == columns[0])


def iter_json_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a top-level JSON array, one at a time, with their 1-based position.

    GDC clinical JSON is an array of cases; decoding element by element keeps memory to one
    case. A top-level object is one record, or the ``data.hits`` of a saved GDC API answer
    (those are pages of at most a few thousand cases, read whole).
    """
    decoder = json.JSONDecoder()
    with open_text(path) as text:
        buffer = text.read(_CHUNK).lstrip()
        if buffer.startswith("{"):
            document = _decode_rest(path, decoder, buffer, text)
            hits = document.get("data", {}).get("hits") if isinstance(document.get("data"), dict) else None
            records = hits if isinstance(hits, list) else [document]
            for index, record in enumerate(records, start=1):
                yield index, _object(path, index, record)
            return
        if not buffer.startswith("["):
            raise _file_error(path, "not a JSON array of cases")
        position, index, at_eof = 1, 0, False
        while True:
            position = _skip(buffer, position, ",")
            if position < len(buffer) and buffer[position] == "]":
                return
            try:
                record, end = decoder.raw_decode(buffer, position) if position < len(buffer) else (None, -1)
            except json.JSONDecodeError as exc:
                if at_eof:
                    raise _file_error(path, f"invalid JSON after case {index}: {exc.msg}") from None
                end = -1
            if end < 0:
                more = text.read(_CHUNK)
                at_eof = not more
                if at_eof and position >= len(buffer):
                    raise _file_error(path, f"the JSON array ends early, after case {index}")
                buffer, position = buffer[position:] + more, 0
                continue
            index += 1
            yield index, _object(path, index, record)
            position = end


def _skip(buffer: str, position: int, separators: str) -> int:
    while position < len(buffer) and (buffer[position].isspace() or buffer[position] in separators):
        position += 1
    return position


def _decode_rest(path: Path, decoder: json.JSONDecoder, buffer: str, text: TextIO) -> dict[str, Any]:
    try:
        document = decoder.decode(buffer + text.read())
    except json.JSONDecodeError as exc:
        raise _file_error(path, f"invalid JSON: {exc}") from None
    return _object(path, 1, document)


def _object(path: Path, index: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _file_error(path, f"JSON case {index} is not an object")
    return record
