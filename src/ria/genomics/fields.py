"""Per-row helpers every importer shares: finding the barcode column and reading checked values.

Each returns the value or rejects the row through the writer with the line number, the column and
the offending value, so that one bad row costs that row and the import goes on.
"""

from __future__ import annotations

from ria.errors import InvalidBarcodeError, InvalidParameterError
from ria.genomics.barcode import TcgaBarcode
from ria.genomics.readers import Row, Table, parse_int

__all__ = ["BARCODE_COLUMNS", "RowRejected", "barcode_column", "barcode_of", "bounded", "whole_number"]

BARCODE_COLUMNS = (
    "bcr_patient_barcode",
    "participant",
    "patient",
    "patient_id",
    "submitter_id",
    "case_submitter_id",
    "cases.submitter_id",
    "tumor_sample_barcode",
    "sample_barcode",
    "barcode",
    "sample",
    "samples",
)
"""Column names that hold TCGA barcodes, most specific (the participant) first."""


class RowRejected(Exception):
    """Raised inside an importer's row loop: the row is rejected with this reason, the import goes on."""


def barcode_column(table: Table, path_name: str, expected: str = "") -> str:
    """The table's barcode column; a file without one cannot be linked to anyone, so it is refused."""
    column = table.has(*BARCODE_COLUMNS) or next((c for c in table.columns if c.endswith("barcode")), None)
    if column is None:
        raise InvalidParameterError(
            "file",
            f"{path_name}: no barcode column{expected} (expected one of {', '.join(BARCODE_COLUMNS)}); "
            f"columns: {', '.join(table.columns[:20])}",
        )
    return column


def barcode_of(row: Row, column: str, label: str | None = None) -> TcgaBarcode:
    """The row's parsed barcode, or :class:`RowRejected` naming the column and the value."""
    name = label or column
    value = row.get(column)
    if value is None:
        raise RowRejected(f"{name} is empty")
    try:
        return TcgaBarcode.parse(value)
    except InvalidBarcodeError as exc:
        raise RowRejected(f"{name} {value!r}: {exc.message}") from None


def whole_number(row: Row, column: str | None, label: str) -> int | None:
    """An optional whole-number cell: None when absent or missing, rejected when not a number."""
    value = row.get(column)
    if value is None:
        return None
    number = parse_int(value)
    if number is None:
        raise RowRejected(f"{label} {value!r} is not a number")
    return number


def bounded(row: Row, column: str | None, label: str, limit: int) -> str | None:
    """An optional text cell that must fit its catalogue column (PostgreSQL would refuse it later)."""
    value = row.get(column)
    if value is not None and len(value) > limit:
        raise RowRejected(f"{label} {value[:40]!r}... is longer than {limit} characters")
    return value
