"""The outbox under faults: a corrupt row, database errors, a paused worker, a disable.

Each test drives a real :class:`Worker` (through an in-process channel) or the step by
hand, and checks that no result is dropped and no other delivery is held up.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.cli.status import render_overview
from hooklab.harness.cli.table import Output
from hooklab.harness.clock import FakeClock
from hooklab.harness.outbox import Message, Outbox, Worker, WorkerConfig
from hooklab.harness.outbox.status import overview
from hooklab.harness.receiver import create_receiver
from hooklab.harness.sender import Sender
from hooklab.harness.server import LiveServer
from hooklab.harness.transport import AppChannel, Response
from hooklab.harness.transport.ssrf import SsrfGuard
from hooklab.model.backoff import ConstantSchedule
from hooklab.model.endpoints import Endpoint
from hooklab.model.outcomes import classify
from hooklab.model.retry import RetryPolicy

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = RetryPolicy("fast", max_attempts=3, backoff=ConstantSchedule(0.01))


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    with Outbox(tmp_path / "outbox.db") as box:
        box.registry.register(Endpoint("ep_1", "https://hooks.example.test/in", (SECRET,)))
        yield box  # type: ignore[misc]


def send(box: Outbox, n: int, now: float = 0.0) -> list[str]:
    box.send_many([Message(f"msg_{i}", "invoice.paid",
                           b'{"type":"invoice.paid","data":{"n":%d}}' % i)
                   for i in range(n)], now=now)
    return [f"msg_{i}" for i in range(n)]


def run(box: Outbox, channel: Any, *, receiver: Any = None, **config: Any) -> Any:
    config.setdefault("until_idle", True)
    config.setdefault("policy", FAST)
    worker = Worker(box, WorkerConfig(**config), channel=channel, rng=random.Random(1))

    async def main() -> Any:
        stats = await worker.run()
        if receiver is not None:
            await receiver.drain()
        return stats

    try:
        return asyncio.run(main())
    finally:
        worker.close()


def counts(box: Outbox) -> dict[str, int]:
    return {k.value: v for k, v in box.store.counts().items() if v}


@pytest.mark.parametrize("state", ["bogus_state", ""])
def test_a_row_in_an_unknown_state_is_quarantined_and_the_others_delivered(
        outbox: Outbox, state: str) -> None:
    ids = send(outbox, 12)
    outbox.db.conn.execute("UPDATE deliveries SET state = ? WHERE message_id = 'msg_3'",
                           (state,))  # a bad migration, a corrupted page
    receiver = create_receiver(SECRET)
    run(outbox, AppChannel(receiver), receiver=receiver)
    assert set(receiver.processed) == set(ids) - {"msg_3"}
    report = overview(outbox)
    (bad,) = report["quarantined"]
    assert (bad["message_id"], bad["endpoint_id"]) == ("msg_3", "ep_1")
    assert "state" in bad["detail"]
    kinds = [e["kind"] for e in report["events"]]
    assert kinds.count("delivery_error") == 1  # noted once, not at every step
    shown = io.StringIO()
    render_overview(report, {"deliveries": len(report["deliveries"]), "events": 0}, Output(),
                    out=shown)
    assert "quarantined msg_3 -> ep_1" in shown.getvalue()


def test_a_quarantined_row_does_not_keep_a_worker_from_going_idle(outbox: Outbox) -> None:
    send(outbox, 3)
    outbox.db.conn.execute("UPDATE deliveries SET state = 'nope' WHERE message_id = 'msg_0'")
    run(outbox, AppChannel(create_receiver(SECRET)))  # returns: until_idle ends
    run(outbox, AppChannel(create_receiver(SECRET)))  # and a restart does not die on it
    assert counts(outbox)["delivered"] == 2


def test_resend_starts_a_quarantined_delivery_afresh(outbox: Outbox) -> None:
    send(outbox, 2)
    outbox.db.conn.execute("UPDATE deliveries SET state = 'nope' WHERE message_id = 'msg_1'")
    run(outbox, AppChannel(create_receiver(SECRET)))
    assert outbox.resend("msg_1", "ep_1", now=10.0) == [("ep_1", 2)]
    receiver = create_receiver(SECRET)
    run(outbox, AppChannel(receiver), receiver=receiver)
    assert set(receiver.processed) == {"msg_1"} and counts(outbox) == {"delivered": 2}
    assert overview(outbox)["quarantined"] == []


class _LockingChannel:
    """Answers 200 to everything; at the ``at``-th request, another connection takes the
    database's write lock and holds it for ``hold`` seconds (a thread, as another process
    would: SQLite's locks are the file's)."""

    def __init__(self, path: str, *, at: int, hold: float) -> None:
        self.path, self.at, self.hold = path, at, hold
        self.posted: list[str] = []
        self.locked = threading.Event()
        self.thread = threading.Thread(target=self._lock, daemon=True)

    def _lock(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        self.locked.set()
        time.sleep(self.hold)
        conn.execute("COMMIT")
        conn.close()

    async def post(self, url: str, headers: Any, body: bytes, *, timeout: float) -> Any:
        pairs = headers.items() if hasattr(headers, "items") else headers
        self.posted.append(dict((k.lower(), v) for k, v in pairs)["webhook-id"])
        if len(self.posted) == self.at:
            self.thread.start()
            self.locked.wait()
        await asyncio.sleep(0.002)
        return Response(classify(200), b"ok")

    async def aclose(self) -> None:
        self.thread.join()


def test_a_worker_rides_out_a_held_lock_and_drops_no_result(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(tmp_path / "locked.db")
    outbox.registry.register(Endpoint("ep_1", "https://hooks.example.test/in", (SECRET,),
                                      timeout=1.0))
    ids = send(outbox, 60)
    channel = _LockingChannel(outbox.path, at=20, hold=3.0)
    outbox.db.busy_ms = 200  # the worker's steps fail well before the lock is released
    outbox.db.busy_timeout()
    with caplog.at_level(logging.WARNING, "hooklab.worker"):
        run(outbox, channel, lease=2.0, concurrency=4, batch=8)
    assert counts(outbox) == {"delivered": 60}
    assert sorted(channel.posted) == sorted(ids)  # each posted once: no result dropped
    assert outbox.db.conn.execute("SELECT count(*) FROM outbox_events WHERE kind IN "
                                  "('lease_expired', 'lease_lost')").fetchone()[0] == 0
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "outbox database unavailable" in said and "locked" in said
    assert "writable again" in said
    outbox.close()


@pytest.mark.network
def test_a_worker_paused_after_taking_a_claim_does_not_write_on_an_expired_lease(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hits: list[str] = []

    async def app(scope: Any, receive: Any, send_: Any) -> None:
        if scope["type"] != "http":
            return
        hits.append(scope["path"])
        await send_({"type": "http.response.start", "status": 200, "headers": []})
        await send_({"type": "http.response.body", "body": b"ok"})

    clock = FakeClock(1000.0)
    real_sign = Sender.sign

    def sign_then_pause(self: Sender, *args: Any, **kwargs: Any) -> Any:
        headers = real_sign(self, *args, **kwargs)
        clock.advance(3600.0)  # SIGSTOP after the lane's check, before the request
        return headers

    monkeypatch.setattr(Sender, "sign", sign_then_pause)
    with LiveServer(app) as server, Outbox(tmp_path / "paused.db") as box:
        box.registry.register(Endpoint("ep_1", server.url + "/hook", (SECRET,), timeout=2.0))
        send(box, 1, now=1000.0)
        worker = Worker(box, WorkerConfig(until_idle=True, max_wait=1.0, lease=5.0,
                                          policy=RetryPolicy("once", max_attempts=1),
                                          guard=SsrfGuard(allow_private=True)),
                        clock=clock, rng=random.Random(1))
        try:
            asyncio.run(worker.run())
        finally:
            worker.close()
        (attempt,) = box.store.get("msg_0", "ep_1").attempts
    assert hits == []  # never written
    assert attempt.error == "timeout"  # recorded as lost: by the lane, or by the next claim


class _DisablingChannel:
    """Answers 200 after a short wait; the first request disables the endpoint from
    another connection, as ``hooklab endpoints disable`` in another process would."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.posted: list[str] = []

    async def post(self, url: str, headers: Any, body: bytes, *, timeout: float) -> Any:
        pairs = headers.items() if hasattr(headers, "items") else headers
        self.posted.append(dict((k.lower(), v) for k, v in pairs)["webhook-id"])
        if len(self.posted) == 1:
            with Outbox(self.path) as other:
                other.disable_endpoint("ep_1", "disabled by hand", now=time.time())
        await asyncio.sleep(0.05)
        return Response(classify(200), b"ok")

    async def aclose(self) -> None:
        pass


