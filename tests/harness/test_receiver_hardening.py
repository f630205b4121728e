"""The reference receiver under hostile input: limits answered before the lane, strict
JSON, dedupe on the signed content for GitHub, a bounded dedupe window, a bounded state
view behind an optional token."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.receiver import STATE_PATH, ReferenceReceiver, create_receiver
from hooklab.model.errors import ConfigError
from hooklab.model.signing import sign_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GITHUB = "It's a Secret to Everybody"
NOW = 1_700_000_000
BODY = b'{"type": "invoice.paid", "data": {"amount": 42}}'


def make(**kwargs) -> ReferenceReceiver:
    kwargs.setdefault("clock", FakeClock(NOW))
    return create_receiver(kwargs.pop("secret", SECRET), **kwargs)


def signed(body: bytes, message_id: str = "msg_1", *, scheme: str = "standard",
           secret: str = SECRET) -> dict[str, str]:
    return sign_headers(body, message_id=message_id, timestamp=NOW, secrets=[secret],
                        scheme=scheme)


async def exchange(app, requests, *, drain=True):
    """Send each (method, path, headers, body) in order; drain; return the responses."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://r.test") as client:
        answers = [await client.request(m, p, headers=h, content=b) for m, p, h, b in requests]
        if drain:
            await app.drain()
    return answers


def post(app, *pairs, drain=True):
    return asyncio.run(exchange(app, [("POST", "/", h, b) for h, b in pairs], drain=drain))


@pytest.mark.parametrize("body", [
    b'{"type": "invoice.paid", "amount": NaN}', b'{"type": "a", "n": Infinity}',
    b'{"type": "a", "n": -Infinity}', b'{"type": "a", "n": 1e999}',
    b'{"type": "a", "x": ' + b"[" * 100 + b"]" * 100 + b"}",
])
def test_nan_infinity_and_deep_json_are_400_and_never_queued(body):
    receiver = make()
    (answer,) = post(receiver, (signed(body), body))
    assert answer.status_code == 400 and answer.json()["error"].startswith("malformed JSON")
    assert receiver.processed_count("msg_1") == 0 and receiver.inbox.pending() == 0


def test_github_replays_with_four_new_delivery_ids_are_processed_once():
    receiver = make(secret=GITHUB, scheme="github")
    body = b'{"action": "opened", "number": 7}'
    requests = [({**signed(body, f"delivery-{i}", scheme="github", secret=GITHUB),
                  "X-GitHub-Event": "pull_request"}, body) for i in range(5)]
    answers = post(receiver, *requests)
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["status"] for a in answers] == ["queued"] + ["duplicate"] * 4
    assert receiver.processed == {"delivery-0": 1}
    assert receiver.outcomes["completed"] == 1


def test_github_deliveries_with_different_bodies_are_different_messages():
    receiver = make(secret=GITHUB, scheme="github")
    bodies = [b'{"n": 1}', b'{"n": 2}']
    post(receiver, *[({**signed(b, "same-id", scheme="github", secret=GITHUB),
                       "X-GitHub-Event": "push"}, b) for b in bodies])
    assert receiver.outcomes["completed"] == 2


def test_a_message_past_the_dedupe_window_is_processed_again():
    clock = FakeClock(NOW)
    receiver = make(clock=clock, dedupe_window=60.0)
    first = post(receiver, (signed(BODY), BODY))
    clock.advance(30)
    inside = post(receiver, (sign_headers(BODY, message_id="msg_1", timestamp=NOW + 30,
                                          secrets=[SECRET]), BODY))
    clock.advance(31)
    after = post(receiver, (sign_headers(BODY, message_id="msg_1", timestamp=NOW + 61,
                                         secrets=[SECRET]), BODY))
    assert [a[0].json()["status"] for a in (first, inside, after)] == [
        "queued", "duplicate", "queued"]
    assert receiver.outcomes["completed"] == 2


def test_the_dedupe_record_keeps_at_most_remember_keys_oldest_forgotten_first():
    receiver = make(remember=3)
    ids = [f"msg_{i}" for i in range(10)]
    post(receiver, *[(signed(BODY, i), BODY) for i in ids])
    assert len(receiver.processed) <= 3
    again = post(receiver, (signed(BODY, "msg_0"), BODY), (signed(BODY, "msg_9"), BODY))
    assert [a.json()["status"] for a in again] == ["queued", "duplicate"]


