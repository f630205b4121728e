"""Interoperability with independent implementations: ``standardwebhooks`` and ``stripe``.

Both libraries read the wall clock inside ``verify``, so these tests sign with the current
time and pass the same ``now`` to hooklab.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.errors import VerificationError
from hooklab.model.signing import generate_secret, get_scheme

standardwebhooks = pytest.importorskip("standardwebhooks.webhooks")
stripe = pytest.importorskip("stripe")

STANDARD = get_scheme("standard")
STRIPE = get_scheme("stripe")
message_ids = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60
)
# Both libraries sign str bodies encoded as UTF-8, so only valid text can round-trip.
bodies = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
seeds = st.integers(0, 2**32)
key_sizes = st.integers(24, 64)
stripe_secrets = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=100
)


@settings(max_examples=100, deadline=None)
@given(message_id=message_ids, body=bodies, seed=seeds, nbytes=key_sizes)
def test_standardwebhooks_signatures_verify_here(
    message_id: str, body: str, seed: int, nbytes: int
) -> None:
    secret = generate_secret(random.Random(seed), nbytes)
    now = int(time.time())
    theirs = standardwebhooks.Webhook(secret).sign(
        message_id, datetime.fromtimestamp(now, tz=UTC), body
    )
    headers = {"webhook-id": message_id, "webhook-timestamp": str(now), "webhook-signature": theirs}
    assert STANDARD.verify(headers, body.encode(), secrets=[secret], now=now) == message_id


@settings(max_examples=100, deadline=None)
@given(message_id=message_ids, body=bodies, seeds=st.lists(seeds, min_size=1, max_size=3))
def test_our_signatures_verify_in_standardwebhooks(
    message_id: str, body: str, seeds: list[int]
) -> None:
    secrets = [generate_secret(random.Random(seed)) for seed in seeds]
    headers = STANDARD.sign(
        message_id=message_id, timestamp=int(time.time()), body=body.encode(), secrets=secrets
    )
    for secret in secrets:  # every rotated secret's signature is found by their verifier
        standardwebhooks.Webhook(secret).verify(body.encode(), headers, json_parse=False)


def test_standardwebhooks_accepts_a_fractional_timestamp_that_we_reject() -> None:
    secret = generate_secret(random.Random(0))
    now = int(time.time())
    webhook = standardwebhooks.Webhook(secret)
    signature = webhook.sign("msg_1", datetime.fromtimestamp(now, tz=UTC), "{}")
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": f"{now}.9",
        "webhook-signature": signature,
    }
    webhook.verify(b"{}", headers)  # their mistake, named in STYLE.md
    with pytest.raises(VerificationError, match="canonical integer"):
        STANDARD.verify(headers, b"{}", secrets=[secret], now=now)


@settings(max_examples=100, deadline=None)
@given(body=bodies, secret=stripe_secrets)
def test_stripe_signatures_verify_here(body: str, secret: str) -> None:
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=now)
    got = STRIPE.verify({"Stripe-Signature": header}, body.encode(), secrets=[secret], now=now)
    assert got is None


@settings(max_examples=100, deadline=None)
@given(body=bodies, secrets=st.lists(stripe_secrets, min_size=1, max_size=3))
def test_our_signatures_verify_in_stripe(body: str, secrets: list[str]) -> None:
    now = int(time.time())
    headers = STRIPE.sign(message_id="evt_1", timestamp=now, body=body.encode(), secrets=secrets)
    for secret in secrets:
        assert stripe.WebhookSignature.verify_header(
            body.encode(), headers["Stripe-Signature"], secret, tolerance=300
        )


def test_stripe_and_hooklab_agree_on_a_stale_timestamp() -> None:
    secret = "whsec_stale_signature_test"
    old = int(time.time()) - 301
    header = stripe.WebhookSignature.generate_signature_header("{}", secret, timestamp=old)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header("{}", header, secret, tolerance=300)
    with pytest.raises(VerificationError, match="too old"):
        STRIPE.verify({"Stripe-Signature": header}, b"{}", secrets=[secret], now=old + 301)
