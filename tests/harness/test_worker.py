"""The outbox worker: delivery, retries by the policy, limits, SSRF, leases, stopping."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.outbox import Message, Outbox, Worker, WorkerConfig
from hooklab.harness.receiver import create_receiver
from hooklab.harness.server import LiveServer
from hooklab.harness.transport import AppChannel, SimulatedChannel
from hooklab.harness.transport.ssrf import SsrfGuard
from hooklab.model.backoff import ConstantSchedule
from hooklab.model.endpoints import Endpoint
from hooklab.model.faults import ReceiverModel
from hooklab.model.presets import get_policy
from hooklab.model.records import Status
from hooklab.model.retry import RetryPolicy
from hooklab.model.signing import get_scheme

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = RetryPolicy("fast", max_attempts=3, backoff=ConstantSchedule(0.01))


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    with Outbox(tmp_path / "outbox.db") as box:
        yield box  # type: ignore[misc]


def add(box: Outbox, url: str = "https://hooks.example.test/in", endpoint_id: str = "ep_1",
        timeout: float = 5.0) -> None:
    box.registry.register(Endpoint(endpoint_id, url, (SECRET,), timeout=timeout))


def send(box: Outbox, n: int, now: float = 0.0, prefix: str = "msg") -> list[str]:
    messages = [Message(f"{prefix}_{i}", "invoice.paid",
                        b'{"type":"invoice.paid","data":{"n":%d}}' % i) for i in range(n)]
    box.send_many(messages, now=now)
    return [m.id for m in messages]


def run(box: Outbox, channel: Any = None, clock: Any = None, *, after: Any = None,
        **config: Any) -> Any:
    config.setdefault("until_idle", True)
    config.setdefault("policy", FAST)
    worker = Worker(box, WorkerConfig(**config), channel=channel, clock=clock,
                    rng=random.Random(1))

    async def main() -> Any:
        stats = await worker.run()
        if after is not None:
            await after()
        return stats

    try:
        return asyncio.run(main())
    finally:
        worker.close()


def counts(box: Outbox) -> dict[str, int]:
    return {k.value: v for k, v in box.store.counts().items() if v}


def test_delivers_signed_messages_to_the_reference_receiver(outbox: Outbox) -> None:
    receiver = create_receiver(SECRET)
    add(outbox)
    ids = send(outbox, 25)
    stats = run(outbox, AppChannel(receiver), concurrency=5, after=receiver.drain)
    assert counts(outbox) == {"delivered": 25}
    assert stats.attempts == 25 and stats.delivered == 25
    assert set(receiver.processed) == set(ids)  # 401 would have failed: signatures verify
    assert all(n == 1 for n in receiver.processed.values())


def test_retries_follow_the_endpoint_policy_on_its_clock(outbox: Outbox) -> None:
    clock = FakeClock(1_700_000_000.0)
    channel = SimulatedChannel(ReceiverModel.parse("script=500,503,200"), clock=clock)
    add(outbox)
    send(outbox, 3, now=clock.now())
    run(outbox, channel, clock, policy=None)  # the endpoint's preset: "diagram"
    assert counts(outbox) == {"delivered": 3}
    view = outbox.store.get("msg_0", "ep_1")
    starts = [a.start for a in view.attempts]
    gaps = [round(b - a) for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == list(get_policy("diagram").schedule()[:2])  # 60 s, then 120 s
    assert [a.status_code for a in view.attempts] == [500, 503, 200]


def test_exhausted_messages_fail_with_events(outbox: Outbox) -> None:
    channel = SimulatedChannel(ReceiverModel.parse("status=500:1"))
    add(outbox)
    send(outbox, 2)
    run(outbox, channel)
    assert counts(outbox) == {"failed": 2}
    assert outbox.store.get("msg_0", "ep_1").reason == "exhausted"
    kinds = Counter(r[0] for r in outbox.db.conn.execute("SELECT kind FROM outbox_events"))
    assert kinds["attempt_failing"] == 6 and kinds["message_exhausted"] == 2


def test_gone_disables_the_endpoint_and_keeps_its_other_messages(outbox: Outbox) -> None:
    receiver = create_receiver(SECRET)

    async def app(scope: dict, receive: Any, send_: Any) -> None:  # type: ignore[type-arg]
        if scope["type"] == "http" and scope["path"].startswith("/gone"):
            await send_({"type": "http.response.start", "status": 410, "headers": []})
            await send_({"type": "http.response.body", "body": b""})
            return
        await receiver(scope, receive, send_)

    add(outbox, "https://a.example.test/gone", "ep_gone")
    add(outbox, "https://b.example.test/ok", "ep_ok")
    send(outbox, 10)
    run(outbox, AppChannel(app), concurrency=2)
    gone = outbox.registry.get("ep_gone")
    assert not gone.enabled and gone.disabled_reason == "410 Gone"
    reasons = Counter(r.reason for r in outbox.store.query(endpoint_id="ep_gone"))
    assert reasons["gone"] >= 1 and reasons["gone"] + reasons["disabled: 410 Gone"] == 10
    assert outbox.store.counts(endpoint_id="ep_ok")[Status.DELIVERED] == 10


def test_requests_run_concurrently_up_to_the_limit(outbox: Outbox) -> None:
    live = {"now": 0, "max": 0}

    async def slow(scope: dict, receive: Any, send_: Any) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        live["now"] += 1
        live["max"] = max(live["max"], live["now"])
        await asyncio.sleep(0.02)
        live["now"] -= 1
        await send_({"type": "http.response.start", "status": 204, "headers": []})
        await send_({"type": "http.response.body", "body": b""})

    add(outbox, "https://a.example.test/", "ep_a")
    add(outbox, "https://b.example.test/", "ep_b")
    send(outbox, 20)
    run(outbox, AppChannel(slow), concurrency=8)
    assert counts(outbox) == {"delivered": 40}
    assert 2 <= live["max"] <= 8


def test_two_workers_on_one_database_never_send_a_message_twice(outbox: Outbox) -> None:
    seen: Counter[str] = Counter()

    async def app(scope: dict, receive: Any, send_: Any) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen[headers["webhook-id"]] += 1
        await asyncio.sleep(0.001)
        await send_({"type": "http.response.start", "status": 200, "headers": []})
        await send_({"type": "http.response.body", "body": b"ok"})

    add(outbox)
    send(outbox, 60)
    path = outbox.path

    async def both() -> None:
        workers = [Worker(Outbox(path), WorkerConfig(concurrency=4, until_idle=True,
                                                      batch=5, policy=FAST),
                          channel=AppChannel(app), owner=f"w{i}") for i in range(2)]
        try:
            await asyncio.gather(*(w.run() for w in workers))
        finally:
            for w in workers:
                w.close()
                w.outbox.close()

    asyncio.run(both())
    assert counts(outbox) == {"delivered": 60}
    assert len(seen) == 60 and set(seen.values()) == {1}


def _app(status: int = 200, *, delay: float = 0.0, headers: list | None = None,  # type: ignore[type-arg]
         body: bytes = b"ok", hits: list | None = None) -> Any:  # type: ignore[type-arg]
    async def app(scope: dict, receive: Any, send_: Any) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        if hits is not None:
            hits.append(scope["path"])
        if delay:
            await asyncio.sleep(delay)
        await send_({"type": "http.response.start", "status": status,
                     "headers": headers or []})
        await send_({"type": "http.response.body", "body": body})

    return app


def test_over_loopback_the_ssrf_guard_refuses_until_allowed(outbox: Outbox) -> None:
    hits: list[str] = []
    with LiveServer(_app(hits=hits)) as server:
        add(outbox, server.url + "/hook")
        send(outbox, 1)
        run(outbox, policy=RetryPolicy("once", max_attempts=1))
        view = outbox.store.get("msg_0", "ep_1")
        assert view.status is Status.FAILED and hits == []
        assert "127.0.0.1" in view.attempts[0].response_body
        assert "loopback" in view.attempts[0].response_body
        send(outbox, 1, prefix="ok")
        run(outbox, guard=SsrfGuard(allow_private=True))
        assert outbox.store.get("ok_0", "ep_1").status is Status.DELIVERED
    assert hits == ["/hook"]


def test_limits_no_redirect_capped_body_and_timeout(outbox: Outbox) -> None:
    hits: list[str] = []
    redirect = _app(302, headers=[(b"location", b"/elsewhere")], hits=hits)
    allow = SsrfGuard(allow_private=True)
    once = RetryPolicy("once", max_attempts=1)
    with LiveServer(redirect) as r, LiveServer(_app(500, body=b"x" * 50_000)) as big, \
            LiveServer(_app(delay=2.0)) as slow:
        add(outbox, r.url + "/start", "ep_redirect")
        add(outbox, big.url + "/", "ep_big")
        add(outbox, slow.url + "/", "ep_slow", timeout=0.3)
        send(outbox, 1)
        run(outbox, guard=allow, policy=once, max_response_bytes=100)
    assert hits == ["/start"]  # the redirect was not followed
    attempt = {a.endpoint_id: a for a in outbox.store.attempts()}
    assert attempt["ep_redirect"].outcome == "redirect"
    assert attempt["ep_big"].status_code == 500 and len(attempt["ep_big"].response_body) == 100
    assert attempt["ep_slow"].error == "timeout"
    assert attempt["ep_slow"].end - attempt["ep_slow"].start < 1.5


def test_stop_finishes_attempts_in_flight_and_a_second_stop_cancels(outbox: Outbox) -> None:
    add(outbox, "https://a.example.test/", "ep_a")
    send(outbox, 4)

    async def scenario(app: Any, stops: int) -> Any:
        worker = Worker(outbox, WorkerConfig(concurrency=4, policy=FAST),
                        channel=AppChannel(app))
        task = asyncio.create_task(worker.run())
        while outbox.store.counts()[Status.SENDING] < 4:
            await asyncio.sleep(0.01)
        for _ in range(stops):
            worker.stop("test")
        stats = await asyncio.wait_for(task, 5.0)
        worker._db.shutdown()
        return stats

    stats = asyncio.run(scenario(_app(delay=0.2), stops=1))
    assert stats.stopped_by == "test" and stats.delivered == 4
    assert counts(outbox) == {"delivered": 4}
    send(outbox, 4, prefix="hang")
    stats = asyncio.run(scenario(_app(delay=60.0), stops=2))
    assert stats.delivered == 0 and stats.attempts == 4
    assert outbox.store.counts()[Status.SENDING] == 0  # released: recorded, retried later
    assert {a.error for a in outbox.store.attempts() if a.message_id.startswith("hang")} == {
        "timeout"}


def test_signatures_carry_the_same_message_id_on_every_attempt(outbox: Outbox) -> None:
    seen: list[tuple[str, bool]] = []
    scheme = get_scheme("standard")

    async def app(scope: dict, receive: Any, send_: Any) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            scheme.verify(headers, body, secrets=[SECRET], now=float(
                headers["webhook-timestamp"]), tolerance=300)
            ok = True
        except Exception:
            ok = False
        seen.append((headers["webhook-id"], ok))
        status = 503 if len(seen) < 3 else 200
        await send_({"type": "http.response.start", "status": status, "headers": []})
        await send_({"type": "http.response.body", "body": b""})

    add(outbox)
    send(outbox, 1)
    run(outbox, AppChannel(app))
    assert seen == [("msg_0", True)] * 3


def test_a_worker_can_be_kept_to_some_endpoints(outbox: Outbox) -> None:
    add(outbox, "https://a.example.test/", "ep_a")
    add(outbox, "https://b.example.test/", "ep_b")
    send(outbox, 5)
    channel = SimulatedChannel(ReceiverModel())
    run(outbox, channel, endpoints=("ep_a",))
    assert outbox.store.counts(endpoint_id="ep_a")[Status.DELIVERED] == 5
    assert outbox.store.counts(endpoint_id="ep_b")[Status.PENDING] == 5
    run(outbox, channel, endpoints=("ep_b",))
    assert counts(outbox) == {"delivered": 10}


def test_a_refused_target_is_explained_in_the_operational_events(outbox: Outbox) -> None:
    add(outbox, "http://10.1.2.3:8080/hooks")
    send(outbox, 1)
    run(outbox, policy=RetryPolicy("once", max_attempts=1))  # refused before any connect
    (detail,) = [r[0] for r in outbox.db.conn.execute(
        "SELECT detail FROM outbox_events WHERE kind = 'attempt_failing'")]
    assert "10.1.2.3" in detail and "private address" in detail
