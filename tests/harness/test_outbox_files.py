"""The outbox's files: owner-only modes, no secret in a spawned process's argv, and
read-only commands that work where nothing can be written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hooklab.harness.outbox import Message, Outbox
from hooklab.harness.outbox.bench import SECRET, start_receiver
from hooklab.model.endpoints import Endpoint


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_wal_and_shm_are_created_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: 0644 files unless we say otherwise
    try:
        db = tmp_path / "outbox.db"
        with Outbox(db) as outbox:
            outbox.registry.register(Endpoint("ep_1", "https://example.com/h", (SECRET,)))
            outbox.send(Message("msg_1", "invoice.paid", b"{}"), now=0.0)
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        os.umask(old)


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    Outbox(db).close()
    db.chmod(0o640)  # shared with a group on purpose
    Outbox(db).close()
    assert _mode(db) == 0o640


@pytest.mark.network
def test_the_benchmark_receiver_gets_its_secret_outside_argv() -> None:
    process, _ = start_receiver()
    try:
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert SECRET.encode() not in argv and b"whsec_" not in argv
    finally:
        process.terminate()
        process.wait(10)
