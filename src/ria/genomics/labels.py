"""Generic per-patient label tables: a barcode column plus any columns, stored long-format and typed.

Research groups publish labels (IDH status, molecular subtype, mutation counts) as ad-hoc tables.
Rather than a table per publication, every value becomes a ``label`` row named by its column, and
each column gets a ``label_field`` row saying whether it is a "number" (every non-missing value
parses as a finite float) or "text", so a cohort query can compare numbers as numbers. A column
with no value at all is "text": there is nothing to compute on.

The type is only known after the last row, so values are written as they stream with both their
text and (when parseable) their number, and one UPDATE in the same transaction clears the numbers
of the columns that turned out to be text.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from ria.catalog.schema import label, label_field
from ria.errors import InvalidParameterError
from ria.genomics.fields import RowRejected, barcode_column, barcode_of
from ria.genomics.projects import project_from_row
from ria.genomics.readers import open_table, parse_float
from ria.genomics.store import SourceWriter

__all__ = ["NAME_LIMIT", "VALUE_LIMIT", "import_labels"]

NAME_LIMIT = 128
VALUE_LIMIT = 1024


def import_labels(path: Path, writer: SourceWriter) -> None:
    """Stream a label table into ``label`` and ``label_field``; bad rows rejected by line number."""
    with open_table(path) as table:
        barcode = barcode_column(table, path.name)
        names = {
            column: name
            for column, name in zip(table.columns, table.header, strict=True)
            if column != barcode and name
        }
        too_long = [name for name in names.values() if len(name) > NAME_LIMIT]
        if too_long:
            raise InvalidParameterError(
                "file",
                f"{path.name}: column name {too_long[0][:40]!r}... is longer than {NAME_LIMIT} characters",
            )
        numeric = dict.fromkeys(names, True)
        valued = dict.fromkeys(names, False)
        for row in table.rows:
            try:
                if row.problem is not None:
                    raise RowRejected(row.problem)
                participant = barcode_of(row, barcode).participant
                values = {column: value for column in names if (value := row.get(column)) is not None}
                for column, value in values.items():
                    if len(value) > VALUE_LIMIT:
                        raise RowRejected(
                            f"{names[column]} {value[:40]!r}... is longer than {VALUE_LIMIT} characters"
                        )
            except RowRejected as exc:
                writer.reject(row.line, str(exc))
                continue
            writer.kept(participant)
            project = project_from_row(row, table.columns)
            for column, value in values.items():
                number = parse_float(value)
                numeric[column] = numeric[column] and number is not None
                valued[column] = True
                record = {"name": names[column], "value_text": value, "value_number": number}
                writer.put(label, record, participant=participant, project=project)
    for column, name in names.items():
        kind = "number" if numeric[column] and valued[column] else "text"
        writer.put(label_field, {"name": name, "value_type": kind})
    text_fields = [names[c] for c in names if not (numeric[c] and valued[c])]
    if text_fields:
        writer.execute(
            update(label)
            .where(label.c.source_id == writer.source_id, label.c.name.in_(text_fields))
            .values(value_number=None)
        )
