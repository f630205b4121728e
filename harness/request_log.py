"""What the flaky receiver saw: one record per request, kept in JSON Lines or SQLite.

Point any real sender at ``hooklab serve flaky --log requests.jsonl`` and read back what it
did: each :class:`RequestRecord` holds when the request came, its message id and attempt
number (counted per message at the receiver), its headers, whether its signature verified,
and the answer the receiver chose (status, or a transport fault such as ``timeout`` or
``reset``, with its latency and ``Retry-After``). :func:`as_attempt_records` turns them into
the project's :class:`~hooklab.model.records.AttemptRecord`, so the plots and notebooks that
read simulator runs read a real run too.

Three logs behind one small interface (:class:`RequestLog`): in memory, JSON Lines (one
object a line, flushed per request) and SQLite (one table, ``requests``). The file suffix
chooses: ``.jsonl``/``.ndjson`` or ``.sqlite``/``.sqlite3``/``.db``.

Example::

    >>> log = open_request_log(None)
    >>> log.append(RequestRecord(1, 0.0, "POST", "/", "msg_1", 1, {}, True, 503, None))
    >>> [r.status for r in log.records()]
    [503]
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from hooklab.model.errors import ConfigError, StoreError
from hooklab.model.outcomes import Outcome
from hooklab.model.records import AttemptRecord

__all__ = [
    "JSONL_SUFFIXES",
    "SQLITE_SUFFIXES",
    "JsonlRequestLog",
    "MemoryRequestLog",
    "RequestLog",
    "RequestRecord",
    "SqliteRequestLog",
    "as_attempt_records",
    "open_request_log",
    "read_request_log",
]

JSONL_SUFFIXES = (".jsonl", ".ndjson")
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


class RequestRecord(NamedTuple):
    """One request at the flaky receiver and the answer it chose.

    ``status`` is ``None`` when no status was sent (``error`` then names the fault:
    ``timeout``, ``reset``, ``connection_refused``); ``latency`` is ``None`` for a hang
    (no answer at all); ``signature_valid`` is ``None`` when the receiver has no secret to
    check with.
    """

    seq: int
    time: float
    method: str
    path: str
    message_id: str
    attempt: int
    headers: dict[str, str]
    signature_valid: bool | None
    status: int | None
    error: str | None
    latency: float | None = 0.0
    retry_after: float | None = None
    fault: str = "ok"
    body_size: int = 0
    signature_error: str | None = None

    @property
    def outcome(self) -> Outcome:
        """What a sender should have seen (``truncated`` shows as a reset)."""
        if self.status is None or self.error is not None:
            error = self.error if self.error in ("timeout", "connection_refused") else "reset"
            return Outcome.transport(error)
        return Outcome(self.status, None, self.retry_after)


_FIELDS = RequestRecord._fields


class RequestLog(Protocol):
    """Where the flaky receiver writes its request records."""

    def append(self, record: RequestRecord) -> None:
        """Keep one record (thread-safe)."""
        ...

    def records(self) -> list[RequestRecord]:
        """Every record kept so far, in arrival order."""
        ...

    def close(self) -> None:
        """Flush and release the file."""
        ...


class MemoryRequestLog:
    """Records in a list; for tests and in-process use."""

    def __init__(self) -> None:
        self._items: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Keep ``record``."""
        with self._lock:
            self._items.append(record)

    def records(self) -> list[RequestRecord]:
        """A copy of the records."""
        with self._lock:
            return list(self._items)

    def close(self) -> None:
        """Nothing to release."""


