"""Benchmark: the same 48-run sweep with one worker and with every local core.

The sweep is failure rate (0, 0.1, 0.3, 0.5) × policy (svix, hook0, diagram) × 4
replications over one flaky endpoint (``Scenario.flaky``), ``--messages`` messages per run.
It runs twice, in fresh temporary tables: ``--workers 1`` (in this process) and ``--workers
N`` (a process pool, N = every core by default; the pool's start-up is included). It prints
both wall times, the speed-up and the parallel efficiency, and checks that the two tables
are identical byte for byte.

Run it with::

    python -m hooklab.sim.sweep.bench [--messages 20000] [--workers N] [--repeat 3]

Each sweep is timed ``--repeat`` times, alternating, and the best time of each is compared,
so that other work on a shared machine disturbs the ratio less. Every cell here takes the
vectorized path; one more serial sweep with every cell on the SimPy event engine shows
what picking the path per cell gains.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..scenario import Scenario
from .grid import plan_runs
from .params import scenario_fingerprint, simulate_cell
from .run import run_sweep
from .runners import LocalRunner

__all__ = ["BENCH_GRID", "main", "time_sweep"]

#: 4 × 3 cells; with 4 replications, 48 runs.
BENCH_GRID = {"failure_rate": (0, 0.1, 0.3, 0.5), "policy": ("svix", "hook0", "diagram")}


def time_sweep(scenario: Scenario, workers: int, out: Path, *, replications: int = 4,
               engine: str = "auto") -> float:
    """Wall seconds to run the benchmark grid with ``workers`` local workers into ``out``.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     seconds = time_sweep(Scenario.flaky(0.1, messages=20), 1, Path(tmp, "r.csv"))
        >>> seconds > 0
        True
    """
    runs = plan_runs(BENCH_GRID, replications=replications, seed=0,
                     scenario=scenario_fingerprint(scenario))  # fmt: skip
    started = time.perf_counter()
    task = simulate_cell if engine == "auto" else functools.partial(simulate_cell, engine=engine)
    report = run_sweep(runs, task=task, context=scenario, out=out,
                       scenario=scenario.name, runner=LocalRunner(workers), fresh=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    if report.failures or report.completed != len(runs):
        raise RuntimeError(f"benchmark sweep did not complete: {report}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m hooklab.sim.sweep.bench",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--messages", type=int, default=20_000, help="messages per run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="workers of the parallel sweep (default: every core)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each sweep this often (alternating); best counts")  # fmt: skip
    args = parser.parse_args(argv)
    scenario = Scenario.flaky(0.1, messages=args.messages)
    runs = len(plan_runs(BENCH_GRID, replications=4))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"sweep benchmark: {runs} runs of {args.messages:,} messages "
          f"(failure rate x policy x 4 replications), {os.cpu_count()} cores, "
          f"load average {load:.2f} before start")  # fmt: skip
    serial: list[float] = []
    parallel: list[float] = []
    identical = True
    with tempfile.TemporaryDirectory() as tmp:
        serial_out, parallel_out = Path(tmp, "serial.csv"), Path(tmp, "parallel.csv")
        for _ in range(max(args.repeat, 1)):
            serial.append(time_sweep(scenario, 1, serial_out))
            parallel.append(time_sweep(scenario, args.workers, parallel_out))
            identical = identical and serial_out.read_bytes() == parallel_out.read_bytes()
    for label, times in (("1 worker", serial), (f"{args.workers} workers", parallel)):
        best = min(times)
        print(f"  {label:<10} best {best:7.2f} s ({runs / best:6.2f} runs/s), "
              f"all: {', '.join(f'{t:.2f}' for t in times)} s")  # fmt: skip
    speedup = min(serial) / min(parallel)
    print(f"  speed-up:  {speedup:.2f}x best-to-best (parallel efficiency "
          f"{speedup / args.workers:.0%}); median-to-median "
          f"{statistics.median(serial) / statistics.median(parallel):.2f}x")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        events = time_sweep(scenario, 1, Path(tmp, "events.csv"), engine="events")
    print(f"  1 worker, every cell on the event engine: {events:7.2f} s; picking the "
          f"vectorized path per cell is {events / min(serial):.1f}x faster")
    print(f"  tables identical byte for byte: {'yes' if identical else 'NO'}")
    return 0 if identical else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
