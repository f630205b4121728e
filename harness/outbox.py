"""The durable outbox: messages queued in SQLite, claimed with leases, never lost.

One SQLite file (WAL mode) holds everything a sender must not forget: the endpoint
registry (:class:`~hooklab.model.registry.SqliteRegistry`), the status store with every
delivery's Delivery-machine state, attempts and state changes
(:class:`~hooklab.model.status.SqliteStatusStore`, driven only through
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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from hooklab.model import sqlite
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import ConfigError
from hooklab.model.outcomes import Outcome
from hooklab.model.registry import SqliteRegistry
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import SqliteStatusStore
from hooklab.model.tracking import DeliveryTracker

from .outbox_health import AutoDisable, Health
from .outbox_step import LOST
from .sender import Message

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "LOST",
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
        (``delivery_error``) and put aside for a minute; the others go on. See
        :mod:`~hooklab.harness.outbox_step`."""
        from .outbox_step import run_step

        return run_step(self, owner, list(results), claim=claim, now=now, lease=lease,
                        policy_for=policy_for, rng=rng, auto=auto or AutoDisable(), only=only,
                        wait=wait, busy_ms=self._busy_ms)

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

