"""``hooklab plot``: reads records from disk, writes a figure, and rejects bad input (exit 2)."""

from __future__ import annotations

import csv
import random
import sqlite3

import pytest

from hooklab.harness.cli.main import main
from hooklab.harness.cli.plot import read_db
from hooklab.harness.request_log import JsonlRequestLog, RequestRecord
from hooklab.model.backoff import FixedSchedule
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.presets import get_policy
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import SqliteStatusStore
from hooklab.model.tracking import DeliveryTracker
from hooklab.sim.plots.sources import read_study_table

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def status_db(tmp_path):
    """A status store with msg_1 delivered at its 2nd attempt, msg_2 dead-lettered after 3."""
    path = tmp_path / "status.sqlite"
    store = SqliteStatusStore(path)
    policy = RetryPolicy("test", max_attempts=3, backoff=FixedSchedule((100.0, 100.0)))
    rng = random.Random(0)
    answers = {"msg_1": [classify(503), classify(200)],
               "msg_2": [classify(500), Outcome.transport("timeout"), classify(500)]}  # fmt: skip
    for message_id, outcomes in answers.items():
        tracker = DeliveryTracker(store)
        now = 0.0
        tracker.start(message_id, "ep_1", "invoice.paid", now=now)
        for outcome in outcomes:
            tracker.attempt(now=now)
            delay = tracker.finish(outcome, now=now + 0.5, policy=policy, rng=rng)
            if delay is None:
                break
            now += 0.5 + delay
            tracker.retry_due(now=now)
    store.close()
    return path


@pytest.fixture
def request_log(tmp_path):
    """A flaky receiver's log: msg_1 got 500 then 200; msg_2 got a timeout only."""
    path = tmp_path / "requests.jsonl"
    log = JsonlRequestLog(path)
    log.append(RequestRecord(1, 1000.0, "POST", "/", "msg_1", 1, {}, True, 500, None, 0.1))
    log.append(RequestRecord(2, 1002.0, "POST", "/", "msg_2", 1, {}, True, None, "timeout", None))
    log.append(RequestRecord(3, 1060.0, "POST", "/", "msg_1", 2, {}, True, 200, None, 0.1))
    log.close()
    return path


@pytest.fixture
def sweep_table(tmp_path):
    path = tmp_path / "results.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        header = ["run_id", "scenario", "policy", "failure_rate", "replication", "seed",
                  "deliveries", "delivered", "attempts",
                  "time_to_delivery_delivered_only_s_p99"]  # fmt: skip
        writer.writerow(header)
        for i, (policy, p) in enumerate([("svix", 0.0), ("svix", 0.5), ("diagram", 0.0),
                                         ("diagram", 0.5)]):  # fmt: skip
            k = get_policy(policy).max_attempts
            writer.writerow([f"r{i}", "flaky", policy, p, 0, i, 1000,
                             round(1000 * (1 - p**k)), round(1000 * (1 - p**k) / (1 - p)),
                             60.0 + 1000 * p])  # fmt: skip
    return path


