"""Hypothesis stateful tests: random attempt outcomes, driven through DeliveryTracker.

Each run tracks several deliveries at once in one store (in memory, or SQLite in a temporary
directory), sends attempts that end in random outcomes, waits out backoffs, disables
endpoints, resumes trackers from the store, and tries moves off the machine's edges. After
every step the store must satisfy the invariants the issue states:

- every status change follows a legal edge (checked against the python-statemachine class,
  not the compiled table the store uses);
- terminal states never change;
- delivered means exactly one 2xx attempt, and it was the last one;
- failed means every attempt failed, and either the attempt limit was reached, the endpoint
  said 410, or it was disabled.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from hooklab.model.backoff import ConstantSchedule, FullJitter
from hooklab.model.delivery import Delivery
from hooklab.model.errors import IllegalTransition
from hooklab.model.outcomes import TRANSPORT_ERRORS, Outcome
from hooklab.model.records import Status
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import (
    STATUS_OF_STATE,
    MemoryStatusStore,
    SqliteStatusStore,
    StatusStore,
)
from hooklab.model.tracking import DeliveryTracker

POLICY = RetryPolicy("stateful", max_attempts=4, backoff=ConstantSchedule(10.0),
                     jitter=FullJitter())
#: Edges read from the machine class itself, independently of the compiled table.
EDGES = {(str(t.source.id), str(t.target.id)) for s in Delivery.states for t in s.transitions}
FINAL = {str(s.id) for s in Delivery.states if s.final}
STATES = [str(s.id) for s in Delivery.states]

outcomes = st.one_of(
    st.sampled_from([200, 201, 204, 301, 400, 401, 404, 410, 429, 500, 502, 503, 504]).map(
        lambda code: Outcome(code)),
    st.sampled_from(TRANSPORT_ERRORS).map(Outcome.transport),
    st.tuples(st.sampled_from([429, 503]), st.floats(0, 100)).map(
        lambda c: Outcome(c[0], retry_after=c[1])),
)


class DeliveryStatusMachine(RuleBasedStateMachine):
    """Random deliveries and outcomes against one status store."""

    deliveries = Bundle("deliveries")

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make_store()
        self.trackers: dict[str, DeliveryTracker] = {}
        self.terminal: dict[str, tuple[object, ...]] = {}
        self.rng = random.Random(0)
        self.now = 0.0
        self.count = 0

    def make_store(self) -> StatusStore:
        return MemoryStatusStore()

    def teardown(self) -> None:
        self.store.close()

    def tick(self, dt: float = 0.5) -> float:
        self.now += dt
        return self.now

    @precondition(lambda self: self.count < 4)
    @rule(target=deliveries)
    def new_delivery(self) -> str:
        self.count += 1
        message_id = f"msg_{self.count}"
        tracker = DeliveryTracker(self.store)
        tracker.start(message_id, f"ep_{self.count % 3}", "invoice.paid", now=self.tick())
        self.trackers[message_id] = tracker
        return message_id

    @rule(message_id=deliveries, outcome=outcomes, took=st.floats(0.0, 20.0))
    def attempt(self, message_id: str, outcome: Outcome, took: float) -> None:
        tracker = self.trackers[message_id]
        if tracker.state == "waiting":
            self.backoff_over(message_id)
        if tracker.state not in ("payload_prepared", "retrying"):
            self.expect_rejected(lambda: tracker.attempt(self.now), message_id)
            return
        number = tracker.attempt(self.tick())
        assert number == len(self.store.attempts(message_id=message_id)) + 1
        delay = tracker.finish(outcome, now=self.tick(took), policy=POLICY, rng=self.rng)
        assert (delay is None) == (tracker.state != "waiting")

    @rule(message_id=deliveries)
    def backoff_over(self, message_id: str) -> None:
        tracker = self.trackers[message_id]
        view = self.store.get(message_id, tracker.endpoint_id)
        assert view is not None
        if view.state != "waiting":
            self.expect_rejected(lambda: tracker.retry_due(self.now), message_id)
            return
        assert view.next_attempt_at is not None
        self.now = max(self.now, view.next_attempt_at)
        tracker.retry_due(self.now)

    @rule(message_id=deliveries, reason=st.sampled_from(["manual", "410 Gone", "too many"]))
    def disable(self, message_id: str, reason: str) -> None:
        tracker = self.trackers[message_id]
        if tracker.state not in ("payload_prepared", "retry_queued", "waiting", "retrying"):
            self.expect_rejected(lambda: tracker.disable(reason, self.now), message_id)
            return
        tracker.disable(reason, self.tick())
        assert tracker.reason == f"disabled: {reason}"

    @rule(message_id=deliveries)
    def resume(self, message_id: str) -> None:
        old = self.trackers[message_id]
        new = DeliveryTracker.resume(self.store, message_id, old.endpoint_id)
        assert (new.state, new.attempts, new.reason) == (old.state, old.attempts, old.reason)
        self.trackers[message_id] = new

    @rule(message_id=deliveries, target_state=st.sampled_from(STATES))
    def illegal_move(self, message_id: str, target_state: str) -> None:
        tracker = self.trackers[message_id]
        if (tracker.state, target_state) in EDGES:
            return  # legal moves are the tracker's business
        self.expect_rejected(
            lambda: self.store.move(message_id, tracker.endpoint_id, target_state, now=self.now),
            message_id,
        )

    def expect_rejected(self, action: object, message_id: str) -> None:
        endpoint_id = self.trackers[message_id].endpoint_id
        before = self.store.get(message_id, endpoint_id)
        try:
            action()  # type: ignore[operator]
        except IllegalTransition:
            pass
        else:
            raise AssertionError(f"an illegal step on {message_id} was accepted")
        assert self.store.get(message_id, endpoint_id) == before

    @invariant()
    def every_status_change_follows_a_legal_edge(self) -> None:
        for message_id, tracker in self.trackers.items():
            history = self.store.history(message_id, tracker.endpoint_id)
            state = "start"
            for change in history:
                assert change.source == state and (change.source, change.target) in EDGES
                state = change.target
            view = self.store.get(message_id, tracker.endpoint_id)
            assert view is not None and view.state == state == tracker.state

    @invariant()
    def terminal_states_never_change(self) -> None:
        for message_id, tracker in self.trackers.items():
            view = self.store.get(message_id, tracker.endpoint_id)
            assert view is not None
            if message_id in self.terminal:
                assert self.terminal[message_id] == (view.state, view.reason, view.attempts,
                                                     view.finished_at)
            elif view.state in FINAL:
                self.terminal[message_id] = (view.state, view.reason, view.attempts,
                                             view.finished_at)

    @invariant()
    def delivered_means_one_2xx_attempt_and_it_was_the_last(self) -> None:
        for record in self.store.query(status=Status.DELIVERED):
            attempts = self.store.attempts(message_id=record.message_id)
            successes = [a for a in attempts if 200 <= a.status_code < 300 and not a.error]
            assert len(successes) == 1 and successes[0] == attempts[-1]
            assert record.attempts == len(attempts) and record.finished_at == attempts[-1].end

    @invariant()
    def failed_means_all_attempts_failed_and_a_reason_to_stop(self) -> None:
        for record in self.store.query(status=Status.FAILED):
            attempts = self.store.attempts(message_id=record.message_id)
            assert all(not 200 <= a.status_code < 300 or a.error for a in attempts)
            if record.reason == "exhausted":
                assert len(attempts) == POLICY.max_attempts
            elif record.reason == "gone":
                assert attempts[-1].status_code == 410
            else:
                assert record.reason is not None and record.reason.startswith("disabled: ")

    @invariant()
    def status_is_the_projection_of_the_state(self) -> None:
        counts = self.store.counts()
        for tracker in self.trackers.values():
            assert tracker.status is STATUS_OF_STATE[tracker.state]
        assert sum(counts.values()) == len(self.trackers)
        for status, n in counts.items():
            assert len(self.store.query(status=status)) == n


class SqliteDeliveryStatusMachine(DeliveryStatusMachine):
    """The same rules and invariants against SQLite in a temporary directory."""

    def make_store(self) -> StatusStore:
        self.tmp = tempfile.TemporaryDirectory()
        return SqliteStatusStore(Path(self.tmp.name) / "status.db")

    def teardown(self) -> None:
        super().teardown()
        self.tmp.cleanup()


TestMemoryStatusStore = DeliveryStatusMachine.TestCase
TestMemoryStatusStore.settings = settings(max_examples=150, stateful_step_count=40,
                                          deadline=None)
TestSqliteStatusStore = SqliteDeliveryStatusMachine.TestCase
TestSqliteStatusStore.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