def test_a_message_not_yet_processed_is_never_forgotten():
    receiver = ReferenceReceiver(SECRET, clock=FakeClock(NOW), remember=1)
    release = asyncio.Event()

    @receiver.on("*")
    async def blocked(event):
        await release.wait()

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                     base_url="http://r.test") as client:
            answers = [await client.post("/", headers=signed(BODY, i), content=BODY)
                       for i in ("msg_1", "msg_2", "msg_1")]
            release.set()
            await receiver.drain()
            return answers

    answers = asyncio.run(scenario())
    assert [a.json()["status"] for a in answers] == ["queued", "queued", "duplicate"]
    assert receiver.outcomes["completed"] == 2


def test_over_the_body_cap_is_413_and_a_queue_full_is_503_with_retry_after():
    receiver = ReferenceReceiver(SECRET, clock=FakeClock(NOW), max_body=len(BODY),
                                 max_buffered=len(BODY), max_queued=1)

    async def scenario():  # no handler runs before the drain: the queue stays full
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                     base_url="http://r.test") as client:
            big = await client.post("/", headers=signed(BODY + b" "), content=BODY + b" ")
            ok = await client.post("/", headers=signed(BODY, "msg_1"), content=BODY)
            full = await client.post("/", headers=signed(BODY, "msg_2"), content=BODY)
            return big, ok, full

    big, ok, full = asyncio.run(scenario())
    assert (big.status_code, ok.status_code, full.status_code) == (413, 200, 503)
    assert full.headers["retry-after"] == "5" and big.headers["connection"] == "close"


def test_in_memory_a_queued_body_holds_its_budget_until_it_is_processed():
    receiver = ReferenceReceiver(SECRET, clock=FakeClock(NOW), max_body=len(BODY),
                                 max_buffered=len(BODY))
    release = asyncio.Event()

    @receiver.on("*")
    async def blocked(event):
        await release.wait()

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                     base_url="http://r.test") as client:
            first = await client.post("/", headers=signed(BODY, "msg_1"), content=BODY)
            held = receiver.admission.buffered
            second = await client.post("/", headers=signed(BODY, "msg_2"), content=BODY)
            release.set()
            await receiver.drain()
            third = await client.post("/", headers=signed(BODY, "msg_3"), content=BODY)
            await receiver.drain()
            return first, held, second, third

    first, held, second, third = asyncio.run(scenario())
    assert (first.status_code, held, second.status_code) == (200, len(BODY), 503)
    assert third.status_code == 200 and receiver.admission.buffered == 0


def test_the_state_view_asks_for_its_token_when_it_has_one():
    receiver = make(expose_state=True, state_token="s3cr3t-state-token")
    get = [("GET", STATE_PATH, {}, b""),
           ("GET", STATE_PATH, {"Authorization": "Bearer wrong"}, b""),
           ("GET", STATE_PATH + "?message_id=msg_1",
            {"Authorization": "Bearer s3cr3t-state-token"}, b"")]
    none, wrong, right = asyncio.run(exchange(receiver, get))
    assert (none.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert none.headers["www-authenticate"] == "Bearer"
    assert right.json() == {"message_id": "msg_1", "processed": 0}


def test_the_state_view_is_bounded_whatever_it_is_asked_or_fed():
    receiver = make(expose_state=True)
    bodies = [json.dumps({"type": f"type.{i}"}).encode() for i in range(150)]
    post(receiver, *[(signed(b, f"msg_{i}"), b) for i, b in enumerate(bodies)])
    asks = [("GET", STATE_PATH, {}, b""),
            ("GET", STATE_PATH + "?message_id=" + "x" * 300, {}, b""),
            ("GET", STATE_PATH + "?" + "&".join(f"k{i}=v" for i in range(50)), {}, b"")]
    summary, long_id, many = asyncio.run(exchange(receiver, asks))
    by_type = summary.json()["by_type"]
    assert len(by_type) == 101 and by_type["(other)"] == 50
    assert summary.json()["processed"] == 150 and summary.json()["durable"] is False
    assert (long_id.status_code, many.status_code) == (400, 400)


@pytest.mark.parametrize("kwargs,field", [
    ({"state_token": "token"}, "state_token"),
    ({"state_token": "two words", "expose_state": True}, "state_token"),
    ({"max_queued": 0}, "max_queued"), ({"remember": 0}, "remember"),
    ({"dedupe_window": 0}, "dedupe_window"), ({"max_body": 0}, "max_body"),
    ({"max_concurrency": 0}, "max_concurrency"), ({"body_timeout": -1}, "body_timeout"),
    ({"store": "/"}, "store"),
])
def test_configuration_mistakes_fail_at_construction_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError) as error:
        ReferenceReceiver(SECRET, **kwargs)
    assert error.value.field == field
