"""The status model follows the Delivery machine; both status stores behave alike."""

from __future__ import annotations

import doctest
import sqlite3
from pathlib import Path

import pytest

from hooklab.model import status as status_module
from hooklab.model.compiled import compile_machine
from hooklab.model.delivery import Delivery
from hooklab.model.errors import ConfigError, IllegalTransition, StoreError
from hooklab.model.records import AttemptRecord, DeliveryRecord, Status
from hooklab.model.status import (
    LEGAL_MOVES,
    MAX_RESPONSE_BODY,
    STATUS_OF_STATE,
    MemoryStatusStore,
    SqliteStatusStore,
    StatusStore,
    truncate_body,
)
from hooklab.model.status import memory as status_memory
from hooklab.model.status import sqlite as status_sqlite

PATH_TO_DELIVERED = ["event_occurred", "payload_prepared", "sending", "delivered", "end"]
PATH_TO_WAITING = ["event_occurred", "payload_prepared", "sending", "retry_queued", "waiting"]


def walk(store: StatusStore, states: list[str], message_id: str = "m1",
         endpoint_id: str = "e1", now: float = 0.0) -> None:
    for i, state in enumerate(states):
        store.move(message_id, endpoint_id, state, now=now + i)


def attempt(n: int, code: int = 500, *, message_id: str = "m1", endpoint_id: str = "e1",
            next_at: float | None = None, body: str = "") -> AttemptRecord:
    return AttemptRecord(message_id, endpoint_id, n, 10.0 * n, 10.0 * n + 0.5, "server_error",
                         code, None, next_at, body)


def test_status_projection_is_the_issue_table() -> None:
    assert dict(STATUS_OF_STATE) == {
        "start": Status.PENDING, "event_occurred": Status.PENDING,
        "payload_prepared": Status.PENDING, "sending": Status.SENDING,
        "retry_queued": Status.AWAITING_RETRY, "waiting": Status.AWAITING_RETRY,
        "retrying": Status.AWAITING_RETRY, "delivered": Status.DELIVERED,
        "end": Status.DELIVERED, "failed": Status.FAILED,
    }
    assert set(STATUS_OF_STATE) == set(compile_machine(Delivery).states)


def test_legal_moves_are_the_machine_class_transitions() -> None:
    from_class = {(str(t.source.id), str(t.target.id))
                  for state in Delivery.states for t in state.transitions}
    assert from_class == LEGAL_MOVES
    assert ("failed", "sending") not in LEGAL_MOVES and ("waiting", "retrying") in LEGAL_MOVES


def test_both_stores_implement_the_interface(store: StatusStore) -> None:
    assert isinstance(store, StatusStore)


def test_a_message_id_is_tracked_once_per_endpoint(store: StatusStore) -> None:
    assert store.add("m1", "e1", "invoice.paid", created_at=5)
    assert not store.add("m1", "e1", "other.type", created_at=9)
    assert store.add("m1", "e2", "invoice.paid", created_at=5)
    view = store.get("m1", "e1")
    assert view is not None
    assert (view.state, view.status, view.event_type, view.created_at) == (
        "start", Status.PENDING, "invoice.paid", 5.0)
    assert isinstance(view.created_at, float)
    assert store.get("m1", "nope") is None


def test_legal_moves_update_state_and_status(store: StatusStore) -> None:
    store.add("m1", "e1", "t", created_at=0.0)
    walk(store, PATH_TO_DELIVERED)
    view = store.get("m1", "e1")
    assert view is not None
    assert (view.state, view.status, view.finished_at, view.updated_at) == (
        "end", Status.DELIVERED, 3.0, 4.0)
    assert [c.target for c in store.history("m1", "e1")] == PATH_TO_DELIVERED
    assert [c.source for c in store.history("m1", "e1")] == ["start", *PATH_TO_DELIVERED[:-1]]


