"""Output paths, checked before the work: one rule for every file a command writes.

A command checks each of its output paths with :func:`check_output` before it simulates,
sweeps or plots anything, so a mistake costs nothing:

- ``-`` is standard output where a command allows it;
- a folder, a path whose folder does not exist, or a folder it may not write to is a usage
  error. hooklab **creates no folders**: make the folder first (``mkdir -p``);
- an existing file is overwritten only if it is this command's own output (a ``simulate
  --json`` summary, a sweep's results table, records with their header, an image of
  the same format...), which ``own`` recognises; any other file needs ``--force``.

:data:`RULE` is the rule in words; ``--help`` says it under ``--force``.

Example::

    >>> check_output("-", "--json", force=False)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from hooklab.model.errors import ConfigError

__all__ = ["RULE", "add_force_flag", "check_output", "figure", "json_with", "jsonl_with",
           "sqlite_with", "text_with"]

#: What ``--help`` says about output paths.
RULE = ("Output files are checked before any work: hooklab creates no folders (the folder "
        "must exist) and, without --force, overwrites only its own output of that kind.")


def add_force_flag(parser: object) -> None:
    """Add ``--force`` to a command that writes files."""
    parser.add_argument("--force", action="store_true",  # type: ignore[attr-defined]
                        help="overwrite output files hooklab did not write. " + RULE)


def check_output(path: str | os.PathLike[str] | None, flag: str, *, force: bool,
                 own: Callable[[Path], bool] | None = None, stdout: bool = True) -> None:
    """Raise :class:`ConfigError` now if writing ``path`` (given as ``flag``) would fail or
    would overwrite a file that is not ``own`` output and ``force`` is not given."""
    if path is None or (stdout and str(path) == "-"):
        return
    target = Path(path)
    shown = f"{flag} {str(path)!r}"
    if target.is_dir():
        raise ConfigError(f"{shown}: cannot write: it is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise ConfigError(f"{shown}: folder {str(folder)!r} does not exist "
                          "(hooklab creates no folders; make it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{shown}: cannot write in folder {str(folder)!r} (permission denied)")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise ConfigError(f"{shown}: cannot overwrite it (permission denied)")
        if not force and not (own is not None and _safely(own, target)):
            raise ConfigError(f"{shown} exists and was not written by this option; "
                              "remove it, choose another name, or give --force")


def _safely(own: Callable[[Path], bool], target: Path) -> bool:
    try:
        return bool(own(target))
    except (OSError, ValueError):
        return False


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def json_with(keys: Iterable[str]) -> Callable[[Path], bool]:
    """``own`` for a JSON object output that holds every one of ``keys``."""
    wanted = frozenset(keys)

    def own(path: Path) -> bool:
        data = json.loads(path.read_text(encoding="utf-8"))
        return isinstance(data, dict) and wanted <= data.keys()

    return own


def text_with(marker: str) -> Callable[[Path], bool]:
    """``own`` for a text output whose first 4 KiB contain ``marker`` (a header row)."""
    return lambda path: marker.encode() in _head(path)


def jsonl_with(keys: Iterable[str]) -> Callable[[Path], bool]:
    """``own`` for JSON Lines output appended to (a request log): an empty file, or one
    whose first line is an object holding every one of ``keys``."""
    wanted = frozenset(keys)

    def own(path: Path) -> bool:
        first = _head(path, 65_536).split(b"\n", 1)[0]
        if not first.strip():
            return not _head(path, 1)
        data = json.loads(first)
        return isinstance(data, dict) and wanted <= data.keys()

    return own


def sqlite_with(table: str) -> Callable[[Path], bool]:
    """``own`` for a SQLite file hooklab keeps (an inbox, a request log): an empty file, or
    a SQLite database that has ``table``. The file is opened read-only."""

    def own(path: Path) -> bool:
        head = _head(path, 16)
        if not head:
            return True
        if head != b"SQLite format 3\0":
            return False
        import sqlite3

        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            return False
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                 "AND name = ?", (table,)).fetchone()
        except sqlite3.Error:
            return False
        finally:
            conn.close()
        return found is not None

    return own


_MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".pdf": (b"%PDF-",), ".svg": (b"<?xml", b"<svg")}


def figure(path: Path) -> bool:
    """``own`` for figures: a file already of the image format its suffix names (a figure
    replaces a figure; hooklab's PNGs carry no signature of their own to tell them apart)."""
    return _head(path, 16).startswith(_MAGIC.get(path.suffix.lower(), (b"\0never",)))
