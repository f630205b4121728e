"""DeliveryTracker drives the compiled Delivery machine and records every step in a store."""

from __future__ import annotations

import doctest
import random
from pathlib import Path

import pytest

from hooklab.model import tracking
from hooklab.model.backoff import ConstantSchedule, FullJitter
from hooklab.model.errors import IllegalTransition, StoreError
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.presets import get_policy
from hooklab.model.records import AttemptRecord, Status
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import MemoryStatusStore, SqliteStatusStore, StatusStore
from hooklab.model.tracking import DeliveryTracker

POLICY = RetryPolicy("test", max_attempts=3, backoff=ConstantSchedule(30.0))


def started(store: StatusStore, message_id: str = "m1") -> DeliveryTracker:
    tracker = DeliveryTracker(store)
    tracker.start(message_id, "e1", "invoice.paid", now=0.0)
    return tracker


def run(tracker: DeliveryTracker, outcomes: list[Outcome], policy: RetryPolicy = POLICY,
        seed: int = 0) -> list[float | None]:
    """Attempt once per outcome, waiting out each backoff; returns the delays."""
    rng, now, delays = random.Random(seed), 0.0, []
    for outcome in outcomes:
        tracker.attempt(now)
        delay = tracker.finish(outcome, now=now + 1.0, policy=policy, rng=rng, body="ok")
        delays.append(delay)
        if delay is None:
            break
        now += 1.0 + delay
        tracker.retry_due(now)
    return delays


def test_a_2xx_is_delivered_and_logged(store: StatusStore) -> None:
    tracker = started(store)
    assert tracker.attempt(0.0) == 1 and tracker.status is Status.SENDING
    assert tracker.finish(classify(204), now=0.25, policy=POLICY, rng=random.Random(0)) is None
    assert (tracker.state, tracker.done, tracker.reason) == ("end", True, None)
    view = store.get("m1", "e1")
    assert view is not None and view.status is Status.DELIVERED and view.finished_at == 0.25
    (only,) = view.attempts
    assert (only.attempt, only.start, only.end, only.status_code, only.outcome) == (
        1, 0.0, 0.25, 204, "success")


def test_a_failure_is_retried_after_the_policy_delay(store: StatusStore) -> None:
    tracker = started(store)
    assert run(tracker, [classify(500), classify(200)]) == [30.0, None]
    view = store.get("m1", "e1")
    assert view is not None and view.status is Status.DELIVERED
    assert [a.next_attempt_at for a in view.attempts] == [31.0, None]
    assert [a.start for a in view.attempts] == [0.0, 31.0]
    assert [c.target for c in store.history("m1", "e1")] == [
        "event_occurred", "payload_prepared", "sending", "retry_queued", "waiting",
        "retrying", "sending", "delivered", "end"]


def test_waiting_records_when_the_next_attempt_is_due(store: StatusStore) -> None:
    tracker = started(store)
    tracker.attempt(0.0)
    tracker.finish(Outcome.transport("timeout"), now=15.0, policy=POLICY, rng=random.Random(0))
    view = store.get("m1", "e1")
    assert view is not None
    assert (view.state, view.next_attempt_at, view.attempts[0].error) == ("waiting", 45.0,
                                                                          "timeout")
    assert [r.message_id for r in store.due(45.0)] == ["m1"]


def test_the_attempt_limit_ends_in_failed_exhausted(store: StatusStore) -> None:
    tracker = started(store)
    assert run(tracker, [classify(503)] * 5) == [30.0, 30.0, None]
    assert (tracker.state, tracker.reason, tracker.attempts) == ("failed", "exhausted", 3)
    record = store.query(status="failed")[0]
    assert (record.attempts, record.reason) == (3, "exhausted")


def test_a_retry_window_cut_is_not_called_exhausted(store: StatusStore) -> None:
    # Attempts at 0, 31, 62; the next would start at 93, past the 70 s window.
    windowed = RetryPolicy("w", max_attempts=10, max_window=70.0, backoff=ConstantSchedule(30.0))
    tracker = started(store)
    assert run(tracker, [classify(503)] * 5, policy=windowed) == [30.0, 30.0, None]
    assert (tracker.state, tracker.reason, tracker.attempts) == ("failed", "retry_window", 3)
    assert store.query(status="failed")[0].reason == "retry_window"


def test_a_status_the_policy_never_retries_fails_as_not_retried(store: StatusStore) -> None:
    refusing = POLICY.replace(no_retry_codes=frozenset({400}))
    tracker = started(store)
    assert run(tracker, [classify(500), classify(400)], policy=refusing) == [30.0, None]
    assert (tracker.state, tracker.reason, tracker.attempts) == ("failed", "not_retried", 2)
    assert store.query(status="failed")[0].reason == "not_retried"


def test_410_gone_stops_at_once(store: StatusStore) -> None:
    tracker = started(store)
    assert run(tracker, [classify(500), classify(410)]) == [30.0, None]
    assert (tracker.state, tracker.reason) == ("failed", "gone")


