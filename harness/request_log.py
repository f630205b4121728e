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

Each log holds at most ``max_bytes`` (default :data:`LOG_MAX_BYTES`, 64 MiB), a record
counted as the length of its JSON line, and keeps the most recent records:

- in memory: the oldest records are dropped once the total is over (the Python objects
  take a few times their JSON size);
- JSON Lines: the file is rotated when it would pass ``max_bytes / 2``: ``requests.jsonl``
  becomes ``requests.1.jsonl`` (replacing the one before) and a new file starts, so the two
  files hold the last ``max_bytes / 2`` to ``max_bytes`` of records; reading the log reads
  both, oldest first;
- SQLite: once the rows are over, the oldest tenth of them is deleted.

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
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from hooklab.model.errors import ConfigError, StoreError
from hooklab.model.outcomes import Outcome
from hooklab.model.records import AttemptRecord

__all__ = [
    "JSONL_SUFFIXES",
    "LOG_MAX_BYTES",
    "SQLITE_SUFFIXES",
    "JsonlRequestLog",
    "MemoryRequestLog",
    "RequestLog",
    "RequestRecord",
    "SqliteRequestLog",
    "as_attempt_records",
    "open_request_log",
    "read_request_log",
    "rotated_path",
]

JSONL_SUFFIXES = (".jsonl", ".ndjson")
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
#: Default bound on what a request log holds, in bytes of JSON lines.
LOG_MAX_BYTES = 64 * 1024 * 1024
#: Bytes a SQLite row is counted for on top of its text columns.
_ROW_BYTES = 160


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
    """Records in memory, the most recent ``max_bytes`` of them; for tests and in-process
    use."""

    def __init__(self, max_bytes: int = LOG_MAX_BYTES) -> None:
        self.max_bytes = _check_max_bytes(max_bytes)
        self._items: deque[tuple[RequestRecord, int]] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        """Keep ``record``; drop the oldest ones past ``max_bytes``."""
        size = len(_line(record))
        with self._lock:
            self._items.append((record, size))
            self._size += size
            while self._size > self.max_bytes and len(self._items) > 1:
                self._size -= self._items.popleft()[1]

    def records(self) -> list[RequestRecord]:
        """A copy of the records kept."""
        with self._lock:
            return [record for record, _ in self._items]

    def close(self) -> None:
        """Nothing to release."""


