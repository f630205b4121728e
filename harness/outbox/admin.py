"""Changes by hand to the outbox's queue: disable, enable and remove an endpoint; resend and
recover messages.

Users complain about events silently dropped while an endpoint is disabled. Here nothing
is dropped: disabling an endpoint (by hand, or by auto-disable, see
:mod:`~hooklab.harness.outbox.health`) moves each of its queued deliveries to ``failed``
along the Delivery machine's ``disable`` edge, with the reason ``disabled: <why>``; they
stay in the database, shown by ``hooklab status``, and ``hooklab recover`` queues them
again once the endpoint is enabled. A delivery whose attempt is in flight fails when its
worker reports (or, if that worker died, when its lease expires). Removing an endpoint
disables it first, so its history stays.

A delivered or failed delivery is finished: ``end`` and ``failed`` are final states of the
Delivery machine, so nothing moves it again. Delivering the message once more (as Svix's
"resend" and "recover failed messages since" do) therefore starts a **new delivery
generation**: a fresh Delivery machine for the same message id and endpoint (receivers
deduplicate on that id). The finished generation is archived first in
``outbox_generations``, with its final state, reason, attempts and every state change;
the status store then tracks the new one from ``start``. An operational event
(``message_resend`` or ``message_recover``) records each restart. Both refuse what cannot
be honest: an unknown message (:class:`~hooklab.harness.outbox.db.UnknownMessage`), an
unknown or disabled endpoint (enable it first), a delivery still in progress.

Every function works on an :class:`~hooklab.harness.outbox.db.OutboxDB` in one
transaction; :class:`~hooklab.harness.outbox.Outbox` offers them as methods.

Example::

    >>> from hooklab.harness.outbox.db import OutboxDB
    >>> from hooklab.model.endpoints import Endpoint
    >>> db = OutboxDB(":memory:")
    >>> _ = db.registry.register(Endpoint("ep_1", "https://example.com/",
    ...                          ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)))
    >>> disable(db, "ep_1", "maintenance", now=0.0)
    0
    >>> recover(db, "ep_1", since=0.0, now=1.0)
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ConfigError: endpoint 'ep_1' is disabled (maintenance); enable it first
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hooklab.model import sqlite
from hooklab.model.errors import ConfigError
from hooklab.model.records import Status

from .db import CorruptRow

if TYPE_CHECKING:
    from hooklab.model.endpoints import Endpoint

    from .db import OutboxDB

__all__ = ["disable", "enable", "recover", "remove", "resend"]


# -- endpoints ---------------------------------------------------------------------------


def disable(db: OutboxDB, endpoint_id: str, reason: str, *, now: float,
            cache: dict[str, Endpoint | None] | None = None) -> int:
    """Disable the endpoint and fail its queued deliveries with ``disabled: reason``
    (kept, recoverable); leased ones fail when their worker reports. Returns how many
    deliveries were failed now. ``cache`` (a step's endpoints) learns the change."""
    db.flush()  # it reads the schedule
    with db.transaction() as conn:
        endpoint = db.registry.disable(endpoint_id, reason)
        if cache is not None:
            cache[endpoint_id] = endpoint
        db.event(now, "endpoint_disabled", endpoint_id, None, reason)
        rows = conn.execute(
            "SELECT message_id FROM outbox_deliveries WHERE endpoint_id = ? AND "
            "due_at IS NOT NULL AND (lease_owner IS NULL OR due_at <= ?)",
            (endpoint_id, now)).fetchall()
        failed = 0
        for (message_id,) in rows:
            try:
                tracker = db.resume(message_id, endpoint_id)
            except CorruptRow as exc:  # its row cannot be read: that delivery only
                db.quarantine(now, message_id, endpoint_id, str(exc))
                continue
            if tracker.state == "sending":
                continue  # a lost attempt: the next claim records it, then disables
            if not tracker.done:
                tracker.disable(reason, now)
                failed += 1
            db.schedule(message_id, endpoint_id, None)
        return failed


def enable(db: OutboxDB, endpoint_id: str, *, now: float) -> Endpoint:
    """Enable the endpoint again; auto-disable counts start afresh."""
    with db.transaction():
        endpoint = db.registry.enable(endpoint_id)
        db.health.reset(endpoint_id)
        db.event(now, "endpoint_enabled", endpoint_id)
        return endpoint


def remove(db: OutboxDB, endpoint_id: str, *, now: float) -> None:
    """Remove the endpoint; its queued deliveries fail (``disabled: endpoint removed``)
    and its history stays."""
    with db.transaction():
        disable(db, endpoint_id, "endpoint removed", now=now)
        db.registry.remove(endpoint_id)


# -- manual redelivery -------------------------------------------------------------------


def resend(db: OutboxDB, message_id: str, endpoint_id: str | None = None, *,
           now: float) -> list[tuple[str, int]]:
    """Deliver a message again, as a new generation, to every endpoint it was delivered
    or failed to (or to ``endpoint_id`` only, even one it never went to). Returns
    ``(endpoint id, generation)`` per restarted delivery; one transaction."""
    with sqlite.errors(db.path), db.transaction():
        message = db.message(message_id)
        targets = [endpoint_id] if endpoint_id is not None else db.delivery_endpoints(
            message_id)
        return [(e, _restart(db, message_id, e, message.event_type, now, "resend"))
                for e in targets]


def recover(db: OutboxDB, endpoint_id: str, *, since: float,
            now: float) -> list[tuple[str, int]]:
    """Restart every failed delivery to the endpoint whose message was sent at or after
    ``since`` (bulk recovery). Returns ``(message id, generation)`` per restart."""
    with sqlite.errors(db.path), db.transaction():
        _enabled(db, endpoint_id)
        failed = db.store.query(endpoint_id=endpoint_id, status=Status.FAILED, since=since)
        restarted = [(r.message_id, _restart(db, r.message_id, endpoint_id, r.event_type,
                                             now, "recover"))
                     for r in failed]
        if restarted:
            db.event(now, "endpoint_recovery", endpoint_id, None,
                     f"{len(restarted)} failed messages queued again")
        return restarted


def _enabled(db: OutboxDB, endpoint_id: str) -> Endpoint:
    endpoint = db.registry.get(endpoint_id)
    if not endpoint.enabled:
        raise ConfigError(f"endpoint {endpoint_id!r} is disabled "
                          f"({endpoint.disabled_reason}); enable it first")
    return endpoint


def _restart(db: OutboxDB, message_id: str, endpoint_id: str, event_type: str,
             now: float, cause: str) -> int:
    endpoint = _enabled(db, endpoint_id)
    view = db.store.get(message_id, endpoint_id)
    current = db.generation(message_id, endpoint_id)
    generation = 1 if current is None else current + 1
    if view is not None:
        quarantined = db.is_quarantined(message_id, endpoint_id)
        if view.finished_at is None and not quarantined:
            raise ConfigError(f"message {message_id!r} to endpoint {endpoint_id!r} is still "
                              f"being delivered ({view.status}); nothing to resend")
        # a quarantined delivery's history may be what cannot be read: archive it without
        history = [] if quarantined else db.store.history(message_id, endpoint_id)
        db.conn.execute(
            "INSERT INTO outbox_generations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, endpoint_id, generation - 1, view.state, view.reason,
             view.created_at, view.finished_at, now, cause,
             json.dumps([a._asdict() for a in view.attempts]),
             json.dumps([c._asdict() for c in history])))
        # The status store keeps one Delivery machine per (message, endpoint): the archived
        # generation leaves it (its attempts and state changes go with it, by cascade).
        db.conn.execute("DELETE FROM deliveries WHERE message_id = ? AND endpoint_id = ?",
                        (message_id, endpoint_id))
    db.start_delivery(message_id, endpoint, event_type, generation, now)
    db.event(now, f"message_{cause}", endpoint_id, message_id, f"generation {generation}")
    return generation