def test_disabling_the_endpoint_fails_a_waiting_delivery(store: StatusStore) -> None:
    tracker = started(store)
    tracker.attempt(0.0)
    tracker.finish(classify(500), now=1.0, policy=POLICY, rng=random.Random(0))
    tracker.disable("too many failures", now=2.0)
    assert (tracker.state, tracker.reason) == ("failed", "disabled: too many failures")
    view = store.get("m1", "e1")
    assert view is not None and view.reason == "disabled: too many failures"


def test_events_the_machine_does_not_allow_are_rejected_without_writing(
    store: StatusStore,
) -> None:
    tracker = started(store)
    tracker.attempt(0.0)
    before = store.history("m1", "e1")
    for illegal in (lambda: tracker.attempt(1.0), lambda: tracker.retry_due(1.0),
                    lambda: tracker.disable("x", 1.0)):
        with pytest.raises(IllegalTransition, match="allowed: respond"):
            illegal()
    tracker.finish(classify(200), now=1.0, policy=POLICY, rng=random.Random(0))
    with pytest.raises(IllegalTransition):
        tracker.finish(classify(200), now=2.0, policy=POLICY, rng=random.Random(0))
    assert len(store.history("m1", "e1")) == len(before) + 2
    assert len(store.attempts()) == 1


def test_a_delivery_is_started_once(store: StatusStore) -> None:
    started(store)
    with pytest.raises(StoreError, match="already tracked"):
        started(store)
    with pytest.raises(StoreError, match="start"):
        DeliveryTracker(store).attempt(0.0)


def test_resume_continues_where_the_store_left_off(store: StatusStore) -> None:
    tracker = started(store)
    tracker.attempt(0.0)
    tracker.finish(classify(500), now=1.0, policy=POLICY, rng=random.Random(0))
    tracker.retry_due(31.0)
    tracker.attempt(31.0)
    resumed = DeliveryTracker.resume(store, "m1", "e1")
    assert (resumed.state, resumed.attempts) == ("sending", 2)
    resumed.finish(classify(500), now=32.0, policy=POLICY, rng=random.Random(0))
    view = store.get("m1", "e1")
    assert view is not None and view.attempts[1].start == 31.0 and view.state == "waiting"
    with pytest.raises(StoreError):
        DeliveryTracker.resume(store, "nope", "e1")


def test_same_seed_gives_the_same_records() -> None:
    jittered = RetryPolicy("j", max_attempts=4, backoff=ConstantSchedule(60.0),
                           jitter=FullJitter())
    runs = []
    for _ in range(2):
        store = MemoryStatusStore()
        run(started(store), [classify(500)] * 4, jittered, seed=7)
        runs.append((store.query(), store.attempts()))
    assert runs[0] == runs[1]
    assert len({a.next_attempt_at for a in runs[0][1]}) == 4


def test_the_diagram_preset_allows_six_attempts() -> None:
    tracker = started(MemoryStatusStore())
    delays = run(tracker, [classify(500)] * 10, get_policy("diagram"))
    assert len(delays) == 6 and delays[-1] is None and tracker.attempts == 6


def test_module_examples_run() -> None:
    result = doctest.testmod(tracking)
    assert result.attempted > 0 and result.failed == 0


def test_a_failed_batch_leaves_tracker_and_sqlite_store_unchanged(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.db")
    tracker = started(store)
    tracker.attempt(0.0)
    # Another writer records attempt 1 first: this tracker's record is out of order.
    other = SqliteStatusStore(tmp_path / "s.db")
    other.record_attempt(AttemptRecord("m1", "e1", 1, 0.0, 0.5, "server_error", 500, None, None))
    with pytest.raises(StoreError, match="out of order"):
        tracker.finish(classify(200), now=1.0, policy=POLICY, rng=random.Random(0))
    assert (tracker.state, tracker.attempts) == ("sending", 1)
    view = store.get("m1", "e1")
    assert view is not None and view.state == "sending"
    other.close()
    store.close()


def test_a_retry_taken_past_the_window_fails_unsent() -> None:
    # the verdict grants the retry at 1 + 90 <= 100 s; the worker takes it only at 150 s
    policy = RetryPolicy("w", max_attempts=50, backoff=ConstantSchedule(90), max_window=100)
    store = MemoryStatusStore()
    tracker = DeliveryTracker(store)
    tracker.start("m", "e", "t", now=0.0)
    tracker.attempt(now=0.0)
    assert tracker.finish(classify(500), now=1.0, policy=policy, rng=random.Random(0)) == 90
    tracker.retry_due(now=150.0)
    assert tracker.expired(150.0, policy)
    assert (tracker.status, tracker.reason, tracker.attempts) == (Status.FAILED,
                                                                   "retry_window", 1)
    on_time = DeliveryTracker(MemoryStatusStore())
    on_time.start("m", "e", "t", now=0.0)
    on_time.attempt(now=0.0)
    on_time.finish(classify(500), now=1.0, policy=policy, rng=random.Random(0))
    on_time.retry_due(now=91.0)
    assert not on_time.expired(91.0, policy) and on_time.state == "retrying"
