"""The worker's step on the durable outbox: record a batch of results, claim the next batch.

:meth:`Outbox.cycle <hooklab.harness.outbox.Outbox.cycle>` runs one :class:`Step` in one
``BEGIN IMMEDIATE`` transaction. Each result's lease is checked, its attempt finished
through the delivery's :class:`~hooklab.model.tracking.DeliveryTracker` (so the status moves
only along the Delivery machine's edges) and its retry scheduled; then due deliveries are
claimed with a lease and moved to ``sending``. A delivery still ``sending`` whose lease
expired lost its attempt: it is recorded as a timeout and retried by the policy.

Speed: the step reads what it needs at once (the leases of all results, the deliveries
it claims) and keeps its writes in memory (:meth:`SqliteStatusStore.deferred
<hooklab.model.status.SqliteStatusStore.deferred>` for moves and attempts, the
outbox's events and schedule changes), to write each table with one statement before it
reads them or commits. Should one delivery fail (a corrupt row, an illegal move), the
transaction is rolled back and done again *carefully*: each delivery on its own, in a
savepoint, written at once; the bad one is noted (``delivery_error``) and put aside.

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
from typing import TYPE_CHECKING, Any

from hooklab.model import sqlite
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import HooklabError, UnknownEndpoint
from hooklab.model.outcomes import Outcome, OutcomeKind
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import DeliveryView
from hooklab.model.tracking import DeliveryTracker

from .outbox_health import AutoDisable
from .sender import Message

if TYPE_CHECKING:
    from .outbox import Claim, Outbox, PolicyFor, Result

__all__ = ["LOST", "Step", "run_step"]

LOST = ("lease expired before the attempt's answer was recorded "
        "(the worker stopped or was killed)")
Key = tuple[str, str]


def run_step(outbox: Outbox, owner: str, results: list[Result], *, claim: int, now: float,
             lease: Callable[[Endpoint], float], policy_for: PolicyFor, rng: Any,
             auto: AutoDisable, only: tuple[str, ...] | None, wait: bool,
             busy_ms: int) -> list[Claim] | None:
    """What :meth:`Outbox.cycle <hooklab.harness.outbox.Outbox.cycle>` does (see there);
    ``busy_ms`` is the connection's usual busy timeout, restored after a ``wait=False``
    lock attempt."""
    conn = outbox._conn
    for careful in (False, True):
        begun = False
        try:
            if not wait:
                conn.execute("PRAGMA busy_timeout = 0")
            with sqlite.errors(outbox.path), outbox.transaction():
                begun = True
                if not wait:  # the write lock is ours: from here on, as usual
                    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
                step = Step(outbox, owner, now, lease, policy_for, rng, auto, careful)
                with step.fast():
                    outbox.health.begin()
                    step.complete_all(results)
                    return step.claim(claim, only)
        except HooklabError as exc:
            if not begun and not wait and _busy(exc):
                return None
            if careful or not begun:
                raise
        finally:
            if not wait and not begun:
                conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    raise AssertionError("unreachable")  # pragma: no cover


class Step:
    """One step inside its transaction; ``careful`` does each delivery on its own."""

    def __init__(self, outbox: Outbox, owner: str, now: float,
                 lease: Callable[[Endpoint], float], policy_for: PolicyFor, rng: Any,
                 auto: AutoDisable, careful: bool) -> None:
        self.outbox, self.store, self.conn = outbox, outbox.store, outbox._conn
        self.owner, self.now, self.lease = owner, now, lease
        self.policy_for, self.rng, self.auto, self.careful = policy_for, rng, auto, careful
        self.cache: dict[str, Endpoint | None] = {}

    @contextmanager
    def fast(self) -> Iterator[None]:
        """Unless careful: keep the step's writes in memory, write them together."""
        outbox = self.outbox
        if self.careful:
            yield
            return
        with self.store.deferred():
            outbox._events_out, outbox._schedules_out = [], []
            try:
                yield
                outbox._flush_out()
            finally:
                outbox._events_out = outbox._schedules_out = None

    @contextmanager
    def guarded(self, message_id: str, endpoint_id: str) -> Iterator[None]:
        """When careful: one delivery in a savepoint; its failure is noted, not raised."""
        if not self.careful:
            yield
            return
        try:
            with self._savepoint():
                yield
        except HooklabError as exc:
            self.outbox._event(self.now, "delivery_error", endpoint_id, message_id, str(exc))
            self.outbox._schedule(message_id, endpoint_id, self.now + 60.0)

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
                self.cache[endpoint_id] = self.outbox.registry.get(endpoint_id)
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
            self.outbox._event(self.now, "lease_lost", key[1], key[0],
                               f"attempt {claim.attempt}: answer dropped, the lease had "
                               "expired")
            return
        # After a rollback the claim's tracker may be ahead of the database: read it again.
        tracker = DeliveryTracker.resume(self.store, *key) if self.careful else claim.tracker
        delay = tracker.finish(result.outcome, now=result.end,
                               policy=self.policy_for(claim.endpoint), rng=self.rng,
                               body=result.body)
        due = None if delay is None else result.end + delay
        why = result.body[:160].decode("utf-8", "replace") if result.outcome.error else ""
        self.settle(tracker, result.outcome, due, why)

    def settle(self, tracker: DeliveryTracker, outcome: Outcome, due: float | None,
               why: str = "") -> None:
        """After an attempt: schedule the retry or finish, count for auto-disable, log."""
        outbox, now = self.outbox, self.now
        message_id, endpoint_id = tracker.message_id, tracker.endpoint_id
        if outcome.kind is OutcomeKind.SUCCESS:
            outbox.health.success(endpoint_id, now)
        else:
            label = f"{outcome.label} ({why})" if why else outcome.label
            nxt = "" if due is None else f"; next attempt in {max(0.0, due - now):.3g} s"
            outbox.health.failure(endpoint_id, message_id, now,
                                  f"attempt {tracker.attempts}: {label}{nxt}")
        if tracker.done:
            outbox._schedule(message_id, endpoint_id, None)
            if tracker.state == "failed":
                reason = outbox.health.exhausted(endpoint_id, message_id, now, self.auto,
                                                 gone=tracker.reason == "gone")
                if reason is not None:
                    outbox.disable_endpoint(endpoint_id, reason, now=now, cache=self.cache)
            return
        if not self.stopped(tracker, self.endpoint(endpoint_id)):
            outbox._schedule(message_id, endpoint_id, now if due is None else due)

    def stopped(self, tracker: DeliveryTracker, endpoint: Endpoint | None) -> bool:
        """Fail the delivery (``disabled: <why>``) if its endpoint is disabled or gone."""
        if endpoint is not None and endpoint.enabled:
            return False
        why = "endpoint removed" if endpoint is None else endpoint.disabled_reason
        tracker.disable(why or "endpoint disabled", self.now)
        self.outbox._schedule(tracker.message_id, tracker.endpoint_id, None)
        return True

    # -- claiming -------------------------------------------------------------------------

    def claim(self, limit: int, only: tuple[str, ...] | None) -> list[Claim]:
        """Lease up to ``limit`` due deliveries (to the endpoints in ``only``)."""
        # BEGIN IMMEDIATE holds the write lock from this read to the lease writes below,
        # so no other worker can claim the same rows in between.
        from .outbox import _only

        if limit <= 0:
            return []
        self.outbox._flush_out()  # a retry scheduled in this step may be due already
        where, params = _only(only)
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
        from .outbox import Claim

        now = self.now
        if view is not None:
            tracker = DeliveryTracker.from_view(self.store, view)
        else:
            tracker = DeliveryTracker.resume(self.store, message.id, endpoint_id)
        endpoint = self.endpoint(endpoint_id)
        if tracker.state == "sending":  # its worker stopped: the attempt is lost
            self.outbox._event(now, "lease_expired", endpoint_id, message.id,
                               f"attempt {tracker.attempts} lost; recorded as a timeout")
            policy = (self.policy_for(endpoint) if endpoint is not None
                      else RetryPolicy("lost", 1))
            lost = Outcome.transport("timeout")
            delay = tracker.finish(lost, now=now, policy=policy, rng=self.rng, body=LOST)
            self.settle(tracker, lost, None if delay is None else now + delay)
            return None
        if tracker.done:
            self.outbox._schedule(message.id, endpoint_id, None)
            return None
        if self.stopped(tracker, endpoint):
            return None
        if tracker.state == "waiting":
            tracker.retry_due(now)
        number = tracker.attempt(now)
        assert endpoint is not None
        self.outbox._schedule(message.id, endpoint_id, now + self.lease(endpoint), self.owner)
        return Claim(message, endpoint, generation, number, tracker)


def _busy(exc: BaseException) -> bool:
    """Whether ``exc`` says another connection holds the database's lock."""
    cause = exc.__cause__
    return isinstance(cause, sqlite3.OperationalError) and getattr(
        cause, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
