"""The embedded SQLite database the stores share: one file, WAL mode, errors named.

hooklab keeps endpoints, delivery status and (later) the durable outbox in one SQLite file,
opened with stdlib :mod:`sqlite3`. :func:`connect` opens it the same way for every store:

- a new file is created 0600 (owner only: it may hold secrets), and so are its ``-wal``
  and ``-shm`` files;
- WAL journal mode (readers never block the writer; several processes may share the file),
  ``synchronous=NORMAL`` (durable at each checkpoint, safe against a process crash) and a
  busy timeout, so two workers on one database wait for each other instead of failing;
- autocommit mode: every write runs inside :func:`transaction`, an ``IMMEDIATE``
  transaction that takes the write lock up front and that nests (an inner block joins the
  outer one), so a caller can make several store calls atomic;
- every :class:`sqlite3.Error` becomes a :class:`~hooklab.model.errors.StoreError` that
  names the file: a corrupt file, a directory, a locked database, a full disk (named as
  such, also when SQLite only says "disk I/O error" and the device has no space left).

Each store creates its own tables on open (``CREATE TABLE IF NOT EXISTS``). Stores given a
path open their own connection; stores given one :class:`Database` share its connection and
lock, so a caller (the durable outbox) can make calls on several stores one transaction.

Example::

    >>> conn = connect(":memory:")
    >>> with transaction(conn, ":memory:"):
    ...     _ = conn.execute("CREATE TABLE t (x)")
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import StoreError

__all__ = ["BUSY_TIMEOUT", "Database", "connect", "connect_readonly", "errors", "open_shared",
           "transaction"]

#: Seconds a writer waits for another writer's lock before giving up.
BUSY_TIMEOUT = 10.0


def connect(path: str | os.PathLike[str], *, timeout: float = BUSY_TIMEOUT,
            readonly: bool = False) -> sqlite3.Connection:
    """Open (or create) the database at ``path`` in WAL mode; raise StoreError if it is not
    a usable SQLite database.

    ``readonly`` opens an existing file for reading only, changing nothing (see
    :func:`connect_readonly`). The connection may be used from several threads
    (``check_same_thread=False``); callers serialise access to it.
    """
    name = os.fspath(path)
    if readonly:
        return connect_readonly(name, timeout=timeout)
    with errors(name):
        if name != ":memory:" and os.path.isdir(name):
            raise StoreError(f"{name}: is a directory, not a database file")
        _create_private(name)
        conn = sqlite3.connect(
            name, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA schema_version").fetchone()  # fails on a corrupt file
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if name != ":memory:" and str(mode).lower() != "wal":
                raise StoreError(f"{name}: cannot switch the database to WAL mode ({mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
    return conn


def connect_readonly(path: str, *, timeout: float = BUSY_TIMEOUT) -> sqlite3.Connection:
    """Open an existing database for reading only, so that reading works on a read-only
    filesystem or folder too: SQLite's read-only mode, or, when that cannot make the
    ``-shm`` file WAL mode needs and no ``-wal`` file holds commits not yet in the main
    file, the file read as immutable (what it holds is then all there is to read)."""
    with errors(path):
        if not os.path.isfile(path):
            raise StoreError(f"{path}: no such database file")
        uri = "file:" + urllib.parse.quote(os.path.abspath(path))
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            wal = path + "-wal"
            if os.path.exists(wal) and os.path.getsize(wal) > 0:
                raise
            conn = sqlite3.connect(uri + "?immutable=1", uri=True, timeout=timeout,
                                   isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA schema_version").fetchone()
    return conn


class Database:
    """One open SQLite file: its connection and the lock that serialises access to it.

    Give the same ``Database`` to several stores and they share one connection, so a
    :func:`transaction` on it spans all of them::

        >>> db = Database(":memory:")
        >>> db.path, db.conn.in_transaction
        (':memory:', False)
        >>> db.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = BUSY_TIMEOUT,
                 readonly: bool = False) -> None:
        self.path = os.fspath(path)
        self.conn = connect(self.path, timeout=timeout, readonly=readonly)
        self.lock = threading.RLock()

    def close(self) -> None:
        """Close the connection (every store sharing it is closed with it)."""
        with self.lock, errors(self.path):
            self.conn.close()


def open_shared(
    target: str | os.PathLike[str] | Database, *, timeout: float = BUSY_TIMEOUT,
    schema: str | None = None,
) -> tuple[Database, bool]:
    """The :class:`Database` for a store's ``target`` and whether the store owns it (a
    path: a connection of its own, closed with the store) or shares it (a ``Database``).

    ``schema`` (a store's ``CREATE ... IF NOT EXISTS`` script) is run on it; if that fails
    (a StoreError), a connection opened here is closed again.
    """
    if isinstance(target, Database):
        db, owns = target, False
    else:
        db, owns = Database(target, timeout=timeout), True
    if schema is not None:
        try:
            with db.lock, errors(db.path):
                db.conn.executescript(schema)
        except BaseException:
            if owns:
                db.conn.close()
            raise
    return db, owns


@contextmanager
def errors(path: str) -> Iterator[None]:
    """Turn any :class:`sqlite3.Error` raised inside the block into a StoreError naming
    ``path``."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: {_describe(exc, path)}") from exc


@contextmanager
def transaction(conn: sqlite3.Connection, path: str) -> Iterator[sqlite3.Connection]:
    """Run the block in one ``BEGIN IMMEDIATE`` transaction: commit on success, roll back
    on any error. Inside an open transaction it joins that one (the outer block commits).
    """
    if conn.in_transaction:
        yield conn
        return
    with errors(path):
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    with errors(path):
        conn.execute("COMMIT")


#: Free bytes below which a device counts as full (a few SQLite pages).
_FULL_BELOW = 64 * 1024


def _describe(exc: sqlite3.Error, path: str) -> str:
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF == sqlite3.SQLITE_FULL or (
            code & 0xFF == sqlite3.SQLITE_IOERR and _no_space(path))):
        return f"disk full: no space left for the database ({text})"
    if "not a database" in text or "malformed" in text:
        return f"not a valid hooklab SQLite database ({text})"
    if "locked" in text or "busy" in text:
        return f"database is locked by another process ({text})"
    if "unable to open" in text:
        return f"cannot open the database file ({text})"
    return text


def _create_private(name: str) -> None:
    """Create a missing database file readable by its owner only (0600): it may hold
    signing secrets in clear. SQLite gives the ``-wal`` and ``-shm`` files it makes the
    main file's mode. An existing file keeps its mode."""
    if name == ":memory:" or name.startswith("file:") or not name:
        return
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a read-only place, a missing folder: sqlite3 says what is wrong
    os.close(fd)


def _no_space(path: str) -> bool:
    """Whether the device holding ``path`` has (almost) no space left for us."""
    if path == ":memory:" or not path:
        return False
    try:
        found = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return found.f_bavail * found.f_frsize < _FULL_BELOW
