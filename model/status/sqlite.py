"""The SQLite status store: deliveries, attempts and state changes in one database file.

:class:`SqliteStatusStore` implements :class:`~hooklab.model.status.StatusStore` over three
tables, created on open in a WAL-mode file (:mod:`hooklab.model.sqlite`) that the endpoint
registry and the durable outbox may share:

- ``deliveries``: one row per (message, endpoint), with its machine ``state``, the
  ``status`` it projects onto (kept in step, so queries by status use an index), the
  number of attempts, when the next one is due, when it finished and why;
- ``attempts``: one row per attempt (:class:`~hooklab.model.records.AttemptRecord`);
- ``state_changes``: every move, so a status history can be audited.

Every write runs in one ``IMMEDIATE`` transaction that first reads the current state, so
two processes on one database cannot both move a delivery from the same state: the second
one sees the first one's move and is rejected if its own is no longer a legal edge.

:meth:`SqliteStatusStore.deferred` is the fast path of a busy sender: inside it (one
transaction), each delivery's row is read once, every move and attempt is checked against
that row as before (a move must still be a machine edge) and kept in memory, and all of
them are written at the end, or before any read, with one ``executemany`` per table.

Example::

    >>> store = SqliteStatusStore(":memory:")
    >>> store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)
    True
    >>> store.get("msg_1", "ep_1").status
    <Status.PENDING: 'pending'>
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import sqlite
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

__all__ = ["SqliteStatusStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    finished_at REAL,
    reason TEXT,
    PRIMARY KEY (message_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries (created_at);
CREATE INDEX IF NOT EXISTS deliveries_endpoint ON deliveries (endpoint_id, created_at);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, created_at);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS attempts (
    message_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    error TEXT,
    next_attempt_at REAL,
    response_body TEXT NOT NULL,
    PRIMARY KEY (message_id, endpoint_id, attempt),
    FOREIGN KEY (message_id, endpoint_id) REFERENCES deliveries ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS attempts_endpoint ON attempts (endpoint_id);
CREATE TABLE IF NOT EXISTS state_changes (
    message_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    at REAL NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT,
    FOREIGN KEY (message_id, endpoint_id) REFERENCES deliveries ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS state_changes_delivery ON state_changes (message_id, endpoint_id);
"""
_DELIVERY = ("message_id, endpoint_id, event_type, created_at, state, updated_at, "
             "next_attempt_at, finished_at, reason")
_RECORD = ("message_id, endpoint_id, event_type, created_at, status, attempts, finished_at, "
           "reason")
_ATTEMPT = ("message_id, endpoint_id, attempt, started_at, ended_at, outcome, status_code, "
            "error, next_attempt_at, response_body")


