"""A sweep: many independent simulations over a grid, written to one tidy results table.

:func:`run_sweep` takes the planned runs (see :mod:`hooklab.sim.grid`), skips those the
results file already holds, hands the rest to a runner (a local process pool or a Dask
cluster, see :mod:`hooklab.sim.sweep_runner`) and writes each finished run as it arrives.

The results table has one row per run and these columns, in this order:

- ``run_id``: a digest of the scenario, base seed, cell and replication (what resume keys on);
- ``scenario``: the scenario's name or file;
- one column per grid parameter, in grid order;
- ``replication`` and ``seed`` (the run's own derived seed);
- every summary metric of ``hooklab simulate --json``, nested keys joined by ``_``:
  ``time_to_delivery_s`` ``{"p50": ...}`` becomes ``time_to_delivery_s_p50``, and the
  per-endpoint breakdown ``endpoints_<id>_<metric>``. A metric named like a column already
  there (``seed``, ``scenario``, or a grid parameter such as ``messages``) is not repeated.
  Columns that only some runs have (``failed_by_reason_gone``) are empty in the others.

Writing is crash-safe: each finished row is appended to a journal beside the output
(``results.csv.partial.jsonl``) at once; when the sweep ends, or is interrupted with
Ctrl-C, the table is written in plan order (so a finished sweep's file is the same, byte
for byte, however it was executed) and the journal is removed. Rerunning the same sweep
with the same ``--out`` reads the table and any journal left by a crash, and runs only
what is missing. A run that raises (an invalid parameter value, say) is reported as a
:class:`RunFailure` with its parameters; the other runs go on. Failed runs are not written,
so a resumed sweep tries them again.

Example::

    >>> from hooklab.sim.grid import plan_runs
    >>> runs = plan_runs({"x": [1, 2]}, seed=0)
    >>> report = run_sweep(runs, task=lambda ctx, cell, seed: {"y": cell["x"] * 2},
    ...                    out="/tmp/doctest-sweep.csv", fresh=True)
    >>> report.completed, report.failures
    (2, [])
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hooklab.model.errors import ConfigError

from .grid import Run, Value
from .summary import flatten_summary

__all__ = [
    "FIXED_COLUMNS",
    "ResultTable",
    "RunFailure",
    "RunOutcome",
    "RunTask",
    "Runner",
    "SweepReport",
    "execute_task",
    "flatten_summary",
    "read_table",
    "run_sweep",
]

#: The columns every results table starts with (grid parameters follow ``scenario``).
FIXED_COLUMNS = ("run_id", "scenario")
#: The columns between the grid parameters and the metrics.
RUN_COLUMNS = ("replication", "seed")

_NO_PYARROW = "Parquet output needs pyarrow: pip install 'hooklab[parquet]'"

#: ``task(context, cell, seed) -> summary``: one simulation; must be a picklable function.
Task = Callable[[Any, Mapping[str, Value], int], Mapping[str, Any]]


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to run one simulation; plain data plus a picklable function."""

    run_id: str
    task: Task
    context: Any
    cell: dict[str, Value]
    seed: int


@dataclass(frozen=True)
class RunOutcome:
    """A worker's answer: the flattened metrics, or the error that stopped the run."""

    run_id: str
    metrics: dict[str, Any] | None
    error: str | None = None


def execute_task(task: RunTask) -> RunOutcome:
    """Run one task and never raise (except on Ctrl-C): errors come back as data.

    >>> t = RunTask("r1", lambda ctx, cell, seed: {"n": seed}, None, {}, 4)
    >>> execute_task(t).metrics
    {'n': 4}
    """
    try:
        summary = task.task(task.context, task.cell, task.seed)
        return RunOutcome(task.run_id, flatten_summary(summary))
    except Exception as exc:  # a failing cell must not kill the sweep
        return RunOutcome(task.run_id, None, f"{type(exc).__name__}: {exc}")


class Runner(Protocol):
    """Executes tasks and yields their outcomes as they finish, in any order."""

    def map_unordered(
        self, fn: Callable[[RunTask], RunOutcome], tasks: Sequence[RunTask]
    ) -> Iterator[RunOutcome]:
        """Run ``fn`` on every task; yield results as they complete."""
        ...


