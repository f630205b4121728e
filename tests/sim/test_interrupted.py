"""Ctrl-C in the middle of :func:`~hooklab.sim.runner.simulate`: an ``Interrupted`` that
carries what finished, and records files that stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklab.sim import runner
from hooklab.sim.export import RecordWriter, load_records
from hooklab.sim.runner import Interrupted, simulate
from hooklab.sim.scenario import Scenario


def test_an_interrupted_events_run_keeps_every_record_written_and_a_summary_of_at_least_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original, seen = RecordWriter.attempt, list[object]()

    def attempt(self: RecordWriter, record: object) -> None:
        if len(seen) == 250:
            raise KeyboardInterrupt
        seen.append(record)
        original(self, record)  # type: ignore[arg-type]

    monkeypatch.setattr(RecordWriter, "attempt", attempt)
    with pytest.raises(Interrupted) as stop:
        simulate(Scenario.flaky(0.3, messages=2000), seed=4, engine="events",
                 keep_records=False, records_path=tmp_path / "r.csv")
    partial = stop.value.result
    assert isinstance(stop.value, KeyboardInterrupt) and partial is not None
    assert partial.attempts == []  # keep_records=False: on disk only
    assert partial.summary.attempts >= len(seen)  # the 251st had started when Ctrl-C came
    assert partial.summary.messages < 2000
    kept = load_records(tmp_path / "r.csv")
    assert len(kept.attempts) == len(seen) and kept.meta["interrupted"] is True


def test_an_interrupted_vector_computation_keeps_valid_empty_records_and_no_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.VectorRun, "run", run)
    with pytest.raises(Interrupted) as stop:
        simulate(Scenario.flaky(0.3, messages=200), engine="vector",
                 records_path=tmp_path / "r.jsonl")
    assert stop.value.result is None
    kept = load_records(tmp_path / "r.jsonl")
    assert len(kept.attempts) == 0 and kept.meta is None
