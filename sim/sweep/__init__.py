"""hooklab.sim.sweep: many independent simulations over a grid, into one results table.

``hooklab sweep`` in Python. A sweep is a grid of parameters, the runs it plans (each cell
times its replications, every run with its own derived seed), a runner that executes them
here or on a Dask cluster, and a tidy results table that a rerun resumes. One module per
part, this package the face:

- :mod:`.grid`: the grid (``--grid NAME=V1,V2`` or a TOML file) and the run plan
  (:func:`plan_runs`, :func:`derive_seed`);
- :mod:`.params`: what each grid parameter changes in a scenario, and the one simulation
  a worker runs (:func:`simulate_cell`);
- :mod:`.run`: :func:`run_sweep`, the tasks and outcomes, failures and the report;
- :mod:`.runners`: where the runs execute (:class:`LocalRunner`, :class:`DaskRunner`);
- :mod:`.table`: the results table, CSV or Parquet, crash-safe (:func:`read_table`);
- :mod:`.stats`: replications into means and confidence intervals (:func:`aggregate`);
- :mod:`.metastability`: the metastability explorer (``hooklab sweep --preset
  metastability``) and its phase map;
- :mod:`.bench`: one worker against every core (``python -m hooklab.sim.sweep.bench``).

Example::

    >>> from hooklab.sim import Scenario
    >>> runs = plan_runs(parse_grid_args(["max_attempts=1,3"]), seed=1)
    >>> report = run_sweep(runs, task=simulate_cell, context=Scenario.flaky(0.5, messages=50),
    ...                    out="/tmp/doctest-sweep-face.csv", fresh=True)
    >>> [row["max_attempts"] for row in read_table(report.out)]
    ['1', '3']
"""

from __future__ import annotations

from ..summary import flatten_summary
from .grid import (
    Grid,
    GridFile,
    Run,
    Value,
    canonical_cell,
    derive_seed,
    load_grid_file,
    parse_grid_arg,
    parse_grid_args,
    parse_value,
    plan_runs,
)
from .params import (
    SWEEP_PARAMETERS,
    apply_cell,
    check_parameters,
    scenario_fingerprint,
    simulate_cell,
)
from .run import (
    RunFailure,
    Runner,
    RunOutcome,
    RunTask,
    SweepReport,
    execute_task,
    run_sweep,
)
from .runners import DaskRunner, LocalRunner, make_runner
from .stats import aggregate, aggregate_rows, t_quantile
from .table import FIXED_COLUMNS, RUN_COLUMNS, ResultTable, read_table, result_columns

__all__ = [
    "FIXED_COLUMNS",
    "RUN_COLUMNS",
    "SWEEP_PARAMETERS",
    "DaskRunner",
    "Grid",
    "GridFile",
    "LocalRunner",
    "ResultTable",
    "Run",
    "RunFailure",
    "RunOutcome",
    "RunTask",
    "Runner",
    "SweepReport",
    "Value",
    "aggregate",
    "aggregate_rows",
    "apply_cell",
    "canonical_cell",
    "check_parameters",
    "derive_seed",
    "execute_task",
    "flatten_summary",
    "load_grid_file",
    "make_runner",
    "parse_grid_arg",
    "parse_grid_args",
    "parse_value",
    "plan_runs",
    "read_table",
    "result_columns",
    "run_sweep",
    "scenario_fingerprint",
    "simulate_cell",
    "t_quantile",
]
