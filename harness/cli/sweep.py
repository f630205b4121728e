"""``hooklab sweep``: run a scenario over a grid of parameters, on this machine or on Dask.

Each cell of the grid, times ``--replications``, is one simulation with its own seed,
derived from ``--seed`` and the cell. The results table (``--out``, CSV or Parquet) has one
row per run: the parameters, the seed, and every metric of ``hooklab simulate --json``
(nested keys joined by ``_``: ``time_to_delivery_s_p99``). Rerunning the same command
resumes: finished runs are skipped, and Ctrl-C keeps what finished. A value no cell could
run (failure_rate=abc) is a usage error before any run (exit 2); a cell that fails only
with the other values of its cell is reported and the others go on (exit 1).

Examples::

    hooklab sweep --grid 'failure_rate=0,0.1,0.3,0.5' --grid 'policy=svix,hook0,diagram' \\
        --replications 5 --out results.csv
    hooklab sweep --grid-file sweep.toml --out results.parquet --scheduler tcp://10.0.0.5:8786
    hooklab sweep --preset metastability --out meta.csv --phase-map meta.png

Grid parameters: policy, max_attempts, failure_rate, messages, duration, workers, until,
rate, timeout, latency, capacity, overflow, outage_s (see hooklab.sim.sweep.params).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .paths import add_force_flag

__all__ = ["handle_sweep", "register"]

PRESETS = ("metastability",)
_HEADLINE = ("delivered", "failed", "amplification", "time_to_delivery_s_p99")


def register(subparsers: Any) -> None:
    """Add ``sweep`` to the ``hooklab`` parser."""
    p = subparsers.add_parser(
        "sweep",
        help="run a simulation over a grid of parameters (local cores or a Dask cluster)",
        description=__doc__.split("\n\n", 1)[1].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a parameter and its values (repeat for more parameters)")
    p.add_argument("--grid-file", metavar="FILE.toml",
                   help="a TOML file with a [grid] table (and optional scenario, "
                        "replications, seed, preset)")
    p.add_argument("--scenario", metavar="FILE|NAME",
                   help="the base scenario, a TOML file or a shipped name (default: default)")
    p.add_argument("--preset", choices=PRESETS,
                   help="a ready-made study: metastability (trigger size x duration x policy)")
    p.add_argument("--replications", type=int, metavar="R",
                   help="runs per cell, each with its own seed (default: 1)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="base seed the runs' seeds derive from (default: the scenario's)")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="results table, .csv or .parquet; an existing one is resumed")
    p.add_argument("--fresh", action="store_true",
                   help="discard an existing --out instead of resuming it")
    add_force_flag(p)
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: every core)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask distributed scheduler instead of locally")
    p.add_argument("--phase-map", metavar="FILE.png",
                   help="with --preset metastability: save the phase map figure")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: on a terminal)")
    p.set_defaults(handler=handle_sweep)  # fmt: skip


def handle_sweep(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe; 0 ok, 1 some cells failed, 130 interrupted."""
    from hooklab.model.errors import ConfigError
    from hooklab.sim.sweep import load_grid_file, make_runner, parse_grid_args, plan_runs, run_sweep

    _check_outputs(args)
    spec = load_grid_file(args.grid_file) if args.grid_file else None
    grid = dict(spec.grid) if spec else {}
    grid.update(parse_grid_args(args.grid))
    preset = args.preset or (spec.preset if spec else None)
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"preset {preset!r} is unknown; use one of {', '.join(PRESETS)}")
    scenario_name = args.scenario or (spec.scenario if spec else None)
    replications = _pick(args.replications, spec.replications if spec else None, 1)
    if args.phase_map and preset != "metastability":
        raise ConfigError("--phase-map needs --preset metastability")
    if preset == "metastability":
        if scenario_name is not None:
            raise ConfigError("--preset metastability builds its own scenario; drop --scenario")
        grid, task, context, label, fingerprint, base_seed = _metastability(grid)
    else:
        if not grid:
            raise ConfigError("give at least one --grid NAME=V1,V2,... (or --grid-file)")
        grid, task, context, label, fingerprint, base_seed = _scenario_sweep(
            grid, scenario_name or "default"
        )
    seed = _pick(args.seed, spec.seed if spec else None, base_seed)
    runs = plan_runs(grid, replications=replications, seed=seed, scenario=fingerprint)
    if args.scheduler and args.workers is not None:
        raise ConfigError("--workers and --scheduler exclude each other (Dask decides)")
    runner = make_runner(workers=args.workers, scheduler=args.scheduler)
    with _Progress(args.progress, len(runs)) as progress:
        report = run_sweep(runs, task=task, context=context, out=args.out, scenario=label,
                           runner=runner, fresh=args.fresh, on_start=progress.start,
                           on_result=progress.advance)  # fmt: skip
    _print_report(report)
    if preset == "metastability":
        print(context.describe())
        _print_phase_map(report.out, args.phase_map)
    elif not report.interrupted:
        _print_means(report.out)
    if report.interrupted:
        return 130
    return 1 if report.failures else 0


