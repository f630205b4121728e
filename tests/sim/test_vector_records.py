"""The vector path writes its column arrays straight to the records files (issue 14):
the same files, columns and dtypes as the event engine's, and the same rows its records
would have written one object at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklab.sim import simulate
from hooklab.sim.bench import bench_scenario
from hooklab.sim.export import load_records, records_paths, write_records

pa_parquet = pytest.importorskip("pyarrow.parquet")

FORMATS = ("csv", "jsonl", "parquet")


def _scenario():  # retries, failures and a refused window, so every nullable column is set
    return bench_scenario(2000, failure_rate=0.6, outage=300.0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_both_paths_write_records_files_with_the_same_columns_and_dtypes(
        fmt: str, tmp_path: Path) -> None:
    loaded = {}
    for engine in ("events", "vector"):
        path = tmp_path / f"{engine}.{fmt}"
        result = simulate(_scenario(), seed=5, engine=engine, keep_records=False,
                          records_path=path)
        assert result.summary.engine == engine
        loaded[engine] = load_records(path)
    events, vector = loaded["events"], loaded["vector"]
    for table in ("attempts", "deliveries"):
        a, b = getattr(events, table), getattr(vector, table)
        assert len(a) > 0 and len(b) > 0
        assert list(a.columns) == list(b.columns)
        assert dict(a.dtypes.astype(str)) == dict(b.dtypes.astype(str))


def test_both_paths_write_parquet_files_with_the_same_arrow_schema(tmp_path: Path) -> None:
    schemas = []
    for engine in ("events", "vector"):
        path = tmp_path / f"{engine}.parquet"
        simulate(_scenario(), seed=5, engine=engine, keep_records=False, records_path=path)
        schemas.append([pa_parquet.read_schema(p) for p in records_paths(path)[:2]])
    assert schemas[0] == schemas[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_vector_column_files_hold_exactly_the_rows_of_its_records(fmt: str,
                                                                  tmp_path: Path) -> None:
    columns = tmp_path / f"columns.{fmt}"
    result = simulate(_scenario(), seed=6, engine="vector", keep_records=True,
                      records_path=columns)
    assert result.summary.engine == "vector" and result.attempts
    rows = write_records(tmp_path / f"rows.{fmt}", result.attempts, result.deliveries)
    for a, b in zip(records_paths(columns)[:2], records_paths(rows)[:2], strict=True):
        if fmt == "parquet":
            assert pa_parquet.read_table(a).equals(pa_parquet.read_table(b))
        else:
            assert a.read_bytes() == b.read_bytes()