def test_plot_timeline_from_a_status_store(status_db, tmp_path, capsys):
    out = tmp_path / "timeline.png"
    assert main(["plot", "--db", str(status_db), "--kind", "timeline", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    assert f"wrote {out}" in capsys.readouterr().out


def test_status_store_source_holds_its_attempts_and_final_states(status_db):
    source = read_db(status_db)
    assert [(a.message_id, a.attempt, a.status_code) for a in source.attempts] == [
        ("msg_1", 1, 503), ("msg_1", 2, 200), ("msg_2", 1, 500), ("msg_2", 2, 0),
        ("msg_2", 3, 500),
    ]  # fmt: skip
    assert {d.message_id: d.status for d in source.deliveries} == {
        "msg_1": "delivered", "msg_2": "failed"}  # fmt: skip


def test_plot_from_a_request_log_leaves_unknown_endings_unmarked(request_log, tmp_path):
    source = read_db(request_log)
    assert not source.final_known
    assert [d.status for d in sorted(source.deliveries_for(None))] == ["delivered", "pending"]
    for kind in ("timeline", "load", "latency"):
        out = tmp_path / f"{kind}.svg"
        assert main(["plot", "--db", str(request_log), "--kind", kind, "-o", str(out)]) == 0
        assert b"<svg" in out.read_bytes()[:1000]


def test_plot_study_from_a_sweep_table(sweep_table, tmp_path):
    out = tmp_path / "study.png"
    assert main(["plot", str(sweep_table), "--kind", "study", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    points = {(p.policy, p.failure_rate): p for p in read_study_table(sweep_table)}
    assert points[("svix", 0.5)].delivered_fraction == pytest.approx(1 - 0.5**8, abs=1e-3)


def test_endpoint_filter_and_messages_cap(status_db, tmp_path):
    out = tmp_path / "t.png"
    argv = ["plot", "--db", str(status_db), "-o", str(out), "--endpoint", "ep_1",
            "--max-lanes", "1"]  # fmt: skip
    assert main(argv) == 0 and out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plot", "missing.jsonl"], "records file 'missing.jsonl' does not exist"),
        (["plot", "--db", "missing.sqlite"], "--db 'missing.sqlite' does not exist"),
        (["plot"], "give a records file"),
        (["plot", "x.jsonl", "-o", "out.jpg"], "use a .png, .svg or .pdf"),
        (["plot", "x.jsonl", "--max-lanes", "0"], "--max-lanes must be at least 1"),
        (["plot", "x.jsonl", "--kind", "load", "--bin", "-1"], "--bin must be a positive"),
        (["plot", "missing.csv", "--kind", "study"], "results table 'missing.csv' does not"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hooklab plot: error: ")
    assert message in err
    assert "Traceback" not in err


def test_malformed_db_files_exit_2(tmp_path, capsys):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    empty = tmp_path / "other.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    bad_log = tmp_path / "bad.jsonl"
    bad_log.write_text('{"seq": 1}\nnot json\n')
    for path, message in ((junk, "not a SQLite database"), (empty, "neither a hooklab status"),
                          (bad_log, "not a request record")):  # fmt: skip
        assert main(["plot", "--db", str(path), "-o", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert message in err, err
    assert not (tmp_path / "x.png").exists()


def test_unknown_endpoint_is_a_usage_error(status_db, tmp_path, capsys):
    argv = ["plot", "--db", str(status_db), "--endpoint", "nope", "-o", str(tmp_path / "x.png")]
    assert main(argv) == 2
    assert "--endpoint 'nope' is not in the records (known: ep_1)" in capsys.readouterr().err


def test_malformed_sweep_table_exits_2(tmp_path, capsys):
    bad = tmp_path / "results.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["plot", str(bad), "--kind", "study", "-o", str(tmp_path / "s.png")]) == 2
    assert "not a hooklab sweep table" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sim_records(tmp_path_factory):
    """A small default-scenario run (three endpoints, one down for an hour) on disk."""
    from hooklab.sim import Scenario, simulate

    folder = tmp_path_factory.mktemp("records")
    scenario = Scenario.load("default").replace(messages=200)
    result = simulate(scenario, seed=3)
    paths = {}
    for suffix in (".jsonl", ".csv"):
        paths[suffix] = result.write(folder / f"run{suffix}")
    return result, paths


@pytest.mark.parametrize("kind", ["timeline", "load", "latency"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_plot_simulator_records(sim_records, kind, suffix, tmp_path):
    _, paths = sim_records
    out = tmp_path / f"{kind}.png"
    assert main(["plot", str(paths[suffix]), "--kind", kind, "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG


def test_simulator_records_read_back_equal_to_the_run(sim_records):
    from hooklab.sim.plots.sources import read_records

    result, paths = sim_records
    for path in paths.values():
        source = read_records(path)
        # pandas may read a float back 1 ulp off; plots do not care, identities must match
        assert len(source.attempts) == len(result.attempts)
        for got, want in zip(source.attempts, result.attempts, strict=True):
            assert got[:3] + got[5:8] == want[:3] + want[5:8]
            assert got.start == pytest.approx(want.start, rel=1e-12)
            assert (got.next_attempt_at is None) == (want.next_attempt_at is None)
        key = [(d.message_id, d.endpoint_id, d.status, d.attempts) for d in source.deliveries]
        assert key == [(d.message_id, d.endpoint_id, d.status, d.attempts)
                       for d in result.deliveries]  # fmt: skip
        assert [(w.endpoint_id, w.start, w.end) for w in source.outages] == [
            (o.endpoint_id, o.start, o.end) for o in result.outages if o.kind == "down"
        ]


def test_latency_of_two_runs_gets_one_curve_each(sim_records, tmp_path):
    _, paths = sim_records
    out = tmp_path / "latency.svg"
    argv = ["plot", str(paths[".jsonl"]), str(paths[".csv"]), "--kind", "latency",
            "--label", "jsonl", "--label", "csv", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    svg = out.read_text()
    assert "jsonl: p50" in svg and "csv: p50" in svg


def test_malformed_records_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "run.jsonl"
    bad.write_text('{"message_id": "m"\nnot json at all\n')
    assert main(["plot", str(bad), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "run.jsonl" in err and "Traceback" not in err
    wrong = tmp_path / "other.csv"
    wrong.write_text("a,b\n1,2\n")
    assert main(["plot", str(wrong), "-o", str(tmp_path / "x.png")]) == 2
    assert "other.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_docs_make_figures_regenerates_every_readme_figure(tmp_path):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "docs" / "make_figures.py"
    module = runpy.run_path(str(script))
    assert module["main"](["--out", str(tmp_path)]) == 0
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == ["latency.png", "load-jitter.png", "study.png", "timeline.png"]
    for name in made:
        assert (tmp_path / name).read_bytes()[:8] == PNG
