"""The durable outbox: messages queued in SQLite, claimed with leases, never lost.

One SQLite file (WAL mode) holds everything a sender must not forget: the endpoint
registry (:class:`~hooklab.model.registry.SqliteRegistry`), the status store with every
delivery's Delivery-machine state, attempts and state changes
(:class:`~hooklab.model.status_sqlite.SqliteStatusStore`, driven only through
:class:`~hooklab.model.tracking.DeliveryTracker`, so a status moves only along the
machine's edges), and the outbox's own tables:

- ``outbox_messages``: each message's id (its idempotency key), event type and raw body;
- ``outbox_deliveries``: per message and endpoint, the delivery *generation*, when it is
  next due, and the lease (``lease_owner``; while leased, ``due_at`` is the lease's end,
  so an expired lease is simply due again). ``due_at`` is NULL once delivered or failed;
- ``outbox_generations``: earlier generations of a delivery that a manual resend or a
  recovery restarted (failed is terminal in the Delivery machine, so a resend is a new
  machine for the same message id; the old one is archived here with its attempts);
- ``outbox_events``: operational events (attempt failing, message exhausted, endpoint
  disabled, enabled or recovered, lease expired...);
- ``outbox_endpoint_health``: what auto-disable counts per endpoint.

All stores share one connection, so each step is one ``BEGIN IMMEDIATE`` transaction:
a message and its fan-out are durable when :meth:`Outbox.send` returns; :meth:`Outbox.cycle`
records a batch of attempt results and claims the next batch of due deliveries atomically.
A worker killed at any moment leaves leases that expire; the next claim finds such a
delivery still ``sending``, records that attempt as lost (a timeout: the answer never
reached the database) and retries it by the policy: at least once, same message id.

Example::

    >>> from hooklab.model.endpoints import Endpoint
    >>> outbox = Outbox(":memory:")
    >>> _ = outbox.registry.register(Endpoint("ep_1", "https://example.com/hooks",
    ...                              ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)))
    >>> outbox.send(Message("msg_1", "invoice.paid", b"{}"), now=0.0).endpoints
    ('ep_1',)
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from hooklab.model import sqlite
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import ConfigError, HooklabError, UnknownEndpoint
from hooklab.model.outcomes import Outcome, OutcomeKind
from hooklab.model.registry import SqliteRegistry
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import DeliveryView
from hooklab.model.status_sqlite import SqliteStatusStore
from hooklab.model.tracking import DeliveryTracker

from .outbox_health import AutoDisable, Health
from .sender import Message

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "AutoDisable",
    "Claim",
    "Message",
    "Outbox",
    "Result",
    "SendResult",
    "UnknownMessage",
]

#: The largest message body :meth:`Outbox.send` accepts, in bytes.
DEFAULT_MAX_PAYLOAD = 1024 * 1024
_ID = re.compile(r"[\x21-\x7e]{1,255}")
_TYPE = re.compile(r"[^.*\s]+(?:\.[^.*\s]+)*")
LOST = ("lease expired before the attempt's answer was recorded "
        "(the worker stopped or was killed)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_messages (
    id TEXT PRIMARY KEY, event_type TEXT NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_deliveries (
    message_id TEXT NOT NULL REFERENCES outbox_messages (id),
    endpoint_id TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 1,
    due_at REAL,
    lease_owner TEXT,
    PRIMARY KEY (message_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS outbox_deliveries_due ON outbox_deliveries (due_at)
    WHERE due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox_generations (
    message_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, generation INTEGER NOT NULL,
    state TEXT NOT NULL, reason TEXT, created_at REAL, finished_at REAL,
    closed_at REAL NOT NULL, cause TEXT NOT NULL, attempts TEXT NOT NULL,
    history TEXT NOT NULL,
    PRIMARY KEY (message_id, endpoint_id, generation)
);
CREATE TABLE IF NOT EXISTS outbox_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, kind TEXT NOT NULL,
    endpoint_id TEXT, message_id TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS outbox_events_endpoint ON outbox_events (endpoint_id, seq);
"""