def _check_outputs(args: argparse.Namespace) -> None:
    """--out and --phase-map, before any run (:mod:`.paths`): an existing --out is resumed
    (or replaced with --fresh) only if it is a sweep's results table."""
    from pathlib import Path

    from .paths import check_output, figure

    if Path(args.out).suffix.lower() in (".csv", ".parquet"):  # else: the table says why
        check_output(args.out, "--out", force=args.force, own=_sweep_table, stdout=False)
    check_output(args.phase_map, "--phase-map", force=args.force, own=figure, stdout=False)


def _sweep_table(path: Any) -> bool:
    """Whether ``path`` is a sweep's results table: it has the ``run_id`` column."""
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - depends on the install
            return bool(path.read_bytes()[:4] == b"PAR1")
        return "run_id" in pq.read_schema(path).names
    with path.open(encoding="utf-8", errors="replace") as handle:
        return "run_id" in handle.readline().strip().split(",")


def _pick(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _scenario_sweep(grid: dict[str, Any], name: str) -> tuple[Any, ...]:
    from hooklab.sim.scenario import Scenario
    from hooklab.sim.sweep import check_parameters, scenario_fingerprint, simulate_cell

    scenario = Scenario.load(name)
    check_parameters(grid, scenario)
    _check_values(grid, scenario)
    return grid, simulate_cell, scenario, scenario.name, scenario_fingerprint(scenario), \
        scenario.seed  # fmt: skip


def _check_values(grid: dict[str, Any], scenario: Any) -> None:
    """A usage error for a grid value no cell could run (``failure_rate=abc``), before any run;
    a value that fails only with the other parameters of its cell is that cell's failure."""
    from hooklab.model.errors import ConfigError, ScenarioError
    from hooklab.sim.sweep import apply_cell

    for name, values in grid.items():
        for value in values:
            try:
                apply_cell(scenario, {name: value})
            except ScenarioError as exc:
                raise ConfigError(f"--grid {exc}", field="grid") from None


def _metastability(grid: dict[str, Any]) -> tuple[Any, ...]:
    from hooklab.model.errors import ConfigError
    from hooklab.sim.sweep.metastability import (
        METASTABILITY_PARAMETERS,
        PRESET_GRID,
        MetastabilitySetup,
        metastability_cell,
    )

    merged = {**PRESET_GRID, **grid}
    unknown = [name for name in merged if name not in METASTABILITY_PARAMETERS]
    if unknown:
        raise ConfigError(
            f"--grid {unknown[0]}: unknown parameter for --preset metastability; "
            f"known: {', '.join(sorted(METASTABILITY_PARAMETERS))}"
        )
    setup = MetastabilitySetup()
    return merged, metastability_cell, setup, "metastability", setup.fingerprint(), 0


class _Progress:
    """A rich bar over the runs still to do, on stderr (hooklab.sim.progress)."""

    def __init__(self, enabled: bool | None, planned: int) -> None:
        from hooklab.sim.progress import RunProgress

        self.bar = RunProgress(enabled=enabled, after=0.0, label="sweeping")
        self.todo = planned
        self.done = 0
        self.failed = 0

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def start(self, todo: int) -> None:
        self.todo = todo
        self.bar.update(0.0, f"0/{todo} runs")

    def advance(self, run: Any, outcome: Any) -> None:
        self.done += 1
        self.failed += outcome.error is not None
        failed = f", {self.failed} failed" if self.failed else ""
        self.bar.update(self.done / max(self.todo, 1), f"{self.done}/{self.todo} runs{failed}")


def _print_report(report: Any) -> None:
    err = sys.stderr
    skipped = f" ({report.skipped} already in {report.out})" if report.skipped else ""
    print(f"sweep: {report.planned} runs{skipped}; {report.completed} done, "
          f"{len(report.failures)} failed -> {report.out}", file=err)  # fmt: skip
    if report.failures:
        print("failed cells:", file=err)
        for line in _failed_cells(report.failures):
            print(f"  {line}", file=err)
    if report.interrupted:
        print(f"interrupted: the finished runs are in {report.out}; run the same command "
              "again to resume", file=err)  # fmt: skip


def _failed_cells(failures: list[Any]) -> list[str]:
    """One line per failing cell and error, naming its replications when only some failed."""
    cells: dict[tuple[str, str], list[Any]] = {}
    for failure in failures:
        params = ", ".join(f"{k}={v}" for k, v in failure.run.cell.items())
        cells.setdefault((params, failure.error), []).append(failure.run)
    lines = []
    for (params, error), runs in cells.items():
        if len(runs) == 1:
            which = f"replication {runs[0].replication}, seed {runs[0].seed}"
        else:
            which = f"replications {', '.join(str(r.replication) for r in runs)}"
        lines.append(f"{params} ({which}): {error}")
    return lines


def _print_means(out: Any) -> None:
    from hooklab.sim.sweep import aggregate_rows, read_table

    if not out.exists():
        return
    rows = read_table(out)
    estimates = aggregate_rows(rows, metrics=[m for m in _HEADLINE if rows and m in rows[0]])
    if not estimates:
        return
    by = [k for k in estimates[0] if k not in ("metric", "runs", "mean", "std", "ci_low",
                                               "ci_high", "scenario")]  # fmt: skip
    cells: dict[tuple[Any, ...], dict[str, str]] = {}
    for e in estimates:
        text = f"{e['mean']:.4g}"
        if e["runs"] > 1 and e["ci_high"] == e["ci_high"]:
            half = (e["ci_high"] - e["ci_low"]) / 2
            # float noise of equal runs (1860 ±6.8e-13) reads as a real spread: show ±0
            text += f" ±{0 if half <= 1e-9 * abs(e['mean']) else half:.2g}"
        cells.setdefault(tuple(e[k] for k in by), {})[e["metric"]] = text
    metrics = [m for m in _HEADLINE if any(m in c for c in cells.values())]
    header = [*by, *metrics]
    lines = [[str(v) for v in key] + [c.get(m, "") for m in metrics] for key, c in cells.items()]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for line in lines:
        print("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)))
    print("(means over replications, ± half a 95% confidence interval)")


def _print_phase_map(out: Any, figure: str | None) -> None:
    from hooklab.sim.sweep import read_table
    from hooklab.sim.sweep.metastability import phase_map, plot_phase_map

    if not out.exists():
        return
    pm = phase_map(read_table(out))
    print(pm.to_text(), end="")
    if figure:
        from hooklab.sim.plots import save_figure

        print(f"phase map -> {save_figure(plot_phase_map(pm), figure)}", file=sys.stderr)
