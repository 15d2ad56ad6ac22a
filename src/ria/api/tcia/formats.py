"""TCIA's response formats: ``format=json|csv|xml|html``, rendered the way NBIA renders them.

* JSON: an array of objects, null fields omitted.
* CSV: single-column lists unquoted (``Collection\\nTCGA-LUAD``); wider tables
  with every header and value double-quoted.
* XML: ``<Results><Row><Column>value</Column>…</Row></Results>``, nulls omitted.
* HTML: one bordered table.

An empty result is HTTP 200 with an empty body in every format: TCIA's clients
(``tcia_utils`` among them) test for exactly that.

:func:`stream` writes the same bytes as :func:`render` row by row, straight from the
catalogue's cursor (see :mod:`ria.api.streaming`): list routes use it so that answering
the whole catalogue does not hold the whole answer in memory.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar
from xml.sax.saxutils import escape

from fastapi.responses import Response

from ria.api.streaming import ChunkStream, chunked, close, peek
from ria.errors import InvalidParameterError

__all__ = ["TciaFormat", "parse_format", "render", "render_json", "stream"]

Row = Mapping[str, object]
T = TypeVar("T")


class TciaFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XML = "xml"
    HTML = "html"


_MEDIA = {
    TciaFormat.JSON: "application/json",
    TciaFormat.CSV: "text/csv; charset=utf-8",
    TciaFormat.XML: "application/xml",
    TciaFormat.HTML: "text/html; charset=utf-8",
}


def parse_format(value: str | None) -> TciaFormat:
    """``format`` as TCIA reads it: case-insensitive, JSON by default."""
    if value is None or not value.strip():
        return TciaFormat.JSON
    try:
        return TciaFormat(value.strip().lower())
    except ValueError:
        allowed = ", ".join(f.value for f in TciaFormat)
        message = f"format must be one of {allowed}, got {value[:40]!r}"
        raise InvalidParameterError("format", message) from None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _columns(rows: Sequence[Row]) -> list[str]:
    """Every column of the rows, in their own order: tables keep their shape even where all-null."""
    ordered: dict[str, None] = {}
    for row in rows:
        ordered.update(dict.fromkeys(row))
    return list(ordered)


def _csv(rows: Sequence[Row]) -> str:
    return "".join(_csv_lines(rows, _columns(rows)))


def _csv_lines(rows: Iterable[Row], columns: Sequence[str]) -> Iterator[str]:
    """The header, then one line per row, each written through one small reused buffer."""
    buffer = io.StringIO()
    if len(columns) == 1:
        writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    else:
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")

    def line(values: Sequence[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(columns)
    for row in rows:
        yield line(["" if row.get(column) is None else _text(row.get(column)) for column in columns])


def _element(key: str) -> str:
    """A column name as an XML element name (TCIA's labels may hold spaces or brackets)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _xml(rows: Iterable[Row]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Results>'
    for row in rows:
        parts = ["<Row>"]
        for key, value in row.items():
            if value is not None:
                tag = _element(key)
                parts.append(f"<{tag}>{escape(_text(value))}</{tag}>")
        parts.append("</Row>")
        yield "".join(parts)
    yield "</Results>"


def _html(rows: Iterable[Row], columns: Sequence[str]) -> Iterator[str]:
    yield "<P ALIGN='center'><TABLE BORDER=1><TR>"
    yield "".join(f"<TH>{html.escape(column)}</TH>" for column in columns)
    yield "</TR>"
    for row in rows:
        cells = (
            "<TD>&nbsp;</TD>"
            if (value := row.get(column)) is None
            else f"<TD>{html.escape(_text(value))}</TD>"
            for column in columns
        )
        yield "<TR>" + "".join(cells) + "</TR>"
    yield "</TABLE></P>"


def _json(rows: Iterable[Row]) -> Iterator[str]:
    """A JSON array one element at a time: the bytes ``render_json`` writes for the whole list."""
    separator = "["
    for row in rows:
        yield separator + json.dumps(
            {k: v for k, v in row.items() if v is not None}, ensure_ascii=False, separators=(",", ":")
        )
        separator = ","
    yield "]"


def render_json(payload: object) -> Response:
    """Compact JSON, as NBIA writes it."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(content=body.encode("utf-8"), media_type=_MEDIA[TciaFormat.JSON])


def render(rows: Sequence[Row], fmt: TciaFormat) -> Response:
    """Rows in ``fmt``; null fields omitted; no rows is an empty 200."""
    if not rows:
        return Response(content=b"", status_code=200, media_type=_MEDIA[fmt])
    if fmt is TciaFormat.JSON:
        return render_json([{k: v for k, v in row.items() if v is not None} for row in rows])
    if fmt is TciaFormat.CSV:
        body = _csv(rows)
    elif fmt is TciaFormat.XML:
        body = "".join(_xml(rows))
    else:
        body = "".join(_html(rows, _columns(rows)))
    return Response(content=body.encode("utf-8"), media_type=_MEDIA[fmt])


def _pieces(rows: Iterator[Row], columns: Sequence[str], fmt: TciaFormat) -> Iterator[str]:
    if fmt is TciaFormat.JSON:
        return _json(rows)
    if fmt is TciaFormat.CSV:
        return _csv_lines(rows, columns)
    if fmt is TciaFormat.XML:
        return _xml(rows)
    return _html(rows, columns)


def stream(
    source: Iterator[T],
    to_row: Callable[[T], Row],
    fmt: TciaFormat,
    headers: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> Response:
    """:func:`render` of ``to_row`` over ``source``, written as ``source`` yields (flat memory).

    The first row is read here, so a failing query is still an error response and no rows
    is still an empty 200. CSV and HTML need their header before the rest of the rows:
    ``columns``, or else the first row's (the field builders of :mod:`ria.api.tcia.fields`
    name every column, null or not, so each row of a list has the same ones).
    """
    first, _ = peek(source)
    if first is None:
        return Response(content=b"", status_code=200, media_type=_MEDIA[fmt])
    try:
        head = to_row(first)
    except BaseException:
        close(source)
        raise
    rows = itertools.chain((head,), map(to_row, source))  # source continues after the peeked row
    header = list(head) if columns is None else columns
    return ChunkStream(
        chunked(_pieces(rows, header, fmt)), source=source, media_type=_MEDIA[fmt], headers=headers
    )
