"""Tables for people and for pipes: the one renderer every ``hooklab`` table goes through.

A :class:`Table` holds plain strings (an optional style per cell). :func:`render` prints it:

- to a pipe or a file (stdout is not a terminal): every value whole, as plain text aligned
  in columns, or as TSV with ``--tsv``; never an ellipsis, never a colour, never a wrap, so
  ``| grep``, ``| cut -f`` and ``| awk`` see each row on one line;
- to a terminal: a rich table whose long cells wrap (fold) but are never elided, coloured
  unless ``NO_COLOR`` is set or ``--no-color`` is given.

A shortened list says so: :func:`shown` is the footer "50 of 61 shown (--limit)", and
:func:`listing` the JSON shape of every list a command prints (its items, ``total`` and
``truncated``).

Example::

    >>> import io
    >>> table = Table("id", "url", title="endpoints")
    >>> table.add_row("ep_1", "https://example.com/a/very/long/path?that=is&never=cut")
    >>> out = io.StringIO()
    >>> render(table, Output(), out)
    >>> print(out.getvalue(), end="")
    endpoints
    id    url
    ep_1  https://example.com/a/very/long/path?that=is&never=cut
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["Output", "Table", "add_output_flags", "listing", "render", "shown"]


@dataclass(frozen=True, slots=True)
class Output:
    """How tables are printed: ``tsv`` off a terminal, ``color`` on one.

    :meth:`from_args` reads ``--tsv`` and ``--no-color`` (and ``NO_COLOR``).
    """

    tsv: bool = False
    color: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Output:
        """The output settings a command's flags and the environment ask for."""
        no_color = getattr(args, "no_color", False) or bool(os.environ.get("NO_COLOR"))
        return cls(tsv=getattr(args, "tsv", False), color=not no_color)


def add_output_flags(parser: Any) -> None:
    """Add ``--tsv`` and ``--no-color`` to a command that prints tables."""
    parser.add_argument("--tsv", action="store_true", help="when not printing to a terminal: "
                        "tab-separated values, a header row first (default: aligned text)")
    parser.add_argument("--no-color", action="store_true",
                        help="no colours on a terminal (also: the NO_COLOR variable)")


class Table:
    """Named columns and rows of text; ``right`` columns align right; a cell's style (a rich
    style) shows on terminals only."""

    def __init__(self, *columns: str, title: str | None = None,
                 right: tuple[str, ...] = ()) -> None:
        self.columns = columns
        self.title = title
        self.right = frozenset(right)
        self.rows: list[tuple[str, ...]] = []
        self.styles: list[tuple[str | None, ...]] = []

    def add_row(self, *cells: object, styles: dict[str, str] | None = None) -> None:
        """Add a row of one cell per column; ``styles`` maps a column name to a style."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple("" if c is None else str(c) for c in cells))
        styles = styles or {}
        self.styles.append(tuple(styles.get(c) for c in self.columns))


def render(table: Table, output: Output, out: TextIO | None = None, *,
           terminal: bool | None = None, width: int | None = None) -> None:
    """Print ``table`` on ``out`` (default: stdout) as :class:`Output` says.

    ``terminal`` (default: ``out.isatty()``) and ``width`` are for tests.
    """
    out = out or sys.stdout
    if terminal is None:
        terminal = _isatty(out)
    if terminal:
        _rich(table, output, out, width)
    elif output.tsv:
        _tsv(table, out)
    else:
        _plain(table, out)


def shown(count: int, total: int, flag: str = "--limit") -> str | None:
    """The footer of a shortened table, or None when it shows everything.

        >>> shown(50, 61), shown(3, 3)
        ('50 of 61 shown (--limit)', None)
    """
    return f"{count} of {total} shown ({flag})" if count < total else None


def listing(items: list[Any], total: int | None = None) -> dict[str, Any]:
    """A list as JSON output carries it: its ``items``, their ``total``, ``truncated``.

        >>> listing([1, 2], total=5)
        {'items': [1, 2], 'total': 5, 'truncated': True}
    """
    total = len(items) if total is None else total
    return {"items": items, "total": total, "truncated": len(items) < total}


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ").replace("\t", " ")


def _plain(table: Table, out: TextIO) -> None:
    rows = [table.columns, *[tuple(_one_line(c) for c in row) for row in table.rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.columns))]
    if table.title:
        print(table.title, file=out)
    for row in rows:
        cells = [cell.rjust(w) if name in table.right else cell.ljust(w)
                 for cell, w, name in zip(row, widths, table.columns, strict=True)]
        print("  ".join(cells).rstrip(), file=out)


def _tsv(table: Table, out: TextIO) -> None:
    for row in (table.columns, *table.rows):
        print("\t".join(_one_line(c) for c in row), file=out)


def _rich(table: Table, output: Output, out: TextIO, width: int | None) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    console = Console(file=out, no_color=not output.color, highlight=False, width=width,
                      force_terminal=True)
    drawn = RichTable(title=table.title, title_justify="left")
    for name in table.columns:
        # fold: a long id or URL wraps onto the next line, whole; it is never cut with "…"
        drawn.add_column(name, overflow="fold", justify="right" if name in table.right
                         else "left")
    for row, styles in zip(table.rows, table.styles, strict=True):
        drawn.add_row(*(Text(cell, style=(style or "") if output.color else "")
                        for cell, style in zip(row, styles, strict=True)))
    console.print(drawn)
