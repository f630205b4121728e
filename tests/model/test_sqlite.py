"""Stores given one ``Database`` share its connection: one transaction spans them all."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from hooklab.model import Endpoint, SqliteRegistry, SqliteStatusStore
from hooklab.model.errors import StoreError
from hooklab.model.sqlite import Database, errors, transaction

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_transaction_over_a_shared_database_spans_both_stores(tmp_path: Path) -> None:
    db = Database(tmp_path / "hooks.db")
    registry, store = SqliteRegistry(db), SqliteStatusStore(db)
    with pytest.raises(RuntimeError), transaction(db.conn, db.path):
        registry.register(Endpoint("ep_1", "https://example.com/hook", (SECRET,)))
        store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)
        raise RuntimeError("roll back both")
    assert registry.list() == []
    assert store.get("msg_1", "ep_1") is None
    with transaction(db.conn, db.path):
        registry.register(Endpoint("ep_1", "https://example.com/hook", (SECRET,)))
        store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)
    assert [e.id for e in registry.list()] == ["ep_1"]
    assert store.get("msg_1", "ep_1") is not None
    db.close()


def test_closing_a_sharing_store_leaves_the_database_open(tmp_path: Path) -> None:
    db = Database(tmp_path / "hooks.db")
    SqliteRegistry(db).close()
    store = SqliteStatusStore(db)
    assert store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)
    db.close()


def test_a_store_given_a_path_owns_and_closes_its_connection(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "own.db")
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)


@pytest.mark.parametrize("store", [SqliteStatusStore, SqliteRegistry])
def test_a_store_whose_schema_fails_closes_the_connection_it_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: type) -> None:
    import sqlite3

    import hooklab.model.sqlite as sqlite_module
    from hooklab.model.errors import StoreError

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:  # another program's tables under our names
        other.execute("CREATE TABLE deliveries (x)")
        other.execute("CREATE TABLE endpoints (x)")
    other.close()
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite_module.connect

    def tracked(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite_module, "connect", tracked)
    with pytest.raises(StoreError, match="other.db"):
        store(path)
    assert len(opened) == 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


def _fail(path: str, exc: sqlite3.Error) -> str:
    with pytest.raises(StoreError) as caught, errors(path):
        raise exc
    return str(caught.value)


def test_a_full_disk_is_named_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "x.db")
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    assert "disk full" in _fail(path, full)
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = 778  # type: ignore[attr-defined]  # SQLITE_IOERR_WRITE
    assert "disk full" not in _fail(path, io)  # the device has room: an I/O error

    class Statvfs:
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr(os, "statvfs", lambda p: Statvfs())
    assert "disk full" in _fail(path, io)  # no room left: that is what the error means