@pytest.mark.parametrize(("before", "target"), [
    ([], "sending"), ([], "start"), (PATH_TO_DELIVERED[:2], "delivered"),
    (PATH_TO_DELIVERED[:1], "failed"),
    (PATH_TO_DELIVERED, "failed"), (PATH_TO_DELIVERED, "end"), (PATH_TO_WAITING, "sending"),
    (PATH_TO_WAITING, "nonsense"), (PATH_TO_DELIVERED[:4], "retry_queued"),
])
def test_a_move_off_the_machine_edges_is_rejected_and_changes_nothing(
    store: StatusStore, before: list[str], target: str
) -> None:
    store.add("m1", "e1", "t", created_at=0.0)
    walk(store, before)
    snapshot = store.get("m1", "e1"), store.history("m1", "e1")
    with pytest.raises(IllegalTransition, match=f"to {target}"):
        store.move("m1", "e1", target, now=99.0)
    assert (store.get("m1", "e1"), store.history("m1", "e1")) == snapshot


def test_unknown_deliveries_are_store_errors(store: StatusStore) -> None:
    with pytest.raises(StoreError, match="'m9'"):
        store.move("m9", "e1", "event_occurred", now=0.0)
    with pytest.raises(StoreError, match="'m9'"):
        store.record_attempt(attempt(1, message_id="m9"))
    with pytest.raises(StoreError):
        store.history("m9", "e1")


def test_attempts_are_numbered_in_order(store: StatusStore) -> None:
    store.add("m1", "e1", "t", created_at=0.0)
    with pytest.raises(StoreError, match="out of order"):
        store.record_attempt(attempt(2))
    store.record_attempt(attempt(1, next_at=25.0))
    with pytest.raises(StoreError, match="out of order"):
        store.record_attempt(attempt(1))
    store.record_attempt(attempt(2, 200))
    view = store.get("m1", "e1")
    assert view is not None
    assert [a.attempt for a in view.attempts] == [1, 2]
    assert view.attempts[0].duration == 0.5 and view.next_attempt_at is None