class _SerialRunner:
    def map_unordered(
        self, fn: Callable[[RunTask], RunOutcome], tasks: Sequence[RunTask]
    ) -> Iterator[RunOutcome]:
        return (fn(task) for task in tasks)


@dataclass(frozen=True)
class RunFailure:
    """A run that raised: its parameters, replication, seed and the error message."""

    run: Run
    error: str

    def describe(self) -> str:
        """One line naming the cell and the error."""
        params = ", ".join(f"{k}={v}" for k, v in self.run.cell.items())
        return f"{params} (replication {self.run.replication}, seed {self.run.seed}): {self.error}"


@dataclass
class SweepReport:
    """What a sweep did: planned, skipped (already in the table), completed and failed runs."""

    out: Path
    planned: int
    skipped: int = 0
    completed: int = 0
    failures: list[RunFailure] = field(default_factory=list)
    interrupted: bool = False


class ResultTable:
    """The results file of a sweep (CSV or Parquet by suffix) with its crash journal."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        suffix = self.out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise ConfigError(f"--out {str(self.out)!r}: use a .csv or .parquet file name")
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
                f"--out {str(self.out)!r}: cannot write there ({exc.strerror or exc})"
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


def _columns(params: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    head = [*FIXED_COLUMNS, *params, *RUN_COLUMNS]
    columns = list(head)
    seen = set(head)
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    return columns


def run_sweep(
    runs: Sequence[Run],
    *,
    task: Task,
    out: str | Path,
    context: Any = None,
    scenario: str = "",
    runner: Runner | None = None,
    fresh: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[Run, RunOutcome], None] | None = None,
) -> SweepReport:
    """Run every planned run not already in ``out``; write the table; report what happened.

    ``task(context, cell, seed)`` runs one simulation and returns its summary (a nested
    mapping); it runs in worker processes, so it must be a module-level function and
    ``context`` (the scenario) must pickle. ``runner`` defaults to running in this process.
    ``fresh=True`` discards an existing table instead of resuming it. ``on_start`` gets
    the number of runs left to do; ``on_result`` is called in this process after each run
    (both for a progress bar). Ctrl-C stops the sweep,
    writes what finished and returns with ``interrupted=True``.
    """
    table = ResultTable(out)
    if fresh:
        table.remove()
    by_id = {run.run_id: run for run in runs}
    if len(by_id) != len(runs):
        raise ConfigError("the sweep plans the same run twice")
    done = table.load()
    foreign = [rid for rid in done if rid not in by_id]
    if foreign:
        raise ConfigError(
            f"--out {str(table.out)!r} holds {len(foreign)} run(s) of a different sweep "
            "(other grid, seed or scenario); choose another file or delete it"
        )
    table.check_writable()
    params = list(runs[0].cell) if runs else []
    report = SweepReport(out=table.out, planned=len(runs), skipped=len(done))
    todo = [
        RunTask(run.run_id, task, context, run.cell, run.seed)
        for run in runs
        if run.run_id not in done
    ]
    if on_start is not None:
        on_start(len(todo))
    results = (runner or _SerialRunner()).map_unordered(execute_task, todo)
    try:
        for outcome in results:
            run = by_id[outcome.run_id]
            if outcome.metrics is None:
                report.failures.append(RunFailure(run, outcome.error or "unknown error"))
            else:
                row = _row(run, scenario, outcome.metrics)
                table.append(row)
                done[run.run_id] = row
                report.completed += 1
            if on_result is not None:
                on_result(run, outcome)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        try:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # cancel what has not started (a pool, a cluster)
        except KeyboardInterrupt:
            report.interrupted = True
        ordered = [done[run.run_id] for run in runs if run.run_id in done]
        if ordered or table.out.exists():
            table.write(ordered, _columns(params, ordered))
    return report


def _row(run: Run, scenario: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run.run_id, "scenario": scenario}
    row.update(run.cell)
    row["replication"] = run.replication
    row["seed"] = run.seed
    for key, value in metrics.items():
        row.setdefault(key, value)
    return row
