"""The reference receiver: the Reception lane's 401/400/200, raw-byte verification,
deduplication by message id, and recorded processing failures."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.receiver import STATE_PATH, ReferenceReceiver
from hooklab.harness.server import LiveServer
from hooklab.model.errors import ConfigError, InvalidSecret, UnknownScheme
from hooklab.model.signing import sign_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
NOW = 1_700_000_000


def signed(body: bytes, message_id: str = "msg_1", *, secret: str = SECRET,
           timestamp: int = NOW, scheme: str = "standard") -> dict[str, str]:
    return sign_headers(body, message_id=message_id, timestamp=timestamp, secrets=[secret],
                        scheme=scheme)


def make(**kwargs) -> ReferenceReceiver:
    kwargs.setdefault("clock", FakeClock(NOW))
    return ReferenceReceiver(kwargs.pop("secrets", SECRET), **kwargs)


async def post_all(app, requests, *, path="/webhook"):
    """POST each (headers, body) in order to the app in-process; drain; return responses."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://receiver.test") as client:
        answers = [await client.post(path, headers=h, content=b) for h, b in requests]
        if isinstance(app, ReferenceReceiver):
            await app.drain()
    return answers


def run(coro):
    return asyncio.run(coro)


BODY = json.dumps({"type": "invoice.paid", "data": {"amount": 42}}).encode()


def test_valid_delivery_is_acknowledged_queued_and_processed_once():
    receiver = make()
    calls = []
    receiver.on("invoice.paid")(lambda event: calls.append(event))
    (answer,) = run(post_all(receiver, [(signed(BODY), BODY)]))
    assert answer.status_code == 200
    assert answer.json() == {"status": "queued", "message_id": "msg_1"}
    assert [(e.message_id, e.event_type, e.payload["data"]["amount"]) for e in calls] == [
        ("msg_1", "invoice.paid", 42)
    ]
    assert receiver.processed_count("msg_1") == 1
    assert [r.state for r in receiver.records] == ["completed"]


@pytest.mark.parametrize(
    "change",
    ["wrong secret", "tampered body", "tampered id", "tampered timestamp", "no headers",
     "garbage signature"],
)
def test_invalid_signature_gets_401_and_is_not_queued(change):
    receiver = make()
    headers, body = signed(BODY), BODY
    if change == "wrong secret":
        headers = signed(BODY, secret=OTHER)
    elif change == "tampered body":
        body = BODY.replace(b"42", b"43")
    elif change == "tampered id":
        headers["webhook-id"] = "msg_2"
    elif change == "tampered timestamp":
        headers["webhook-timestamp"] = str(NOW + 1)
    elif change == "no headers":
        headers = {}
    else:
        headers["webhook-signature"] = "v1,%%%not-base64 \x7f"
    (answer,) = run(post_all(receiver, [(headers, body)]))
    assert answer.status_code == 401
    assert "error" in answer.json()
    assert list(receiver.records) == [] and receiver.receptions == {"unauthorized": 1}


def test_malformed_json_with_valid_signature_gets_400():
    body = b'{"type": "invoice.paid",'
    (answer,) = run(post_all(make(), [(signed(body), body)]))
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("malformed JSON")


def test_signature_is_verified_before_the_body_is_parsed():
    body = b"not json at all"
    (answer,) = run(post_all(make(), [(signed(body, secret=OTHER), body)]))
    assert answer.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b'{"data":{"b":1,"a":2},"type":"invoice.paid"}',
        b'{ "type" :\n\t"invoice.paid" , "data" : { } }  ',
        b'{"type": "invoice.paid", "data": {"text": "caf\\u00e9 \\/ \xc3\xa9"}}',
        b'{"type": "invoice.paid", "data": {"n": 1.50, "big": 123456789012345678901234567890}}',
    ],
)
def test_raw_bytes_verify_even_when_they_differ_from_a_reserialization(body):
    assert json.dumps(json.loads(body)).encode() != body
    receiver = make()
    receiver.on("*")(lambda event: None)
    (answer,) = run(post_all(receiver, [(signed(body), body)]))
    assert answer.status_code == 200
    assert receiver.processed_count("msg_1") == 1


