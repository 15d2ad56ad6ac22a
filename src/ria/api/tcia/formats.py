"""TCIA's response formats: ``format=json|csv|xml|html``, rendered the way NBIA renders them.

* JSON: an array of objects, null fields omitted.
* CSV: single-column lists unquoted (``Collection\\nTCGA-LUAD``); wider tables
  with every header and value double-quoted.
* XML: ``<Results><Row><Column>value</Column>…</Row></Results>``, nulls omitted.
* HTML: one bordered table.

An empty result is HTTP 200 with an empty body in every format: TCIA's clients
(``tcia_utils`` among them) test for exactly that.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from xml.sax.saxutils import escape

from fastapi.responses import Response

from ria.errors import InvalidParameterError

__all__ = ["TciaFormat", "parse_format", "render", "render_json"]

Row = Mapping[str, object]


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
    columns = _columns(rows)
    buffer = io.StringIO()
    if len(columns) == 1:
        writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    else:
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else _text(row.get(column)) for column in columns])
    return buffer.getvalue()


def _element(key: str) -> str:
    """A column name as an XML element name (TCIA's labels may hold spaces or brackets)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _xml(rows: Sequence[Row]) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Results>']
    for row in rows:
        parts.append("<Row>")
        for key, value in row.items():
            if value is not None:
                tag = _element(key)
                parts.append(f"<{tag}>{escape(_text(value))}</{tag}>")
        parts.append("</Row>")
    parts.append("</Results>")
    return "".join(parts)


def _html(rows: Sequence[Row]) -> str:
    columns = _columns(rows)
    parts = ["<P ALIGN='center'><TABLE BORDER=1><TR>"]
    parts.extend(f"<TH>{html.escape(column)}</TH>" for column in columns)
    parts.append("</TR>")
    for row in rows:
        parts.append("<TR>")
        for column in columns:
            value = row.get(column)
            parts.append("<TD>&nbsp;</TD>" if value is None else f"<TD>{html.escape(_text(value))}</TD>")
        parts.append("</TR>")
    parts.append("</TABLE></P>")
    return "".join(parts)


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
        body = _xml(rows)
    else:
        body = _html(rows)
    return Response(content=body.encode("utf-8"), media_type=_MEDIA[fmt])
