"""The durable outbox: send, fan-out, leases, lost attempts, auto-disable, resend, recover.

These drive :meth:`Outbox.cycle` by hand with made-up answers and times: no HTTP.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from hooklab.harness.outbox import (
    LOST,
    AutoDisable,
    Claim,
    Message,
    Outbox,
    Result,
    UnknownMessage,
)
from hooklab.model.backoff import ConstantSchedule
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import ConfigError
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.records import Status
from hooklab.model.retry import RetryPolicy
from hooklab.model.status import LEGAL_MOVES

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
POLICY = RetryPolicy("fast", max_attempts=3, backoff=ConstantSchedule(10.0))


def endpoint(endpoint_id: str = "ep_1", events: tuple[str, ...] = ("*",),
             timeout: float = 5.0) -> Endpoint:
    return Endpoint(endpoint_id, f"https://{endpoint_id}.example.com/hooks", (SECRET,),
                    events=events, timeout=timeout)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    with Outbox(tmp_path / "outbox.db") as box:
        box.registry.register(endpoint())
        yield box  # type: ignore[misc]


def cycle(box: Outbox, now: float, results: list[Result] = (), *, owner: str = "w1",
          claim: int = 100, auto: AutoDisable | None = None) -> list[Claim]:
    return box.cycle(owner, list(results), claim=claim, now=now, lease=lambda e: 30.0,
                     policy_for=lambda e: POLICY, rng=random.Random(0), auto=auto)


def answer(claim: Claim, outcome: Outcome, at: float) -> Result:
    return Result(claim, outcome, b"answer", at, at + 0.1)


def message(i: int | str, event_type: str = "invoice.paid") -> Message:
    return Message(f"msg_{i}", event_type, b'{"n": %s}' % str(i).encode())


def events(box: Outbox, kind: str) -> list[tuple]:  # type: ignore[type-arg]
    return box.db.conn.execute("SELECT endpoint_id, message_id, detail FROM outbox_events "
                             "WHERE kind = ? ORDER BY seq", (kind,)).fetchall()


def status(box: Outbox, i: int | str, endpoint_id: str = "ep_1") -> Status:
    view = box.store.get(f"msg_{i}", endpoint_id)
    assert view is not None
    return view.status


def test_a_sent_message_is_durable_in_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as box:
        box.registry.register(endpoint())
        box.send(message(1), now=0.0)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id FROM outbox_messages").fetchall() == [("msg_1",)]
        assert conn.execute("SELECT status FROM deliveries").fetchall() == [("pending",)]


def test_same_message_id_enqueues_once(outbox: Outbox) -> None:
    first = outbox.send(message(1), now=0.0)
    again = outbox.send(message(1), now=5.0)
    assert first.created and not again.created
    assert again.endpoints == ("ep_1",)
    assert len(cycle(outbox, 6.0)) == 1


def test_same_id_with_another_payload_is_refused_and_changes_nothing(outbox: Outbox) -> None:
    outbox.send(message(1), now=0.0)
    with pytest.raises(ConfigError, match="idempotency key"):
        outbox.send(Message("msg_1", "invoice.paid", b'{"n": 2}'), now=1.0)
    body = outbox.db.conn.execute("SELECT body FROM outbox_messages").fetchone()[0]
    assert bytes(body) == b'{"n": 1}'


def test_fan_out_follows_filters_and_keeps_disabled_endpoints_recoverable(
        outbox: Outbox) -> None:
    outbox.registry.register(endpoint("ep_inv", events=("invoice.*",)))
    outbox.registry.register(endpoint("ep_cus", events=("customer.*",)))
    outbox.registry.register(endpoint("ep_off"))
    outbox.registry.disable("ep_off", "maintenance")
    result = outbox.send(message(1, "invoice.paid"), now=0.0)
    assert result.endpoints == ("ep_1", "ep_inv", "ep_off")
    assert status(outbox, 1, "ep_off") is Status.FAILED
    assert outbox.store.get("msg_1", "ep_off").reason == "disabled: maintenance"
    assert sorted(c.endpoint.id for c in cycle(outbox, 1.0)) == ["ep_1", "ep_inv"]


def test_payload_over_the_limit_is_a_clear_error_and_stores_nothing(outbox: Outbox) -> None:
    with pytest.raises(ConfigError, match="largest payload allowed is 10 bytes"):
        outbox.send(message(12345678901), now=0.0, max_payload=10)
    assert outbox.db.conn.execute("SELECT count(*) FROM outbox_messages").fetchone()[0] == 0


@pytest.mark.parametrize(("message_id", "event_type", "error"), [
    ("", "a.b", "message id"), ("msg 1", "a.b", "message id"), ("m", "", "event type"),
    ("m", "invoice.*", "event type"), ("m", "a..b", "event type")])
def test_bad_message_id_or_type_is_refused(outbox: Outbox, message_id: str, event_type: str,
                                           error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        outbox.send(Message(message_id, event_type, b"{}"), now=0.0)


def test_a_lease_keeps_a_delivery_to_one_worker(outbox: Outbox) -> None:
    outbox.send(message(1), now=0.0)
    (claim,) = cycle(outbox, 1.0, owner="w1")
    assert claim.attempt == 1 and status(outbox, 1) is Status.SENDING
    assert cycle(outbox, 30.9, owner="w2") == []  # lease of 30 s still held


def test_an_expired_lease_is_recorded_as_a_lost_attempt_and_retried(outbox: Outbox) -> None:
    outbox.send(message(1), now=0.0)
    (claim,) = cycle(outbox, 1.0, owner="w1")
    assert cycle(outbox, 31.5, owner="w2") == []  # w1 died: its attempt is lost...
    view = outbox.store.get("msg_1", "ep_1")
    assert view.status is Status.AWAITING_RETRY
    assert view.attempts[-1].error == "timeout" and view.attempts[-1].response_body == LOST
    assert events(outbox, "lease_expired")
    (again,) = cycle(outbox, 41.5, owner="w2")  # ...and retried by the policy
    assert again.attempt == 2 and again.message.id == "msg_1"
    # w1's late answer is dropped: w2 owns the delivery now
    cycle(outbox, 42.0, [answer(claim, classify(200), 41.9)], owner="w1")
    assert events(outbox, "lease_lost") and status(outbox, 1) is Status.SENDING
    cycle(outbox, 42.0, [answer(again, classify(200), 41.9)], owner="w2")
    assert status(outbox, 1) is Status.DELIVERED


def test_retries_wait_for_the_policy_then_exhaust(outbox: Outbox) -> None:
    outbox.send(message(1), now=0.0)
    now = 0.0
    for attempt in (1, 2, 3):
        (claim,) = cycle(outbox, now)
        assert claim.attempt == attempt
        cycle(outbox, now + 0.2, [answer(claim, classify(500), now)])
        assert cycle(outbox, now + 9.0) == []  # backoff of 10 s not over
        now += 10.2
    assert status(outbox, 1) is Status.FAILED
    assert outbox.store.get("msg_1", "ep_1").reason == "exhausted"
    assert len(events(outbox, "attempt_failing")) == 3
    assert len(events(outbox, "message_exhausted")) == 1


def test_consecutive_exhausted_messages_disable_the_endpoint(outbox: Outbox) -> None:
    auto = AutoDisable(consecutive=2)
    outbox.send_many([message(0), message(1)], now=0.0)
    outbox.send_many([message(2), message(3)], now=100.0)  # due later
    now = 1.0
    for _ in range(3):  # msg_0 and msg_1 fail three times
        claims = cycle(outbox, now)
        assert sorted(c.message.id for c in claims) == ["msg_0", "msg_1"]
        cycle(outbox, now + 0.2, [answer(c, classify(503), now) for c in claims], claim=0,
              auto=auto)
        now += 10.5
    assert cycle(outbox, 101.0) == []  # the endpoint is disabled: nothing is claimed
    ep = outbox.registry.get("ep_1")
    assert not ep.enabled and ep.disabled_reason == "2 consecutive failed deliveries"
    for i in (2, 3):  # kept, marked, recoverable: not dropped
        assert status(outbox, i) is Status.FAILED
        assert outbox.store.get(f"msg_{i}", "ep_1").reason == (
            "disabled: 2 consecutive failed deliveries")
    assert events(outbox, "endpoint_disabled")[0][2] == "2 consecutive failed deliveries"


def test_a_window_of_failures_with_no_success_disables_the_endpoint(outbox: Outbox) -> None:
    auto = AutoDisable(window=25.0)
    outbox.send(message(1), now=0.0)
    now = 0.0
    while outbox.registry.get("ep_1").enabled and now < 100:
        for claim in cycle(outbox, now, auto=auto):
            cycle(outbox, now + 0.1, [answer(claim, classify(500), now)], auto=auto)
        now += 10.5
        if now > 31 and not outbox.store.query(status="pending"):
            outbox.send(message(int(now)), now=now)
    assert outbox.registry.get("ep_1").disabled_reason.startswith("failing for")


def test_410_disables_at_once_and_a_success_after_failures_is_recovery(outbox: Outbox) -> None:
    outbox.registry.register(endpoint("ep_2"))
    outbox.send_many([message(1), message(2)], now=0.0)
    claims = {(c.message.id, c.endpoint.id): c for c in cycle(outbox, 1.0, claim=3)}
    assert len(claims) == 3  # msg_2 to ep_2 waits
    cycle(outbox, 1.2, [answer(claims["msg_2", "ep_1"], classify(200), 1.0),
                        answer(claims["msg_1", "ep_1"], classify(500), 1.0),
                        answer(claims["msg_1", "ep_2"], classify(410), 1.0)])
    assert outbox.store.get("msg_1", "ep_2").reason == "gone"
    assert outbox.registry.get("ep_2").disabled_reason == "410 Gone"
    assert outbox.store.get("msg_2", "ep_2").reason == "disabled: 410 Gone"
    assert not events(outbox, "endpoint_recovered")  # msg_2's success came first
    (retry,) = cycle(outbox, 12.0)
    cycle(outbox, 12.2, [answer(retry, classify(204), 12.0)])
    assert [e[0] for e in events(outbox, "endpoint_recovered")] == ["ep_1"]


def test_disabling_by_hand_fails_queued_deliveries_with_the_reason(outbox: Outbox) -> None:
    outbox.send_many([message(1), message(2)], now=0.0)
    (leased,) = cycle(outbox, 1.0, claim=1)
    assert outbox.disable_endpoint("ep_1", "paused", now=2.0) == 1
    assert outbox.store.get("msg_2", "ep_1").reason == "disabled: paused"
    cycle(outbox, 3.0, [answer(leased, classify(500), 2.0)])  # in flight: fails on return
    assert outbox.store.get(leased.message.id, "ep_1").reason == "disabled: paused"


def test_resend_starts_a_new_generation_and_archives_the_old_one(outbox: Outbox) -> None:
    outbox.send(message(1), now=0.0)
    (claim,) = cycle(outbox, 1.0)
    cycle(outbox, 1.2, [answer(claim, classify(410), 1.0)])
    outbox.enable_endpoint("ep_1", now=2.0)
    assert outbox.resend("msg_1", now=3.0) == [("ep_1", 2)]
    view = outbox.store.get("msg_1", "ep_1")
    assert view.status is Status.PENDING and view.attempts == ()
    assert [c.target for c in outbox.store.history("msg_1", "ep_1")] == [
        "event_occurred", "payload_prepared"]
    archived = outbox.db.conn.execute(
        "SELECT generation, state, reason, cause FROM outbox_generations").fetchall()
    assert archived == [(1, "failed", "gone", "resend")]
    (again,) = cycle(outbox, 4.0)
    assert again.generation == 2 and again.attempt == 1 and again.message.id == "msg_1"


def test_resend_refuses_what_it_cannot_do(outbox: Outbox) -> None:
    with pytest.raises(UnknownMessage):
        outbox.resend("msg_nope", now=0.0)
    outbox.send(message(1), now=0.0)
    with pytest.raises(ConfigError, match="still being delivered"):
        outbox.resend("msg_1", now=1.0)
    outbox.disable_endpoint("ep_1", "off", now=2.0)
    with pytest.raises(ConfigError, match="disabled"):
        outbox.resend("msg_1", now=3.0)
    with pytest.raises(ConfigError, match="not registered"):
        outbox.resend("msg_1", "ep_nope", now=3.0)


def test_recover_queues_failed_messages_since_a_time(outbox: Outbox) -> None:
    outbox.send(message(1), now=0.0)
    outbox.send(message(2), now=100.0)
    outbox.disable_endpoint("ep_1", "down", now=200.0)
    with pytest.raises(ConfigError, match="enable it first"):
        outbox.recover("ep_1", since=50.0, now=300.0)
    outbox.enable_endpoint("ep_1", now=300.0)
    assert outbox.recover("ep_1", since=50.0, now=301.0) == [("msg_2", 2)]
    assert status(outbox, 1) is Status.FAILED and status(outbox, 2) is Status.PENDING
    assert [c.message.id for c in cycle(outbox, 302.0)] == ["msg_2"]


def test_every_status_change_is_a_legal_delivery_edge(outbox: Outbox) -> None:
    rng = random.Random(7)
    outbox.registry.register(endpoint("ep_2"))
    outbox.send_many([message(i) for i in range(30)], now=0.0)
    now = 0.0
    for _ in range(40):
        now += 5.0
        owner = rng.choice(["w1", "w2"])
        claims = cycle(outbox, now, owner=owner, claim=rng.randint(0, 20))
        outcomes = [classify(rng.choice([200, 500, 503, 429, 302])) for _ in claims]
        keep = [answer(c, o, now) for c, o in zip(claims, outcomes, strict=True)
                if rng.random() < 0.8]  # the rest are "lost": their worker died
        cycle(outbox, now + 0.5, keep, owner=owner, claim=0)
    rows = outbox.db.conn.execute("SELECT message_id, endpoint_id, source, target FROM "
                                "state_changes ORDER BY rowid").fetchall()
    assert rows and all((s, t) in LEGAL_MOVES for _, _, s, t in rows)
    last: dict[tuple[str, str], str] = {}
    for m, e, source, target in rows:
        assert last.get((m, e), "start") == source  # a chain: no fork, no gap
        last[(m, e)] = target


def test_one_corrupt_delivery_does_not_block_the_others(outbox: Outbox) -> None:
    outbox.send_many([message(0), message(1), message(2)], now=0.0)
    claims = cycle(outbox, 1.0)
    outbox.db.conn.execute("UPDATE deliveries SET state = 'end', status = 'delivered' "
                         "WHERE message_id = 'msg_1'")  # moved behind the outbox's back
    outbox.send(message(3), now=1.5)
    fresh = cycle(outbox, 2.0, [answer(c, classify(200), 1.5) for c in claims])
    assert [c.message.id for c in fresh] == ["msg_3"]
    assert status(outbox, 0) is Status.DELIVERED and status(outbox, 2) is Status.DELIVERED
    (error,) = events(outbox, "delivery_error")
    assert error[1] == "msg_1" and "end" in error[2]
    due = outbox.db.conn.execute("SELECT due_at FROM outbox_deliveries WHERE message_id = "
                               "'msg_1'").fetchone()[0]
    assert due == 62.0  # put aside for a minute