class JsonlRequestLog:
    """One JSON object a line, appended and flushed per request."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the request log {self.path}: {exc.strerror}") from None
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Write ``record`` as one line."""
        line = json.dumps(record._asdict(), separators=(",", ":"), sort_keys=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def records(self) -> list[RequestRecord]:
        """Read the file back."""
        with self._lock:
            self._file.flush()
        return _read_jsonl(self.path)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


class SqliteRequestLog:
    """One row per request in table ``requests`` (headers as JSON text). With
    ``create=False`` the table must already be there (a StoreError otherwise)."""

    _COLUMNS = ", ".join(_FIELDS)

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        from hooklab.model.sqlite import connect, errors

        self.path = os.fspath(path)
        self._conn = connect(self.path)
        self._errors = errors
        self._lock = threading.Lock()
        try:
            self._open(create)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, create: bool) -> None:
        with self._errors(self.path):
            if not create:
                found = self._conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'"
                ).fetchone()
                if found is None:
                    raise StoreError(f"{self.path}: has no requests table (not a request log)")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS requests (seq INTEGER, time REAL, method TEXT, "
                "path TEXT, message_id TEXT, attempt INTEGER, headers TEXT, "
                "signature_valid INTEGER, status INTEGER, error TEXT, latency REAL, "
                "retry_after REAL, fault TEXT, body_size INTEGER, signature_error TEXT)"
            )

    def append(self, record: RequestRecord) -> None:
        """Insert ``record``."""
        row = list(record)
        row[_FIELDS.index("headers")] = json.dumps(record.headers)
        marks = ", ".join("?" for _ in _FIELDS)
        with self._lock, self._errors(self.path):
            self._conn.execute(f"INSERT INTO requests ({self._COLUMNS}) VALUES ({marks})", row)

    def records(self) -> list[RequestRecord]:
        """Every row, in arrival order."""
        with self._lock, self._errors(self.path):
            rows = self._conn.execute(
                f"SELECT {self._COLUMNS} FROM requests ORDER BY seq"
            ).fetchall()
        return [_from_row(row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def open_request_log(path: str | os.PathLike[str] | None) -> RequestLog:
    """The log for ``path``, chosen by its suffix; ``None`` keeps records in memory.

    >>> open_request_log("requests.csv")
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ConfigError: request log requests.csv: use a .jsonl, .ndjson, \
.sqlite, .sqlite3 or .db file
    """
    if path is None:
        return MemoryRequestLog()
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return JsonlRequestLog(path)
    if suffix in SQLITE_SUFFIXES:
        return SqliteRequestLog(path)
    raise ConfigError(
        f"request log {os.fspath(path)}: use a .jsonl, .ndjson, .sqlite, .sqlite3 or .db file"
    )


def read_request_log(path: str | os.PathLike[str]) -> list[RequestRecord]:
    """The records a flaky receiver wrote to ``path`` (JSON Lines or SQLite).

    A ``.jsonl``/``.ndjson`` file is read as JSON Lines, any other as SQLite. Raises
    :class:`~hooklab.model.errors.ConfigError` for a missing file or one that is neither,
    and :class:`~hooklab.model.errors.StoreError` for a corrupt one.
    """
    where = Path(path)
    if not where.is_file():
        raise ConfigError(f"request log {where} does not exist")
    if where.suffix.lower() in JSONL_SUFFIXES:
        return _read_jsonl(where)
    with where.open("rb") as handle:
        is_sqlite = handle.read(16) == b"SQLite format 3\x00"
    if not is_sqlite:
        raise ConfigError(f"request log {where} is neither JSON Lines (.jsonl) nor SQLite")
    log = SqliteRequestLog(where, create=False)
    try:
        return log.records()
    finally:
        log.close()


def as_attempt_records(
    records: Iterable[RequestRecord], endpoint_id: str = "flaky"
) -> list[AttemptRecord]:
    """The records as :class:`~hooklab.model.records.AttemptRecord` (as the receiver saw
    them: ``end`` is ``time + latency``; ``next_attempt_at`` is unknown, so ``None``).

    >>> r = RequestRecord(1, 10.0, "POST", "/", "msg_1", 2, {}, True, 500, None, 0.5)
    >>> as_attempt_records([r])[0][:8]
    ('msg_1', 'flaky', 2, 10.0, 10.5, 'server_error', 500, None)
    """
    out = []
    for r in records:
        outcome = r.outcome
        latency = r.latency or 0.0
        out.append(
            AttemptRecord(
                r.message_id, endpoint_id, r.attempt, r.time, r.time + latency,
                str(outcome.kind), outcome.status_code, outcome.error, None,
            )
        )
    return out


def _read_jsonl(path: Path) -> list[RequestRecord]:
    out = []
    with path.open("rb") as handle:  # bytes: a line that is not UTF-8 is named, not a crash
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)  # UnicodeDecodeError is a ValueError
                out.append(RequestRecord(**{name: data[name] for name in _FIELDS}))
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{path}:{number}: not a request record ({exc})") from None
    return out


def _from_row(row: tuple[Any, ...]) -> RequestRecord:
    values = list(row)
    values[_FIELDS.index("headers")] = json.loads(values[_FIELDS.index("headers")] or "{}")
    valid = values[_FIELDS.index("signature_valid")]
    values[_FIELDS.index("signature_valid")] = None if valid is None else bool(valid)
    return RequestRecord(*values)

