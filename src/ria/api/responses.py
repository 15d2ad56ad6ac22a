"""TCIA response formats: ``format=json|csv`` (xml and html arrive with the full TCIA API)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse, Response

from ria.errors import InvalidParameterError

__all__ = ["SUPPORTED_FORMATS", "tcia_response"]

SUPPORTED_FORMATS = ("json", "csv")


def tcia_response(rows: Sequence[Mapping[str, Any]], fmt: str | None) -> Response:
    """Rows as TCIA serves them: null fields omitted, an empty result is 200 with an empty body."""
    fmt = (fmt or "json").lower()
    if fmt not in SUPPORTED_FORMATS:
        raise InvalidParameterError(
            "format", f"format must be one of {', '.join(SUPPORTED_FORMATS)}, got {fmt!r}"
        )
    if not rows:
        return Response(
            content=b"", status_code=200, media_type="application/json" if fmt == "json" else "text/csv"
        )
    cleaned = [{k: v for k, v in row.items() if v is not None} for row in rows]
    if fmt == "json":
        return JSONResponse(cleaned)
    columns: list[str] = []
    for row in cleaned:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(cleaned)
    return Response(content=buffer.getvalue(), media_type="text/csv")
