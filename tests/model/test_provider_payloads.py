"""Twins' payloads: deterministic for a seed, and always in the provider's shape.

Each provider's required fields are stated here from ``docs/reference.md`` and the
providers' docs (the twins do not declare them, so these tests cannot agree with a twin by
construction); Hypothesis draws seeds, times and event types.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.errors import VerificationError
from hooklab.model.providers import (
    PROVIDERS,
    Message,
    get_provider,
    signing_secret,
    verifying_secret,
)
from hooklab.model.signing import get_scheme

SENDING = [name for name, twin in PROVIDERS.items() if twin.scheme is not None]
URL = "https://hooks.example.com/in?tenant=7"
seeds = st.integers(0, 2**32 - 1)
nows = st.integers(1_500_000_000, 2_000_000_000)
KEYS = {name: get_scheme(PROVIDERS[name].scheme or "").generate_keys(random.Random(5))
        for name in SENDING}


def sent(name: str, seed: int, now: int, event_type: str | None = None) -> tuple[Message, Any]:
    twin = get_provider(name)
    message = twin.message(random.Random(seed), now, event_type)
    return message, twin.request(message, secrets=[signing_secret(KEYS[name])], now=now,
                                 url=URL)


def verify(name: str, request: Any, now: float) -> str | None:
    return get_scheme(get_provider(name).scheme or "").verify(
        request.header_map(), request.body, secrets=[verifying_secret(KEYS[name])], now=now,
        url=request.url, method=request.method)


@settings(max_examples=30, deadline=None, database=None)
@given(name=st.sampled_from(SENDING), seed=seeds, now=nows,
       event=st.integers(0, 10))
def test_payload_generators_are_deterministic_for_a_seed(name: str, seed: int, now: int,
                                                         event: int) -> None:
    twin = get_provider(name)
    event_type = twin.event_types[event % len(twin.event_types)]
    first = twin.message(random.Random(seed), now, event_type)
    assert first == twin.message(random.Random(seed), now, event_type)
    assert first.event_type == event_type and first.created == now
    assert first.provider == name
    other = twin.message(random.Random(seed + 1), now, event_type)
    assert other.id != first.id and other.body != first.body


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("stripe").event_types))
def test_stripe_events_always_hold_the_fields_receivers_parse(seed: int, now: int,
                                                              event: str) -> None:
    # docs/reference.md: id evt_..., object "event", type, created, data.object
    message, request = sent("stripe", seed, now, event)
    body = json.loads(request.body)
    assert body["id"].startswith("evt_") and body["id"] == message.id
    assert (body["object"], body["type"], body["created"]) == ("event", event, now)
    assert isinstance(body["data"]["object"], dict) and body["data"]["object"]["object"]
    assert request.header("User-Agent") == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(["push", "ping"]))
def test_github_deliveries_always_carry_githubs_headers(seed: int, now: int,
                                                       event: str) -> None:
    message, request = sent("github", seed, now, event)
    assert request.header("X-GitHub-Event") == event
    assert request.header("X-GitHub-Delivery") == message.id
    assert request.header("X-GitHub-Hook-ID", ).isdigit()  # type: ignore[union-attr]
    assert request.header("X-GitHub-Hook-Installation-Target-Type") == "repository"
    body = json.loads(request.body)
    assert request.header("X-GitHub-Hook-Installation-Target-ID") == str(
        body["repository"]["id"])
    assert (request.header("User-Agent") or "").startswith("GitHub-Hookshot/")
    assert ("zen" in body and body["hook_id"] == int(request.header("X-GitHub-Hook-ID") or 0)
            if event == "ping" else body["ref"].startswith("refs/heads/"))


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("shopify").event_types))
def test_shopify_webhooks_always_carry_topic_id_time_and_shop(seed: int, now: int,
                                                             event: str) -> None:
    message, request = sent("shopify", seed, now, event)
    assert request.header("X-Shopify-Topic") == event
    assert request.header("X-Shopify-Webhook-Id") == message.id
    assert (request.header("X-Shopify-Shop-Domain") or "").endswith(".myshopify.com")
    assert (request.header("X-Shopify-Triggered-At") or "").endswith("Z")
    assert request.header("X-Shopify-API-Version")


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("standard").event_types))
def test_standard_payloads_are_the_spec_envelope(seed: int, now: int, event: str) -> None:
    message, request = sent("standard", seed, now, event)
    body = json.loads(request.body)
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == event
    assert request.header("webhook-id") == message.id and message.id.startswith("msg_")


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("slack").event_types))
def test_slack_deliveries_are_event_callbacks_with_an_event_id(seed: int, now: int,
                                                              event: str) -> None:
    message, request = sent("slack", seed, now, event)
    body = json.loads(request.body)
    assert body["type"] == "event_callback" and body["event"]["type"] == event
    assert body["event_id"] == message.id and body["event_id"].startswith("Ev")
    assert body["event_time"] == now and body["team_id"].startswith("T")


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("twilio").event_types))
def test_twilio_posts_form_parameters_of_one_message(seed: int, now: int, event: str) -> None:
    message, request = sent("twilio", seed, now, event)
    params = dict(parse_qsl(request.body.decode(), strict_parsing=True))
    assert params["MessageSid"] == message.id and params["AccountSid"].startswith("AC")
    assert params["From"].startswith("+") and params["ApiVersion"] == "2010-04-01"
    assert ("Body" in params) == (event == "incoming-message")


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("sendgrid").event_types))
def test_sendgrid_posts_an_array_of_events_each_with_its_id(seed: int, now: int,
                                                           event: str) -> None:
    _, request = sent("sendgrid", seed, now, event)
    events = json.loads(request.body)
    assert isinstance(events, list) and 1 <= len(events) <= 3
    for item in events:
        assert item["event"] == event and item["sg_event_id"] and item["email"]
        assert isinstance(item["timestamp"], int) and item["timestamp"] <= now
    assert len({item["sg_event_id"] for item in events}) == len(events)


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows, event=st.sampled_from(get_provider("discord").event_types))
def test_discord_interactions_hold_id_type_token_and_data(seed: int, now: int,
                                                         event: str) -> None:
    message, request = sent("discord", seed, now, event)
    body = json.loads(request.body)
    assert body["id"] == message.id and body["type"] == {"application-command": 2,
                                                         "message-component": 3}[event]
    assert body["token"] and body["version"] == 1 and "data" in body
    assert int(body["id"]) >> 22 == now * 1000 - 1_420_070_400_000  # a snowflake of now


@settings(max_examples=25, deadline=None, database=None)
@given(seed=seeds, now=nows)
def test_linear_bodies_are_dated_inside_in_milliseconds(seed: int, now: int) -> None:
    message, request = sent("linear", seed, now)
    assert json.loads(request.body)["webhookTimestamp"] == now * 1000
    assert request.header("Linear-Delivery") == message.id
    assert verify("linear", request, now + 59) is not None
    with pytest.raises(VerificationError, match="too old"):
        verify("linear", request, now + 61)