class JsonlRequestLog:
    """One JSON object a line, appended and flushed per request; rotated to
    :func:`rotated_path` at ``max_bytes / 2`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = LOG_MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = _check_max_bytes(max_bytes)
        self._file = self._open()
        self._size = self._file.tell()
        self._lock = threading.Lock()

    def _open(self) -> Any:
        try:
            return self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the request log {self.path}: {exc.strerror}") from None

    def append(self, record: RequestRecord) -> None:
        """Write ``record`` as one line (rotating the file first if it is full)."""
        line = _line(record) + "\n"
        size = len(line.encode("utf-8"))
        with self._lock:
            if self._size and self._size + size > self.max_bytes // 2:
                self._file.close()
                os.replace(self.path, rotated_path(self.path))
                self._file, self._size = self._open(), 0
            self._file.write(line)
            self._file.flush()
            self._size += size

    def records(self) -> list[RequestRecord]:
        """Read the files back (the rotated one first)."""
        with self._lock:
            self._file.flush()
        return _read_jsonl_pair(self.path)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


class SqliteRequestLog:
    """One row per request in table ``requests`` (headers as JSON text). With
    ``create=False`` the table must already be there (a StoreError otherwise)."""

    _COLUMNS = ", ".join(_FIELDS)
    _ROW_SIZE = (f"coalesce(sum(length(headers) + length(path) + length(message_id)), 0) "
                 f"+ {_ROW_BYTES} * count(*)")

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 max_bytes: int = LOG_MAX_BYTES) -> None:
        from hooklab.model.sqlite import connect, errors

        self.path = os.fspath(path)
        self.max_bytes = _check_max_bytes(max_bytes)
        self._conn = connect(self.path)
        self._errors = errors
        self._lock = threading.Lock()
        try:
            self._open(create)
            self._size = self._measure()
        except BaseException:
            self._conn.close()
            raise

    def _measure(self) -> int:
        with self._errors(self.path):
            return int(self._conn.execute(
                f"SELECT {self._ROW_SIZE} FROM requests").fetchone()[0])

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
        """Insert ``record``; past ``max_bytes``, delete the oldest tenth of the rows."""
        row = list(record)
        headers = json.dumps(record.headers)
        row[_FIELDS.index("headers")] = headers
        marks = ", ".join("?" for _ in _FIELDS)
        with self._lock, self._errors(self.path):
            self._conn.execute(f"INSERT INTO requests ({self._COLUMNS}) VALUES ({marks})", row)
            self._size += len(headers) + len(record.path) + len(record.message_id) + _ROW_BYTES
            if self._size > self.max_bytes:
                self._conn.execute(
                    "DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests ORDER BY "
                    "rowid LIMIT (SELECT max(1, count(*) / 10) FROM requests))")
                self._size = self._measure()

    def records(self) -> list[RequestRecord]:
        """Every row, in arrival order."""
        with self._lock, self._errors(self.path):
            rows = self._conn.execute(
                f"SELECT {self._COLUMNS} FROM requests ORDER BY rowid"
            ).fetchall()
        return [_from_row(row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def open_request_log(path: str | os.PathLike[str] | None, *,
                     max_bytes: int = LOG_MAX_BYTES) -> RequestLog:
    """The log for ``path``, chosen by its suffix, holding at most ``max_bytes``; ``None``
    keeps records in memory.

    >>> open_request_log("requests.csv")
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ConfigError: request log requests.csv: use a .jsonl, .ndjson, \
.sqlite, .sqlite3 or .db file
    """
    if path is None:
        return MemoryRequestLog(max_bytes)
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return JsonlRequestLog(path, max_bytes=max_bytes)
    if suffix in SQLITE_SUFFIXES:
        return SqliteRequestLog(path, max_bytes=max_bytes)
    raise ConfigError(
        f"request log {os.fspath(path)}: use a .jsonl, .ndjson, .sqlite, .sqlite3 or .db file"
    )


def read_request_log(path: str | os.PathLike[str]) -> list[RequestRecord]:
    """The records a flaky receiver wrote to ``path`` (JSON Lines or SQLite).

    A ``.jsonl``/``.ndjson`` file is read as JSON Lines (its rotated part first, when there
    is one), any other as SQLite. Raises
    :class:`~hooklab.model.errors.ConfigError` for a missing file or one that is neither,
    and :class:`~hooklab.model.errors.StoreError` for a corrupt one.
    """
    where = Path(path)
    if not where.is_file():
        raise ConfigError(f"request log {where} does not exist")
    if where.suffix.lower() in JSONL_SUFFIXES:
        return _read_jsonl_pair(where)
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


def rotated_path(path: str | os.PathLike[str]) -> Path:
    """Where a JSON Lines log's older half goes when it is rotated.

    >>> rotated_path("logs/requests.jsonl").as_posix()
    'logs/requests.1.jsonl'
    """
    where = Path(path)
    return where.with_name(f"{where.stem}.1{where.suffix}")


def _line(record: RequestRecord) -> str:
    return json.dumps(record._asdict(), separators=(",", ":"), sort_keys=False)


def _check_max_bytes(max_bytes: int) -> int:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1024:
        raise ConfigError(f"log_max_bytes must be a whole number of bytes >= 1024, not "
                          f"{max_bytes!r}", field="log_max_bytes")
    return max_bytes


def _read_jsonl_pair(path: Path) -> list[RequestRecord]:
    older = rotated_path(path)
    return (_read_jsonl(older) if older.is_file() else []) + _read_jsonl(path)


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

