"""A sweep's results table: one tidy row per run, in CSV or Parquet, written crash-safe.

The table has one row per run and these columns, in this order:

- ``run_id``: a digest of the scenario, base seed, cell and replication (what resume keys on);
- ``scenario``: the scenario's name or file;
- one column per grid parameter, in grid order;
- ``replication`` and ``seed`` (the run's own derived seed);
- every summary metric of ``hooklab simulate --json``, nested keys joined by ``_``:
  ``time_to_delivery_s`` ``{"p50": ...}`` becomes ``time_to_delivery_s_p50``, and the
  per-endpoint breakdown ``endpoints_<id>_<metric>``. A metric named like a column already
  there (``seed``, ``scenario``, or a grid parameter such as ``messages``) is not repeated.
  Columns that only some runs have (``failed_by_reason_gone``) are empty in the others.

Writing is crash-safe: :class:`ResultTable` appends each finished row to a journal beside
the output (``results.csv.partial.jsonl``) at once; when the sweep ends, or is interrupted
with Ctrl-C, the table is written in plan order (so a finished sweep's file is the same,
byte for byte, however it was executed) and the journal is removed. Reading the table
back (:meth:`ResultTable.load`) takes the journal a crash left too, which is how a rerun of
the same sweep (:func:`~hooklab.sim.sweep.run_sweep`) knows what is already done.

Example::

    >>> table = ResultTable("/tmp/doctest-table.csv")
    >>> table.write([{"run_id": "r1", "scenario": "s", "x": 1, "replication": 0, "seed": 7,
    ...               "y": 2.5}], result_columns(["x"], [{"y": 2.5}]))
    >>> read_table("/tmp/doctest-table.csv")[0]["y"]
    '2.5'
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hooklab.model.errors import ConfigError

__all__ = ["FIXED_COLUMNS", "RUN_COLUMNS", "ResultTable", "read_table", "result_columns"]

#: The columns every results table starts with (grid parameters follow ``scenario``).
FIXED_COLUMNS = ("run_id", "scenario")
#: The columns between the grid parameters and the metrics.
RUN_COLUMNS = ("replication", "seed")

_NO_PYARROW = "Parquet output needs pyarrow: pip install 'hooklab[parquet]'"


class ResultTable:
    """The results file of a sweep (CSV or Parquet by suffix) with its crash journal."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        suffix = self.out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise ConfigError(f"out {str(self.out)!r}: use a .csv or .parquet file name",
                              field="out")
        self.parquet = suffix == ".parquet"
        self.journal = self.out.with_name(self.out.name + ".partial.jsonl")

    def load(self) -> dict[str, dict[str, Any]]:
        """The rows already finished, by run id: the table, then the journal of a crash."""
        rows: dict[str, dict[str, Any]] = {}
        if self.out.exists():
            for row in read_table(self.out):
                rows[str(row["run_id"])] = row
        if self.journal.exists():
            try:
                text = self.journal.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the crash journal {str(self.journal)!r}: {exc.strerror}"
                ) from None
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash
                if isinstance(row, dict) and "run_id" in row:
                    rows[str(row["run_id"])] = row
        return rows

    def remove(self) -> None:
        """Delete the table and its journal (a fresh start)."""
        self.out.unlink(missing_ok=True)
        self.journal.unlink(missing_ok=True)

    def check_writable(self) -> None:
        """Fail now, before any run, if the table's folder or journal cannot be written."""
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            existed = self.journal.exists()
            with self.journal.open("a", encoding="utf-8"):
                pass
            if not existed:
                self.journal.unlink()
        except OSError as exc:
            raise ConfigError(
                f"out {str(self.out)!r}: cannot write there ({exc.strerror or exc})", field="out"
            ) from None

    def append(self, row: Mapping[str, Any]) -> None:
        """Journal one finished row at once (flushed), so a crash keeps it."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, separators=(",", ":")) + "\n")

    def write(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
        """Write the whole table atomically, then drop the journal."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_name(self.out.name + ".tmp")
        if self.parquet:
            _write_parquet(tmp, rows, columns)
        else:
            _write_csv(tmp, rows, columns)
        os.replace(tmp, self.out)
        self.journal.unlink(missing_ok=True)


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a sweep results file (CSV values stay strings; Parquet keeps types).

    >>> read_table("/tmp/doctest-sweep.csv")[0]["y"]
    '2'
    """
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError(_NO_PYARROW) from None
        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:
            raise ConfigError(f"{str(path)!r}: not a readable Parquet file ({exc})") from None
    else:
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                rows = list(reader)
                header = reader.fieldnames or []
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise ConfigError(f"cannot read sweep table {str(path)!r}: {reason}") from None
        if rows and "run_id" not in header:
            raise ConfigError(f"{str(path)!r} exists and is not a hooklab sweep table")
    if rows and "run_id" not in rows[0]:
        raise ConfigError(f"{str(path)!r} exists and is not a hooklab sweep table")
    return rows


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_text(row.get(c)) for c in columns])


def _write_parquet(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(_NO_PYARROW) from None
    data: dict[str, list[Any]] = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if str in kinds and len(kinds) > 1:
            values = [None if v is None else _csv_text(v) for v in values]
        data[column] = values
    pq.write_table(pa.table(data), path)


def result_columns(params: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The table's columns: the fixed ones, the grid ``params``, the run's, then every
    metric in the order the ``rows`` first show it.

        >>> result_columns(["policy"], [{"delivered": 5, "policy": "svix"}])
        ['run_id', 'scenario', 'policy', 'replication', 'seed', 'delivered']
    """
    head = [*FIXED_COLUMNS, *params, *RUN_COLUMNS]
    columns = list(head)
    seen = set(head)
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    return columns
