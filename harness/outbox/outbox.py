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
- ``outbox_endpoint_health``: what auto-disable counts per endpoint
  (:mod:`~hooklab.harness.outbox.health`).

All stores share one connection, so each step is one ``BEGIN IMMEDIATE`` transaction:
a message and its fan-out are durable when :meth:`Outbox.send` returns; :meth:`Outbox.cycle`
records a batch of attempt results and claims the next batch of due deliveries atomically.
A worker killed at any moment leaves leases that expire; the next claim finds such a
delivery still ``sending``, records that attempt as lost (a timeout: the answer never
reached the database) and retries it by the policy: at least once, same message id.

:class:`Outbox` is the face of the package; its parts work on one
:class:`~hooklab.harness.outbox.db.OutboxDB` (``outbox.db``): the worker's step
(:mod:`~hooklab.harness.outbox.step`), the changes by hand
(:mod:`~hooklab.harness.outbox.admin`) and the read side
(:mod:`~hooklab.harness.outbox.status`).

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

from ..sender import Message
from . import admin
from .db import OutboxDB, endpoint_filter
from .health import AutoDisable
from .step import Claim, PolicyFor, Result, run_step

__all__ = ["DEFAULT_MAX_PAYLOAD", "Outbox", "SendResult"]

#: The largest message body :meth:`Outbox.send` accepts, in bytes.
DEFAULT_MAX_PAYLOAD = 1024 * 1024
_ID = re.compile(r"[\x21-\x7e]{1,255}")
_TYPE = re.compile(r"[^.*\s]+(?:\.[^.*\s]+)*")


class SendResult(NamedTuple):
    """What :meth:`Outbox.send` did: ``created`` is False when the id was already queued
    (the id is an idempotency key); ``endpoints`` lists the deliveries it has."""

    message_id: str
    created: bool
    endpoints: tuple[str, ...]


class Outbox:
    """The outbox over one SQLite file; see the module docstring.

    ``timeout`` is how long a write waits for another process's lock before failing with
    :class:`~hooklab.model.errors.StoreError` ("database is locked"). ``synchronous`` is
    SQLite's setting for this connection (see :meth:`durability`); ``readonly`` opens an
    existing file for reading only (it works on a read-only filesystem). ``db`` is the
    :class:`~hooklab.harness.outbox.db.OutboxDB` underneath; ``store``, ``registry`` and
    ``health`` are its stores.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = sqlite.BUSY_TIMEOUT,
                 synchronous: str = "FULL", readonly: bool = False) -> None:
        self.db = OutboxDB(path, timeout=timeout, synchronous=synchronous, readonly=readonly)
        self.path = self.db.path
        self.store = self.db.store
        self.registry = self.db.registry
        self.health = self.db.health

    def durability(self, synchronous: str) -> None:
        """``FULL`` (the default) syncs the log at every commit, so what :meth:`send`
        committed survives a power cut; ``NORMAL`` syncs at checkpoints only, so a commit
        survives a crash of the process but a power cut may undo the last ones. A worker
        uses ``NORMAL``: what a power cut undoes is its progress, which it redoes (the
        deliveries are attempted again: at least once), never a sent message, which an
        earlier ``FULL`` commit made durable."""
        self.db.durability(synchronous)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One ``BEGIN IMMEDIATE`` transaction over every table (nests)."""
        with self.db.transaction() as conn:
            yield conn

    def close(self) -> None:
        """Close the database (the shared connection of the stores)."""
        self.db.close()

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
        with self.db.transaction():
            endpoints = self.registry.list()
            for message in checked:
                results.append(self._send_one(message, endpoints, now))
        return results

    def _send_one(self, message: Message, endpoints: list[Endpoint], now: float) -> SendResult:
        db = self.db
        old = db.find_message(message.id)
        if old is not None:
            if (old.event_type, old.body) != (message.event_type, message.body):
                raise ConfigError(f"message id {message.id!r} was already sent with a "
                                  "different payload; a message id is an idempotency key")
            return SendResult(message.id, False, tuple(db.delivery_endpoints(message.id)))
        db.conn.execute("INSERT INTO outbox_messages VALUES (?, ?, ?, ?)",
                        (message.id, message.event_type, message.body, now))
        targets = []
        for endpoint in endpoints:
            if endpoint.accepts(message.event_type):
                db.start_delivery(message.id, endpoint, message.event_type, 1, now)
                targets.append(endpoint.id)
        return SendResult(message.id, True, tuple(targets))

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
        (``delivery_error``) and put aside (for a minute after an illegal move; for good,
        *quarantined*, when its row cannot be read); the others go on. See
        :mod:`~hooklab.harness.outbox.step`."""
        return run_step(self.db, owner, list(results), claim=claim, now=now, lease=lease,
                        policy_for=policy_for, rng=rng, auto=auto or AutoDisable(), only=only,
                        wait=wait)

    def work_left(self, only: tuple[str, ...] | None = None) -> tuple[float | None, int]:
        """When the next delivery is due (or a lease ends) and how many are not finished
        (to the endpoints in ``only``, if given)."""
        where, params = endpoint_filter(only)
        with sqlite.errors(self.path):
            row = self.db.conn.execute("SELECT min(due_at), count(*) FROM outbox_deliveries d "
                                       f"WHERE due_at IS NOT NULL{where}", params).fetchone()
        return row[0], int(row[1])

    # -- changes by hand (see :mod:`hooklab.harness.outbox.admin`) -----------------------

    def disable_endpoint(self, endpoint_id: str, reason: str, *, now: float) -> int:
        """Disable the endpoint; its queued deliveries fail with the reason (kept).
        Returns how many failed now; see :func:`~hooklab.harness.outbox.admin.disable`."""
        return admin.disable(self.db, endpoint_id, reason, now=now)

    def enable_endpoint(self, endpoint_id: str, *, now: float) -> Endpoint:
        """Enable the endpoint again (auto-disable counts start afresh)."""
        return admin.enable(self.db, endpoint_id, now=now)

    def remove_endpoint(self, endpoint_id: str, *, now: float) -> None:
        """Remove the endpoint; its queued deliveries fail, its history stays."""
        admin.remove(self.db, endpoint_id, now=now)

    def resend(self, message_id: str, endpoint_id: str | None = None, *,
               now: float) -> list[tuple[str, int]]:
        """Deliver a message again as a new delivery generation; see
        :func:`~hooklab.harness.outbox.admin.resend`."""
        return admin.resend(self.db, message_id, endpoint_id, now=now)

    def recover(self, endpoint_id: str, *, since: float, now: float) -> list[tuple[str, int]]:
        """Queue again the endpoint's failed deliveries since ``since``; see
        :func:`~hooklab.harness.outbox.admin.recover`."""
        return admin.recover(self.db, endpoint_id, since=since, now=now)


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

