"""Records on disk: CSV, JSON Lines and Parquet round trips, pandas loading, errors."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from hooklab.model.errors import ConfigError
from hooklab.model.records import AttemptRecord, DeliveryRecord
from hooklab.sim import Scenario, load_records, records_paths, simulate


def small() -> Scenario:
    return Scenario.load("default").replace(messages=60)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_streamed_records_load_back_into_pandas(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"run{suffix}"
    kept = simulate(small(), seed=4)
    streamed = simulate(small(), seed=4, keep_records=False, records_path=path)
    assert streamed.attempts == [] and streamed.summary == kept.summary
    records = load_records(path)
    assert len(records.attempts) == len(kept.attempts)
    assert len(records.deliveries) == len(kept.deliveries)
    assert list(records.attempts.columns) == list(AttemptRecord._fields)
    assert list(records.deliveries.columns) == list(DeliveryRecord._fields)
    first = kept.attempts[0]
    row = records.attempts.iloc[0]
    assert (row["message_id"], row["attempt"], row["start"]) == (
        first.message_id, first.attempt, first.start)
    assert records.meta is not None
    assert records.meta["summary"]["attempts"] == kept.summary.attempts
    assert {o["kind"] for o in records.meta["outages"]} == {"down"}
    failed = records.deliveries[records.deliveries["status"] == "failed"]
    assert len(failed) == kept.summary.failed


def test_result_frames_and_write(tmp_path: Path) -> None:
    result = simulate(small(), seed=1)
    attempts, deliveries = result.frames()
    assert len(attempts) == result.summary.attempts
    assert len(deliveries) == result.summary.deliveries
    path = result.write(tmp_path / "again.csv")
    assert load_records(path).attempts["attempt"].sum() == attempts["attempt"].sum()
    meta = json.loads((tmp_path / "again.meta.json").read_text())
    assert meta["seed"] == 1 and meta["scenario"]["name"] == "default"


def test_csv_bytes_are_identical_for_the_same_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    simulate(small(), seed=2, records_path=a)
    simulate(small(), seed=2, records_path=b)
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0


def test_bad_records_paths_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must end in one of"):
        records_paths(tmp_path / "run.xlsx")
    with pytest.raises(ConfigError, match="does not exist"):
        load_records(tmp_path / "none.csv")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_an_unwritable_records_path_is_a_config_error_before_the_run(
        tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    target = tmp_path / f"run{suffix}"
    target.mkdir()  # a folder where the file should go: unwritable, even for root
    with pytest.raises(ConfigError, match="cannot write records file"):
        simulate(small(), seed=0, records_path=target)


def test_parquet_without_pyarrow_says_how_to_get_it(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ConfigError, match=r"hooklab\[parquet\]"):
        simulate(small(), seed=0, records_path=tmp_path / "run.parquet")


def _track_opened(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every file the exporter opens, to check it closed them."""
    import hooklab.sim.export as export

    opened: list[Any] = []

    def tracked(*args: Any, **kwargs: Any) -> Any:
        handle = builtins.open(*args, **kwargs)  # noqa: SIM115
        opened.append(handle)
        return handle

    monkeypatch.setattr(export, "open", tracked, raising=False)
    return opened


def test_a_scenario_refused_by_the_engine_leaves_no_records_file_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from hooklab.model.errors import ScenarioError

    opened = _track_opened(monkeypatch)
    base = small()
    scenario = dataclasses.replace(base, arrivals=dataclasses.replace(
        base.arrivals, process="trace", trace=str(tmp_path / "missing.csv")))
    with pytest.raises(ScenarioError, match="cannot read arrival trace"):
        simulate(scenario, seed=0, records_path=tmp_path / "run.csv")
    assert len(opened) == 2 and all(h.closed for h in opened)


def test_an_unwritable_deliveries_file_leaves_the_attempts_file_closed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _track_opened(monkeypatch)
    (tmp_path / "run.deliveries.csv").mkdir()  # the attempts file opens, this one cannot
    with pytest.raises(ConfigError, match="cannot write records file"):
        simulate(small(), seed=0, records_path=tmp_path / "run.csv")
    assert len(opened) == 1 and opened[0].closed
