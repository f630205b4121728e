"""The in-memory status store: deliveries, attempts and state changes in dicts and lists.

:class:`MemoryStatusStore` implements :class:`~hooklab.model.status.StatusStore` for tests,
short scripts and the real HTTP sender's quick runs; nothing survives the process. It
applies the same rules as the SQLite store (moves only along the Delivery machine's edges,
attempts numbered in order, bodies truncated, times as floats), and a test proves that both
stores export the same records for the same calls.

Example::

    >>> store = MemoryStatusStore()
    >>> store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)
    True
    >>> store.move("msg_1", "ep_1", "sending", now=1.0)
    Traceback (most recent call last):
    ...
    hooklab.model.errors.IllegalTransition: Delivery: event 'move msg_1 for ep_1 to sending' \
is not allowed in state 'start' (allowed: move to event_occurred)
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from ..errors import StoreError
from ..records import AttemptRecord, DeliveryRecord, Status
from .base import (
    INITIAL_STATE,
    STATUS_OF_STATE,
    DeliveryView,
    StateChange,
    check_attempt,
    check_limit,
    check_move,
    moved,
    parse_status,
)

__all__ = ["MemoryStatusStore"]


class _Row:
    """A mutable delivery inside :class:`MemoryStatusStore`."""

    __slots__ = ("attempts", "created_at", "endpoint_id", "event_type", "finished_at",
                 "history", "message_id", "next_attempt_at", "reason", "state", "updated_at")

    def __init__(self, message_id: str, endpoint_id: str, event_type: str, at: float) -> None:
        self.message_id, self.endpoint_id, self.event_type = message_id, endpoint_id, event_type
        self.created_at = self.updated_at = at
        self.state = INITIAL_STATE
        self.next_attempt_at: float | None = None
        self.finished_at: float | None = None
        self.reason: str | None = None
        self.attempts: list[AttemptRecord] = []
        self.history: list[StateChange] = []

    def view(self) -> DeliveryView:
        return DeliveryView(self.message_id, self.endpoint_id, self.event_type, self.created_at,
                            self.state, self.updated_at, self.next_attempt_at, self.finished_at,
                            self.reason, tuple(self.attempts))


class MemoryStatusStore:
    """A :class:`StatusStore` in dicts and lists: nothing survives the process.

    :meth:`batch` holds the store's lock but does not roll back: a failed write leaves the
    writes before it in place.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], _Row] = {}
        self._attempts: list[AttemptRecord] = []
        self._lock = threading.RLock()

    def add(self, message_id: str, endpoint_id: str, event_type: str, *,
            created_at: float) -> bool:
        with self._lock:
            key = (message_id, endpoint_id)
            if key in self._rows:
                return False
            self._rows[key] = _Row(message_id, endpoint_id, event_type, float(created_at))
            return True

    def record_attempt(self, attempt: AttemptRecord) -> None:
        with self._lock:
            row = self._row(attempt.message_id, attempt.endpoint_id)
            attempt = check_attempt(attempt, len(row.attempts))
            row.attempts.append(attempt)
            row.next_attempt_at = attempt.next_attempt_at
            self._attempts.append(attempt)

    def move(self, message_id: str, endpoint_id: str, state: str, *, now: float,
             reason: str | None = None) -> None:
        with self._lock:
            row = self._row(message_id, endpoint_id)
            check_move(message_id, endpoint_id, row.state, state)
            now = float(now)
            row.history.append(StateChange(now, row.state, state, reason))
            row.state, row.updated_at = state, now
            row.next_attempt_at, row.finished_at, row.reason = moved(
                state, now, reason, row.next_attempt_at, row.finished_at, row.reason)

    def get(self, message_id: str, endpoint_id: str) -> DeliveryView | None:
        with self._lock:
            row = self._rows.get((message_id, endpoint_id))
            return None if row is None else row.view()

    def query(self, *, message_id: str | None = None, endpoint_id: str | None = None,
              status: Status | str | None = None, since: float | None = None,
              until: float | None = None, limit: int | None = None
              ) -> builtins.list[DeliveryRecord]:
        wanted = None if status is None else parse_status(status)
        check_limit(limit)
        with self._lock:
            rows = [r for r in self._select(message_id, endpoint_id, since, until)
                    if wanted is None or STATUS_OF_STATE[r.state] is wanted]
        rows.sort(key=lambda r: r.created_at)
        return [r.view().record() for r in rows[:limit]]

    def counts(self, *, endpoint_id: str | None = None, since: float | None = None,
               until: float | None = None) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        with self._lock:
            for row in self._select(None, endpoint_id, since, until):
                counts[STATUS_OF_STATE[row.state]] += 1
        return counts

    def attempts(self, *, message_id: str | None = None, endpoint_id: str | None = None
                 ) -> builtins.list[AttemptRecord]:
        with self._lock:
            return [a for a in self._attempts
                    if (message_id is None or a.message_id == message_id)
                    and (endpoint_id is None or a.endpoint_id == endpoint_id)]

    def history(self, message_id: str, endpoint_id: str) -> builtins.list[StateChange]:
        with self._lock:
            return list(self._row(message_id, endpoint_id).history)

    def due(self, now: float, *, limit: int | None = None) -> builtins.list[DeliveryRecord]:
        check_limit(limit)
        with self._lock:
            rows = [r for r in self._rows.values() if r.state == "waiting"
                    and r.next_attempt_at is not None and r.next_attempt_at <= now]
        rows.sort(key=lambda r: r.next_attempt_at or 0.0)
        return [r.view().record() for r in rows[:limit]]

    def batch(self) -> AbstractContextManager[Any]:
        return self._lock

    def close(self) -> None:
        pass

    def _row(self, message_id: str, endpoint_id: str) -> _Row:
        row = self._rows.get((message_id, endpoint_id))
        if row is None:
            raise StoreError(f"no delivery of message {message_id!r} to endpoint "
                             f"{endpoint_id!r} is tracked")
        return row

    def _select(self, message_id: str | None, endpoint_id: str | None, since: float | None,
                until: float | None) -> Iterator[_Row]:
        for row in self._rows.values():
            if ((message_id is None or row.message_id == message_id)
                    and (endpoint_id is None or row.endpoint_id == endpoint_id)
                    and (since is None or row.created_at >= since)
                    and (until is None or row.created_at < until)):
                yield row
