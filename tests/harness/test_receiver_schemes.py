"""The reference receiver for every signing scheme: URL-signed schemes checked against the
URL the request was sent to (or ``public_url``), form bodies read as forms, public keys for
the asymmetric schemes, and the Slack and Discord handshakes answered."""

from __future__ import annotations

import asyncio
import json
import random
from urllib.parse import urlencode

import httpx
import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.flaky import FlakyReceiver
from hooklab.harness.receiver import ReferenceReceiver, create_receiver
from hooklab.model.errors import ConfigError, InvalidSecret
from hooklab.model.providers import signing_secret, verifying_secret
from hooklab.model.signing import SCHEMES, get_scheme
from hooklab.model.signing.twilio import json_url

NOW = 1_700_000_000
FORM = "application/x-www-form-urlencoded"
BASE = "http://receiver.test"


def keys(name: str) -> dict[str, str]:
    return get_scheme(name).generate_keys(random.Random(name))


def sign(name: str, body: bytes, *, url: str | None = None, message_id: str = "msg_1",
         key: str | None = None) -> dict[str, str]:
    scheme = get_scheme(name)
    extra = {"url": url} if "url" in scheme.inputs else {}
    return scheme.sign(message_id=message_id, timestamp=NOW, body=body,
                       secrets=[key or signing_secret(keys(name))], **extra)


def receiver_for(name: str, **kwargs: object) -> ReferenceReceiver:
    return create_receiver([verifying_secret(keys(name))], scheme=name, clock=FakeClock(NOW),
                           **kwargs)  # type: ignore[arg-type]


async def post(app: object, path: str, headers: dict[str, str], body: bytes,
               base: str = BASE) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                 base_url=base) as client:
        answer = await client.post(path, headers=headers, content=body)
        if isinstance(app, ReferenceReceiver):
            await app.drain()
        return answer


def twilio_form() -> bytes:
    return urlencode([("MessageSid", "SM123"), ("Body", "hi"), ("From", "+14155550100")]
                     ).encode()


@pytest.mark.parametrize("name", list(SCHEMES))
def test_every_scheme_is_served_and_a_signed_json_event_is_processed_once(name: str) -> None:
    receiver = receiver_for(name)
    payload = {"id": "evt_1", "type": "thing.happened", "webhookTimestamp": NOW * 1000}
    body = json.dumps(payload).encode()
    url = f"{BASE}/hook?x=1"
    if name == "twilio":  # Twilio signs a JSON body's hash in the URL
        url = json_url(url, body)
    headers = {"content-type": "application/json", **sign(name, body, url=url)}
    first = asyncio.run(post(receiver, url[len(BASE):], headers, body))
    assert first.status_code == 200, first.text
    assert sum(receiver.processed.values()) == 1 and not receiver.failures


@pytest.mark.parametrize("name", [n for n, s in SCHEMES.items() if "url" in s.inputs])
def test_url_signed_schemes_refuse_a_signature_made_for_another_url(name: str) -> None:
    receiver = receiver_for(name)
    body, kind = (twilio_form(), FORM) if name == "twilio" else (b'{"id": "e", "type": "t"}',
                                                                 "application/json")
    headers = {"content-type": kind, **sign(name, body, url=f"{BASE}/elsewhere")}
    answer = asyncio.run(post(receiver, "/hook", headers, body))
    assert answer.status_code == 401
    assert receiver.processed == {}


