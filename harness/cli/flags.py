"""One meaning per flag name, and the old spellings that still work for one release.

Each flag name means one thing in every command: ``--concurrency`` is requests in flight at
once (``simulate``, ``worker``), ``--workers`` is processes (``sweep``), ``--timeout`` is
seconds, ``--faults`` is a receiver fault spec (``simulate``, ``serve flaky``), ``--json``
prints JSON on standard output instead of the tables, ``--messages`` is a count of messages.
:data:`RENAMED` lists the flags renamed for that; :func:`deprecated` keeps an old spelling
working, hidden from ``--help``, with one warning on stderr when it is used.

Example::

    >>> import argparse, contextlib, io
    >>> parser = argparse.ArgumentParser(prog="hooklab plot")
    >>> _ = parser.add_argument("--max-lanes", type=int)
    >>> deprecated(parser, "--messages", "--max-lanes", type=int)
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     parser.parse_args(["--messages", "7"]).max_lanes
    7
    >>> err.getvalue().split(": ", 2)[2].strip()
    '--messages is deprecated and goes in the next release; use --max-lanes'
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["RENAMED", "add_json_flags", "deprecated", "warn"]

#: (command, old spelling, new spelling) of every renamed flag.
RENAMED: tuple[tuple[str, str, str], ...] = (
    ("simulate", "--workers", "--concurrency"),
    ("simulate", "--receiver", "--faults"),
    ("simulate", "--json PATH", "--json-out PATH"),
    ("check", "--json PATH", "--json-out PATH"),
    ("plot", "--messages", "--max-lanes"),
    ("serve flaky", "--timeout", "--timeout-rate"),
    ("serve flaky", "--reset", "--reset-rate"),
    ("serve flaky", "--truncated", "--truncated-rate"),
)


class _Deprecated(argparse.Action):
    """Stores like the new flag and warns once on stderr."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str,
                 append: bool = False, **kwargs: Any) -> None:
        self.new, self.append = new, append
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        warn(parser, option_string or self.option_strings[0], self.new)
        if self.append:  # the new flag is repeatable (action="append")
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)


def warn(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Print the deprecation warning for ``old`` on stderr."""
    print(f"{parser.prog}: warning: {old} is deprecated and goes in the next release; "
          f"use {new}", file=sys.stderr)


def deprecated(parser: Any, old: str, new: str, **kwargs: Any) -> None:
    """Accept ``old`` as a hidden spelling of ``new`` (same dest), with a warning."""
    dest = new.lstrip("-").replace("-", "_")
    parser.add_argument(old, dest=kwargs.pop("dest", dest), action=_Deprecated, new=new,
                        help=argparse.SUPPRESS, **kwargs)


class _JsonSwitch(argparse.Action):
    """``--json``: a switch; the old ``--json PATH`` still writes PATH, with a warning."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        if values is None or values == "-":
            namespace.json = True
            return
        warn(parser, "--json PATH", "--json-out PATH")
        namespace.json_out = values


def add_json_flags(parser: Any, what: str) -> None:
    """``--json`` (print ``what`` as JSON on stdout instead of the tables) and
    ``--json-out PATH`` (also write it to PATH)."""
    parser.add_argument("--json", nargs="?", action=_JsonSwitch, default=False, metavar="",
                        help=f"print {what} as JSON on stdout instead of the tables")
    parser.add_argument("--json-out", metavar="PATH",
                        help=f"also write {what} as JSON to PATH (see --force)")