def test_response_bodies_are_cut_to_the_cap(store: StatusStore) -> None:
    store.add("m1", "e1", "t", created_at=0.0)
    store.record_attempt(attempt(1, body="é" * MAX_RESPONSE_BODY))
    kept = store.attempts()[0].response_body
    assert len(kept.encode()) <= MAX_RESPONSE_BODY and kept == "é" * (MAX_RESPONSE_BODY // 2)
    assert truncate_body(b"ok") == "ok" and truncate_body(None) == ""
    assert truncate_body(b"\xff\xfeabc", limit=4) == "ab"


def test_waiting_deliveries_are_due_at_their_next_attempt(store: StatusStore) -> None:
    for i, key in enumerate(("m1", "m2")):
        store.add(key, "e1", "t", created_at=0.0)
        walk(store, PATH_TO_WAITING[:3], message_id=key)
        store.record_attempt(attempt(1, message_id=key, next_at=50.0 - i))
        walk(store, PATH_TO_WAITING[3:], message_id=key)
    assert store.due(48.0) == []
    assert [r.message_id for r in store.due(49.0)] == ["m2"]
    assert [r.message_id for r in store.due(50.0)] == ["m2", "m1"]
    assert [r.message_id for r in store.due(50.0, limit=1)] == ["m2"]
    store.move("m2", "e1", "retrying", now=49.0)
    assert [r.message_id for r in store.due(60.0)] == ["m1"]


def _populate(store: StatusStore) -> None:
    """Four deliveries of two messages to two endpoints, in four statuses."""
    for message_id, endpoint_id, at in (("m1", "e1", 1.0), ("m1", "e2", 1.0),
                                        ("m2", "e1", 5.0), ("m3", "e1", 9.0)):
        store.add(message_id, endpoint_id, "invoice.paid", created_at=at)
        walk(store, PATH_TO_WAITING[:2], message_id=message_id, endpoint_id=endpoint_id)
    walk(store, ["sending"], "m1", "e1")
    store.record_attempt(attempt(1, 200, message_id="m1", endpoint_id="e1"))
    walk(store, ["delivered", "end"], "m1", "e1", now=20.0)
    walk(store, ["sending"], "m2", "e1")
    store.record_attempt(attempt(1, 410, message_id="m2", endpoint_id="e1"))
    store.move("m2", "e1", "failed", now=30.0, reason="gone")
    walk(store, ["sending"], "m3", "e1")


def test_queries_filter_by_endpoint_status_and_time(store: StatusStore) -> None:
    _populate(store)
    keys = lambda records: [(r.message_id, r.endpoint_id) for r in records]  # noqa: E731
    assert keys(store.query()) == [("m1", "e1"), ("m1", "e2"), ("m2", "e1"), ("m3", "e1")]
    assert keys(store.query(endpoint_id="e1", status="failed")) == [("m2", "e1")]
    assert keys(store.query(status=Status.PENDING)) == [("m1", "e2")]
    assert keys(store.query(since=1.0, until=9.0)) == [("m1", "e1"), ("m1", "e2"), ("m2", "e1")]
    assert keys(store.query(since=5.0)) == [("m2", "e1"), ("m3", "e1")]
    assert keys(store.query(message_id="m1", limit=1)) == [("m1", "e1")]
    assert store.query(status="sending")[0] == DeliveryRecord(
        "m3", "e1", "invoice.paid", 9.0, Status.SENDING, 0, None, None)
    failed = store.query(status="failed")[0]
    assert (failed.reason, failed.attempts, failed.finished_at) == ("gone", 1, 30.0)
    assert store.query(status="delivered")[0].time_to_delivery == 19.0


def test_counts_include_every_status(store: StatusStore) -> None:
    _populate(store)
    assert store.counts() == {Status.PENDING: 1, Status.SENDING: 1, Status.AWAITING_RETRY: 0,
                              Status.DELIVERED: 1, Status.FAILED: 1}
    assert store.counts(endpoint_id="e2") == {**dict.fromkeys(Status, 0), Status.PENDING: 1}
    assert sum(store.counts(until=5.0).values()) == 2


def test_bad_query_arguments_are_config_errors(store: StatusStore) -> None:
    with pytest.raises(ConfigError, match="awaiting_retry"):
        store.query(status="lost")
    with pytest.raises(ConfigError):
        store.query(limit=-1)


def test_both_stores_export_identical_records(tmp_path: Path) -> None:
    memory, sqlite_store = MemoryStatusStore(), SqliteStatusStore(tmp_path / "s.db")
    for made in (memory, sqlite_store):
        _populate(made)
    assert memory.query() == sqlite_store.query()
    assert memory.attempts() == sqlite_store.attempts()
    assert memory.attempts(endpoint_id="e1", message_id="m2") == [
        a for a in memory.attempts() if a.message_id == "m2"]
    assert memory.history("m2", "e1") == sqlite_store.history("m2", "e1")
    assert memory.get("m1", "e1") == sqlite_store.get("m1", "e1")
    sqlite_store.close()


def test_sqlite_status_survives_a_reopen_and_shares_a_file(tmp_path: Path) -> None:
    path = tmp_path / "hooklab.db"
    with SqliteStatusStore(path) as first:
        _populate(first)
    from hooklab.model.registry import SqliteRegistry
    with SqliteRegistry(path) as registry, SqliteStatusStore(path) as second:
        assert registry.list() == []
        assert second.counts()[Status.DELIVERED] == 1
        assert [c.target for c in second.history("m1", "e1")][-1] == "end"


def test_a_second_writer_cannot_repeat_a_move(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStatusStore(path) as a, SqliteStatusStore(path) as b:
        a.add("m1", "e1", "t", created_at=0.0)
        walk(a, PATH_TO_WAITING)
        a.move("m1", "e1", "retrying", now=9.0)
        with pytest.raises(IllegalTransition):
            b.move("m1", "e1", "retrying", now=9.0)


def test_a_batch_rolls_back_as_a_whole_in_sqlite(tmp_path: Path) -> None:
    with SqliteStatusStore(tmp_path / "s.db") as store:
        store.add("m1", "e1", "t", created_at=0.0)
        with pytest.raises(IllegalTransition), store.batch():
            store.move("m1", "e1", "event_occurred", now=1.0)
            store.move("m1", "e1", "delivered", now=2.0)
        view = store.get("m1", "e1")
        assert view is not None and view.state == "start" and store.history("m1", "e1") == []


def test_a_corrupt_status_file_is_a_store_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StoreError, match="broken.db"):
        SqliteStatusStore(path)


def test_a_corrupt_state_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStatusStore(path) as store:
        store.add("m1", "e1", "t", created_at=0.0)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE deliveries SET state = 'lost'")
    conn.commit()
    conn.close()
    with SqliteStatusStore(path) as store, pytest.raises(StoreError, match="'lost'"):
        store.move("m1", "e1", "event_occurred", now=1.0)


@pytest.mark.parametrize("module", [status_module, status_memory, status_sqlite])
def test_module_examples_run(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
