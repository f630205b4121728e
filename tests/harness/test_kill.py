"""Fault injection: worker processes killed with SIGKILL or stopped with SIGTERM lose nothing.

A real ``hooklab serve flaky`` process (on 127.0.0.1, logging every request) answers with
500s, resets, hangs and latency; pairs of ``hooklab worker`` processes share one database,
deliver a queue of messages to it and are killed at random moments. After a final run
until idle, the outbox, the receiver's request log and the recorded status history must
agree.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from hooklab.harness.outbox import LOST, Message, Outbox
from hooklab.harness.request_log import read_request_log
from hooklab.model.endpoints import Endpoint
from hooklab.model.records import Status

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOOKLAB = [sys.executable, "-m", "hooklab.harness.cli"]
FAST = json.dumps({"schedule": "constant", "delay": 0.05, "max_attempts": 6})
#: Status moves that go forward (a delivery may also stay in its status between states).
FORWARD = {
    ("pending", "pending"), ("pending", "sending"), ("pending", "failed"),
    ("sending", "delivered"), ("sending", "awaiting_retry"), ("sending", "failed"),
    ("awaiting_retry", "awaiting_retry"), ("awaiting_retry", "sending"),
    ("awaiting_retry", "failed"), ("delivered", "delivered"),
}
STATUS = {"start": "pending", "event_occurred": "pending", "payload_prepared": "pending",
          "sending": "sending", "retry_queued": "awaiting_retry", "waiting": "awaiting_retry",
          "retrying": "awaiting_retry", "delivered": "delivered", "end": "delivered",
          "failed": "failed"}


def serve_flaky(tmp_path: Path, faults: str) -> tuple[subprocess.Popen[str], str, Path]:
    log = tmp_path / "requests.jsonl"
    process = subprocess.Popen(  # the secret in the environment: argv is visible in ps
        [*HOOKLAB, "serve", "flaky", "--port", "0", "--log", str(log),
         "--faults", faults, "--seed", "7", "--log-max-bytes", str(1 << 30)],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "HOOKLAB_SECRET": SECRET})
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "http://127.0.0.1:" in line, line
    return process, line[line.index("http://"):].strip(), log


@pytest.fixture
def flaky(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    process, url, log = serve_flaky(tmp_path, request.param)
    try:
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def queue(db: Path, url: str, n: int, timeout: float = 0.5) -> None:
    with Outbox(db) as outbox:
        outbox.registry.register(Endpoint("ep_flaky", url + "/hooks", (SECRET,),
                                          timeout=timeout))
        outbox.send_many([Message(f"msg_{i:05d}", "invoice.paid",
                                  b'{"type":"invoice.paid","data":{"n":%d}}' % i)
                          for i in range(n)], now=time.time())


def worker(db: Path, *extra: str, quiet: bool = False) -> subprocess.Popen[str]:
    out = subprocess.DEVNULL if quiet else subprocess.PIPE  # nobody reads a quiet one
    return subprocess.Popen(
        [*HOOKLAB, "worker", "--db", str(db), "--concurrency", "20", "--allow-private",
         "--policy", FAST, "--lease", "1", *extra],
        stdout=out, stderr=out, text=True)


def attempts(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM attempts").fetchone()[0])


def audit_history(db: Path) -> int:
    """Check every delivery's recorded state changes; returns how many were checked."""
    with sqlite3.connect(db) as conn:
        changes = conn.execute("SELECT message_id, endpoint_id, source, target FROM "
                               "state_changes ORDER BY rowid").fetchall()
        final = dict(((m, e), s) for m, e, s in conn.execute(
            "SELECT message_id, endpoint_id, state FROM deliveries"))
    chains: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for m, e, source, target in changes:
        chains[m, e].append((source, target))
    for key, chain in chains.items():
        assert chain[0][0] == "start", (key, chain)
        for (_, before), (source, _) in zip(chain, chain[1:], strict=False):
            assert source == before, f"{key}: history forks or skips: {chain}"
        for source, target in chain:
            assert (STATUS[source], STATUS[target]) in FORWARD, (
                f"{key}: status went backwards {source} -> {target}")
        assert chain[-1][1] == final[key]
    assert set(chains) == set(final)
    return len(chains)


@pytest.mark.slow
@pytest.mark.parametrize("flaky", ["status=500:0.15 reset=0.03 timeout=0.01 latency=0.02"],
                         indirect=True)
