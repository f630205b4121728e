"""A sweep: many independent simulations over a grid, written to one tidy results table.

:func:`run_sweep` takes the planned runs (see :mod:`hooklab.sim.sweep.grid`), skips those
the results table already holds (:mod:`hooklab.sim.sweep.table`), hands the rest to a
runner (a local process pool or a Dask cluster, see :mod:`hooklab.sim.sweep.runners`) and
writes each finished run as it arrives. Each run is a :class:`RunTask`, plain data and a
picklable function; a worker answers with a :class:`RunOutcome`. Rerunning the same sweep
with the same ``out`` runs only what is missing. A run that raises (an invalid parameter
value, say) is reported as a :class:`RunFailure` with its parameters; the other runs go
on. Failed runs are not written, so a resumed sweep tries them again.

Example::

    >>> from hooklab.sim.sweep.grid import plan_runs
    >>> runs = plan_runs({"x": [1, 2]}, seed=0)
    >>> report = run_sweep(runs, task=lambda ctx, cell, seed: {"y": cell["x"] * 2},
    ...                    out="/tmp/doctest-sweep.csv", fresh=True)
    >>> report.completed, report.failures
    (2, [])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hooklab.model.errors import ConfigError

from ..summary import flatten_summary
from .grid import Run, Value
from .table import ResultTable, result_columns

__all__ = [
    "RunFailure",
    "RunOutcome",
    "RunTask",
    "Runner",
    "SweepReport",
    "execute_task",
    "run_sweep",
]

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
            f"out {str(table.out)!r} holds {len(foreign)} run(s) of a different sweep "
            "(other grid, seed or scenario); choose another file or delete it", field="out"
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
            table.write(ordered, result_columns(params, ordered))
    return report


def _row(run: Run, scenario: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run.run_id, "scenario": scenario}
    row.update(run.cell)
    row["replication"] = run.replication
    row["seed"] = run.seed
    for key, value in metrics.items():
        row.setdefault(key, value)
    return row
