"""Sweeps on Dask distributed: the same table, row for row, as the local run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hooklab.sim.grid import plan_runs
from hooklab.sim.sweep import read_table, run_sweep
from hooklab.sim.sweep_runner import DaskRunner, LocalRunner

distributed = pytest.importorskip("dask.distributed")

sys.path.insert(0, str(Path(__file__).parent))
from test_sweep import fake_simulation  # noqa: E402


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A one-worker Dask cluster in this process, on loopback, closed after the module."""
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def test_stand_in_sweep_on_dask_equals_the_local_table(tmp_path: Path, scheduler: str) -> None:
    runs = plan_runs({"failure_rate": [0, 0.2, 2.0], "x": [1, 2]}, replications=2, seed=3)
    local, remote = tmp_path / "local.csv", tmp_path / "dask.csv"
    local_report = run_sweep(runs, task=fake_simulation, out=local, runner=LocalRunner(1))
    report = run_sweep(runs, task=fake_simulation, out=remote, runner=DaskRunner(scheduler))
    assert report.completed == local_report.completed == 8
    assert sorted(f.run.run_id for f in report.failures) == sorted(
        f.run.run_id for f in local_report.failures
    )
    assert read_table(remote) == read_table(local)
    assert remote.read_bytes() == local.read_bytes()


def test_dask_runner_resumes_like_the_local_one(tmp_path: Path, scheduler: str) -> None:
    runs = plan_runs({"x": [1, 2, 3]}, replications=2, seed=8)
    out = tmp_path / "r.csv"
    run_sweep(runs[:2], task=fake_simulation, out=out, runner=DaskRunner(scheduler))
    executed: list[Any] = []
    report = run_sweep(
        runs,
        task=fake_simulation,
        out=out,
        runner=DaskRunner(scheduler),
        on_result=lambda run, outcome: executed.append(run.run_id),
    )
    assert report.skipped == 2
    assert sorted(executed) == sorted(r.run_id for r in runs[2:])