class SqliteStatusStore:
    """A :class:`~hooklab.model.status.StatusStore` in a SQLite file (schema made on open).

    One connection per store object; methods may be called from several threads.
    """

    def __init__(self, path: str | os.PathLike[str] | sqlite.Database, *,
                 timeout: float = sqlite.BUSY_TIMEOUT) -> None:
        db, self._owns = sqlite.open_shared(path, timeout=timeout, schema=_SCHEMA)
        self.path, self._conn, self._lock = db.path, db.conn, db.lock
        # The deferred mode (see :meth:`deferred`): rows read in this transaction, keyed
        # by (message, endpoint), as [attempts, state, next_at, finished_at, reason,
        # updated_at]; which were changed; the attempts and moves not yet written.
        self._rows: dict[tuple[str, str], list[Any]] | None = None
        self._dirty: set[tuple[str, str]] = set()
        self._attempt_rows: list[tuple[Any, ...]] = []
        self._change_rows: list[tuple[Any, ...]] = []

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._lock, sqlite.errors(self.path), sqlite.transaction(self._conn, self.path):
            yield

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """One transaction (a :meth:`batch`) whose moves and attempts are checked as
        usual but written together at its end (or before a read), one statement per
        table. Nested calls join the outer one. Raw SQL on the store's tables inside it
        must call :meth:`flush` first (and :meth:`forget` after a rollback to a savepoint).

            >>> store = SqliteStatusStore(":memory:")
            >>> with store.deferred():
            ...     _ = store.add("m", "e", "t", created_at=0.0)
            ...     store.move("m", "e", "event_occurred", now=0.0)
            >>> store.get("m", "e").state
            'event_occurred'
        """
        with self.batch():
            if self._rows is not None:
                yield
                return
            self._rows = {}
            try:
                yield
                self.flush()
            finally:
                self._rows = None
                self._dirty.clear()
                self._attempt_rows.clear()
                self._change_rows.clear()

    def flush(self) -> None:
        """Write what :meth:`deferred` holds in memory (nothing outside it)."""
        if self._rows is None:
            return
        with self._lock, sqlite.errors(self.path):
            if self._attempt_rows:
                self._conn.executemany(
                    f"INSERT INTO attempts ({_ATTEMPT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    self._attempt_rows)
                self._attempt_rows.clear()
            if self._change_rows:
                self._conn.executemany("INSERT INTO state_changes VALUES (?, ?, ?, ?, ?, ?)",
                                       self._change_rows)
                self._change_rows.clear()
            if self._dirty:
                rows = self._rows
                self._conn.executemany(
                    "UPDATE deliveries SET attempts = ?, state = ?, status = ?, "
                    "next_attempt_at = ?, finished_at = ?, reason = ?, updated_at = ? "
                    "WHERE message_id = ? AND endpoint_id = ?",
                    [(r[0], r[1], STATUS_OF_STATE[r[1]].value, r[2], r[3], r[4], r[5], *key)
                     for key in self._dirty for r in (rows[key],)])
                self._dirty.clear()

    def forget(self) -> None:
        """Drop what :meth:`deferred` holds (after a rollback to a savepoint, which undid
        the rows it had read)."""
        if self._rows is not None:
            self._rows.clear()
            self._dirty.clear()
            self._attempt_rows.clear()
            self._change_rows.clear()

    def close(self) -> None:
        if not self._owns:  # a shared Database is closed by its owner
            return
        with self._lock, sqlite.errors(self.path):
            self._conn.close()

    def __enter__(self) -> SqliteStatusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, message_id: str, endpoint_id: str, event_type: str, *,
            created_at: float) -> bool:
        created_at = float(created_at)
        with self.batch():
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO deliveries (message_id, endpoint_id, event_type, "
                "created_at, state, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (message_id, endpoint_id, event_type, created_at, INITIAL_STATE,
                 STATUS_OF_STATE[INITIAL_STATE], created_at),
            )
            if cursor.rowcount > 0 and self._rows is not None:
                self._rows[(message_id, endpoint_id)] = [0, INITIAL_STATE, None, None, None,
                                                         created_at]
            return cursor.rowcount > 0

    def record_attempt(self, attempt: AttemptRecord) -> None:
        if self._rows is not None:
            with self._lock:
                row = self._cached(attempt.message_id, attempt.endpoint_id)
                attempt = check_attempt(attempt, row[0])
                self._attempt_rows.append(tuple(attempt))
                row[0], row[2] = attempt.attempt, attempt.next_attempt_at
                self._dirty.add((attempt.message_id, attempt.endpoint_id))
            return
        with self.batch():
            (recorded, *_) = self._current(attempt.message_id, attempt.endpoint_id)
            attempt = check_attempt(attempt, recorded)
            self._conn.execute(
                f"INSERT INTO attempts ({_ATTEMPT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(attempt),
            )
            self._conn.execute(
                "UPDATE deliveries SET attempts = ?, next_attempt_at = ? "
                "WHERE message_id = ? AND endpoint_id = ?",
                (attempt.attempt, attempt.next_attempt_at, attempt.message_id,
                 attempt.endpoint_id),
            )

    def move(self, message_id: str, endpoint_id: str, state: str, *, now: float,
             reason: str | None = None) -> None:
        now = float(now)
        if self._rows is not None:
            with self._lock:
                row = self._cached(message_id, endpoint_id)
                old = row[1]
                check_move(message_id, endpoint_id, old, state)
                row[2], row[3], row[4] = moved(state, now, reason, row[2], row[3], row[4])
                row[1], row[5] = state, now
                self._dirty.add((message_id, endpoint_id))
                self._change_rows.append((message_id, endpoint_id, now, old, state, row[4]))
            return
        with self.batch():
            _, old, next_at, finished_at, old_reason = self._current(message_id, endpoint_id)
            check_move(message_id, endpoint_id, old, state)
            next_at, finished_at, reason = moved(state, now, reason, next_at, finished_at,
                                                 old_reason)
            self._conn.execute(
                "UPDATE deliveries SET state = ?, status = ?, updated_at = ?, "
                "next_attempt_at = ?, finished_at = ?, reason = ? "
                "WHERE message_id = ? AND endpoint_id = ?",
                (state, STATUS_OF_STATE[state], now, next_at, finished_at, reason,
                 message_id, endpoint_id),
            )
            self._conn.execute(
                "INSERT INTO state_changes VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, endpoint_id, now, old, state, reason),
            )

    def get(self, message_id: str, endpoint_id: str) -> DeliveryView | None:
        key = (message_id, endpoint_id)
        with self._lock, sqlite.errors(self.path):
            self.flush()
            row = self._conn.execute(
                f"SELECT {_DELIVERY} FROM deliveries WHERE message_id = ? AND endpoint_id = ?",
                key,
            ).fetchone()
            if row is None:
                return None
            attempts = self._conn.execute(
                f"SELECT {_ATTEMPT} FROM attempts WHERE message_id = ? AND endpoint_id = ? "
                "ORDER BY attempt", key,
            ).fetchall()
        m, e, event_type, created_at, state, updated_at, next_at, finished_at, reason = row
        if self._rows is not None and state in STATUS_OF_STATE:
            self._rows[key] = [len(attempts), state, next_at, finished_at, reason, updated_at]
        return DeliveryView(m, e, event_type, created_at, state, updated_at, next_at,
                            finished_at, reason, tuple(AttemptRecord(*a) for a in attempts))

    def get_many(self, keys: builtins.list[tuple[str, str]]
                 ) -> dict[tuple[str, str], DeliveryView]:
        """:meth:`get` for many (message, endpoint) keys at once; a key not tracked is
        missing from the answer.

            >>> store = SqliteStatusStore(":memory:")
            >>> _ = store.add("m", "e", "t", created_at=0.0)
            >>> list(store.get_many([("m", "e"), ("x", "e")]))
            [('m', 'e')]
        """
        wanted = set(keys)
        found: dict[tuple[str, str], DeliveryView] = {}
        ids = sorted({m for m, _ in wanted})
        with self._lock, sqlite.errors(self.path):
            self.flush()
            for first in range(0, len(ids), 500):
                chunk = ids[first:first + 500]
                marks = ", ".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT {_DELIVERY} FROM deliveries WHERE message_id IN ({marks})",
                    chunk).fetchall()
                attempts: dict[tuple[str, str], list[AttemptRecord]] = {}
                for a in self._conn.execute(
                        f"SELECT {_ATTEMPT} FROM attempts WHERE message_id IN ({marks}) "
                        "ORDER BY message_id, endpoint_id, attempt", chunk):
                    attempts.setdefault((a[0], a[1]), []).append(AttemptRecord(*a))
                for row in rows:
                    key = (row[0], row[1])
                    if key not in wanted:
                        continue
                    made = attempts.get(key, [])
                    _, _, event_type, created_at, state, updated_at, next_at, done, why = row
                    if self._rows is not None and state in STATUS_OF_STATE:
                        self._rows[key] = [len(made), state, next_at, done, why, updated_at]
                    found[key] = DeliveryView(key[0], key[1], event_type, created_at, state,
                                              updated_at, next_at, done, why, tuple(made))
        return found

    def query(self, *, message_id: str | None = None, endpoint_id: str | None = None,
              status: Status | str | None = None, since: float | None = None,
              until: float | None = None, limit: int | None = None
              ) -> builtins.list[DeliveryRecord]:
        where, params = _where(message_id, endpoint_id, since, until)
        if status is not None:
            where.append("status = ?")
            params.append(parse_status(status).value)
        sql = (f"SELECT {_RECORD} FROM deliveries {_clause(where)} "
               "ORDER BY created_at, rowid")
        check_limit(limit)
        if limit is not None:
            sql += f" LIMIT {limit}"
        with self._lock, sqlite.errors(self.path):
            self.flush()
            rows = self._conn.execute(sql, params).fetchall()
        return [_record(row) for row in rows]

    def counts(self, *, endpoint_id: str | None = None, since: float | None = None,
               until: float | None = None) -> dict[Status, int]:
        where, params = _where(None, endpoint_id, since, until)
        counts = dict.fromkeys(Status, 0)
        with self._lock, sqlite.errors(self.path):
            self.flush()
            for status, n in self._conn.execute(
                f"SELECT status, COUNT(*) FROM deliveries {_clause(where)} GROUP BY status",
                params,
            ):
                counts[self._status(status)] = n
        return counts

    def attempts(self, *, message_id: str | None = None, endpoint_id: str | None = None
                 ) -> builtins.list[AttemptRecord]:
        where, params = _where(message_id, endpoint_id, None, None)
        with self._lock, sqlite.errors(self.path):
            self.flush()
            rows = self._conn.execute(
                f"SELECT {_ATTEMPT} FROM attempts {_clause(where)} ORDER BY rowid", params
            ).fetchall()
        return [AttemptRecord(*row) for row in rows]

    def history(self, message_id: str, endpoint_id: str) -> builtins.list[StateChange]:
        with self._lock, sqlite.errors(self.path):
            self.flush()
            self._current(message_id, endpoint_id)
            rows = self._conn.execute(
                "SELECT at, source, target, reason FROM state_changes "
                "WHERE message_id = ? AND endpoint_id = ? ORDER BY rowid",
                (message_id, endpoint_id),
            ).fetchall()
        return [StateChange(*row) for row in rows]

    def due(self, now: float, *, limit: int | None = None) -> builtins.list[DeliveryRecord]:
        sql = (f"SELECT {_RECORD} FROM deliveries WHERE state = 'waiting' "
               "AND next_attempt_at <= ? ORDER BY next_attempt_at, rowid")
        check_limit(limit)
        if limit is not None:
            sql += f" LIMIT {limit}"
        with self._lock, sqlite.errors(self.path):
            self.flush()
            rows = self._conn.execute(sql, (now,)).fetchall()
        return [_record(row) for row in rows]

    def _current(self, message_id: str, endpoint_id: str) -> tuple[Any, ...]:
        row = self._conn.execute(
            "SELECT attempts, state, next_attempt_at, finished_at, reason FROM deliveries "
            "WHERE message_id = ? AND endpoint_id = ?", (message_id, endpoint_id),
        ).fetchone()
        if row is None:
            raise StoreError(f"no delivery of message {message_id!r} to endpoint "
                             f"{endpoint_id!r} is tracked")
        if row[1] not in STATUS_OF_STATE:
            raise StoreError(f"{self.path}: delivery of {message_id!r} to {endpoint_id!r} "
                             f"is stored in unknown state {row[1]!r}")
        return tuple(row)

    def _cached(self, message_id: str, endpoint_id: str) -> list[Any]:
        """The deferred mode's row of a delivery (read from the database the first time)."""
        assert self._rows is not None
        key = (message_id, endpoint_id)
        row = self._rows.get(key)
        if row is None:
            with sqlite.errors(self.path):
                found = self._conn.execute(
                    "SELECT attempts, state, next_attempt_at, finished_at, reason, updated_at "
                    "FROM deliveries WHERE message_id = ? AND endpoint_id = ?", key).fetchone()
            if found is None:
                self._current(*key)  # raises the usual error
            row = list(found)
            if row[1] not in STATUS_OF_STATE:
                self._current(*key)  # raises the usual error
            self._rows[key] = row
        return row

    def _status(self, value: str) -> Status:
        try:
            return Status(value)
        except ValueError:
            raise StoreError(f"{self.path}: unknown status {value!r} is stored") from None


def _where(message_id: str | None, endpoint_id: str | None, since: float | None,
           until: float | None) -> tuple[builtins.list[str], builtins.list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for sql, value in (("message_id = ?", message_id), ("endpoint_id = ?", endpoint_id),
                       ("created_at >= ?", since), ("created_at < ?", until)):
        if value is not None:
            where.append(sql)
            params.append(value)
    return where, params


def _clause(where: builtins.list[str]) -> str:
    return f"WHERE {' AND '.join(where)}" if where else ""


def _record(row: tuple[Any, ...]) -> DeliveryRecord:
    message_id, endpoint_id, event_type, created_at, status, attempts, finished_at, reason = row
    return DeliveryRecord(message_id, endpoint_id, event_type, created_at, Status(status),
                          attempts, finished_at, reason)
