"""Tables for people and for pipes: the one way a ``ria`` command prints rows.

Piped (stdout not a terminal), a table is tab-separated text with a header line — every row,
every column, nothing shortened — so ``cut``, ``awk``, pandas and the csv module read it. On a
terminal only the columns that hold a value are shown and long values wrap (identifiers are never
cut to ``TCGA-…``); when even that is wider than the terminal, each row is shown as a block of
``column  value`` lines instead of squeezing the columns to one character each.

Sizes are printed by :func:`human_size` alone, in decimal units as IDC's index counts them.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # rich's table code loads only when a terminal is shown one (start-up time)
    from rich.console import Console
    from rich.table import Table

__all__ = ["cell", "human_size", "print_table"]

Cell = object
"""A value in a table: ``None`` prints as empty, anything else as its ``str``."""

_READABLE = 14
"""Narrowest a column may become on a terminal before rows are shown as blocks (a TCGA barcode is 12)."""
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(num_bytes: float) -> str:
    """``3.1 TB`` rather than ``3081929.3 MB``: decimal (SI) units, three significant digits or so."""
    value = float(num_bytes)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{value:.0f} B"
            return f"{value:.1f} {unit}" if abs(value) < 100 else f"{value:.0f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def cell(value: Cell) -> str:
    """How a value reads in a table: ``None`` is empty."""
    return "" if value is None else str(value)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    title: str | None = None,
    limit: int | None = None,
    more: str = "",
    after_another: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Print ``rows`` under ``columns``: TSV when piped, a readable table (or blocks) on a terminal.

    ``limit`` caps the rows shown on a terminal only (``more`` says how to get the rest); piped
    output always carries every row. ``title`` is a heading on a terminal, and a blank line before
    the header when piped, so that several tables of one command stay separable.
    """
    target = sys.stdout if stream is None else stream
    texts = [[cell(v) for v in row] for row in rows]
    if not target.isatty():
        if after_another:
            target.write("\n")
        writer = csv.writer(target, delimiter="\t", lineterminator="\n")  # quotes a tab or newline
        writer.writerow(columns)
        writer.writerows(texts)
        return
    from rich.console import Console

    console = Console(file=target, soft_wrap=False, highlight=False)
    shown = texts if limit is None else texts[:limit]
    kept = [i for i in range(len(columns)) if any(row[i] for row in shown)] or list(range(len(columns)))
    names = [columns[i] for i in kept]
    body = [[row[i] for i in kept] for row in shown]
    if after_another:
        console.print()
    if title:
        console.print(title, style="bold", markup=False)
    if _fits(names, body, console.width):
        console.print(_as_table(names, body))
    else:
        _print_blocks(console, names, body)
    if len(texts) > len(shown):
        console.print(f"… {len(texts) - len(shown)} more rows{': ' + more if more else ''}", markup=False)


def _fits(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> bool:
    """Whether every column gets at least its natural width up to :data:`_READABLE` characters."""
    needed = 1
    for i, name in enumerate(columns):
        natural = max([len(w) for w in name.split()] + [len(row[i]) for row in rows])
        needed += min(natural, _READABLE) + 3  # a cell's padding and its border
    return needed <= width


def _as_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    from rich.table import Table

    table = Table()
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _print_blocks(console: Console, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """One block per row, ``column  value`` per line; a value longer than the line wraps, whole."""
    from rich.table import Table

    for number, row in enumerate(rows, start=1):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(overflow="fold")
        for name, value in zip(columns, row, strict=True):
            if value:
                grid.add_row(name, value)
        console.rule(f"{number} of {len(rows)}", style="dim")
        console.print(grid)
