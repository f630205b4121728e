"""The outbox's files: owner-only modes, no secret in a spawned process's argv, and
read-only commands that work where nothing can be written."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hooklab.harness.outbox import Message, Outbox
from hooklab.harness.outbox.bench import SECRET, start_receiver
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import StoreError


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


def _as_reader() -> list[str]:
    """A prefix that runs a command unable to write a read-only folder: as nobody when
    we are root (root writes anywhere), as ourselves otherwise."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the right to write")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_status_and_endpoints_list_work_in_a_read_only_folder() -> None:
    # not under tmp_path: its parents are private to us, and nobody must reach the folder
    folder = Path(tempfile.mkdtemp(prefix="hooklab-ro-"))
    db = folder / "outbox.db"
    try:
        with Outbox(db) as outbox:
            outbox.registry.register(Endpoint("ep_1", "https://example.com/h", (SECRET,)))
            outbox.send(Message("msg_1", "invoice.paid", b"{}"), now=0.0)
        assert not Path(f"{db}-shm").exists()  # closed cleanly: WAL would need a new one
        db.chmod(0o644)
        folder.chmod(0o555)
        prefix = _as_reader()
        for command in (["status", "--json"], ["endpoints", "list", "--json"]):
            done = subprocess.run([*prefix, sys.executable, "-m", "hooklab.harness.cli",
                                   *command, "--db", str(db)], capture_output=True,
                                  text=True, timeout=60, cwd=folder)
            assert done.returncode == 0, done.stderr
            assert ("msg_1" if command[0] == "status" else "ep_1") in done.stdout
        assert sorted(p.name for p in folder.iterdir()) == ["outbox.db"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_read_only_open_changes_nothing_and_refuses_writes(tmp_path: Path) -> None:
    db = tmp_path / "outbox.db"
    Outbox(db).close()
    before = db.read_bytes()
    with Outbox(db, readonly=True) as outbox:
        assert outbox.store.counts()
        with pytest.raises(StoreError):
            outbox.registry.register(Endpoint("ep_1", "https://example.com/h", (SECRET,)))
    assert db.read_bytes() == before
