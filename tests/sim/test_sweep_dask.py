"""Sweeps on Dask distributed: the same table, row for row, as the local run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.cli.main import main
from hooklab.model.errors import ConfigError
from hooklab.sim.sweep import read_table, run_sweep
from hooklab.sim.sweep.grid import plan_runs
from hooklab.sim.sweep.runners import DaskRunner, LocalRunner

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


def test_cli_sweep_on_dask_gives_the_local_table_row_for_row(
    tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # overflow=bogus fails only in the cells with a capacity (a value bad alone is a usage
    # error before any run)
    common = ["sweep", "--scenario", "flaky-receiver", "--grid", "messages=80",
              "--grid", "failure_rate=0.1,0.5", "--grid", "capacity=unlimited,5",
              "--grid", "overflow=bogus", "--grid", "policy=svix,diagram",
              "--replications", "2", "--seed", "42", "--no-progress"]  # fmt: skip
    local, remote = tmp_path / "local.csv", tmp_path / "dask.csv"
    assert main([*common, "--out", str(local), "--workers", "2"]) == 1
    local_err = capsys.readouterr().err
    assert main([*common, "--out", str(remote), "--scheduler", scheduler]) == 1
    remote_err = capsys.readouterr().err
    assert "16 runs; 8 done, 8 failed" in local_err and "16 runs; 8 done, 8 failed" in remote_err
    assert "capacity=5" in remote_err
    local_rows, remote_rows = read_table(local), read_table(remote)
    assert len(remote_rows) == 8
    for mine, theirs in zip(local_rows, remote_rows, strict=True):
        assert mine == theirs
    assert remote.read_bytes() == local.read_bytes()


def test_unreachable_scheduler_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    runs = plan_runs({"x": [1]})
    runner = DaskRunner(address, connect_timeout=1.0)
    with pytest.raises(ConfigError, match="cannot connect to a Dask scheduler"):
        run_sweep(runs, task=fake_simulation, out=tmp_path / "r.csv", runner=runner)
    assert not (tmp_path / "r.csv").exists()


def test_scheduler_address_of_an_unknown_scheme_is_a_usage_error(tmp_path: Path) -> None:
    runner = DaskRunner("http://127.0.0.1:8786", connect_timeout=1.0)
    with pytest.raises(ConfigError, match="cannot connect to a Dask scheduler"):
        run_sweep(plan_runs({"x": [1]}), task=fake_simulation, out=tmp_path / "r.csv",
                  runner=runner)
    assert not (tmp_path / "r.csv").exists()
