"""``hooklab simulate``: the default run, flags over files, JSON keys, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooklab.harness.cli.main import main
from hooklab.sim.bench import main as bench_main

KEYS = {"messages", "deliveries", "delivered", "failed", "pending", "attempts",
        "amplification", "time_to_delivery_s", "peak_attempts_per_s", "peak_backlog",
        "time_to_drain_s", "duplicates", "out_of_order"}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["simulate", *argv, "--json", "-"]) == 0
    return json.loads(capsys.readouterr().out)


def test_no_arguments_prints_a_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 0
    out = capsys.readouterr().out
    for word in ("default", "delivered", "failed", "amplification", "healthy", "flaky",
                 "down", "time to delivery"):
        assert word in out


def test_json_summary_keeps_stable_keys(capsys: pytest.CaptureFixture[str]) -> None:
    summary = run_json(capsys, "--messages", "200")
    assert set(summary) >= KEYS
    assert set(summary["time_to_delivery_s"]) == {"p50", "p95", "p99", "max"}
    assert summary["messages"] == 200
    assert summary["delivered"] + summary["failed"] + summary["pending"] == \
        summary["deliveries"]


def test_failure_rate_alone_is_one_plain_flaky_endpoint(
        capsys: pytest.CaptureFixture[str]) -> None:
    summary = run_json(capsys, "--failure-rate", "0.5", "--max-attempts", "2",
                       "--messages", "4000", "--seed", "3")
    assert list(summary["endpoints"]) == ["endpoint"]
    assert summary["deliveries"] == summary["messages"] == 4000
    assert abs(summary["failed"] / 4000 - 0.25) < 0.035
    assert summary["time_to_drain_s"] is None and summary["duplicates"] == 0


def test_flags_override_the_scenario_file(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("messages = 50\npolicy = 'diagram'\n[[endpoints]]\nid = 'a'\n"
                    "receiver = { status = '500:1' }\n", encoding="utf-8")
    summary = run_json(capsys, "--scenario", str(path))
    assert summary["messages"] == 50 and summary["attempts"] == 300
    summary = run_json(capsys, "--scenario", str(path), "--messages", "10",
                       "--policy", "svix", "--failure-rate", "0")
    assert summary["messages"] == 10 and summary["attempts"] == 10
    summary = run_json(capsys, "--scenario", str(path), "--max-attempts", "2",
                       "--faults", "status=503:1")
    assert summary["attempts"] == 100


def test_json_and_records_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, records = tmp_path / "s.json", tmp_path / "r.csv"
    assert main(["simulate", "--messages", "100", "--json-out", str(out),
                 "--records", str(records)]) == 0
    summary = json.loads(out.read_text())
    lines = records.read_text().splitlines()
    assert len(lines) == summary["attempts"] + 1
    assert (tmp_path / "r.deliveries.csv").is_file() and (tmp_path / "r.meta.json").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "no-such"], "named scenario 'no-such'"),
        (["--policy", "nope"], "unknown retry policy 'nope'"),
        (["--failure-rate", "1.5"], "failure_rate"),
        (["--messages", "-3"], "messages must be"),
        (["--faults", "boom=1"], "unknown fault 'boom'"),
        (["--records", "out.xlsx"], "must end in one of"),
        (["--plot", "out.txt"], ".png"),
        (["--concurrency", "0"], "--concurrency must be"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_message(
        capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hooklab simulate: error:") and message in err
    assert "Traceback" not in err


def test_corrupt_scenario_file_exits_2(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"messages = \xff\xfe")
    assert main(["simulate", "--scenario", str(path)]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_unparseable_flag_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--messages", "many"])
    assert stop.value.code == 2
    assert "--messages" in capsys.readouterr().err


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "--scenario outage-storm" in out


def test_list_names_the_shipped_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    assert "outage-storm" in capsys.readouterr().out


def test_plot_saves_the_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("hooklab.sim.plots")
    target = tmp_path / "t.png"
    assert main(["simulate", "--messages", "30", "--plot", str(target)]) == 0
    assert target.stat().st_size > 1000


def test_an_unwritable_plot_target_exits_2_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("hooklab.sim.plots")
    (tmp_path / "taken.png").mkdir()  # unwritable, even for root
    assert main(["simulate", "--messages", "30", "--plot", str(tmp_path / "taken.png")]) == 2
    captured = capsys.readouterr()
    assert "cannot write" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""  # refused before the run, not after it


def test_bench_smoke_runs_and_prints_both_times(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--messages", "3000", "--engine-messages", "2000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "hooklab.sim:" in out and "bare SimPy:" in out and "ratio:" in out
    for word in ("hooklab.sim: vector", "hooklab.sim: events", "ratio: vector", "ratio: events",
                 "peak memory", "load average"):
        assert word in out


@pytest.mark.parametrize("model", ["bare", "events", "vector"])
def test_bench_runs_one_model_alone_for_whole_process_timings(
        capsys: pytest.CaptureFixture[str], model: str) -> None:
    assert bench_main(["--only", model, "--messages", "2000", "--engine-messages", "2000"]) == 0
    out = capsys.readouterr().out
    assert out.lstrip().startswith(f"{model}:") and "2,000 messages" in out and "MB" in out


@pytest.mark.parametrize(("argv", "named"), [
    (["--latency", "fast"], "receiver.latency"), (["--failure-rate", "1.5"], "status rate"),
    (["--policy", "nope"], "unknown retry policy"), (["--engine-messages", "-1"], "messages"),
])
def test_bench_refuses_bad_input_in_one_line_before_running(
        capsys: pytest.CaptureFixture[str], argv: list[str], named: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench_main([*argv, "--messages", "100", "--repeat", "1"])
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and captured.out == ""
    last = captured.err.strip().splitlines()[-1]
    assert named in last and "Traceback" not in captured.err


def test_bench_latency_flag_sets_the_process_it_times(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--messages", "500", "--engine-messages", "500", "--repeat", "1", "--latency"]
    assert bench_main([*argv, "0.2:0.1:uniform"]) == 0
    assert "latency 0.2:0.1:uniform;" in capsys.readouterr().out


@pytest.mark.parametrize(("policy", "attempts"), [("shopify", 9), ("slack", 4), ("sns", 4),
                                                  ("azure-event-grid", 11)])
def test_a_provider_twins_preset_drives_simulate(policy: str, attempts: int,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # an always-failing receiver: every message uses every attempt its twin's schedule has
    summary = run_json(capsys, "--policy", policy, "--failure-rate", "1", "--messages", "20")
    assert summary["failed"] == 20 and summary["delivered"] == 0
    assert summary["attempts"] == 20 * attempts


@pytest.mark.parametrize("engine", ["events", "vector"])
def test_engine_flag_picks_the_path_and_the_summary_says_which(
        capsys: pytest.CaptureFixture[str], engine: str) -> None:
    summary = run_json(capsys, "--messages", "300", "--engine", engine)
    assert summary["engine"] == engine
    assert summary["delivered"] + summary["failed"] + summary["pending"] == \
        summary["deliveries"]
    assert main(["simulate", "--messages", "300", "--engine", engine]) == 0
    assert engine in capsys.readouterr().out.split("engine", 1)[1].splitlines()[0]


def test_auto_engine_takes_the_vector_path_only_where_it_can(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "--messages", "300")["engine"] == "vector"
    storm = run_json(capsys, "--scenario", "outage-storm", "--until", "60")
    assert storm["engine"] == "events"


@pytest.mark.parametrize(("argv", "reason"), [
    (["--scenario", "outage-storm"], "bounded worker pool"),
    (["--faults", "capacity=5:503"], "receiver capacity"),
    (["--faults", "gone=60"], "auto-disables on 410 Gone"),
])
def test_engine_vector_on_a_scenario_it_cannot_run_names_the_reason(
        capsys: pytest.CaptureFixture[str], argv: list[str], reason: str) -> None:
    assert main(["simulate", *argv, "--engine", "vector"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hooklab simulate: error: --engine vector cannot run")
    assert reason in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_faults_go_to_one_endpoint_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    ends = run_json(capsys, "--messages", "200", "--faults", "flaky=status=503:1")["endpoints"]
    assert ends["flaky"]["delivered"] == 0 and ends["flaky"]["failed"] > 0
    assert ends["healthy"]["failed"] == 0  # untouched
    # unscoped, every endpoint gets them; a fault named like an endpoint stays a fault
    ends = run_json(capsys, "--messages", "200", "--faults", "down=0:1e9")["endpoints"]
    assert all(e["delivered"] == 0 for e in ends.values())
    assert main(["simulate", "--messages", "50", "--faults", "status=500:0.1"]) == 0
    assert "every endpoint the same faults" in capsys.readouterr().out