def test_redelivered_message_is_acknowledged_every_time_and_processed_once():
    receiver = make()
    calls = []
    receiver.on("invoice.*")(lambda event: calls.append(event.message_id))
    requests = [(signed(BODY, "msg_1", timestamp=NOW - i), BODY) for i in range(3)]
    requests.append((signed(BODY, "msg_2"), BODY))
    answers = run(post_all(receiver, requests))
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["queued", "duplicate", "duplicate", "queued"]
    assert calls == ["msg_1", "msg_2"]
    assert receiver.processed_count("msg_1") == 1


def test_handler_failures_are_recorded_with_the_step_that_failed():
    receiver = make()

    @receiver.on("invoice.paid")
    async def fails(event):
        raise RuntimeError("ledger is closed")

    no_type = json.dumps([1, 2]).encode()
    unrouted = json.dumps({"type": "customer.created"}).encode()
    requests = [(signed(BODY, "msg_1"), BODY), (signed(no_type, "msg_2"), no_type),
                (signed(unrouted, "msg_3"), unrouted)]
    answers = run(post_all(receiver, requests))
    assert [a.status_code for a in answers] == [200, 200, 200]
    failures = {r.message_id: (r.state, r.step) for r in receiver.failures}
    assert failures == {"msg_1": ("failed", "executing"), "msg_2": ("failed", "deserializing"),
                        "msg_3": ("failed", "routing")}
    by_id = {r.message_id: r.error for r in receiver.failures}
    assert "ledger is closed" in by_id["msg_1"]
    assert "customer.created" in by_id["msg_3"]
    assert receiver.processed_count("msg_1") == 0


@pytest.mark.parametrize("offset,status", [(-301, 401), (301, 401), (-299, 200), (299, 200)])
def test_timestamp_tolerance_is_read_on_the_injected_clock(offset, status):
    receiver = make()
    (answer,) = run(post_all(receiver, [(signed(BODY, timestamp=NOW + offset), BODY)]))
    assert answer.status_code == status


def test_rotated_signatures_verify_when_any_one_matches():
    receiver = make(secrets=[OTHER])
    headers = sign_headers(BODY, message_id="msg_1", timestamp=NOW, secrets=[SECRET, OTHER])
    assert len(headers["webhook-signature"].split()) == 2
    (answer,) = run(post_all(receiver, [(headers, BODY)]))
    assert answer.status_code == 200


def test_repeated_signature_headers_are_rejected():
    headers = [(k, v) for k, v in signed(BODY).items()] + [("webhook-signature", "v1,abc")]
    (answer,) = run(post_all(make(), [(headers, BODY)]))
    assert answer.status_code == 401


@pytest.mark.parametrize("scheme,secret", [("stripe", "whsec_stripe_test_secret"),
                                           ("github", "It's a Secret to Everybody")])
def test_other_schemes_deduplicate_by_their_own_message_id(scheme, secret):
    receiver = make(secrets=secret, scheme=scheme)
    receiver.on("*")(lambda event: None)
    body = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()
    headers = signed(body, "delivery-1", secret=secret, scheme=scheme)
    answers = run(post_all(receiver, [(headers, body), (headers, body)]))
    assert [a.json().get("status") for a in answers] == ["queued", "duplicate"]
    expected_id = "evt_1" if scheme == "stripe" else "delivery-1"
    assert receiver.processed_count(expected_id) == 1


