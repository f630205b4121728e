"""The twins' requests as the providers' own SDKs see them: they verify, and they parse.

Each twin with an SDK in the ``test`` extra sends a request; the SDK verifies it (and,
where the SDK parses, parses it: ``stripe.Webhook.construct_event`` and
``stripe.Event.construct_from``). SDKs that read the wall clock get a request signed now.
Discord and GitHub have no SDK in the extra: their requests are checked with
``cryptography`` and ``hmac`` from the providers' published constructions. The SDKs are
imported outright: a missing one fails, it is not skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from urllib.parse import parse_qsl

import pytest
import sendgrid.helpers.eventwebhook as sendgrid_webhook
import slack_sdk.signature as slack_signature
import standardwebhooks.webhooks as standardwebhooks
import stripe
import svix.webhooks as svix_webhooks
import twilio.request_validator as twilio_validator
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.providers import (
    EXAMPLE_NOW,
    Message,
    Request,
    get_provider,
    signing_secret,
    verifying_secret,
)
from hooklab.model.signing import get_scheme

seeds = st.integers(0, 2**32 - 1)
URL = "https://hooks.example.com/twilio/sms?account=AC1"


class FixedClock:
    """slack_sdk's clock seam, pinned."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def sent(name: str, seed: int, now: int, url: str = URL, event_type: str | None = None
         ) -> tuple[dict[str, str], Message, Request]:
    twin = get_provider(name)
    keys = get_scheme(twin.scheme or "").generate_keys(random.Random(seed))
    message = twin.message(random.Random(seed), now, event_type)
    request = twin.request(message, secrets=[signing_secret(keys)], now=now, url=url)
    return keys, message, request


@settings(max_examples=20, deadline=None, database=None)
@given(seed=seeds)
def test_standard_twin_requests_verify_in_standardwebhooks_and_svix(seed: int) -> None:
    keys, message, request = sent("standard", seed, int(time.time()))
    secret = verifying_secret(keys)
    parsed = standardwebhooks.Webhook(secret).verify(request.body, request.header_map())
    assert parsed == json.loads(message.body)
    svix_webhooks.Webhook(secret).verify(request.body, request.header_map())
    with pytest.raises(svix_webhooks.WebhookVerificationError):
        svix_webhooks.Webhook(secret).verify(request.body + b" ", request.header_map())


@settings(max_examples=20, deadline=None, database=None)
@given(seed=seeds, event=st.sampled_from(get_provider("stripe").event_types))
def test_stripe_twin_events_verify_and_parse_in_the_stripe_sdk(seed: int, event: str) -> None:
    keys, message, request = sent("stripe", seed, int(time.time()), event_type=event)
    secret = verifying_secret(keys)
    parsed = stripe.Webhook.construct_event(request.body.decode(),
                                            request.header("Stripe-Signature"), secret)
    assert isinstance(parsed, stripe.Event)
    assert (parsed.id, parsed.type) == (message.id, event)
    assert parsed.data.object.object == event.split(".")[0]
    again = stripe.Event.construct_from(json.loads(request.body), "sk_test_hooklab")
    assert again.id == message.id and again.created == message.created
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request.body.decode() + " ",
                                       request.header("Stripe-Signature"), secret)


@settings(max_examples=20, deadline=None, database=None)
@given(seed=seeds, now=st.integers(1_500_000_000, 2_000_000_000))
def test_slack_twin_requests_verify_in_slack_sdk(seed: int, now: int) -> None:
    keys, _, request = sent("slack", seed, now)
    verifier = slack_signature.SignatureVerifier(verifying_secret(keys), clock=FixedClock(now))
    assert verifier.is_valid(request.body, request.header("X-Slack-Request-Timestamp"),
                             request.header("X-Slack-Signature"))
    assert verifier.is_valid_request(request.body, request.header_map())
    assert not verifier.is_valid(request.body + b" ",
                                 request.header("X-Slack-Request-Timestamp"),
                                 request.header("X-Slack-Signature"))


def test_slack_url_verification_verifies_in_slack_sdk() -> None:
    twin = get_provider("slack")
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    message = twin.handshake_message(random.Random(1), EXAMPLE_NOW)
    request = twin.request(message, secrets=[secret], now=EXAMPLE_NOW)
    verifier = slack_signature.SignatureVerifier(secret, clock=FixedClock(EXAMPLE_NOW))
    assert verifier.is_valid_request(request.body, request.header_map())


@settings(max_examples=20, deadline=None, database=None)
@given(seed=seeds, event=st.sampled_from(get_provider("twilio").event_types),
       url=st.sampled_from([URL, "https://example.com:8443/sms", "http://127.0.0.1/hook"]))
def test_twilio_twin_requests_validate_in_twilio_sdk(seed: int, event: str, url: str) -> None:
    keys, _, request = sent("twilio", seed, EXAMPLE_NOW, url=url, event_type=event)
    validator = twilio_validator.RequestValidator(verifying_secret(keys))
    params = dict(parse_qsl(request.body.decode(), strict_parsing=True))
    assert validator.validate(url, params, request.header("X-Twilio-Signature"))
    params["Body"] = params.get("Body", "") + "!"
    assert not validator.validate(url, params, request.header("X-Twilio-Signature"))


@settings(max_examples=10, deadline=None, database=None)
@given(seed=seeds, event=st.sampled_from(get_provider("sendgrid").event_types))
def test_sendgrid_twin_batches_verify_in_sendgrid_sdk(seed: int, event: str) -> None:
    keys, _, request = sent("sendgrid", seed, EXAMPLE_NOW, event_type=event)
    sdk = sendgrid_webhook.EventWebhook(verifying_secret(keys))  # the dashboard's base64 key
    signature = request.header("X-Twilio-Email-Event-Webhook-Signature")
    timestamp = request.header("X-Twilio-Email-Event-Webhook-Timestamp")
    assert sdk.verify_signature(request.body.decode(), signature, timestamp)
    assert not sdk.verify_signature(request.body.decode() + " ", signature, timestamp)


@settings(max_examples=20, deadline=None, database=None)
@given(seed=seeds, event=st.sampled_from(get_provider("discord").event_types))
def test_discord_twin_interactions_verify_as_discords_docs_check_them(seed: int,
                                                                      event: str) -> None:
    keys, _, request = sent("discord", seed, EXAMPLE_NOW, event_type=event)
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(verifying_secret(keys)))
    signed = (request.header("X-Signature-Timestamp") or "").encode() + request.body
    public.verify(bytes.fromhex(request.header("X-Signature-Ed25519") or ""), signed)
    with pytest.raises(InvalidSignature):
        public.verify(bytes.fromhex(request.header("X-Signature-Ed25519") or ""),
                      signed + b" ")


@settings(max_examples=20, deadline=None, database=None)
@given(seed=seeds, event=st.sampled_from(["push", "ping"]))
def test_github_twin_deliveries_verify_as_githubs_docs_check_them(seed: int,
                                                                  event: str) -> None:
    keys, _, request = sent("github", seed, EXAMPLE_NOW, event_type=event)
    expected = "sha256=" + hmac.new(verifying_secret(keys).encode(), request.body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, request.header("X-Hub-Signature-256") or "")
