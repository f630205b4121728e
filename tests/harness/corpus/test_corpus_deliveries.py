"""The corpus's own signing agrees with the providers' published test vectors and SDKs."""

from __future__ import annotations

import stripe
from standardwebhooks import Webhook

from .deliveries import github_signature, realistic, standard_signature
from .serve import SECRETS


def test_github_signature_matches_githubs_published_vector() -> None:
    assert github_signature("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_standard_signature_matches_the_standard_webhooks_vector() -> None:
    assert standard_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                              "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                              b'{"test": 2432232314}') == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_realistic_standard_delivery_verifies_with_the_library() -> None:
    delivery = realistic("standard", SECRETS["standard"])
    headers = {k: str(v) for k, v in delivery.headers}
    payload = Webhook(SECRETS["standard"]).verify(delivery.body, headers)
    assert set(payload) == {"type", "timestamp", "data"}


def test_realistic_stripe_delivery_is_an_event_the_sdk_constructs() -> None:
    delivery = realistic("stripe", SECRETS["stripe"])
    event = stripe.Webhook.construct_event(delivery.body, str(delivery.header(
        "Stripe-Signature")), SECRETS["stripe"])
    assert (event.id, event.object, event.data.object.object) == (
        delivery.message_id, "event", "payment_intent")
    assert delivery.header("User-Agent") == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def test_realistic_github_delivery_carries_githubs_headers() -> None:
    delivery = realistic("github", SECRETS["github"])
    names = {name.lower() for name, _ in delivery.headers}
    assert names >= {"x-github-event", "x-github-delivery", "x-github-hook-id",
                     "x-github-hook-installation-target-type",
                     "x-github-hook-installation-target-id", "x-hub-signature-256"}
    assert str(delivery.header("User-Agent")).startswith("GitHub-Hookshot/")
