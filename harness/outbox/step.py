"""The worker's step on the durable outbox: record a batch of results, claim the next batch.

:meth:`Outbox.cycle <hooklab.harness.outbox.Outbox.cycle>` runs one :class:`Step` in one
``BEGIN IMMEDIATE`` transaction. Each result's lease is checked, its attempt finished
through the delivery's :class:`~hooklab.model.tracking.DeliveryTracker` (so the status moves
only along the Delivery machine's edges) and its retry scheduled; then due deliveries are
claimed with a lease and moved to ``sending``: each is a :class:`Claim`, and what came back
for it a :class:`Result`. A delivery still ``sending`` whose lease expired lost its attempt:
it is recorded as a timeout (the answer :data:`LOST`) and retried by the policy.

Speed: the step reads what it needs at once (the leases of all results, the deliveries
it claims) and keeps its writes in memory (:meth:`OutboxDB.buffered
<hooklab.harness.outbox.db.OutboxDB.buffered>`: moves, attempts, events and schedule
changes), to write each table with one statement before it reads them or commits. Should
one delivery fail (a corrupt row, an illegal move), the transaction is rolled back and done
again *carefully*: each delivery on its own, in a savepoint, written at once; the bad one is
noted (a ``delivery_error`` event) and put aside. A refusal of the domain (an illegal move:
the row was changed behind the outbox's back) puts it aside for a minute, by when it has
usually settled; anything else its data raises (a state the Delivery machine does not
have, a value the code cannot read) *quarantines* it: it is no longer due
(``lease_owner`` :data:`QUARANTINED`), ``hooklab status`` lists it, and ``hooklab resend``
starts it afresh once looked at. A database fault (locked, disk full, I/O) is no delivery's
fault: it aborts the step, and the worker retries the whole step later.

Example::

    >>> import random
    >>> from hooklab.model.endpoints import Endpoint
    >>> from hooklab.harness.outbox import Message, Outbox
    >>> outbox = Outbox(":memory:")
    >>> _ = outbox.registry.register(Endpoint("ep_1", "https://example.com/hooks",
    ...                              ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)))
    >>> _ = outbox.send(Message("msg_1", "invoice.paid", b"{}"), now=0.0)
    >>> [c.attempt for c in outbox.cycle("w", [], claim=5, now=1.0, lease=lambda e: 30.0,
    ...                                  policy_for=Endpoint.retry_policy,
    ...                                  rng=random.Random(0))]
    [1]
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from hooklab.model import sqlite
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import HooklabError, UnknownEndpoint
from hooklab.model.outcomes import Outcome, OutcomeKind
from hooklab.model.records import FailureReason
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import DeliveryView
from hooklab.model.tracking import DeliveryTracker

from ..sender import Message
from . import admin
from .db import QUARANTINED, CorruptRow, OutboxDB, database_fault, endpoint_filter
from .health import AutoDisable

__all__ = ["LOST", "QUARANTINED", "Claim", "PolicyFor", "Result", "Step", "run_step"]

#: The answer recorded for an attempt whose worker stopped before recording it.
LOST = ("lease expired before the attempt's answer was recorded "
        "(the worker stopped or was killed)")
#: How long a delivery the domain refused (an illegal move) is put aside, in seconds.
PUT_ASIDE = 60.0
Key = tuple[str, str]
#: The retry policy a step applies to an endpoint's deliveries.
PolicyFor = Callable[[Endpoint], RetryPolicy]


class Claim(NamedTuple):
    """One leased delivery, moved to ``sending``: what a worker posts."""

    message: Message
    endpoint: Endpoint
    generation: int
    attempt: int
    tracker: DeliveryTracker


class Result(NamedTuple):
    """What came back for a claim: the outcome, the start of the body, when.
    ``dropped``: the claim was never posted because its endpoint was disabled meanwhile;
    its attempt is recorded as not sent and the delivery fails ``disabled: <why>`` (if
    the endpoint is enabled again by then, it is retried by the policy)."""

    claim: Claim
    outcome: Outcome
    body: bytes
    start: float
    end: float
    dropped: bool = False


def run_step(db: OutboxDB, owner: str, results: list[Result], *, claim: int, now: float,
             lease: Callable[[Endpoint], float], policy_for: PolicyFor, rng: Any,
             auto: AutoDisable, only: tuple[str, ...] | None, wait: bool,
             ) -> list[Claim] | None:
    """What :meth:`Outbox.cycle <hooklab.harness.outbox.Outbox.cycle>` does (see there);
    after a ``wait=False`` lock attempt, the usual busy timeout is restored."""
    for careful in (False, True):
        begun = False
        try:
            if not wait:
                db.busy_timeout(0)
            with sqlite.errors(db.path), db.transaction():
                begun = True
                if not wait:  # the write lock is ours: from here on, as usual
                    db.busy_timeout()
                step = Step(db, owner, now, lease, policy_for, rng, auto, careful)
                with step.fast():
                    db.health.begin()
                    step.complete_all(results)
                    return step.claim(claim, only)
        except Exception as exc:
            if not begun and not wait and _busy(exc):
                return None
            if careful or not begun or database_fault(exc):
                raise
        finally:
            if not wait and not begun:
                db.busy_timeout()
    raise AssertionError("unreachable")  # pragma: no cover


class Step:
    """One step inside its transaction; ``careful`` does each delivery on its own."""

    def __init__(self, db: OutboxDB, owner: str, now: float,
                 lease: Callable[[Endpoint], float], policy_for: PolicyFor, rng: Any,
                 auto: AutoDisable, careful: bool) -> None:
        self.db, self.store, self.conn = db, db.store, db.conn
        self.owner, self.now, self.lease = owner, now, lease
        self.policy_for, self.rng, self.auto, self.careful = policy_for, rng, auto, careful
        self.cache: dict[str, Endpoint | None] = {}

    @contextmanager
    def fast(self) -> Iterator[None]:
        """Unless careful: keep the step's writes in memory, write them together."""
        if self.careful:
            yield
            return
        with self.db.buffered():
            yield

    @contextmanager
    def guarded(self, message_id: str, endpoint_id: str) -> Iterator[None]:
        """When careful: one delivery in a savepoint; its failure is noted, not raised."""
        if not self.careful:
            yield
            return
        try:
            with self._savepoint():
                yield
        except Exception as exc:
            if database_fault(exc):
                raise
            if isinstance(exc, HooklabError) and not isinstance(exc, CorruptRow):
                self.db.event(self.now, "delivery_error", endpoint_id, message_id,
                              f"{exc}; put aside for {PUT_ASIDE:g} s")
                self.db.schedule(message_id, endpoint_id, self.now + PUT_ASIDE)
                return
            why = str(exc) if isinstance(exc, CorruptRow) else f"{type(exc).__name__}: {exc}"
            self.db.quarantine(self.now, message_id, endpoint_id, why)

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self.conn.execute("SAVEPOINT one")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO one")
            self.conn.execute("RELEASE one")
            raise
        self.conn.execute("RELEASE one")

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        """The endpoint (``None`` if removed), read once per step."""
        if endpoint_id not in self.cache:
            try:
                self.cache[endpoint_id] = self.db.registry.get(endpoint_id)
            except UnknownEndpoint:
                self.cache[endpoint_id] = None
        return self.cache[endpoint_id]

    # -- recording results ----------------------------------------------------------------

    def complete_all(self, results: list[Result]) -> None:
        """Record every result whose lease still holds."""
        leases = None if self.careful else self._leases(results)
        for result in results:
            with self.guarded(result.claim.message.id, result.claim.endpoint.id):
                self._complete(result, leases)

    def _leases(self, results: list[Result]) -> dict[Key, tuple[Any, ...]]:
        """The lease (owner, generation) of each result's delivery, read at once."""
        keys = {(r.claim.message.id, r.claim.endpoint.id) for r in results}
        ids = sorted({m for m, _ in keys})
        leases = {}
        for first in range(0, len(ids), 500):
            chunk = ids[first:first + 500]
            for m, e, lease_owner, generation in self.conn.execute(
                    "SELECT message_id, endpoint_id, lease_owner, generation FROM "
                    f"outbox_deliveries WHERE message_id IN ({', '.join('?' * len(chunk))})",
                    chunk):
                if (m, e) in keys:
                    leases[(m, e)] = (lease_owner, generation)
        return leases

    def _complete(self, result: Result, leases: dict[Key, tuple[Any, ...]] | None) -> None:
        claim = result.claim
        key = (claim.message.id, claim.endpoint.id)
        if leases is not None:
            row = leases.get(key)
        else:
            row = self.conn.execute(
                "SELECT lease_owner, generation FROM outbox_deliveries WHERE message_id = ? "
                "AND endpoint_id = ?", key).fetchone()
        if row is None or tuple(row) != (self.owner, claim.generation):
            self.db.event(self.now, "lease_lost", key[1], key[0],
                               f"attempt {claim.attempt}: answer dropped, the lease had "
                               "expired")
            return
        # After a rollback the claim's tracker may be ahead of the database: read it again.
        tracker = self.db.resume(*key) if self.careful else claim.tracker
        delay = tracker.finish(result.outcome, now=result.end,
                               policy=self.policy_for(claim.endpoint), rng=self.rng,
                               body=result.body)
        due = None if delay is None else result.end + delay
        if result.dropped and not tracker.done and self.stopped(tracker,
                                                                self.endpoint(key[1])):
            return  # never posted: nothing to count against the endpoint
        why = result.body[:160].decode("utf-8", "replace") if result.outcome.error else ""
        self.settle(tracker, result.outcome, due, why)

    def settle(self, tracker: DeliveryTracker, outcome: Outcome, due: float | None,
               why: str = "") -> None:
        """After an attempt: schedule the retry or finish, count for auto-disable, log."""
        db, now = self.db, self.now
        message_id, endpoint_id = tracker.message_id, tracker.endpoint_id
        if outcome.kind is OutcomeKind.SUCCESS:
            db.health.success(endpoint_id, now)
        else:
            label = f"{outcome.label} ({why})" if why else outcome.label
            nxt = "" if due is None else f"; next attempt in {max(0.0, due - now):.3g} s"
            db.health.failure(endpoint_id, message_id, now,
                              f"attempt {tracker.attempts}: {label}{nxt}")
        if tracker.done:
            self.settle_unsent(tracker)
            return
        if not self.stopped(tracker, self.endpoint(endpoint_id)):
            db.schedule(message_id, endpoint_id, now if due is None else due)

    def settle_unsent(self, tracker: DeliveryTracker) -> None:
        """A delivery that ended: unschedule it and, if it failed, count it for
        auto-disable (also one failed unsent, its retry claimed past the window)."""
        db, now = self.db, self.now
        message_id, endpoint_id = tracker.message_id, tracker.endpoint_id
        db.schedule(message_id, endpoint_id, None)
        if tracker.state == "failed":
            reason = db.health.exhausted(endpoint_id, message_id, now, self.auto,
                                         gone=tracker.reason == FailureReason.GONE)
            if reason is not None:
                admin.disable(db, endpoint_id, reason, now=now, cache=self.cache)

    def stopped(self, tracker: DeliveryTracker, endpoint: Endpoint | None) -> bool:
        """Fail the delivery (``disabled: <why>``) if its endpoint is disabled or gone."""
        if endpoint is not None and endpoint.enabled:
            return False
        why = "endpoint removed" if endpoint is None else endpoint.disabled_reason
        tracker.disable(why or "endpoint disabled", self.now)
        self.db.schedule(tracker.message_id, tracker.endpoint_id, None)
        return True

    # -- claiming -------------------------------------------------------------------------

    def claim(self, limit: int, only: tuple[str, ...] | None) -> list[Claim]:
        """Lease up to ``limit`` due deliveries (to the endpoints in ``only``)."""
        # BEGIN IMMEDIATE holds the write lock from this read to the lease writes below,
        # so no other worker can claim the same rows in between.
        if limit <= 0:
            return []
        self.db.flush()  # a retry scheduled in this step may be due already
        where, params = endpoint_filter(only)
        rows = self.conn.execute(
            "SELECT d.message_id, d.endpoint_id, d.generation, m.event_type, m.body "
            "FROM outbox_deliveries d JOIN outbox_messages m ON m.id = d.message_id "
            f"WHERE d.due_at <= ?{where} ORDER BY d.due_at LIMIT ?",
            (self.now, *params, limit)).fetchall()
        views = {} if self.careful else self.store.get_many([(r[0], r[1]) for r in rows])
        claims = []
        for message_id, endpoint_id, generation, event_type, body in rows:
            with self.guarded(message_id, endpoint_id):
                message = Message(message_id, event_type, bytes(body))
                claimed = self._claim_one(message, endpoint_id, generation,
                                          views.get((message_id, endpoint_id)))
                if claimed is not None:
                    claims.append(claimed)
        return claims

    def _claim_one(self, message: Message, endpoint_id: str, generation: int,
                   view: DeliveryView | None) -> Claim | None:
        now = self.now
        tracker = self.db.resume(message.id, endpoint_id, view)
        endpoint = self.endpoint(endpoint_id)
        if tracker.state == "sending":  # its worker stopped: the attempt is lost
            self.db.event(now, "lease_expired", endpoint_id, message.id,
                          f"attempt {tracker.attempts} lost; recorded as a timeout")
            policy = (self.policy_for(endpoint) if endpoint is not None
                      else RetryPolicy("lost", 1))
            lost = Outcome.transport("timeout")
            delay = tracker.finish(lost, now=now, policy=policy, rng=self.rng, body=LOST)
            self.settle(tracker, lost, None if delay is None else now + delay)
            return None
        if tracker.done:
            self.db.schedule(message.id, endpoint_id, None)
            return None
        if self.stopped(tracker, endpoint):
            return None
        assert endpoint is not None
        if tracker.state == "waiting":
            tracker.retry_due(now)
            if tracker.expired(now, self.policy_for(endpoint)):  # claimed past max_window
                self.settle_unsent(tracker)
                return None
        number = tracker.attempt(now)
        self.db.schedule(message.id, endpoint_id, now + self.lease(endpoint), self.owner)
        return Claim(message, endpoint, generation, number, tracker)


def _busy(exc: BaseException) -> bool:
    """Whether ``exc`` says another connection holds the database's lock."""
    cause = exc.__cause__
    return isinstance(cause, sqlite3.OperationalError) and getattr(
        cause, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
