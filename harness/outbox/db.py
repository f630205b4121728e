"""The outbox's database: one SQLite connection and the internal API every outbox module uses.

:class:`OutboxDB` owns what the modules of :mod:`hooklab.harness.outbox` share, and is the
only way they reach it:

- the connection (``conn``) and the stores on it: the status store (``store``, a
  :class:`~hooklab.model.status.SqliteStatusStore`), the endpoint registry (``registry``)
  and the endpoint health counts (``health``, see :mod:`~hooklab.harness.outbox.health`);
- :meth:`~OutboxDB.transaction`: one ``BEGIN IMMEDIATE`` over every table (it nests);
- the outbox's own writes: :meth:`~OutboxDB.event` (an operational event),
  :meth:`~OutboxDB.schedule` (when a delivery is next due, and its lease) and
  :meth:`~OutboxDB.start_delivery` (a new delivery generation);
- :meth:`~OutboxDB.buffered`: a worker's step keeps its events, schedule changes, moves
  and attempts in memory and writes each table with one statement;
  :meth:`~OutboxDB.flush` writes them early, before a read that needs them;
- reads of the message table (:meth:`~OutboxDB.message`, :meth:`~OutboxDB.find_message`,
  :meth:`~OutboxDB.delivery_endpoints`, :meth:`~OutboxDB.generation`).

The tables (``outbox_messages``, ``outbox_deliveries``, ``outbox_generations``,
``outbox_events``) are described in :mod:`hooklab.harness.outbox.outbox`.

Example::

    >>> db = OutboxDB(":memory:")
    >>> with db.transaction():
    ...     db.event(0.0, "endpoint_enabled", "ep_1")
    >>> db.conn.execute("SELECT kind, endpoint_id FROM outbox_events").fetchall()
    [('endpoint_enabled', 'ep_1')]
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from hooklab.model import sqlite
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import ConfigError, StoreError
from hooklab.model.registry import SqliteRegistry
from hooklab.model.status import STATUS_OF_STATE, DeliveryView, SqliteStatusStore
from hooklab.model.tracking import DeliveryTracker

from .health import Health

__all__ = ["QUARANTINED", "SCHEMA", "CorruptRow", "OutboxDB", "StoredMessage",
           "UnknownMessage", "database_fault", "endpoint_filter"]

SCHEMA = """
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
#: The ``lease_owner`` of a quarantined delivery (its ``due_at`` is NULL: never claimed);
#: see :mod:`~hooklab.harness.outbox.step`.
QUARANTINED = "!quarantined"
_INSERT_EVENT = ("INSERT INTO outbox_events (at, kind, endpoint_id, message_id, detail) "
                 "VALUES (?, ?, ?, ?, ?)")
_UPDATE_SCHEDULE = ("UPDATE outbox_deliveries SET due_at = ?, lease_owner = ? "
                    "WHERE message_id = ? AND endpoint_id = ?")


class UnknownMessage(ConfigError, KeyError):
    """A message id that the outbox does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoredMessage(NamedTuple):
    """A message as the outbox stored it, with when it was sent."""

    id: str
    event_type: str
    body: bytes
    created_at: float


def endpoint_filter(endpoints: tuple[str, ...] | None) -> tuple[str, tuple[str, ...]]:
    """The SQL condition (on ``outbox_deliveries d``) and parameters that keep the
    deliveries to ``endpoints`` (every delivery for ``None``).

        >>> endpoint_filter(("ep_1", "ep_2"))
        (' AND d.endpoint_id IN (?, ?)', ('ep_1', 'ep_2'))
    """
    if endpoints is None:
        return "", ()
    return f" AND d.endpoint_id IN ({', '.join('?' * len(endpoints))})", tuple(endpoints)


class CorruptRow(StoreError):
    """A delivery's row holds what the outbox cannot read (a state the Delivery machine
    does not have): that delivery is quarantined, the others go on."""


def database_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the database's failure (locked, full, I/O, corrupt file), not
    one delivery's data: a :class:`sqlite3.Error`, or a StoreError raised from one."""
    return isinstance(exc, sqlite3.Error) or isinstance(exc.__cause__, sqlite3.Error)


