"""Manual redelivery for the durable outbox: resend one message, recover many.

A delivered or failed delivery is finished: ``end`` and ``failed`` are final states of the
Delivery machine, so nothing moves it again. Delivering the message once more (as Svix's
"resend" and "recover failed messages since" do) therefore starts a **new delivery
generation**: a fresh Delivery machine for the same message id and endpoint (receivers
deduplicate on that id). The finished generation is archived first in
``outbox_generations``, with its final state, reason, attempts and every state change;
the status store then tracks the new one from ``start``. An operational event
(``message_resend`` or ``message_recover``) records each restart.

Both refuse what cannot be honest: an unknown message (:class:`UnknownMessage`), an
unknown or disabled endpoint (enable it first), a delivery still in progress.

Example::

    >>> from hooklab.harness.outbox import Outbox
    >>> recover(Outbox(":memory:"), "ep_1", since=0.0, now=1.0)
    Traceback (most recent call last):
    ...
    hooklab.model.errors.UnknownEndpoint: endpoint 'ep_1' is not registered
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hooklab.model import sqlite
from hooklab.model.errors import ConfigError

from .outbox import UnknownMessage

if TYPE_CHECKING:
    from hooklab.model.endpoints import Endpoint

    from .outbox import Outbox

__all__ = ["recover", "resend"]


def resend(outbox: Outbox, message_id: str, endpoint_id: str | None = None, *,
           now: float) -> list[tuple[str, int]]:
    """Deliver a message again, as a new generation, to every endpoint it was delivered
    or failed to (or to ``endpoint_id`` only, even one it never went to). Returns
    ``(endpoint id, generation)`` per restarted delivery; one transaction."""
    conn = outbox._conn
    with sqlite.errors(outbox.path), outbox.transaction():
        row = conn.execute("SELECT event_type FROM outbox_messages WHERE id = ?",
                           (message_id,)).fetchone()
        if row is None:
            raise UnknownMessage(f"message {message_id!r} is not in the outbox")
        if endpoint_id is not None:
            targets = [endpoint_id]
        else:
            targets = [r[0] for r in conn.execute(
                "SELECT endpoint_id FROM outbox_deliveries WHERE message_id = ? "
                "ORDER BY rowid", (message_id,))]
        return [(e, _restart(outbox, message_id, e, row[0], now, "resend")) for e in targets]


def recover(outbox: Outbox, endpoint_id: str, *, since: float,
            now: float) -> list[tuple[str, int]]:
    """Restart every failed delivery to the endpoint whose message was sent at or after
    ``since`` (bulk recovery). Returns ``(message id, generation)`` per restart."""
    with sqlite.errors(outbox.path), outbox.transaction():
        _enabled(outbox, endpoint_id)
        failed = outbox.store.query(endpoint_id=endpoint_id, status="failed", since=since)
        restarted = [(r.message_id, _restart(outbox, r.message_id, endpoint_id,
                                             r.event_type, now, "recover"))
                     for r in failed]
        if restarted:
            outbox._event(now, "endpoint_recovery", endpoint_id, None,
                          f"{len(restarted)} failed messages queued again")
        return restarted


def _enabled(outbox: Outbox, endpoint_id: str) -> Endpoint:
    endpoint = outbox.registry.get(endpoint_id)
    if not endpoint.enabled:
        raise ConfigError(f"endpoint {endpoint_id!r} is disabled "
                          f"({endpoint.disabled_reason}); enable it first")
    return endpoint


def _restart(outbox: Outbox, message_id: str, endpoint_id: str, event_type: str,
             now: float, cause: str) -> int:
    conn = outbox._conn
    endpoint = _enabled(outbox, endpoint_id)
    view = outbox.store.get(message_id, endpoint_id)
    row = conn.execute("SELECT generation FROM outbox_deliveries WHERE message_id = ? AND "
                       "endpoint_id = ?", (message_id, endpoint_id)).fetchone()
    generation = 1 if row is None else int(row[0]) + 1
    if view is not None:
        if view.finished_at is None:
            raise ConfigError(f"message {message_id!r} to endpoint {endpoint_id!r} is still "
                              f"being delivered ({view.status}); nothing to resend")
        history = outbox.store.history(message_id, endpoint_id)
        conn.execute(
            "INSERT INTO outbox_generations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, endpoint_id, generation - 1, view.state, view.reason,
             view.created_at, view.finished_at, now, cause,
             json.dumps([a._asdict() for a in view.attempts]),
             json.dumps([c._asdict() for c in history])))
        # The status store keeps one Delivery machine per (message, endpoint): the archived
        # generation leaves it (its attempts and state changes go with it, by cascade).
        conn.execute("DELETE FROM deliveries WHERE message_id = ? AND endpoint_id = ?",
                     (message_id, endpoint_id))
    outbox._start(message_id, endpoint, event_type, generation, now)
    outbox._event(now, f"message_{cause}", endpoint_id, message_id, f"generation {generation}")
    return generation
