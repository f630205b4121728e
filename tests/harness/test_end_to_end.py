"""End to end over loopback: the real sender delivers to a uvicorn-served flaky receiver.

Every message must end delivered or failed in the status store, retries must follow the
policy, and what the flaky receiver recorded must agree with what the sender recorded:
the same message ids, the same attempt numbers, the same answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.flaky import FlakyReceiver
from hooklab.harness.request_log import RequestRecord, read_request_log
from hooklab.harness.sender import Sender, make_message
from hooklab.harness.server import LiveServer
from hooklab.harness.transport import HttpChannel
from hooklab.model.endpoints import Endpoint
from hooklab.model.outcomes import Outcome
from hooklab.model.policy_config import policy_from_config
from hooklab.model.records import AttemptRecord, Status
from hooklab.model.status import SqliteStatusStore

pytestmark = pytest.mark.network

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = policy_from_config({"delays": [0.01] * 5})  # 6 attempts, 10 ms apart


def seen_by_sender(received: RequestRecord) -> Outcome:
    """What a sender over real HTTP sees of the receiver's answer: a receiver that is
    ``down`` has already accepted the connection, so it can only reset it."""
    outcome = received.outcome
    return Outcome.transport("reset") if outcome.error == "connection_refused" else outcome


def by_message(items, key):
    grouped = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def assert_logs_agree(sent: list[AttemptRecord], received: list[RequestRecord]) -> None:
    """The receiver saw exactly the attempts the sender made, with the answers the sender
    recorded, attempt by attempt."""
    sent_by = by_message(sent, lambda a: a.message_id)
    received_by = by_message(received, lambda r: r.message_id)
    assert sent_by.keys() == received_by.keys()
    for message_id, attempts in sent_by.items():
        requests = received_by[message_id]
        assert [a.attempt for a in attempts] == [r.attempt for r in requests] == list(
            range(1, len(attempts) + 1)), message_id
        for attempt, request in zip(attempts, requests, strict=True):
            expected = seen_by_sender(request)
            got = Outcome(attempt.status_code, attempt.error)
            assert (got.status_code, got.error) == (expected.status_code, expected.error), (
                message_id, attempt.attempt)
    assert all(r.signature_valid for r in received)


def deliver_all(url: str, store, messages, *, policy=FAST, timeout=2.0, clock=None,
                concurrency=8, seed=1):
    endpoint = Endpoint("ep_flaky", url + "/webhook", (SECRET,), timeout=timeout)

    async def go():
        async with Sender(HttpChannel(), store=store, clock=clock, policy=policy,
                          seed=seed) as sender:
            return await sender.deliver_many(endpoint, messages, concurrency=concurrency)

    return asyncio.run(go())


def test_sender_and_flaky_receiver_agree_on_every_attempt(tmp_path):
    log = tmp_path / "requests.jsonl"
    flaky = FlakyReceiver("status=500:0.3 status=503:0.1:0 timeout=0.05 reset=0.05",
                          secrets=SECRET, log=log, seed=4)
    store = SqliteStatusStore(tmp_path / "status.sqlite")
    messages = [make_message("invoice.paid", {"n": i}, message_id=f"msg_{i:03d}")
                for i in range(40)]
    with LiveServer(flaky) as server:
        records = deliver_all(server.url, store, messages)
    flaky.close()

    statuses = {r.message_id: r.status for r in records}
    assert set(statuses) == {m.id for m in messages}
    assert set(statuses.values()) <= {Status.DELIVERED, Status.FAILED}
    assert store.counts()[Status.DELIVERED] + store.counts()[Status.FAILED] == 40

    sent = store.attempts()
    received = read_request_log(log)
    assert_logs_agree(sent, received)
    assert len(received) > 40  # the faults made the sender retry

    for message_id, attempts in by_message(sent, lambda a: a.message_id).items():
        kinds = [a.outcome for a in attempts]
        if statuses[message_id] == Status.DELIVERED:
            assert kinds[-1] == "success" and "success" not in kinds[:-1]
        else:
            assert len(attempts) == FAST.max_attempts and "success" not in kinds
        for attempt in attempts[:-1]:  # retries waited as the policy says
            assert attempt.next_attempt_at == pytest.approx(attempt.end + 0.01)
        arrivals = [r.time for r in received if r.message_id == message_id]
        assert all(b - a >= 0.01 for a, b in zip(arrivals, arrivals[1:], strict=False))
    store.close()


def test_scripted_receiver_makes_every_message_take_the_same_path(tmp_path):
    log = tmp_path / "requests.sqlite"
    flaky = FlakyReceiver("script=500,timeout,503,reset,200", secrets=SECRET, log=log)
    store = SqliteStatusStore(tmp_path / "status.sqlite")
    messages = [make_message("a.b", i, message_id=f"m{i}") for i in range(10)]
    with LiveServer(flaky) as server:
        records = deliver_all(server.url, store, messages, timeout=1.0, concurrency=10)
    assert {(r.status, r.attempts) for r in records} == {(Status.DELIVERED, 5)}
    for message in messages:
        attempts = store.attempts(message_id=message.id)
        assert [Outcome(a.status_code, a.error).label for a in attempts] == [
            "500", "timeout", "503", "reset", "200"]
    assert_logs_agree(store.attempts(), read_request_log(log))
    store.close()


def test_diagram_schedule_over_loopback_runs_in_milliseconds_on_a_fake_clock(tmp_path):
    clock = FakeClock(time.time())  # shared by sender and receiver: signatures stay fresh
    flaky = FlakyReceiver("down=0:1000", secrets=SECRET, clock=clock)  # 16 minutes down
    store = SqliteStatusStore(tmp_path / "status.sqlite")
    message = make_message("invoice.paid", {}, message_id="msg_down")
    started = time.monotonic()
    with LiveServer(flaky) as server:
        endpoint = Endpoint("ep", server.url, (SECRET,))  # the diagram preset, 15 s timeout

        async def go():
            async with Sender(HttpChannel(), store=store, clock=clock) as sender:
                return await sender.deliver(endpoint, message)

        record = asyncio.run(go())
    assert time.monotonic() - started < 10  # 31 minutes of backoff, not waited for real
    assert (record.status, record.attempts) == (Status.DELIVERED, 6)
    assert clock.sleeps == [60.0, 120.0, 240.0, 480.0, 960.0]
    received = flaky.records()
    assert [round(r.time - received[0].time) for r in received] == [0, 60, 180, 420, 900, 1860]
    assert [r.outcome.label for r in received] == ["connection_refused"] * 5 + ["200"]
    assert_logs_agree(store.attempts(), received)
    store.close()
