"""Sweeps on the real simulator: grid parameters, cells, the ``hooklab sweep`` CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.cli.main import main
from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.sim import Scenario, simulate
from hooklab.sim.sweep import read_table, run_sweep
from hooklab.sim.sweep.grid import (
    derive_seed,
    plan_runs,
)
from hooklab.sim.sweep.params import (
    apply_cell,
    check_parameters,
    scenario_fingerprint,
    simulate_cell,
)

# --- the real simulator: parameters, cells, the CLI ---------------------------------------


def test_each_grid_parameter_sets_what_it_names() -> None:
    base = Scenario.load("default")
    cell = {"policy": "svix", "max_attempts": 3.0, "rate": 4, "timeout": 7, "latency": 0.3,
            "capacity": 5, "overflow": "slow", "outage_s": 60, "workers": 8}  # fmt: skip
    s = apply_cell(base, cell)
    assert (s.policy, s.max_attempts, s.arrivals.rate, s.workers) == ("svix", 3, 4, 8)
    assert {e.timeout for e in s.endpoints} == {7}
    assert {e.receiver.latency.mean for e in s.endpoints} == {0.3}
    assert {(e.receiver.capacity.limit, e.receiver.capacity.overflow) for e in s.endpoints} == {
        (5, "slow")
    }
    down = [e.receiver.down.windows for e in s.endpoints if e.receiver.down is not None]
    old = [e.receiver.down.windows for e in base.endpoints if e.receiver.down is not None]
    assert down == [((old[0][0][0], old[0][0][0] + 60),)]
    assert apply_cell(s, {"capacity": "unlimited"}).endpoints[0].receiver.capacity is None
    assert all(e.receiver.down is None for e in apply_cell(base, {"outage_s": 0}).endpoints)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ({"failure_rate": 1.5}, "failure_rate=1.5"),
        ({"policy": "nope"}, "policy=nope"),
        ({"capacity": 0}, "capacity=0"),
        ({"timeout": -1}, "timeout=-1"),
    ],
)
def test_bad_parameter_value_is_a_scenario_error_naming_it(cell: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        apply_cell(Scenario.load("default"), cell)


def test_unknown_or_inapplicable_parameter_is_refused_before_the_sweep() -> None:
    with pytest.raises(ConfigError, match="unknown parameter; known: .*failure_rate"):
        check_parameters(["colour"])
    with pytest.raises(ConfigError, match="no endpoint with a down window"):
        check_parameters(["outage_s"], Scenario.flaky(0.1))


def test_sweep_rows_are_the_simulator_summaries_of_each_cell(tmp_path: Path) -> None:
    base = Scenario.flaky(0.2, messages=150)
    runs = plan_runs({"failure_rate": [0.1, 0.6], "policy": ["svix", "diagram"]}, seed=4,
                     scenario=scenario_fingerprint(base))  # fmt: skip
    out = tmp_path / "r.csv"
    run_sweep(runs, task=simulate_cell, context=base, out=out, scenario=base.name)
    rows = read_table(out)
    for row, run in zip(rows, runs, strict=True):
        expected = simulate(apply_cell(base, run.cell), seed=run.seed).summary.to_dict()
        assert int(row["attempts"]) == expected["attempts"]
        assert int(row["failed"]) == expected["failed"]
        assert float(row["time_to_delivery_s_p99"]) == expected["time_to_delivery_s"]["p99"]
    assert [row["policy"] for row in rows] == ["svix", "diagram", "svix", "diagram"]


def test_cli_sweep_reports_failing_cells_and_resumes(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.csv"
    # each value is valid alone (a usage error otherwise); overflow=bogus fails only in
    # the cells that have a capacity for it to overflow
    argv = ["sweep", "--grid", "capacity=unlimited,5", "--grid", "overflow=bogus",
            "--grid", "failure_rate=0,0.5", "--grid", "messages=60",
            "--scenario", "flaky-receiver", "--replications", "2", "--out", str(out),
            "--workers", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "8 runs; 4 done, 4 failed" in captured.err
    assert ("capacity=5, overflow=bogus, failure_rate=0, messages=60 (replications 0, 1): "
            "ScenarioError") in captured.err
    assert "capacity overflow must be" in captured.err
    assert "failure_rate" in captured.out and "amplification" in captured.out
    rows = read_table(out)
    assert [(r["capacity"], r["failure_rate"], r["replication"]) for r in rows] == [
        ("unlimited", "0", "0"), ("unlimited", "0", "1"), ("unlimited", "0.5", "0"),
        ("unlimited", "0.5", "1")
    ]  # fmt: skip
    assert main(argv) == 1
    assert "(4 already in" in capsys.readouterr().err
    assert read_table(out) == rows


def test_cli_reads_the_grid_from_a_toml_file(tmp_path: Path, capsys) -> None:
    grid = tmp_path / "sweep.toml"
    grid.write_text('scenario = "flaky-receiver"\nseed = 5\n[grid]\nmessages = [40, 80]\n')
    out = tmp_path / "r.parquet"
    pytest.importorskip("pyarrow")
    assert main(["sweep", "--grid-file", str(grid), "--out", str(out), "--workers", "1"]) == 0
    rows = read_table(out)
    assert [r["messages"] for r in rows] == [40, 80]
    assert rows[0]["seed"] == derive_seed(5, {"messages": 40}, 0)
    assert rows[0]["scenario"] == "flaky-receiver"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give at least one --grid"),
        (["--grid", "colour=red"], "unknown parameter"),
        (["--grid", "policy=svix", "--phase-map", "x.png"], "needs --preset metastability"),
        (["--grid", "policy=svix", "--workers", "0"], "--workers 0"),
        (["--grid", "policy=svix", "--scenario", "no-such-scenario"], "no-such-scenario"),
        (["--grid", "policy=svix", "--scheduler", "localhost"], "tcp://HOST:PORT"),
        (["--grid", "policy=svix", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
         "error: --workers and --scheduler exclude each other (Dask decides)"),
        (["--grid", "x=1,1"], "error: --grid 'x=1,1': x lists a value twice"),
        (["--grid", "failure_rate=0,abc"], "error: --grid failure_rate=abc: failure_rate must"),
        (["--grid", "max_attempts=3,0"], "error: --grid max_attempts=0: max_attempts must"),
        (["--grid", "policy=svix", "--replications", "0"], "error: --replications 0: must be"),
        (["--preset", "metastability", "--grid", "colour=1"],
         "error: --grid colour: unknown parameter for --preset metastability; known: capacity"),
    ],
)
def test_cli_usage_errors_exit_2_naming_the_problem(
    tmp_path: Path, capsys, extra: list[str], message: str
) -> None:
    assert main(["sweep", "--out", str(tmp_path / "r.csv"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def noisy_p99_simulation(context: Any, cell: dict[str, Any], seed: int) -> dict[str, Any]:
    """Equal runs but for float noise in the last digits, as simulated times have."""
    return {"messages": 50, "delivered": 50, "failed": 0,
            "time_to_delivery_s": {"p99": 1860.0 + (seed % 7) * 1e-13}}


def test_means_table_shows_float_noise_between_equal_runs_as_zero_spread(
        tmp_path: Path, capsys) -> None:
    from hooklab.harness.cli import sweep as sweep_cli

    out = tmp_path / "r.csv"
    runs = plan_runs({"x": [1]}, replications=4, seed=3)
    run_sweep(runs, task=noisy_p99_simulation, out=out)
    sweep_cli._print_means(out)
    table = capsys.readouterr().out
    assert "1860 ±0" in table and "e-1" not in table
