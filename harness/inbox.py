"""The reference receiver's inbox: every message it acknowledged, until it is processed,
and the record of processed messages it deduplicates on.

The receiver answers 200 only once the message is in its inbox (the diagram's n11 → n13:
acknowledged, then queued). Two inboxes behind one interface (:class:`Inbox`):

- :class:`MemoryInbox` (the default) keeps the queue in memory. **A crash loses every
  acknowledged message not yet processed**: the sender saw 200 and will never send it again.
- :class:`SqliteInbox` (``ReferenceReceiver(store=PATH)``, ``hooklab serve receiver --store
  PATH``) commits the message to SQLite (``synchronous=FULL``: on disk, not only in the
  operating system's cache) before the 200, and a receiver opened on the same file again
  processes what was left unfinished. Processing is then at least once: a crash after a
  handler ran but before its outcome was committed runs it again, so handlers should be
  idempotent.

Both keep a *dedupe window*, as a sender's idempotency window: a message is a duplicate
(acknowledged, not queued again) when its :func:`dedupe_key` was acknowledged within the
last ``dedupe_window`` seconds (default :data:`DEDUPE_WINDOW`) and is among the last
``remember`` keys (default :data:`REMEMBER`). Past either bound the key is forgotten and a
redelivery is processed again; messages not yet processed are never forgotten.

Example::

    >>> inbox = MemoryInbox()
    >>> event = Event("msg_1", "invoice.paid", {}, b"{}", {}, 0.0, "msg_1")
    >>> inbox.add(event, now=0.0), inbox.add(event, now=1.0), inbox.pending()
    (True, False, 1)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol

from hooklab.model.errors import ConfigError
from hooklab.model.sqlite import Database, errors, open_shared, transaction

__all__ = [
    "DEDUPE_WINDOW",
    "MAX_QUEUED",
    "REMEMBER",
    "SIGNED_ID_SCHEMES",
    "Event",
    "Handler",
    "Inbox",
    "MemoryInbox",
    "ProcessingRecord",
    "SqliteInbox",
    "dedupe_key",
    "open_inbox",
]

#: Seconds a message key is remembered: 8 days, longer than every retry schedule and
#: redelivery period in ``docs/reference.md`` (the longest, Hook0's, stays within 8 days).
DEDUPE_WINDOW = 8 * 86400.0
#: How many message keys are remembered at most.
REMEMBER = 100_000
#: Default number of acknowledged messages waiting for processing; past it, 503.
MAX_QUEUED = 10_000
#: Schemes whose message id is covered by the signature: Standard Webhooks signs
#: ``webhook-id``; a Stripe event's id is in the signed body. For any other scheme (GitHub
#: signs the body alone, not ``X-GitHub-Delivery``) the id is not trusted for deduplication.
SIGNED_ID_SCHEMES = frozenset({"standard", "stripe"})
_LONGEST_KEY = 256
_PRUNE_EVERY = 1000


class Event(NamedTuple):
    """One acknowledged message, as a handler gets it. ``key`` is what it is
    deduplicated on (see :func:`dedupe_key`)."""

    message_id: str
    event_type: str
    payload: Any
    body: bytes
    headers: Mapping[str, str]
    received_at: float
    key: str = ""


Handler = Callable[[Event], Any] | Callable[[Event], Awaitable[Any]]


class ProcessingRecord(NamedTuple):
    """How one queued message's processing ended: ``completed`` or ``failed`` (with the
    machine state where it failed, ``step``, and the ``error``)."""

    message_id: str
    event_type: str | None
    state: str
    step: str | None
    error: str | None
    received_at: float
    finished_at: float
    key: str = ""


def dedupe_key(scheme: str, message_id: str, body: bytes) -> str:
    """What a message is deduplicated on: its id when the scheme signs it, else a digest of
    the signed content (the body), so a replay with a fresh unsigned id is a duplicate.

    >>> dedupe_key("standard", "msg_1", b"{}")
    'msg_1'
    >>> dedupe_key("github", "delivery-1", b"{}") == dedupe_key("github", "delivery-2", b"{}")
    True
    """
    if scheme in SIGNED_ID_SCHEMES and message_id and len(message_id) <= _LONGEST_KEY:
        return message_id
    return "sha256:" + hashlib.sha256(body).hexdigest()


class Inbox(Protocol):
    """Where the receiver queues acknowledged messages and records their processing."""

    durable: bool

    def add(self, event: Event, *, now: float) -> bool:
        """Queue ``event`` (True), or see that its key is a duplicate (False)."""
        ...

    def take(self, limit: int) -> list[Event]:
        """Up to ``limit`` queued events not handed out before (by this object), oldest
        first."""
        ...

    def finish(self, record: ProcessingRecord) -> None:
        """Record how a taken event's processing ended."""
        ...

    def rewind(self) -> None:
        """Hand out again, from the oldest, every message taken and not finished (the task
        that took them is gone)."""
        ...

    def pending(self) -> int:
        """Messages acknowledged and not yet processed."""
        ...

    def processed_count(self, message_id: str) -> int:
        """How many times ``message_id`` was processed (completed), while remembered."""
        ...

    def processed(self) -> dict[str, int]:
        """Completed messages and their counts, while remembered."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


def _check_window(remember: int, dedupe_window: float) -> None:
    if isinstance(remember, bool) or not isinstance(remember, int) or remember < 1:
        raise ConfigError(f"remember must be a whole number >= 1, not {remember!r}",
                          field="remember")
    if isinstance(dedupe_window, bool) or not isinstance(dedupe_window, int | float) or not (
        0 < dedupe_window <= math.inf
    ):
        raise ConfigError(f"dedupe_window must be a number of seconds > 0, not "
                          f"{dedupe_window!r}", field="dedupe_window")


class MemoryInbox:
    """The queue and the dedupe window in memory: lost on a crash (see the module
    docstring)."""

    durable = False

    def __init__(self, *, remember: int = REMEMBER,
                 dedupe_window: float = DEDUPE_WINDOW) -> None:
        _check_window(remember, dedupe_window)
        self.remember = remember
        self.dedupe_window = float(dedupe_window)
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key: (at, id)
        self._queue: deque[Event] = deque()
        self._taken: dict[str, Event] = {}
        self._unfinished: set[str] = set()
        self._processed: dict[str, int] = {}

    def add(self, event: Event, *, now: float) -> bool:
        """Queue ``event`` unless its key is within the window."""
        self._forget(now)
        if event.key in self._seen:
            return False
        self._seen[event.key] = (now, event.message_id)
        self._queue.append(event)
        self._unfinished.add(event.key)
        return True

    def _forget(self, now: float) -> None:
        cutoff = now - self.dedupe_window
        while self._seen:
            key, (seen_at, message_id) = next(iter(self._seen.items()))
            if len(self._seen) <= self.remember and seen_at >= cutoff:
                return
            if key in self._unfinished:  # never forget what is not processed yet
                return
            del self._seen[key]
            self._processed.pop(message_id, None)

    def take(self, limit: int) -> list[Event]:
        """Up to ``limit`` queued events, oldest first."""
        taken = [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]
        self._taken.update((event.key, event) for event in taken)
        return taken

    def rewind(self) -> None:
        """Queue again, first, the events taken and not finished."""
        self._queue.extendleft(reversed(list(self._taken.values())))
        self._taken.clear()

    def finish(self, record: ProcessingRecord) -> None:
        """Mark the message processed; count a completion."""
        self._taken.pop(record.key, None)
        self._unfinished.discard(record.key)
        if record.state == "completed":
            self._processed[record.message_id] = self._processed.get(record.message_id, 0) + 1
        self._forget(record.finished_at)  # keys kept only while this one was unfinished

    def pending(self) -> int:
        """Messages acknowledged and not yet processed."""
        return len(self._unfinished)

    def processed_count(self, message_id: str) -> int:
        """Completions of ``message_id``."""
        return self._processed.get(message_id, 0)

    def processed(self) -> dict[str, int]:
        """The completion counts (the live dict)."""
        return self._processed

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    headers TEXT,
    body BLOB,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    processed INTEGER NOT NULL DEFAULT 0,
    step TEXT,
    error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS inbox_state ON inbox (state, seq);
CREATE INDEX IF NOT EXISTS inbox_message ON inbox (message_id);
"""


