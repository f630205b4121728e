"""Endpoint health for the durable outbox: when an endpoint is disabled by itself.

Users complain about both failure modes of auto-disable: an endpoint disabled too eagerly,
and events silently dropped while it is disabled. The outbox never drops (a disabled
endpoint's deliveries fail with ``disabled: <reason>`` and stay recoverable), and
:class:`AutoDisable` makes the eagerness a choice. An endpoint is disabled:

- **immediately on 410 Gone** (the Standard Webhooks recommendation);
- after ``after_exhausted`` **consecutive exhausted messages** (Outpost disables after
  100 consecutive failures); any success resets the count;
- when a message is exhausted and the endpoint has been **failing for ``window``
  seconds with no success** in between (Svix: 5 days).

:class:`Health` keeps the counts in the ``outbox_endpoint_health`` table of the outbox's
database (:class:`~hooklab.harness.outbox.db.OutboxDB` holds it as ``health``) and
records the operational events: ``attempt_failing`` (each failed attempt),
``message_exhausted``, ``endpoint_recovered`` (the first success after failures).

Example::

    >>> AutoDisable(after_exhausted=3).describe()
    'on 410 Gone; after 3 consecutive exhausted messages; after 5 days failing with no success'
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from hooklab.model.errors import ConfigError

__all__ = ["DEFAULT_AFTER_EXHAUSTED", "DEFAULT_WINDOW", "AutoDisable", "Health"]

#: Consecutive exhausted messages that disable an endpoint by default.
DEFAULT_AFTER_EXHAUSTED = 100
#: Seconds of failures with no success that disable an endpoint by default (Svix).
DEFAULT_WINDOW = 5 * 24 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_endpoint_health (
    endpoint_id TEXT PRIMARY KEY,
    consecutive_exhausted INTEGER NOT NULL DEFAULT 0,
    failing_since REAL
);
"""

Event = Callable[..., None]


@dataclass(frozen=True)
class AutoDisable:
    """When the outbox disables an endpoint by itself (0 turns a rule off)."""

    after_exhausted: int = DEFAULT_AFTER_EXHAUSTED
    window: float = DEFAULT_WINDOW
    on_gone: bool = True

    def __post_init__(self) -> None:
        n = self.after_exhausted
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError(f"after_exhausted must be a whole number >= 0, not {n!r}",
                              field="after_exhausted")
        w = self.window
        if not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"window must be a number of seconds >= 0, not {w!r}",
                              field="window")

    def describe(self) -> str:
        """The rules in words."""
        rules = ["on 410 Gone"] if self.on_gone else []
        if self.after_exhausted:
            rules.append(f"after {self.after_exhausted} consecutive exhausted messages")
        if self.window:
            rules.append(f"after {_span(self.window)} failing with no success")
        return "; ".join(rules) or "never"


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
        """A message failed for good; returns why the endpoint must be disabled, if so."""
        if gone:
            self._event(now, "message_failed", endpoint_id, message_id, "410 Gone")
            return "410 Gone" if auto.on_gone else None
        count, since = self._conn.execute(
            "INSERT INTO outbox_endpoint_health (endpoint_id, consecutive_exhausted, "
            "failing_since) VALUES (?, 1, ?) ON CONFLICT DO UPDATE SET "
            "consecutive_exhausted = consecutive_exhausted + 1, "
            "failing_since = coalesce(failing_since, ?) "
            "RETURNING consecutive_exhausted, failing_since",
            (endpoint_id, now, now)).fetchone()
        self._event(now, "message_exhausted", endpoint_id, message_id,
                    f"{count} consecutive exhausted")
        if auto.after_exhausted and count >= auto.after_exhausted:
            return f"{count} consecutive messages exhausted"
        if auto.window and now - since >= auto.window:
            return f"failing for {_span(now - since)} with no success"
        return None

    def reset(self, endpoint_id: str) -> None:
        """Forget the endpoint's failures (it was enabled again by hand)."""
        self._conn.execute("DELETE FROM outbox_endpoint_health WHERE endpoint_id = ?",
                           (endpoint_id,))


def _span(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
