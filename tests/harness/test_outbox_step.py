"""The worker's batched step: the same rows as one statement per write, and it never
waits for another process's lock on the event loop."""

from __future__ import annotations

import random
import sqlite3

import pytest

from hooklab.harness.outbox import AutoDisable, Message, Outbox, Result
from hooklab.harness.outbox import step as outbox_step
from hooklab.model.endpoints import Endpoint
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.status import SqliteStatusStore

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _outbox(path) -> Outbox:
    outbox = Outbox(path)
    for i in range(3):
        outbox.registry.register(Endpoint(f"ep{i}", f"https://example.com/{i}", (SECRET,)))
    outbox.send_many([Message(f"m{i}", "a.b", b"{}") for i in range(120)], now=0.0)
    return outbox


def _drive(outbox: Outbox, seed: int) -> list[list[tuple]]:
    rng, pick = random.Random(seed), random.Random(seed + 1)
    outcomes = [classify(200), classify(500), classify(503), Outcome.transport("timeout")]
    now, pending = 1.0, []
    for _ in range(150):
        results = [Result(c, pick.choice(outcomes), b"x", now, now + 0.01) for c in pending[:7]]
        pending = pending[7:]
        pending += outbox.cycle("w", results, claim=7, now=now, lease=lambda e: 5.0,
                                policy_for=Endpoint.retry_policy, rng=rng,
                                auto=AutoDisable(consecutive=40))
        if pick.random() < 0.05:
            pending = pending[3:]  # lost answers: their leases expire
        now += 0.5
    conn = outbox.db.conn
    return [conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in (
        "deliveries", "attempts", "state_changes", "outbox_deliveries", "outbox_events")]


@pytest.mark.parametrize("seed", [1, 2])
def test_batched_step_writes_the_same_rows_as_one_statement_per_write(tmp_path, monkeypatch,
                                                                      seed):
    batched = _drive(_outbox(tmp_path / "a.db"), seed)
    monkeypatch.setattr(outbox_step.Step, "fast", lambda self: __import__(
        "contextlib").nullcontext())
    monkeypatch.setattr(SqliteStatusStore, "get_many", lambda self, keys: {})
    plain = _drive(_outbox(tmp_path / "b.db"), seed)
    assert len(batched[1]) > 50  # attempts were made
    assert batched == plain


def test_step_without_wait_returns_none_at_once_when_another_process_holds_the_lock(
        tmp_path):
    path = tmp_path / "x.db"
    outbox = _outbox(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    kwargs = dict(claim=5, now=1.0, lease=lambda e: 30.0,
                  policy_for=Endpoint.retry_policy, rng=random.Random(0))
    assert outbox.cycle("w", [], wait=False, **kwargs) is None
    assert outbox.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0  # restored
    other.execute("COMMIT")
    assert len(outbox.cycle("w", [], wait=False, **kwargs)) == 5
