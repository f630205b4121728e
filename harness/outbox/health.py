"""Endpoint health for the durable outbox: the counts behind auto-disable.

Users complain about both failure modes of auto-disable: an endpoint disabled too eagerly,
and events silently dropped while it is disabled. The outbox never drops (a disabled
endpoint's deliveries fail with ``disabled: <reason>`` and stay recoverable), and the rule
is a choice: :class:`~hooklab.model.auto_disable.AutoDisable`, the same rule the simulator
applies (on 410 Gone; after ``consecutive`` failed deliveries in a row; after ``window``
seconds failing with no success, counted from the first failed attempt).

:class:`Health` keeps the counts in the ``outbox_endpoint_health`` table of the outbox's
database (:class:`~hooklab.harness.outbox.db.OutboxDB` holds it as ``health``) and
records the operational events: ``attempt_failing`` (each failed attempt),
``message_exhausted``, ``endpoint_recovered`` (the first success after failures).

Example::

    >>> AutoDisable(consecutive=3).describe()
    'on 410 Gone; after 3 consecutive failed deliveries'
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from hooklab.model.auto_disable import AutoDisable

__all__ = ["AutoDisable", "Health"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_endpoint_health (
    endpoint_id TEXT PRIMARY KEY,
    consecutive_exhausted INTEGER NOT NULL DEFAULT 0,
    failing_since REAL
);
"""

Event = Callable[..., None]


class Health:
    """Per-endpoint failure counts in the outbox database; see the module docstring.

    Every method runs inside the caller's transaction on ``conn``; ``event(at, kind,
    endpoint_id, message_id, detail)`` records an operational event.
    """

    def __init__(self, conn: sqlite3.Connection, event: Event) -> None:
        self._conn = conn
        self._event = event
        self._healthy: set[str] = set()
        conn.executescript(_SCHEMA)

    def begin(self) -> None:
        """A new transaction starts: forget what the last one learnt (another process may
        have written since)."""
        self._healthy.clear()

    def success(self, endpoint_id: str, now: float) -> None:
        """A delivered message: the endpoint is healthy again."""
        if endpoint_id in self._healthy:  # known healthy in this transaction
            return
        self._healthy.add(endpoint_id)
        row = self._conn.execute(
            "UPDATE outbox_endpoint_health SET consecutive_exhausted = 0, failing_since = NULL "
            "WHERE endpoint_id = ? AND failing_since IS NOT NULL RETURNING 1",
            (endpoint_id,)).fetchone()
        if row is not None:
            self._event(now, "endpoint_recovered", endpoint_id, None,
                        "a delivery succeeded after failures")

    def failure(self, endpoint_id: str, message_id: str, now: float, detail: str) -> None:
        """A failed attempt (the endpoint is failing since the first one)."""
        self._healthy.discard(endpoint_id)
        self._conn.execute(
            "INSERT INTO outbox_endpoint_health (endpoint_id, failing_since) VALUES (?, ?) "
            "ON CONFLICT DO UPDATE SET failing_since = coalesce(failing_since, ?)",
            (endpoint_id, now, now))
        self._event(now, "attempt_failing", endpoint_id, message_id, detail)

    def exhausted(self, endpoint_id: str, message_id: str, now: float, auto: AutoDisable,
                  *, gone: bool = False) -> str | None:
        """A delivery failed for good (a 410 counts like any other); returns why the
        endpoint must be disabled, if so (:meth:`AutoDisable.reason`)."""
        count, since = self._conn.execute(
            "INSERT INTO outbox_endpoint_health (endpoint_id, consecutive_exhausted, "
            "failing_since) VALUES (?, 1, ?) ON CONFLICT DO UPDATE SET "
            "consecutive_exhausted = consecutive_exhausted + 1, "
            "failing_since = coalesce(failing_since, ?) "
            "RETURNING consecutive_exhausted, failing_since",
            (endpoint_id, now, now)).fetchone()
        if gone:
            self._event(now, "message_failed", endpoint_id, message_id, "410 Gone")
        else:
            self._event(now, "message_exhausted", endpoint_id, message_id,
                        f"{count} consecutive failed")
        return auto.reason(in_a_row=count, failing_since=since, now=now, gone=gone)

    def reset(self, endpoint_id: str) -> None:
        """Forget the endpoint's failures (it was enabled again by hand)."""
        self._conn.execute("DELETE FROM outbox_endpoint_health WHERE endpoint_id = ?",
                           (endpoint_id,))