def test_sigkill_at_random_moments_loses_no_message(tmp_path: Path,
                                                    flaky: tuple[str, Path]) -> None:
    url, log = flaky
    db = tmp_path / "outbox.db"
    n = 1200
    queue(db, url, n)
    rng = random.Random(5)
    kills = 0
    for round_ in range(5):  # two workers share the database; both die each round
        processes = [worker(db, "--seed", f"{round_}{i}") for i in range(2)]
        before, deadline = attempts(db), time.monotonic() + 20
        while attempts(db) < before + 30 and time.monotonic() < deadline:
            time.sleep(0.02)  # they are delivering: kill them in the middle of their work
        for process in processes:
            time.sleep(rng.uniform(0.0, 0.4))
            assert process.poll() is None, process.communicate()
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
    assert kills >= 5
    final = worker(db, "--until-idle", "--seed", "99")
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    with Outbox(db) as outbox:
        counts = outbox.store.counts()
        assert counts[Status.DELIVERED] + counts[Status.FAILED] == n, counts
        delivered = {r.message_id for r in outbox.store.query(status="delivered")}
        lost = [a for a in outbox.store.attempts() if a.response_body == LOST]
        open_rows = outbox.db.conn.execute(
            "SELECT count(*) FROM outbox_deliveries WHERE due_at IS NOT NULL").fetchone()[0]
    assert open_rows == 0
    assert lost, "no kill landed on an attempt in flight"
    seen = {r.message_id for r in read_request_log(log)
            if r.signature_valid and r.status is not None and 200 <= r.status < 300}
    assert delivered <= seen  # the receiver saw every delivered message, at least once
    assert audit_history(db) == n


@pytest.mark.parametrize("flaky", ["latency=0.4"], indirect=True)
def test_sigterm_finishes_attempts_in_flight(tmp_path: Path, flaky: tuple[str, Path]) -> None:
    url, log = flaky
    db = tmp_path / "outbox.db"
    queue(db, url, 200, timeout=5.0)
    process = worker(db, "--concurrency", "5")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sqlite3.connect(db, timeout=30) as conn:
            if conn.execute("SELECT count(*) FROM deliveries WHERE status = 'sending'"
                            ).fetchone()[0]:
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and "stopped by SIGTERM" in err
    with Outbox(db) as outbox:
        counts = outbox.store.counts()
        assert counts[Status.SENDING] == 0 and counts[Status.DELIVERED] >= 1
        assert counts[Status.PENDING] > 0  # it stopped claiming
        assert not [a for a in outbox.store.attempts() if a.response_body == LOST]
    assert audit_history(db) == 200
    assert os.path.exists(log)


@pytest.mark.slow
@pytest.mark.parametrize("flaky", ["status=500:0.1 reset=0.02 latency=0.01"], indirect=True)
def test_three_workers_killed_at_random_lose_nothing_and_duplicate_only_what_was_in_flight(
        tmp_path: Path, flaky: tuple[str, Path]) -> None:
    url, log = flaky
    db = tmp_path / "outbox.db"
    n, workers, concurrency = 1500, 3, 20
    queue(db, url, n)
    rng = random.Random(12)
    live = [worker(db, "--seed", str(i), quiet=True) for i in range(workers)]
    kills, spawned, end = 0, workers, time.monotonic() + 20
    while time.monotonic() < end:
        time.sleep(rng.uniform(0.2, 1.2))
        victim = live.pop(rng.randrange(len(live)))
        victim.send_signal(signal.SIGKILL)  # wherever it is: posting, recording, idle
        victim.wait()
        kills += 1
        live.append(worker(db, "--seed", str(spawned), quiet=True))
        spawned += 1
    for process in live:
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    final = worker(db, "--until-idle", "--seed", "999")
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    with Outbox(db) as outbox:
        counts = outbox.store.counts()
        delivered = {r.message_id for r in outbox.store.query(status="delivered")}
        stuck = outbox.db.conn.execute(
            "SELECT count(*) FROM outbox_deliveries WHERE due_at IS NOT NULL").fetchone()[0]
    lost = n - counts[Status.DELIVERED] - counts[Status.FAILED]
    accepted: dict[str, int] = defaultdict(int)
    for r in read_request_log(log):
        if r.signature_valid and r.status is not None and 200 <= r.status < 300:
            accepted[r.message_id] += 1
    duplicates = sum(c - 1 for c in accepted.values())
    print(f"\n{workers} workers x {kills} SIGKILLs, {n} messages: lost {lost}, stuck {stuck}, "
          f"duplicates {duplicates} ({duplicates / n:.2%} of messages), "
          f"{counts[Status.FAILED]} failed by the policy")
    assert (lost, stuck) == (0, 0)
    assert delivered <= set(accepted)  # every delivered message reached the receiver
    assert audit_history(db) == n  # no backward move, no fork, no gap
    # a kill can only repeat what the killed worker had in hand: its claims (3 x
    # concurrency) whose answers it had not yet recorded
    assert duplicates <= kills * 3 * concurrency
