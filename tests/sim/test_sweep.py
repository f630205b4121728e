"""Sweeps: grid parsing, seed derivation, the results table, failures, resume, the pool
(the real simulator and the CLI: ``test_sweep_simulator.py``)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooklab.model.errors import ConfigError
from hooklab.sim import Scenario, simulate
from hooklab.sim.sweep import ResultTable, flatten_summary, read_table, run_sweep
from hooklab.sim.sweep.grid import (
    canonical_cell,
    derive_seed,
    load_grid_file,
    parse_grid_arg,
    parse_grid_args,
    plan_runs,
)
from hooklab.sim.sweep.params import (
    simulate_cell,
)
from hooklab.sim.sweep.runners import LocalRunner, make_runner
from hooklab.sim.sweep.stats import aggregate, aggregate_rows, t_quantile


def fake_simulation(context: Any, cell: dict[str, Any], seed: int) -> dict[str, Any]:
    """A stand-in for the simulator: seeded, nested summary, rejects rates above 1."""
    rate = float(cell.get("failure_rate", 0))
    if not 0 <= rate <= 1:
        raise ConfigError(f"failure_rate {rate}: must be in [0, 1]")
    rng = random.Random(seed)
    failed = sum(rng.random() < rate for _ in range(50))
    return {
        "messages": 50,
        "delivered": 50 - failed,
        "failed": failed,
        "time_to_delivery_s": {"p50": rng.random(), "max": rng.random() * 10},
    }


def interrupting_simulation(context: Any, cell: dict[str, Any], seed: int) -> dict[str, Any]:
    """Like :func:`fake_simulation`, but Ctrl-C arrives during the run of cell x=3."""
    if cell.get("x") == 3:
        raise KeyboardInterrupt
    return fake_simulation(context, cell, seed)


GRID = {"failure_rate": (0, 0.3), "x": (1, 2, 3)}


def _plan(**kw: Any) -> list:
    return plan_runs(GRID, replications=kw.pop("replications", 2), seed=kw.pop("seed", 11), **kw)


# --- grid parsing -------------------------------------------------------------------------


def test_grid_arg_parses_numbers_booleans_and_strings() -> None:
    assert parse_grid_arg("failure_rate=0, 0.1 ,1") == ("failure_rate", (0, 0.1, 1))
    assert parse_grid_arg("policy=svix,hook0") == ("policy", ("svix", "hook0"))
    assert parse_grid_arg("jitter=true,false") == ("jitter", (True, False))


@pytest.mark.parametrize(
    "text",
    ["failure_rate", "=1,2", "failure_rate=", "seed=1,2", "rate=0,0.0", "bad name=1"],
)
def test_bad_grid_arg_is_a_config_error_naming_it(text: str) -> None:
    with pytest.raises(ConfigError, match="^grid "):
        parse_grid_arg(text)


def test_grid_parameter_given_twice_is_rejected() -> None:
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid_args(["policy=svix", "policy=hook0"])


def test_grid_file_reads_grid_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(
        'replications = 3\nseed = 9\nscenario = "outage-storm"\n'
        '[grid]\nfailure_rate = [0, 0.5]\npolicy = ["svix", "hook0"]\n'
    )
    spec = load_grid_file(path)
    assert spec.grid == {"failure_rate": (0, 0.5), "policy": ("svix", "hook0")}
    assert (spec.replications, spec.seed, spec.scenario) == (3, 9, "outage-storm")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[grid\n", "not valid TOML"),
        ("seed = 1\n", r"\[grid\] table"),
        ("[grid]\nx = [{a = 1}]\n", "numbers, booleans or strings"),
        ("colour = 1\n[grid]\nx = [1]\n", "unknown setting"),
        ('seed = "one"\n[grid]\nx = [1]\n', "seed must be a int"),
    ],
)
def test_bad_grid_file_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_grid_file(path)


def test_missing_grid_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_grid_file(tmp_path / "nope.toml")


# --- seeds and the plan -------------------------------------------------------------------


def test_plan_has_every_cell_times_every_replication_in_grid_order() -> None:
    runs = _plan(replications=3)
    assert len(runs) == 2 * 3 * 3
    assert [(r.cell["failure_rate"], r.cell["x"], r.replication) for r in runs[:4]] == [
        (0, 1, 0),
        (0, 1, 1),
        (0, 1, 2),
        (0, 2, 0),
    ]
    assert len({r.seed for r in runs}) == len(runs)
    assert len({r.run_id for r in runs}) == len(runs)


def test_seed_depends_on_base_seed_cell_and_replication_only() -> None:
    cell = {"failure_rate": 0.1, "policy": "svix"}
    base = derive_seed(1, cell, 0)
    assert derive_seed(1, dict(reversed(cell.items())), 0) == base
    assert derive_seed(2, cell, 0) != base
    assert derive_seed(1, cell, 1) != base
    assert derive_seed(1, {**cell, "failure_rate": 0.2}, 0) != base
    assert 0 <= base < 2**63


def test_integral_floats_and_ints_name_the_same_cell() -> None:
    assert canonical_cell({"rate": 0.0}) == canonical_cell({"rate": 0})
    assert derive_seed(0, {"rate": 1.0}, 0) == derive_seed(0, {"rate": 1}, 0)


def test_adding_a_grid_value_keeps_the_other_cells_seeds() -> None:
    small = {(r.cell["x"], r.replication): r.seed for r in plan_runs({"x": [1, 2]}, seed=5)}
    large = {(r.cell["x"], r.replication): r.seed for r in plan_runs({"x": [1, 2, 7]}, seed=5)}
    assert all(large[key] == seed for key, seed in small.items())


def test_seed_is_the_same_in_another_interpreter_with_another_hash_seed() -> None:
    code = (
        "from hooklab.sim.sweep.grid import derive_seed;"
        "print(derive_seed(3, {'policy': 'svix', 'failure_rate': 0.3}, 2))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert int(out.stdout) == derive_seed(3, {"policy": "svix", "failure_rate": 0.3}, 2)


# --- the results table --------------------------------------------------------------------


def test_flatten_joins_nested_keys_with_underscores() -> None:
    flat = flatten_summary({"a": 1, "t": {"p50": 2, "deep": {"x": 3}}})
    assert flat == {"a": 1, "t_p50": 2, "t_deep_x": 3}


def test_summary_flat_row_uses_the_sweep_table_column_names() -> None:
    result = simulate(Scenario.flaky(0.5, messages=40), seed=3)
    row = simulate_cell(Scenario.flaky(0.5, messages=40), {}, 3)
    columns = flatten_summary(row)
    flat = result.summary.flat()
    assert "time_to_delivery_s_p99" in flat and not any("." in key for key in flat)
    assert flat == {k: v for k, v in columns.items() if not k.startswith("endpoints_")}


def test_table_has_one_row_per_run_in_plan_order_with_flat_metrics(tmp_path: Path) -> None:
    runs = _plan()
    out = tmp_path / "r.csv"
    report = run_sweep(runs, task=fake_simulation, out=out, scenario="demo")
    rows = read_table(out)
    assert (report.completed, report.skipped, report.failures) == (len(runs), 0, [])
    assert [row["run_id"] for row in rows] == [r.run_id for r in runs]
    assert list(rows[0]) == [
        "run_id",
        "scenario",
        "failure_rate",
        "x",
        "replication",
        "seed",
        "messages",
        "delivered",
        "failed",
        "time_to_delivery_s_p50",
        "time_to_delivery_s_max",
    ]
    for row, run in zip(rows, runs, strict=True):
        expected = fake_simulation(None, run.cell, run.seed)
        assert int(row["seed"]) == run.seed
        assert int(row["failed"]) == expected["failed"]
        assert float(row["time_to_delivery_s_p50"]) == expected["time_to_delivery_s"]["p50"]
    assert not ResultTable(out).journal.exists()


def test_failing_cell_is_reported_with_its_parameters_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    runs = plan_runs({"failure_rate": [0.1, 1.5, 0.2]}, replications=2, seed=1)
    out = tmp_path / "r.csv"
    report = run_sweep(runs, task=fake_simulation, out=out)
    assert report.completed == 4
    assert {f.run.cell["failure_rate"] for f in report.failures} == {1.5}
    assert len(report.failures) == 2
    assert "failure_rate=1.5" in report.failures[0].describe()
    assert "must be in [0, 1]" in report.failures[0].describe()
    assert [row["failure_rate"] for row in read_table(out)] == ["0.1", "0.1", "0.2", "0.2"]


def test_resume_skips_exactly_the_finished_runs(tmp_path: Path) -> None:
    runs = _plan()
    full = tmp_path / "full.csv"
    run_sweep(runs, task=fake_simulation, out=full)
    lines = full.read_text().splitlines(keepends=True)
    kept = [1, 4, 5, 9]  # data rows left in the partial file
    partial = tmp_path / "partial.csv"
    partial.write_text(lines[0] + "".join(lines[1 + i] for i in kept))
    executed: list[str] = []
    report = run_sweep(
        runs,
        task=fake_simulation,
        out=partial,
        on_result=lambda run, outcome: executed.append(run.run_id),
    )
    assert sorted(executed) == sorted(r.run_id for i, r in enumerate(runs) if i not in kept)
    assert (report.skipped, report.completed) == (len(kept), len(runs) - len(kept))
    assert partial.read_bytes() == full.read_bytes()


def test_ctrl_c_keeps_finished_runs_and_resume_completes_them(tmp_path: Path) -> None:
    runs = _plan()
    out = tmp_path / "r.csv"
    report = run_sweep(runs, task=interrupting_simulation, out=out)
    first_x3 = next(i for i, r in enumerate(runs) if r.cell["x"] == 3)
    assert report.interrupted
    assert [row["run_id"] for row in read_table(out)] == [r.run_id for r in runs[:first_x3]]
    report = run_sweep(runs, task=fake_simulation, out=out)
    assert report.skipped == first_x3 and report.completed == len(runs) - first_x3
    fresh = tmp_path / "fresh.csv"
    run_sweep(runs, task=fake_simulation, out=fresh)
    assert out.read_bytes() == fresh.read_bytes()


def test_crash_journal_is_resumed_even_with_a_torn_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _plan()
    out = tmp_path / "r.csv"
    monkeypatch.setattr(ResultTable, "write", lambda self, rows, columns: None)  # a hard kill
    run_sweep(runs[:5], task=fake_simulation, out=out)
    monkeypatch.undo()
    journal = ResultTable(out).journal
    assert not out.exists() and len(journal.read_text().splitlines()) == 5
    with journal.open("a") as fh:
        fh.write('{"run_id": "tor')
    executed: list[str] = []
    run_sweep(runs, task=fake_simulation, out=out, on_result=lambda r, o: executed.append(r.run_id))
    assert executed == [r.run_id for r in runs[5:]]
    assert len(read_table(out)) == len(runs) and not journal.exists()


def test_out_file_of_another_sweep_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    run_sweep(_plan(seed=1), task=fake_simulation, out=out)
    before = out.read_bytes()
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(_plan(seed=2), task=fake_simulation, out=out)
    assert out.read_bytes() == before
    report = run_sweep(_plan(seed=2), task=fake_simulation, out=out, fresh=True)
    assert report.skipped == 0


def test_out_file_that_is_not_a_sweep_table_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    out.write_text("name,age\nann,3\n")
    with pytest.raises(ConfigError, match="not a hooklab sweep table"):
        run_sweep(_plan(), task=fake_simulation, out=out)
    with pytest.raises(ConfigError, match=r"\.csv or \.parquet"):
        run_sweep(_plan(), task=fake_simulation, out=tmp_path / "r.xlsx")


def test_unwritable_out_is_refused_before_any_run(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "r.csv"  # its folder is a file: unwritable, even for root
    started: list[int] = []
    with pytest.raises(ConfigError, match="cannot write there"):
        run_sweep(_plan(), task=fake_simulation, out=out, on_start=started.append)
    assert started == []


@pytest.mark.parametrize(("name", "message"), [
    ("r.csv", "cannot read sweep table"),
    ("r.csv.partial.jsonl", "cannot read the crash journal"),
])
def test_unreadable_out_or_journal_is_a_config_error(
        tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / name).mkdir()
    with pytest.raises(ConfigError, match=message):
        run_sweep(_plan(), task=fake_simulation, out=tmp_path / "r.csv")


def test_a_binary_file_is_not_a_sweep_table(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read sweep table"):
        read_table(tmp_path / "r.csv")


def test_parquet_table_round_trips_types_and_resumes(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    runs = _plan()
    out = tmp_path / "r.parquet"
    run_sweep(runs[:4], task=fake_simulation, out=out)
    executed: list[str] = []
    run_sweep(runs, task=fake_simulation, out=out, on_result=lambda r, o: executed.append(r.run_id))
    assert executed == [r.run_id for r in runs[4:]]
    rows = read_table(out)
    assert [row["seed"] for row in rows] == [r.seed for r in runs]
    assert isinstance(rows[0]["time_to_delivery_s_p50"], float)
    assert rows[2]["failure_rate"] == 0 and rows[-1]["x"] == 3


# --- runners ------------------------------------------------------------------------------


def test_process_pool_gives_the_same_table_byte_for_byte(tmp_path: Path) -> None:
    runs = _plan()
    serial, pooled = tmp_path / "serial.csv", tmp_path / "pooled.csv"
    run_sweep(runs, task=fake_simulation, out=serial, runner=LocalRunner(workers=1))
    report = run_sweep(runs, task=fake_simulation, out=pooled, runner=LocalRunner(workers=2))
    assert report.completed == len(runs)
    assert pooled.read_bytes() == serial.read_bytes()


def test_runner_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="workers 0"):
        make_runner(workers=0)
    with pytest.raises(ConfigError, match="exclude each other"):
        make_runner(workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="tcp://HOST:PORT"):
        make_runner(scheduler="127.0.0.1")


@pytest.mark.parametrize(("call", "field"), [
    (lambda: make_runner(workers=0), "workers"),
    (lambda: make_runner(workers=2, scheduler="tcp://127.0.0.1:8786"), "workers"),
    (lambda: make_runner(scheduler="127.0.0.1"), "scheduler"),
    (lambda: ResultTable("results.txt"), "out"),
    (lambda: parse_grid_arg("failure_rate"), "grid"),
    (lambda: parse_grid_arg("seed=1"), "grid"),
    (lambda: parse_grid_args(["x=1", "x=2"]), "grid"),
    (lambda: plan_runs({"x": [1]}, replications=0), "replications"),
])  # fmt: skip
def test_sweep_errors_name_their_field_first_never_a_flag(call: Any, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.field == field
    assert str(caught.value).startswith(field + " ") and "--" not in str(caught.value)


def test_journal_rows_are_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.csv"
    monkeypatch.setattr(ResultTable, "write", lambda self, rows, columns: None)
    run_sweep(_plan()[:2], task=fake_simulation, out=out, scenario="s")
    rows = [json.loads(line) for line in ResultTable(out).journal.read_text().splitlines()]
    assert [row["scenario"] for row in rows] == ["s", "s"]
    assert all(isinstance(row["time_to_delivery_s_p50"], float) for row in rows)


# --- aggregation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "df", "table_value"),  # published two-sided Student-t critical values
    [(0.95, 1, 12.706), (0.95, 2, 4.303), (0.95, 5, 2.571), (0.95, 30, 2.042), (0.99, 7, 3.499)],
)
def test_t_quantile_matches_published_tables(confidence: float, df: int, table_value: float):
    assert t_quantile(confidence, df) == pytest.approx(table_value, abs=5e-4)


def test_confidence_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = random.Random(2024)
    rows = []
    for cell in range(400):
        for rep in range(5):
            rows.append(
                {"run_id": f"{cell}-{rep}", "scenario": "s", "cell": cell,
                 "replication": rep, "seed": 0, "m": rng.gauss(10.0, 3.0)}
            )  # fmt: skip
    estimates = aggregate_rows(rows)
    assert len(estimates) == 400
    covered = sum(e["ci_low"] <= 10.0 <= e["ci_high"] for e in estimates) / len(estimates)
    assert 0.92 <= covered <= 0.98  # binomial sd at n=400 is about 0.011


def test_aggregate_groups_replications_by_cell(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    runs = _plan(replications=3)
    out = tmp_path / "r.csv"
    run_sweep(runs, task=fake_simulation, out=out, scenario="demo")
    frame = aggregate(out)
    failed = frame[frame["metric"] == "failed"]
    assert len(failed) == 6 and set(failed["runs"]) == {3}
    assert list(frame.columns[:3]) == ["scenario", "failure_rate", "x"]
    first = failed.iloc[0]
    values = [fake_simulation(None, r.cell, r.seed)["failed"] for r in runs[:3]]
    assert first["mean"] == pytest.approx(sum(values) / 3)
    assert (failed["ci_low"] <= failed["mean"]).all() and (
        failed["mean"] <= failed["ci_high"]
    ).all()
    zero_rate = failed[failed["failure_rate"] == 0]
    assert (zero_rate["mean"] == 0).all() and (zero_rate["std"] == 0).all()


def test_aggregate_puts_runs_missing_a_parameter_in_one_cell() -> None:
    pd = pytest.importorskip("pandas")
    # A parameter only some cells set reads back from a table as NaN (and NaN != NaN).
    df = pd.DataFrame({"run_id": list("abcd"), "scenario": "s",
                       "max_attempts": [None, None, 3, 3], "replication": [0, 1, 0, 1],
                       "seed": [1, 2, 3, 4], "failed": [3, 5, 1, 2]})
    frame = aggregate(df)
    assert len(frame) == 2 and list(frame["runs"]) == [2, 2]
    assert list(frame["mean"]) == [4.0, 1.5]