def test_disabling_an_endpoint_drops_the_attempts_a_worker_claimed_ahead(
        outbox: Outbox) -> None:
    send(outbox, 40)
    channel = _DisablingChannel(outbox.path)
    concurrency = 5  # the worker claims up to 3 x 5 = 15 ahead
    run(outbox, channel, concurrency=concurrency, batch=15)
    # in flight when disabled (5), and one more per lane before the next step: not 15
    assert len(channel.posted) <= 2 * concurrency
    views = [outbox.store.get(f"msg_{i}", "ep_1") for i in range(40)]
    delivered = {v.message_id for v in views if v.status.value == "delivered"}
    assert delivered == set(channel.posted)
    failed = [v for v in views if v.status.value == "failed"]
    assert len(failed) == 40 - len(delivered)
    assert all(v.reason == "disabled: disabled by hand" for v in failed)
    for view in failed:  # dropped before it was posted, or claimed later and refused
        assert all(a.response_body.startswith("not sent: the endpoint was disabled")
                   for a in view.attempts), view.attempts
    assert sum(len(v.attempts) for v in failed) >= 5  # some were claimed ahead, dropped


def test_disabling_an_endpoint_quarantines_a_row_it_cannot_read(outbox: Outbox) -> None:
    send(outbox, 3)
    outbox.db.conn.execute("UPDATE deliveries SET state = 'nope' WHERE message_id = 'msg_1'")
    assert outbox.disable_endpoint("ep_1", "by hand", now=5.0) == 2  # the other two
    (bad,) = overview(outbox)["quarantined"]
    assert bad["message_id"] == "msg_1" and "nope" in bad["detail"]


def test_a_stop_during_an_outage_ends_after_the_grace_and_says_what_was_left(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(tmp_path / "stuck.db")
    outbox.registry.register(Endpoint("ep_1", "https://hooks.example.test/in", (SECRET,),
                                      timeout=1.0))
    send(outbox, 30)
    channel = _LockingChannel(outbox.path, at=5, hold=8.0)  # longer than the stop takes
    outbox.db.busy_ms = 100
    outbox.db.busy_timeout()
    worker = Worker(outbox, WorkerConfig(concurrency=2, batch=4, grace=0.5, lease=2.0,
                                         policy=FAST), channel=channel, rng=random.Random(1))

    async def main() -> float:
        task = asyncio.ensure_future(worker.run())
        while not channel.locked.is_set():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        worker.stop("test")
        began = time.monotonic()
        await task
        return time.monotonic() - began

    with caplog.at_level(logging.WARNING, "hooklab.worker"):
        took = asyncio.run(main())
    worker.close()
    assert took < 5.0  # the grace, a backoff and a busy timeout: not the lock's 8 s
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "results unrecorded" in said and "at least once" in said
    channel.thread.join()
    outbox.close()