def test_acknowledgement_does_not_wait_for_processing():
    receiver = make()
    release = asyncio.Event()
    finished = []

    @receiver.on("invoice.paid")
    async def slow(event):
        await release.wait()
        finished.append(event.message_id)

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                     base_url="http://r.test") as client:
            answer = await asyncio.wait_for(
                client.post("/", headers=signed(BODY), content=BODY), 5.0)
            pending = list(finished)
            release.set()
            await receiver.drain()
            return answer, pending

    answer, pending = run(scenario())
    assert answer.status_code == 200
    assert pending == [] and finished == ["msg_1"]


def test_only_post_is_a_delivery_and_big_bodies_get_413():
    receiver = make(max_body=10)
    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                     base_url="http://r.test") as client:
            return (await client.get("/"), await client.post("/", content=b"x" * 11),
                    await client.get(STATE_PATH))
    get, big, state = run(scenario())
    assert (get.status_code, get.headers["allow"]) == (405, "POST")
    assert big.status_code == 413
    assert state.status_code == 405  # the state view is off unless asked for


def test_state_view_reports_processing_per_message():
    receiver = make(expose_state=True)
    receiver.on("*")(lambda event: None)
    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                     base_url="http://r.test") as client:
            for _ in range(2):
                await client.post("/hooks", headers=signed(BODY), content=BODY)
            await receiver.drain()
            one = await client.get(f"/hooks{STATE_PATH}", params={"message_id": "msg_1"})
            other = await client.get(f"/hooks{STATE_PATH}", params={"message_id": "msg_9"})
            return one.json(), other.json(), (await client.get(STATE_PATH)).json()
    one, other, summary = run(scenario())
    assert one == {"message_id": "msg_1", "processed": 1}
    assert other == {"message_id": "msg_9", "processed": 0}
    assert summary["receptions"] == {"queued": 1, "duplicate": 1}


def test_mounts_inside_a_starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    receiver = make()
    receiver.on("*")(lambda event: None)
    app = Starlette(routes=[Route("/health", lambda request: PlainTextResponse("ok")),
                            Mount("/webhooks", app=receiver)])
    answers = run(post_all(app, [(signed(BODY), BODY)], path="/webhooks/stripe"))
    assert answers[0].status_code == 200
    run(asyncio.sleep(0))
    assert receiver.receptions == {"queued": 1}


@pytest.mark.parametrize(
    "kwargs,error",
    [({"secrets": "whsec_short"}, InvalidSecret), ({"secrets": []}, ConfigError),
     ({"scheme": "soap"}, UnknownScheme), ({"tolerance": -1}, ConfigError),
     ({"tolerance": float("nan")}, ConfigError)],
)
def test_configuration_mistakes_fail_at_construction(kwargs, error):
    with pytest.raises(error):
        make(**kwargs)


@pytest.mark.network
def test_serves_over_loopback_with_uvicorn():
    receiver = ReferenceReceiver(SECRET)
    receiver.on("*")(lambda event: None)
    import time

    with LiveServer(receiver) as server:
        now = int(time.time())
        body = b'{"type":"invoice.paid"}'
        with httpx.Client(base_url=server.url) as client:
            ok = client.post("/webhook", headers=signed(body, timestamp=now), content=body)
            again = client.post("/webhook", headers=signed(body, timestamp=now), content=body)
            forged = client.post("/webhook", headers=signed(body, secret=OTHER), content=body)
        server.call(receiver.drain())
    assert (ok.status_code, again.status_code, forged.status_code) == (200, 200, 401)
    assert receiver.processed_count("msg_1") == 1


def test_create_receiver_processes_every_event_type():
    from hooklab.harness.receiver import create_receiver

    receiver = create_receiver(secret=SECRET, clock=FakeClock(NOW))
    body = b'{"type": "anything.at.all"}'
    (answer,) = run(post_all(receiver, [(signed(body), body)]))
    assert answer.status_code == 200
    assert receiver.processed_count("msg_1") == 1 and receiver.failures == []


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"[" * 100_000, b""])
def test_bodies_that_do_not_parse_get_400_never_a_crash(body):
    (answer,) = run(post_all(make(), [(signed(body), body)]))
    assert answer.status_code == 400