class UnknownMessage(ConfigError, KeyError):
    """A message id that the outbox does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SendResult(NamedTuple):
    """What :meth:`Outbox.send` did: ``created`` is False when the id was already queued
    (the id is an idempotency key); ``endpoints`` lists the deliveries it has."""

    message_id: str
    created: bool
    endpoints: tuple[str, ...]


class Claim(NamedTuple):
    """One leased delivery, moved to ``sending``: what a worker posts."""

    message: Message
    endpoint: Endpoint
    generation: int
    attempt: int
    tracker: DeliveryTracker


class Result(NamedTuple):
    """What came back for a claim: the outcome, the start of the body, when."""

    claim: Claim
    outcome: Outcome
    body: bytes
    start: float
    end: float


PolicyFor = Callable[[Endpoint], RetryPolicy]


class Outbox:
    """The outbox over one SQLite file; see the module docstring.

    ``timeout`` is how long a write waits for another process's lock before failing with
    :class:`~hooklab.model.errors.StoreError` ("database is locked"). ``synchronous`` is
    SQLite's setting for this connection (see :meth:`durability`).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = sqlite.BUSY_TIMEOUT,
                 synchronous: str = "FULL") -> None:
        self.path = os.fspath(path)
        self._busy_ms = int(timeout * 1000)
        # One connection for every store, so each step is one transaction.
        self._db = sqlite.Database(self.path, timeout=timeout)
        self.store = SqliteStatusStore(self._db)
        self.registry = SqliteRegistry(self._db)
        self._conn = self._db.conn
        # A worker's step keeps its events and schedule changes here and writes each list
        # with one statement (see :meth:`_fast`); None outside a step.
        self._events_out: list[tuple[Any, ...]] | None = None
        self._schedules_out: list[tuple[Any, ...]] | None = None
        with sqlite.errors(self.path):
            self._conn.executescript(_SCHEMA)
            self.health = Health(self._conn, self._event)
        self.durability(synchronous)

    def durability(self, synchronous: str) -> None:
        """``FULL`` (the default) syncs the log at every commit, so what :meth:`send`
        committed survives a power cut; ``NORMAL`` syncs at checkpoints only, so a commit
        survives a crash of the process but a power cut may undo the last ones. A worker
        uses ``NORMAL``: what a power cut undoes is its progress, which it redoes (the
        deliveries are attempted again: at least once), never a sent message, which an
        earlier ``FULL`` commit made durable."""
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ConfigError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        with sqlite.errors(self.path):
            self._conn.execute(f"PRAGMA synchronous={synchronous}")

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One ``BEGIN IMMEDIATE`` transaction over every table (nests)."""
        with self.store.batch():
            yield self._conn

    @contextmanager
    def _fast(self, on: bool) -> Iterator[None]:
        """Inside a transaction: keep the step's writes in memory (the store's moves and
        attempts, events, schedule changes) and write them together at the end."""
        if not on:
            yield
            return
        with self.store.deferred():
            self._events_out, self._schedules_out = [], []
            try:
                yield
                self._flush_out()
            finally:
                self._events_out = self._schedules_out = None

    def _flush_out(self) -> None:
        """Write the events and schedule changes a step holds (before reading them)."""
        if self._events_out:
            self._conn.executemany(
                "INSERT INTO outbox_events (at, kind, endpoint_id, message_id, detail) "
                "VALUES (?, ?, ?, ?, ?)", self._events_out)
            self._events_out.clear()
        if self._schedules_out:
            self._conn.executemany(
                "UPDATE outbox_deliveries SET due_at = ?, lease_owner = ? "
                "WHERE message_id = ? AND endpoint_id = ?", self._schedules_out)
            self._schedules_out.clear()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._flush_out()
        self.store.flush()
        self._conn.execute("SAVEPOINT one")
        try:
            yield
            self._flush_out()
            self.store.flush()
        except BaseException:
            self.store.forget()
            if self._events_out is not None and self._schedules_out is not None:
                self._events_out.clear()
                self._schedules_out.clear()
            self._conn.execute("ROLLBACK TO one")
            self._conn.execute("RELEASE one")
            raise
        self._conn.execute("RELEASE one")

    def _event(self, at: float, kind: str, endpoint_id: str | None,
               message_id: str | None = None, detail: str | None = None) -> None:
        if self._events_out is not None:
            self._events_out.append((at, kind, endpoint_id, message_id, detail))
            return
        self._conn.execute(
            "INSERT INTO outbox_events (at, kind, endpoint_id, message_id, detail) "
            "VALUES (?, ?, ?, ?, ?)", (at, kind, endpoint_id, message_id, detail))

    def _schedule(self, message_id: str, endpoint_id: str, due_at: float | None,
                  owner: str | None = None) -> None:
        if self._schedules_out is not None:
            self._schedules_out.append((due_at, owner, message_id, endpoint_id))
            return
        self._conn.execute(
            "UPDATE outbox_deliveries SET due_at = ?, lease_owner = ? "
            "WHERE message_id = ? AND endpoint_id = ?", (due_at, owner, message_id, endpoint_id))

    def close(self) -> None:
        """Close the database (the shared connection of the stores)."""
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending --------------------------------------------------------------------------

    def send(self, message: Message, *, now: float,
             max_payload: int = DEFAULT_MAX_PAYLOAD) -> SendResult:
        """Queue ``message`` for every endpoint whose filter matches its type; durable
        when this returns. A matching *disabled* endpoint gets its delivery recorded as
        failed (``disabled: <reason>``), so it is kept and :meth:`recover` can replay it.
        The same id again enqueues nothing (a different payload under it is an error)."""
        return self.send_many([message], now=now, max_payload=max_payload)[0]

    def send_many(self, messages: Iterable[Message], *, now: float,
                  max_payload: int = DEFAULT_MAX_PAYLOAD) -> list[SendResult]:
        """:meth:`send` for many messages in one transaction."""
        checked = [_check_message(m, max_payload) for m in messages]
        results = []
        with self.transaction():
            endpoints = self.registry.list()
            for message in checked:
                results.append(self._send_one(message, endpoints, now))
        return results

    def _send_one(self, message: Message, endpoints: list[Endpoint], now: float) -> SendResult:
        old = self._conn.execute("SELECT event_type, body FROM outbox_messages WHERE id = ?",
                                 (message.id,)).fetchone()
        if old is not None:
            if (old[0], bytes(old[1])) != (message.event_type, message.body):
                raise ConfigError(f"message id {message.id!r} was already sent with a "
                                  "different payload; a message id is an idempotency key")
            rows = self._conn.execute("SELECT endpoint_id FROM outbox_deliveries WHERE "
                                      "message_id = ? ORDER BY rowid", (message.id,))
            return SendResult(message.id, False, tuple(r[0] for r in rows))
        self._conn.execute("INSERT INTO outbox_messages VALUES (?, ?, ?, ?)",
                           (message.id, message.event_type, message.body, now))
        targets = []
        for endpoint in endpoints:
            if endpoint.accepts(message.event_type):
                self._start(message.id, endpoint, message.event_type, 1, now)
                targets.append(endpoint.id)
        return SendResult(message.id, True, tuple(targets))

    def _start(self, message_id: str, endpoint: Endpoint, event_type: str, generation: int,
               now: float) -> None:
        tracker = DeliveryTracker(self.store)
        tracker.start(message_id, endpoint.id, event_type, now=now)
        due: float | None = now
        if not endpoint.enabled:
            tracker.disable(endpoint.disabled_reason or "endpoint disabled", now)
            due = None
        self._conn.execute(
            "INSERT INTO outbox_deliveries (message_id, endpoint_id, generation, due_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET generation = excluded.generation, "
            "due_at = excluded.due_at, lease_owner = NULL",
            (message_id, endpoint.id, generation, due))

    # -- the worker's step ----------------------------------------------------------------

    def cycle(self, owner: str, results: Iterable[Result], *, claim: int, now: float,
              lease: Callable[[Endpoint], float], policy_for: PolicyFor, rng: Any,
              auto: AutoDisable | None = None,
              only: tuple[str, ...] | None = None, wait: bool = True) -> list[Claim] | None:
        """Record ``results`` of ``owner``'s attempts, then claim up to ``claim`` due
        deliveries for it (to the endpoints in ``only``, if given): one transaction.
        Returns the new claims, each in ``sending``. With ``wait=False`` it does nothing
        and returns ``None`` when another connection holds the write lock, instead of
        waiting up to the busy timeout for it (so an event loop may call it directly).

        Should one delivery fail (a corrupt row, an illegal move), the transaction is
        rolled back and done again with each delivery on its own: the bad one is noted
        (``delivery_error``) and put aside for a minute; the others go on."""
        auto = auto or AutoDisable()
        results = list(results)
        for careful in (False, True):
            begun = False
            try:
                if not wait:
                    self._conn.execute("PRAGMA busy_timeout = 0")
                with sqlite.errors(self.path), self.transaction():
                    begun = True
                    if not wait:  # the write lock is ours: from here on, as usual
                        self._conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
                    with self._fast(not careful):
                        self.health.begin()
                        cache: dict[str, Endpoint | None] = {}
                        leases = None if careful else self._leases(results)
                        for result in results:
                            with self._guarded(result.claim.message.id,
                                               result.claim.endpoint.id, now, careful):
                                self._complete(owner, result, now, policy_for, rng, auto,
                                               cache, careful, leases)
                        return self._claim(owner, claim, now, lease, policy_for, rng, auto,
                                           cache, careful, only)
            except HooklabError as exc:
                if not begun and not wait and _busy(exc):
                    return None
                if careful or not begun:
                    raise
            finally:
                if not wait and not begun:
                    self._conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _guarded(self, message_id: str, endpoint_id: str, now: float,
                 careful: bool) -> Iterator[None]:
        if not careful:
            yield
            return
        try:
            with self._savepoint():
                yield
        except HooklabError as exc:
            self._event(now, "delivery_error", endpoint_id, message_id, str(exc))
            self._schedule(message_id, endpoint_id, now + 60.0)

    def _leases(self, results: list[Result]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The lease (owner, generation) of each result's delivery, read at once."""
        keys = {(r.claim.message.id, r.claim.endpoint.id) for r in results}
        ids = sorted({m for m, _ in keys})
        leases = {}
        for first in range(0, len(ids), 500):
            chunk = ids[first:first + 500]
            for m, e, lease_owner, generation in self._conn.execute(
                    "SELECT message_id, endpoint_id, lease_owner, generation FROM "
                    f"outbox_deliveries WHERE message_id IN ({', '.join('?' * len(chunk))})",
                    chunk):
                if (m, e) in keys:
                    leases[(m, e)] = (lease_owner, generation)
        return leases

    def _endpoint(self, endpoint_id: str, cache: dict[str, Endpoint | None]) -> Endpoint | None:
        if endpoint_id not in cache:
            try:
                cache[endpoint_id] = self.registry.get(endpoint_id)
            except UnknownEndpoint:
                cache[endpoint_id] = None
        return cache[endpoint_id]

    def _complete(self, owner: str, result: Result, now: float, policy_for: PolicyFor,
                  rng: Any, auto: AutoDisable, cache: dict[str, Endpoint | None],
                  careful: bool, leases: dict[tuple[str, str], tuple[Any, ...]] | None = None
                  ) -> None:
        claim = result.claim
        key = (claim.message.id, claim.endpoint.id)
        if leases is not None:
            row = leases.get(key)
        else:
            row = self._conn.execute(
                "SELECT lease_owner, generation FROM outbox_deliveries WHERE message_id = ? "
                "AND endpoint_id = ?", key).fetchone()
        if row is None or tuple(row) != (owner, claim.generation):
            self._event(now, "lease_lost", key[1], key[0],
                        f"attempt {claim.attempt}: answer dropped, the lease had expired")
            return
        # After a rollback the claim's tracker may be ahead of the database: read it again.
        tracker = DeliveryTracker.resume(self.store, *key) if careful else claim.tracker
        delay = tracker.finish(result.outcome, now=result.end,
                               policy=policy_for(claim.endpoint), rng=rng, body=result.body)
        due = None if delay is None else result.end + delay
        why = result.body[:160].decode("utf-8", "replace") if result.outcome.error else ""
        self._settle(tracker, result.outcome, due, now, auto, cache, why)

    def _settle(self, tracker: DeliveryTracker, outcome: Outcome, due: float | None,
                now: float, auto: AutoDisable, cache: dict[str, Endpoint | None],
                why: str = "") -> None:
        """After an attempt: schedule the retry or finish, count for auto-disable, log."""
        message_id, endpoint_id = tracker.message_id, tracker.endpoint_id
        if outcome.kind is OutcomeKind.SUCCESS:
            self.health.success(endpoint_id, now)
        else:
            label = f"{outcome.label} ({why})" if why else outcome.label
            nxt = "" if due is None else f"; next attempt in {max(0.0, due - now):.3g} s"
            self.health.failure(endpoint_id, message_id, now,
                                f"attempt {tracker.attempts}: {label}{nxt}")
        if tracker.done:
            self._schedule(message_id, endpoint_id, None)
            if tracker.state == "failed":
                reason = self.health.exhausted(endpoint_id, message_id, now, auto,
                                               gone=tracker.reason == "gone")
                if reason is not None:
                    self.disable_endpoint(endpoint_id, reason, now=now, cache=cache)
            return
        if not self._stopped(tracker, self._endpoint(endpoint_id, cache), now):
            self._schedule(message_id, endpoint_id, now if due is None else due)

    def _stopped(self, tracker: DeliveryTracker, endpoint: Endpoint | None,
                 now: float) -> bool:
        """Fail the delivery (``disabled: <why>``) if its endpoint is disabled or gone."""
        if endpoint is not None and endpoint.enabled:
            return False
        why = "endpoint removed" if endpoint is None else endpoint.disabled_reason
        tracker.disable(why or "endpoint disabled", now)
        self._schedule(tracker.message_id, tracker.endpoint_id, None)
        return True

    def _claim(self, owner: str, limit: int, now: float, lease: Callable[[Endpoint], float],
               policy_for: PolicyFor, rng: Any, auto: AutoDisable,
               cache: dict[str, Endpoint | None], careful: bool,
               only: tuple[str, ...] | None) -> list[Claim]:
        # BEGIN IMMEDIATE holds the write lock from this read to the lease writes below,
        # so no other worker can claim the same rows in between.
        if limit <= 0:
            return []
        self._flush_out()  # a retry scheduled in this step may be due already
        where, params = _only(only)
        rows = self._conn.execute(
            "SELECT d.message_id, d.endpoint_id, d.generation, m.event_type, m.body "
            "FROM outbox_deliveries d JOIN outbox_messages m ON m.id = d.message_id "
            f"WHERE d.due_at <= ?{where} ORDER BY d.due_at LIMIT ?",
            (now, *params, limit)).fetchall()
        views = {} if careful else self.store.get_many([(r[0], r[1]) for r in rows])
        claims = []
        for message_id, endpoint_id, generation, event_type, body in rows:
            with self._guarded(message_id, endpoint_id, now, careful):
                message = Message(message_id, event_type, bytes(body))
                claimed = self._claim_one(owner, message, endpoint_id, generation, now, lease,
                                          policy_for, rng, auto, cache,
                                          views.get((message_id, endpoint_id)))
                if claimed is not None:
                    claims.append(claimed)
        return claims

    def _claim_one(self, owner: str, message: Message, endpoint_id: str, generation: int,
                   now: float, lease: Callable[[Endpoint], float], policy_for: PolicyFor,
                   rng: Any, auto: AutoDisable, cache: dict[str, Endpoint | None],
                   view: DeliveryView | None = None) -> Claim | None:
        if view is not None:
            tracker = DeliveryTracker.from_view(self.store, view)
        else:
            tracker = DeliveryTracker.resume(self.store, message.id, endpoint_id)
        endpoint = self._endpoint(endpoint_id, cache)
        if tracker.state == "sending":  # its worker stopped: the attempt is lost
            self._event(now, "lease_expired", endpoint_id, message.id,
                        f"attempt {tracker.attempts} lost; recorded as a timeout")
            policy = policy_for(endpoint) if endpoint is not None else RetryPolicy("lost", 1)
            lost = Outcome.transport("timeout")
            delay = tracker.finish(lost, now=now, policy=policy, rng=rng, body=LOST)
            self._settle(tracker, lost, None if delay is None else now + delay, now, auto,
                         cache)
            return None
        if tracker.done:
            self._schedule(message.id, endpoint_id, None)
            return None
        if self._stopped(tracker, endpoint, now):
            return None
        if tracker.state == "waiting":
            tracker.retry_due(now)
        number = tracker.attempt(now)
        self._schedule(message.id, endpoint_id, now + lease(endpoint), owner)
        return Claim(message, endpoint, generation, number, tracker)

    def work_left(self, only: tuple[str, ...] | None = None) -> tuple[float | None, int]:
        """When the next delivery is due (or a lease ends) and how many are not finished
        (to the endpoints in ``only``, if given)."""
        where, params = _only(only)
        with sqlite.errors(self.path):
            row = self._conn.execute("SELECT min(due_at), count(*) FROM outbox_deliveries d "
                                     f"WHERE due_at IS NOT NULL{where}", params).fetchone()
        return row[0], int(row[1])

    # -- endpoints (see :mod:`hooklab.harness.outbox_endpoints`) ------------------------

    def disable_endpoint(self, endpoint_id: str, reason: str, *, now: float,
                         cache: dict[str, Endpoint | None] | None = None) -> int:
        """Disable the endpoint; its queued deliveries fail with the reason (kept)."""
        from .outbox_endpoints import disable

        self._flush_out()  # it reads the schedule
        return disable(self, endpoint_id, reason, now=now, cache=cache)

    def enable_endpoint(self, endpoint_id: str, *, now: float) -> Endpoint:
        """Enable the endpoint again (auto-disable counts start afresh)."""
        from .outbox_endpoints import enable

        return enable(self, endpoint_id, now=now)

    def remove_endpoint(self, endpoint_id: str, *, now: float) -> None:
        """Remove the endpoint; its queued deliveries fail, its history stays."""
        from .outbox_endpoints import remove

        remove(self, endpoint_id, now=now)

    # -- manual redelivery (see :mod:`hooklab.harness.outbox_resend`) --------------------

    def resend(self, message_id: str, endpoint_id: str | None = None, *,
               now: float) -> list[tuple[str, int]]:
        """Deliver a message again as a new delivery generation; see
        :func:`~hooklab.harness.outbox_resend.resend`."""
        from .outbox_resend import resend

        return resend(self, message_id, endpoint_id, now=now)

    def recover(self, endpoint_id: str, *, since: float, now: float) -> list[tuple[str, int]]:
        """Queue again the endpoint's failed deliveries since ``since``; see
        :func:`~hooklab.harness.outbox_resend.recover`."""
        from .outbox_resend import recover

        return recover(self, endpoint_id, since=since, now=now)


def _busy(exc: BaseException) -> bool:
    """Whether ``exc`` says another connection holds the database's lock."""
    cause = exc.__cause__
    return isinstance(cause, sqlite3.OperationalError) and getattr(
        cause, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _only(endpoints: tuple[str, ...] | None) -> tuple[str, tuple[str, ...]]:
    if endpoints is None:
        return "", ()
    return f" AND d.endpoint_id IN ({', '.join('?' * len(endpoints))})", tuple(endpoints)


def _check_message(message: Message, max_payload: int) -> Message:
    if not isinstance(message.id, str) or not _ID.fullmatch(message.id):
        raise ConfigError(f"message id {message.id!r} must be 1 to 255 visible ASCII "
                          "characters (it is sent in the webhook-id header)")
    if not isinstance(message.event_type, str) or not _TYPE.fullmatch(message.event_type):
        raise ConfigError(f"event type {message.event_type!r} must be dot-delimited names, "
                          "e.g. invoice.paid")
    if len(message.body) > max_payload:
        raise ConfigError(f"message {message.id!r} is {len(message.body)} bytes; the "
                          f"largest payload allowed is {max_payload} bytes")
    return message

