"""Ctrl-C during ``hooklab simulate``: exit 130, and what finished is kept.

Ctrl-C is stood in for by a ``KeyboardInterrupt`` raised from the records writer after a
number of attempts (where the interpreter would raise it, in the middle of the run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooklab.harness.cli.main import main
from hooklab.sim.export import RecordWriter, load_records

STOP_AFTER = 300


@pytest.fixture
def ctrl_c_after_some_attempts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    written: list[int] = []
    original = RecordWriter.attempt

    def attempt(self: RecordWriter, record: object) -> None:
        if len(written) == STOP_AFTER:
            raise KeyboardInterrupt
        written.append(1)
        original(self, record)  # type: ignore[arg-type]

    monkeypatch.setattr(RecordWriter, "attempt", attempt)
    return written


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_interrupted_simulate_exits_130_and_keeps_the_records_and_a_partial_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], ctrl_c_after_some_attempts: list[int],
        suffix: str) -> None:
    records, summary = tmp_path / f"run{suffix}", tmp_path / "s.json"
    code = main(["simulate", "--messages", "5000", "--engine", "events", "--records",
                 str(records), "--json-out", str(summary)])
    err = capsys.readouterr().err
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    kept = load_records(records)  # a valid file, every record written so far in it
    assert len(kept.attempts) == len(ctrl_c_after_some_attempts) == STOP_AFTER
    assert kept.meta is not None and kept.meta["interrupted"] is True
    partial = json.loads(summary.read_text())
    assert partial["interrupted"] is True
    assert partial["attempts"] >= STOP_AFTER and partial["messages"] < 5000
    assert partial["delivered"] + partial["failed"] <= partial["deliveries"]


def test_an_interrupted_run_is_its_own_output_and_can_be_run_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        ctrl_c_after_some_attempts: list[int]) -> None:
    argv = ["simulate", "--messages", "2000", "--engine", "events", "--records",
            str(tmp_path / "run.csv"), "--json-out", str(tmp_path / "s.json")]
    assert main(argv) == 130
    monkeypatch.undo()  # no more Ctrl-C
    capsys.readouterr()
    assert main(argv) == 0  # no --force needed: both files are simulate's own
    assert "interrupted" not in json.loads((tmp_path / "s.json").read_text())


def test_interrupted_run_without_outputs_still_exits_130(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from hooklab.sim import runner

    def stop(*_: object, **__: object) -> None:
        raise runner.Interrupted(None)

    monkeypatch.setattr(runner, "simulate", stop)
    assert main(["simulate", "--messages", "10"]) == 130
    assert capsys.readouterr().out == ""