class OutboxDB:
    """The outbox's SQLite file, its stores and its writes; see the module docstring.

    ``timeout`` is how long a write waits for another process's lock before failing with
    :class:`~hooklab.model.errors.StoreError`; ``busy_ms`` keeps it in milliseconds.
    ``readonly`` opens an existing file for reading only (``hooklab status``), which works
    on a read-only filesystem too (:func:`~hooklab.model.sqlite.connect_readonly`).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = sqlite.BUSY_TIMEOUT,
                 synchronous: str = "FULL", readonly: bool = False) -> None:
        self.path = os.fspath(path)
        self.busy_ms = int(timeout * 1000)
        # One connection for every store, so each step is one transaction.
        self.database = sqlite.Database(self.path, timeout=timeout, readonly=readonly)
        self.conn = self.database.conn
        self.store = SqliteStatusStore(self.database)
        self.registry = SqliteRegistry(self.database)
        # Inside :meth:`buffered`: the events and schedule changes not yet written.
        self._events: list[tuple[Any, ...]] | None = None
        self._schedules: list[tuple[Any, ...]] | None = None
        with sqlite.errors(self.path):
            self.conn.executescript(SCHEMA)
            self.health = Health(self.conn, self.event)
        self.durability(synchronous)

    def durability(self, synchronous: str) -> None:
        """Set SQLite's ``synchronous`` for this connection (``NORMAL``, ``FULL``, ``EXTRA``);
        see :meth:`Outbox.durability <hooklab.harness.outbox.Outbox.durability>`."""
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ConfigError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}",
                              field="synchronous")
        with sqlite.errors(self.path):
            self.conn.execute(f"PRAGMA synchronous={synchronous}")

    def busy_timeout(self, ms: int | None = None) -> None:
        """Wait ``ms`` milliseconds for another connection's lock (``None``: the usual
        ``busy_ms``); 0 makes a write fail at once instead of waiting."""
        self.conn.execute(f"PRAGMA busy_timeout = {self.busy_ms if ms is None else int(ms)}")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One ``BEGIN IMMEDIATE`` transaction over every table (nests); yields ``conn``."""
        with self.store.batch():
            yield self.conn

    @contextmanager
    def buffered(self) -> Iterator[None]:
        """Keep events, schedule changes, moves and attempts in memory inside the block and
        write each table with one statement at its end (call inside :meth:`transaction`)."""
        with self.store.deferred():
            self._events, self._schedules = [], []
            try:
                yield
                self.flush()
            finally:
                self._events = self._schedules = None

    def flush(self) -> None:
        """Write the events and schedule changes :meth:`buffered` holds (before reading
        them); nothing outside :meth:`buffered`."""
        if self._events:
            self.conn.executemany(_INSERT_EVENT, self._events)
            self._events.clear()
        if self._schedules:
            self.conn.executemany(_UPDATE_SCHEDULE, self._schedules)
            self._schedules.clear()

    def event(self, at: float, kind: str, endpoint_id: str | None,
              message_id: str | None = None, detail: str | None = None) -> None:
        """Record an operational event (``endpoint_disabled``, ``lease_expired``...)."""
        row = (at, kind, endpoint_id, message_id, detail)
        if self._events is not None:
            self._events.append(row)
        else:
            self.conn.execute(_INSERT_EVENT, row)

    def schedule(self, message_id: str, endpoint_id: str, due_at: float | None,
                 owner: str | None = None) -> None:
        """When the delivery is next due (``None``: finished) and who leases it."""
        row = (due_at, owner, message_id, endpoint_id)
        if self._schedules is not None:
            self._schedules.append(row)
        else:
            self.conn.execute(_UPDATE_SCHEDULE, row)

    def start_delivery(self, message_id: str, endpoint: Endpoint, event_type: str,
                       generation: int, now: float) -> None:
        """Start generation ``generation`` of the message's delivery to ``endpoint``: a new
        Delivery machine, due now, or failed at once (``disabled: <why>``) if the endpoint
        is disabled."""
        tracker = DeliveryTracker(self.store)
        tracker.start(message_id, endpoint.id, event_type, now=now)
        due: float | None = now
        if not endpoint.enabled:
            tracker.disable(endpoint.disabled_reason or "endpoint disabled", now)
            due = None
        self.conn.execute(
            "INSERT INTO outbox_deliveries (message_id, endpoint_id, generation, due_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET generation = excluded.generation, "
            "due_at = excluded.due_at, lease_owner = NULL",
            (message_id, endpoint.id, generation, due))

    def find_message(self, message_id: str) -> StoredMessage | None:
        """The stored message, or ``None``."""
        row = self.conn.execute("SELECT id, event_type, body, created_at FROM outbox_messages "
                                "WHERE id = ?", (message_id,)).fetchone()
        return None if row is None else StoredMessage(row[0], row[1], bytes(row[2]), row[3])

    def message(self, message_id: str) -> StoredMessage:
        """The stored message; :class:`UnknownMessage` if the outbox does not hold it."""
        found = self.find_message(message_id)
        if found is None:
            raise UnknownMessage(f"message {message_id!r} is not in the outbox")
        return found

    def delivery_endpoints(self, message_id: str) -> list[str]:
        """The endpoints the message has a delivery to, in the order they were made."""
        rows = self.conn.execute("SELECT endpoint_id FROM outbox_deliveries WHERE "
                                 "message_id = ? ORDER BY rowid", (message_id,))
        return [r[0] for r in rows]

    def generation(self, message_id: str, endpoint_id: str) -> int | None:
        """The delivery's current generation (``None``: there is no such delivery)."""
        row = self.conn.execute("SELECT generation FROM outbox_deliveries WHERE message_id = ? "
                                "AND endpoint_id = ?", (message_id, endpoint_id)).fetchone()
        return None if row is None else int(row[0])

    def disabled(self, endpoint_ids: set[str]) -> set[str]:
        """Those of ``endpoint_ids`` that are disabled or removed now."""
        ids = sorted(endpoint_ids)[:500]
        if not ids:
            return set()
        with sqlite.errors(self.path):
            rows = self.conn.execute(f"SELECT id FROM endpoints WHERE enabled = 1 AND id IN "
                                     f"({', '.join('?' * len(ids))})", ids)
            return set(ids) - {r[0] for r in rows}

    def resume(self, message_id: str, endpoint_id: str,
               view: DeliveryView | None = None) -> DeliveryTracker:
        """The delivery's tracker, from ``view`` or read now; :class:`CorruptRow` if the
        row cannot be read, before anything moves."""
        if view is None:
            view = self.store.get(message_id, endpoint_id)
            if view is None:
                raise CorruptRow(f"delivery of {message_id!r} to {endpoint_id!r} has no "
                                 "tracked status")
        if view.state not in STATUS_OF_STATE:
            raise CorruptRow(f"stored in state {view.state!r}, which the Delivery machine "
                             "does not have")
        return DeliveryTracker.from_view(self.store, view)

    def quarantine(self, now: float, message_id: str, endpoint_id: str, why: str) -> None:
        """Put the delivery aside for good (a ``delivery_error`` event says why): it is
        never claimed again until resent; see :mod:`~hooklab.harness.outbox.step`."""
        self.event(now, "delivery_error", endpoint_id, message_id, f"quarantined: {why}")
        self.schedule(message_id, endpoint_id, None, QUARANTINED)

    def is_quarantined(self, message_id: str, endpoint_id: str) -> bool:
        """Whether the delivery was quarantined (see :data:`QUARANTINED`)."""
        row = self.conn.execute("SELECT lease_owner, due_at FROM outbox_deliveries WHERE "
                                "message_id = ? AND endpoint_id = ?",
                                (message_id, endpoint_id)).fetchone()
        return row is not None and row[0] == QUARANTINED and row[1] is None

    def close(self) -> None:
        """Close the connection (the stores share it)."""
        self.database.close()