class SqliteInbox:
    """The queue and the dedupe window in table ``inbox`` of a SQLite file; each message
    is committed before :meth:`add` returns. The body and headers of a processed message
    are dropped; its key, id and outcome stay for the dedupe window."""

    durable = True

    def __init__(self, path: str | os.PathLike[str] | Database, *, remember: int = REMEMBER,
                 dedupe_window: float = DEDUPE_WINDOW) -> None:
        _check_window(remember, dedupe_window)
        self.remember = remember
        self.dedupe_window = float(dedupe_window)
        self._db, self._owns = open_shared(path, schema=_SCHEMA)
        self.path = self._db.path
        self._cursor = 0  # the last seq handed out by take()
        self._adds = 0
        with self._db.lock, errors(self.path):
            self._db.conn.execute("PRAGMA synchronous=FULL")
        with self._db.lock, transaction(self._db.conn, self.path):
            self._prune(None)  # no clock here: the window is applied on the next adds
            self._pending = self._db.conn.execute(
                "SELECT count(*) FROM inbox WHERE state = 'queued'").fetchone()[0]

    def add(self, event: Event, *, now: float) -> bool:
        """Commit ``event`` to the queue unless its key is within the window."""
        conn, cutoff = self._db.conn, now - self.dedupe_window
        with self._db.lock, transaction(conn, self.path):
            row = conn.execute("SELECT state, received_at FROM inbox WHERE key = ?",
                               (event.key,)).fetchone()
            if row is not None and (row[0] == "queued" or row[1] >= cutoff):
                return False
            if row is not None:
                conn.execute("DELETE FROM inbox WHERE key = ?", (event.key,))
            conn.execute(
                "INSERT INTO inbox (key, message_id, event_type, headers, body, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (event.key, event.message_id, event.event_type,
                 json.dumps(list(event.headers.items())), bytes(event.body), event.received_at))
            self._adds += 1
            if self._adds % _PRUNE_EVERY == 0:
                self._prune(cutoff)
        self._pending += 1
        return True

    def _prune(self, cutoff: float | None) -> None:
        """Forget processed messages received before ``cutoff`` or beyond ``remember``."""
        conn = self._db.conn
        if cutoff is not None:
            conn.execute("DELETE FROM inbox WHERE state != 'queued' AND received_at < ?",
                         (cutoff,))
        conn.execute(
            "DELETE FROM inbox WHERE state != 'queued' AND seq <= (SELECT seq FROM inbox "
            "ORDER BY seq DESC LIMIT 1 OFFSET ?)", (self.remember,))

    def take(self, limit: int) -> list[Event]:
        """The next ``limit`` unfinished messages, oldest first (after a restart: the ones
        a previous run left)."""
        with self._db.lock, errors(self.path):
            rows = self._db.conn.execute(
                "SELECT seq, key, message_id, event_type, headers, body, received_at "
                "FROM inbox WHERE state = 'queued' AND seq > ? ORDER BY seq LIMIT ?",
                (self._cursor, limit)).fetchall()
        if rows:
            self._cursor = rows[-1][0]
        return [_event_from_row(row) for row in rows]

    def rewind(self) -> None:
        """Hand out every unfinished message again, from the oldest."""
        self._cursor = 0

    def finish(self, record: ProcessingRecord) -> None:
        """Commit how the message's processing ended; drop its body and headers."""
        with self._db.lock, transaction(self._db.conn, self.path):
            changed = self._db.conn.execute(
                "UPDATE inbox SET state = ?, processed = processed + ?, step = ?, error = ?, "
                "finished_at = ?, headers = NULL, body = NULL WHERE key = ? AND state = 'queued'",
                (record.state, int(record.state == "completed"), record.step, record.error,
                 record.finished_at, record.key)).rowcount
        self._pending -= changed

    def pending(self) -> int:
        """Messages committed and not yet processed (in this file)."""
        return self._pending

    def processed_count(self, message_id: str) -> int:
        """Completions of ``message_id`` recorded in the file."""
        with self._db.lock, errors(self.path):
            row = self._db.conn.execute(
                "SELECT coalesce(sum(processed), 0) FROM inbox WHERE message_id = ?",
                (message_id,)).fetchone()
        return int(row[0])

    def processed(self) -> dict[str, int]:
        """Completed messages in the file and their counts."""
        with self._db.lock, errors(self.path):
            rows = self._db.conn.execute(
                "SELECT message_id, sum(processed) FROM inbox WHERE processed > 0 "
                "GROUP BY message_id").fetchall()
        return {message_id: int(count) for message_id, count in rows}

    def close(self) -> None:
        """Close the file (if this inbox opened it)."""
        if self._owns:
            self._db.close()


def _event_from_row(row: tuple[Any, ...]) -> Event:
    from starlette.datastructures import Headers

    from .incoming import parse_payload

    _, key, message_id, event_type, headers, body, received_at = row
    raw = [(name.encode("latin-1"), value.encode("latin-1"))
           for name, value in json.loads(headers or "[]")]
    headers_ = Headers(raw=raw)
    payload, _ = parse_payload(body, headers_.get("content-type"))
    return Event(message_id, event_type, payload, body, headers_, received_at, key)


def open_inbox(store: str | os.PathLike[str] | Database | Inbox | None, *,
               remember: int = REMEMBER, dedupe_window: float = DEDUPE_WINDOW) -> Inbox:
    """The inbox for ``store``: ``None`` in memory, a path or :class:`Database` in SQLite,
    or an :class:`Inbox` as it is.

    >>> open_inbox(None).durable, open_inbox(":memory:").durable
    (False, True)
    """
    if store is None:
        return MemoryInbox(remember=remember, dedupe_window=dedupe_window)
    if isinstance(store, str | os.PathLike | Database):
        return SqliteInbox(store, remember=remember, dedupe_window=dedupe_window)
    return store