def test_a_twilio_form_is_verified_over_the_url_and_processed_as_a_form() -> None:
    receiver = receiver_for("twilio")
    seen: list[object] = []
    receiver.add_handler("incoming-message", lambda event: seen.append(event.payload))
    body = twilio_form()
    headers = {"content-type": FORM, **sign("twilio", body, url=f"{BASE}/sms?k=v")}
    answer = asyncio.run(post(receiver, "/sms?k=v", headers, body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["message_id"] == "SM123"
    assert seen == [{"MessageSid": "SM123", "Body": "hi", "From": "+14155550100"}]


def test_public_url_stands_for_the_url_behind_a_proxy() -> None:
    public = "https://hooks.example.com/twilio/sms"
    body = twilio_form()
    headers = {"content-type": FORM, **sign("twilio", body, url=public + "?k=v")}
    proxied = receiver_for("twilio", public_url=public)
    assert asyncio.run(post(proxied, "/sms?k=v", headers, body)).status_code == 200
    direct = receiver_for("twilio")
    assert asyncio.run(post(direct, "/sms?k=v", headers, body)).status_code == 401


def test_a_twilio_json_body_is_checked_against_the_body_hash_in_its_url() -> None:
    body = b'{"id": "evt_9", "type": "t"}'
    url = json_url(f"{BASE}/hook", body)
    query = url.split("?", 1)[1]
    headers = {"content-type": "application/json", **sign("twilio", body, url=url)}
    receiver = receiver_for("twilio")
    assert asyncio.run(post(receiver, "/hook?" + query, headers, body)).status_code == 200
    tampered = receiver_for("twilio")
    other = b'{"id": "evt_9", "type": "u"}'
    assert asyncio.run(post(tampered, "/hook?" + query, headers, other)).status_code == 401


def test_a_malformed_form_body_is_a_400_after_its_signature_verifies() -> None:
    body = b"\xff=\xfe"
    receiver = receiver_for("standard")
    headers = {"content-type": FORM, **sign("standard", body)}
    answer = asyncio.run(post(receiver, "/hook", headers, body))
    assert answer.status_code == 400 and "malformed form body" in answer.json()["error"]
    assert receiver.processed == {}


def test_public_url_is_refused_for_a_scheme_that_signs_no_url_and_when_malformed() -> None:
    with pytest.raises(ConfigError, match="signs no URL") as caught:
        receiver_for("stripe", public_url="https://example.com/hook")
    assert caught.value.field == "public_url"
    for bad in ("ftp://example.com/x", "https://example.com/x?a=1", "not a url"):
        with pytest.raises(ConfigError, match="public_url"):
            receiver_for("twilio", public_url=bad)
    with pytest.raises(ConfigError, match="signs no URL"):
        FlakyReceiver(scheme="github", public_url="https://example.com/hook")


@pytest.mark.parametrize(("name", "signing_key"), [("standard", "whsk_"), ("sendgrid", "PRIVATE")])
def test_asymmetric_schemes_verify_with_the_public_key_and_refuse_another_kind_of_key(
        name: str, signing_key: str) -> None:
    if name == "standard":
        from hooklab.model.signing import generate_v1a_keys

        pair = generate_v1a_keys(random.Random(1))
    else:
        pair = keys(name)
    assert signing_key in pair["signing key"]
    receiver = ReferenceReceiver([pair["verifying key"]], scheme=name, clock=FakeClock(NOW))
    body = b'{"id": "evt_1", "type": "t"}'
    headers = sign(name, body, key=pair["signing key"])
    assert asyncio.run(post(receiver, "/hook", headers, body)).status_code == 200
    wrong = keys("sendgrid")["verifying key"] if name == "standard" else keys("standard")["secret"]
    with pytest.raises(InvalidSecret):
        ReferenceReceiver([wrong], scheme=name)


def test_slack_url_verification_gets_its_challenge_back_and_is_not_queued() -> None:
    receiver = receiver_for("slack")
    body = json.dumps({"token": "t", "challenge": "c-42", "type": "url_verification"}).encode()
    answer = asyncio.run(post(receiver, "/slack", sign("slack", body), body))
    assert answer.status_code == 200 and answer.json() == {"challenge": "c-42"}
    assert receiver.processed == {} and receiver.receptions["handshake"] == 1


def test_an_unsigned_handshake_is_refused_like_any_request() -> None:
    receiver = receiver_for("discord")
    body = b'{"type": 1}'
    answer = asyncio.run(post(receiver, "/discord", {}, body))
    assert answer.status_code == 401 and receiver.receptions["handshake"] == 0


def test_discord_ping_gets_a_pong_and_a_standard_receiver_treats_it_as_an_event() -> None:
    receiver = receiver_for("discord")
    body = b'{"type": 1, "id": "ping_1"}'
    answer = asyncio.run(post(receiver, "/discord", sign("discord", body), body))
    assert answer.status_code == 200 and answer.json() == {"type": 1}
    standard = receiver_for("standard")
    answer = asyncio.run(post(standard, "/hook", sign("standard", body), body))
    assert answer.json().get("status") != {"type": 1} and "message_id" in answer.json()


def test_the_flaky_receiver_verifies_url_signed_schemes_over_the_request_url() -> None:
    secret = verifying_secret(keys("square"))
    flaky = FlakyReceiver(secrets=[secret], scheme="square", reject_invalid=True,
                          clock=FakeClock(NOW))
    body = b'{"id": "evt_1", "type": "t"}'
    good = sign("square", body, url=f"{BASE}/sq")
    bad = sign("square", body, url=f"{BASE}/other")
    assert asyncio.run(post(flaky, "/sq", good, body)).status_code == 200
    assert asyncio.run(post(flaky, "/sq", bad, body)).status_code == 401
    assert [r.signature_valid for r in flaky.records()] == [True, False]


@pytest.mark.parametrize("name", ["slack", "discord"])
def test_the_twins_own_judge_accepts_the_reference_receivers_handshake_answer(
        name: str) -> None:
    from hooklab.model.providers import get_provider
    from hooklab.model.providers.wire import Answer

    twin = get_provider(name)
    assert twin.handshake is not None
    message = twin.handshake_message(random.Random(7), NOW)
    pair = keys(name)
    request = twin.request(message, secrets=[signing_secret(pair)], now=NOW,
                           url=f"{BASE}/hook")
    receiver = receiver_for(name)
    reply = asyncio.run(post(receiver, "/hook", dict(request.headers), request.body))
    answer = Answer(reply.status_code, tuple(reply.headers.items()), reply.content)
    verdict = twin.handshake.judge(message, answer)
    assert verdict.passed, verdict.reason
    assert receiver.processed == {}
