"""Request logs stay within ``max_bytes`` and keep the most recent records, in order: in
memory (oldest dropped), JSON Lines (rotated to ``*.1.jsonl``, both files read back) and
SQLite (the oldest tenth deleted)."""

from __future__ import annotations

import json

import pytest

from hooklab.harness.request_log import (
    JsonlRequestLog,
    MemoryRequestLog,
    RequestRecord,
    SqliteRequestLog,
    open_request_log,
    read_request_log,
    rotated_path,
)
from hooklab.model.errors import ConfigError

MAX = 20_000


def record(seq: int, padding: int = 200) -> RequestRecord:
    return RequestRecord(seq, float(seq), "POST", "/hooks", f"msg_{seq}", 1,
                         {"x-pad": "p" * padding}, True, 200, None)


def line_size(r: RequestRecord) -> int:
    return len(json.dumps(r._asdict(), separators=(",", ":"))) + 1


def assert_most_recent_in_order(kept: list[RequestRecord], written: int) -> None:
    seqs = [r.seq for r in kept]
    assert seqs == list(range(seqs[0], written + 1)), "a gap, or not the newest records"


def test_memory_log_keeps_the_most_recent_records_within_max_bytes():
    log = MemoryRequestLog(MAX)
    for seq in range(1, 1001):
        log.append(record(seq))
    kept = log.records()
    assert_most_recent_in_order(kept, 1000)
    assert sum(line_size(r) for r in kept) <= MAX
    assert sum(line_size(r) for r in kept) + line_size(record(1)) > MAX  # not trimmed more


def test_jsonl_log_rotates_at_half_and_both_halves_are_read_back(tmp_path):
    path = tmp_path / "requests.jsonl"
    log = JsonlRequestLog(path, max_bytes=MAX)
    for seq in range(1, 1001):
        log.append(record(seq))
    kept = log.records()
    log.close()
    older = rotated_path(path)
    assert older.name == "requests.1.jsonl"
    assert path.stat().st_size <= MAX // 2 and older.stat().st_size <= MAX // 2
    assert_most_recent_in_order(kept, 1000)
    assert sum(line_size(r) for r in kept) >= MAX // 2 - line_size(record(1))
    assert read_request_log(path) == kept
    assert read_request_log(older) == kept[: len(read_request_log(older))]  # readable alone


def test_jsonl_log_reopened_keeps_counting_what_the_file_holds(tmp_path):
    path = tmp_path / "requests.jsonl"
    for start in (1, 301):  # two runs appending to one file
        log = JsonlRequestLog(path, max_bytes=MAX)
        for seq in range(start, start + 300):
            log.append(record(seq))
        log.close()
    assert path.stat().st_size <= MAX // 2
    assert_most_recent_in_order(read_request_log(path), 600)


def test_sqlite_log_deletes_the_oldest_rows_past_max_bytes(tmp_path):
    path = tmp_path / "requests.sqlite"
    log = SqliteRequestLog(path, max_bytes=MAX)
    for seq in range(1, 1001):
        log.append(record(seq))
    kept = log.records()
    log.close()
    assert_most_recent_in_order(kept, 1000)
    assert 0 < len(kept) <= MAX // 200  # each row counts at least its 200-byte header
    reopened = SqliteRequestLog(path, create=False, max_bytes=MAX)
    reopened.append(record(1001))
    assert_most_recent_in_order(reopened.records(), 1001)
    reopened.close()


def test_one_record_larger_than_the_bound_is_still_kept():
    log = MemoryRequestLog(2048)
    log.append(record(1, padding=10_000))
    assert [r.seq for r in log.records()] == [1]
    log.append(record(2))
    assert [r.seq for r in log.records()] == [2]


@pytest.mark.parametrize("suffix", [None, ".jsonl", ".sqlite"])
@pytest.mark.parametrize("max_bytes", [0, 1023, -5, 2.5, True])
def test_a_bound_too_small_or_not_whole_names_the_field(tmp_path, suffix, max_bytes):
    path = None if suffix is None else tmp_path / f"log{suffix}"
    with pytest.raises(ConfigError) as error:
        open_request_log(path, max_bytes=max_bytes)
    assert error.value.field == "log_max_bytes"
