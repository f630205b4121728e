"""Interoperability, both ways, with the providers' own SDKs: svix, slack_sdk, twilio, sendgrid.

Each SDK verifies what hooklab signs, and hooklab verifies what the SDK signs. SendGrid's SDK
cannot sign, so its side is built with ``cryptography`` as SendGrid's docs describe it
(ECDSA P-256, SHA-256, base64 DER), and the SDK checks hooklab's. SDKs that read the wall
clock get a timestamp of now, and hooklab the same ``now``. The SDKs are in the ``test``
extra, so they are imported outright: a missing one fails, it is not skipped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import sendgrid.helpers.eventwebhook as sendgrid_webhook
import slack_sdk.signature as slack_signature
import svix.webhooks as svix_webhooks
import twilio.request_validator as twilio_validator
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.errors import VerificationError
from hooklab.model.signing import generate_secret, get_scheme
from hooklab.model.signing.sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER, private_key
from hooklab.model.signing.twilio import json_url

message_ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                      max_size=40)
# The SDKs take str bodies and encode them as UTF-8, so only valid text round-trips.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
text_secrets = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8,
                       max_size=64)
URL = "https://hooks.example.com/twilio/voice?account=AC1"


class FixedClock:
    """slack_sdk's clock seam, pinned."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


# -- svix ------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(message_id=message_ids, body=texts, seed=st.integers(0, 2**32))
def test_svix_signatures_verify_here_under_svix_headers(
    message_id: str, body: str, seed: int
) -> None:
    secret = generate_secret(random.Random(seed))
    now = int(time.time())
    signature = svix_webhooks.Webhook(secret).sign(message_id,
                                                   datetime.fromtimestamp(now, tz=UTC), body)
    headers = {"svix-id": message_id, "svix-timestamp": str(now), "svix-signature": signature}
    got = get_scheme("standard").verify(headers, body.encode(), secrets=[secret], now=now)
    assert got == message_id


@settings(max_examples=50, deadline=None)
@given(message_id=message_ids, body=texts, seeds=st.lists(st.integers(0, 2**32), min_size=1,
                                                          max_size=3))
def test_our_signatures_verify_in_svix(message_id: str, body: str, seeds: list[int]) -> None:
    secrets = [generate_secret(random.Random(seed)) for seed in seeds]
    headers = get_scheme("standard").sign(message_id=message_id, timestamp=int(time.time()),
                                          body=body.encode(), secrets=secrets)
    svix_headers = {name.replace("webhook-", "svix-"): v for name, v in headers.items()}
    for secret in secrets:
        svix_webhooks.Webhook(secret).verify(body.encode(), svix_headers)


# -- slack_sdk -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(body=texts, secret=text_secrets, timestamp=st.integers(10**9, 2 * 10**9),
       skew=st.integers(-300, 300))
def test_slack_sdk_signatures_verify_here(body: str, secret: str, timestamp: int,
                                          skew: int) -> None:
    verifier = slack_signature.SignatureVerifier(secret, clock=FixedClock(timestamp + skew))
    headers = {"X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": verifier.generate_signature(timestamp=str(timestamp),
                                                                body=body)}
    assert verifier.is_valid_request(body, headers)
    assert get_scheme("slack").verify(headers, body.encode(), secrets=[secret],
                                      now=timestamp + skew) is None


@settings(max_examples=100, deadline=None)
@given(body=texts, secret=text_secrets, timestamp=st.integers(10**9, 2 * 10**9),
       skew=st.integers(-400, 400))
def test_slack_sdk_and_hooklab_agree_on_what_we_sign(body: str, secret: str, timestamp: int,
                                                     skew: int) -> None:
    headers = get_scheme("slack").sign(message_id="e", timestamp=timestamp, body=body.encode(),
                                       secrets=[secret])
    verifier = slack_signature.SignatureVerifier(secret, clock=FixedClock(timestamp + skew))
    theirs = verifier.is_valid_request(body.encode(), headers)
    try:
        get_scheme("slack").verify(headers, body.encode(), secrets=[secret], now=timestamp + skew)
        ours = True
    except VerificationError:
        ours = False
    assert theirs == ours == (abs(skew) <= 300)


def test_slack_sdk_crashes_on_a_timestamp_we_reject_cleanly() -> None:
    verifier = slack_signature.SignatureVerifier("a slack secret", clock=FixedClock(0))
    headers = {"X-Slack-Request-Timestamp": "NaN", "X-Slack-Signature": "v0=00"}
    with pytest.raises(ValueError):
        verifier.is_valid_request(b"{}", headers)  # int("NaN"): a 500 in a naive receiver
    with pytest.raises(VerificationError, match="canonical integer"):
        get_scheme("slack").verify(headers, b"{}", secrets=["a slack secret"], now=0)


# -- twilio ----------------------------------------------------------------------------------

param_names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
param_values = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
auth_tokens = st.text("0123456789abcdef", min_size=32, max_size=32)


@settings(max_examples=100, deadline=None)
@given(params=st.dictionaries(param_names, param_values, max_size=6), token=auth_tokens)
def test_twilio_sdk_signatures_of_form_posts_verify_here(params: dict[str, str],
                                                         token: str) -> None:
    signature = twilio_validator.RequestValidator(token).compute_signature(URL, params)
    body = urlencode(params).encode()
    get_scheme("twilio").verify({"X-Twilio-Signature": signature}, body, secrets=[token],
                                now=0, url=URL)


@settings(max_examples=100, deadline=None)
@given(params=st.dictionaries(param_names, param_values, max_size=6), token=auth_tokens)
def test_our_form_signatures_validate_in_twilio_sdk(params: dict[str, str], token: str) -> None:
    body = urlencode(params).encode()
    headers = get_scheme("twilio").sign(message_id="m", timestamp=0, body=body, secrets=[token],
                                        url=URL)
    validator = twilio_validator.RequestValidator(token)
    assert validator.validate(URL, params, headers["X-Twilio-Signature"])
    with_port = URL.replace(".com/", ".com:443/")
    assert validator.validate(with_port, params, headers["X-Twilio-Signature"])


class MultiDict(dict[str, list[str]]):
    """A form with repeated names, read the way Flask's MultiDict is (``getall``)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def test_repeated_form_parameters_sign_as_twilio_sdk_signs_them() -> None:
    token = "0123456789abcdef0123456789abcdef"
    form = MultiDict({"Tag": ["b", "a", "b"], "From": ["+1"]})
    body = b"Tag=b&From=%2B1&Tag=a&Tag=b"
    expected = twilio_validator.RequestValidator(token).compute_signature(URL, form)
    ours = get_scheme("twilio").sign(message_id="m", timestamp=0, body=body, secrets=[token],
                                     url=URL)
    assert ours == {"X-Twilio-Signature": expected}


@settings(max_examples=50, deadline=None)
@given(body=texts, token=auth_tokens)
def test_json_bodies_sign_by_body_sha256_both_ways_with_twilio_sdk(body: str, token: str) -> None:
    url = json_url(URL, body.encode())
    validator = twilio_validator.RequestValidator(token)
    ours = get_scheme("twilio").sign(message_id="m", timestamp=0, body=body.encode(),
                                     secrets=[token], url=url)["X-Twilio-Signature"]
    assert validator.validate(url, body, ours)
    theirs = validator.compute_signature(url, {})
    get_scheme("twilio").verify({"X-Twilio-Signature": theirs}, body.encode(), secrets=[token],
                                now=0, url=url)
    with pytest.raises(VerificationError, match="bodySHA256"):
        get_scheme("twilio").verify({"X-Twilio-Signature": theirs}, body.encode() + b" ",
                                    secrets=[token], now=0, url=url)
    assert not validator.validate(url, body + " ", theirs)


# -- sendgrid --------------------------------------------------------------------------------


def _sendgrid_keys(seed: int) -> tuple[str, str]:
    keys = get_scheme("sendgrid").generate_keys(random.Random(seed))
    return keys["signing key"], keys["verifying key"]


@settings(max_examples=30, deadline=None)
@given(body=texts, seed=st.integers(0, 2**32), timestamp=st.integers(0, 2 * 10**9))
def test_our_sendgrid_signatures_verify_in_sendgrid_sdk(body: str, seed: int,
                                                        timestamp: int) -> None:
    signing, verifying = _sendgrid_keys(seed)
    headers = get_scheme("sendgrid").sign(message_id="m", timestamp=timestamp,
                                          body=body.encode(), secrets=[signing])
    sdk = sendgrid_webhook.EventWebhook(verifying)  # the dashboard's base64 key
    assert sdk.verify_signature(body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])
    assert not sdk.verify_signature(body + " ", headers[SIGNATURE_HEADER],
                                    headers[TIMESTAMP_HEADER])


@settings(max_examples=30, deadline=None)
@given(body=texts, seed=st.integers(0, 2**32), timestamp=st.integers(0, 2 * 10**9))
def test_sendgrid_style_signatures_verify_here_and_in_the_sdk(body: str, seed: int,
                                                              timestamp: int) -> None:
    signing, verifying = _sendgrid_keys(seed)
    # as SendGrid signs: ECDSA P-256, SHA-256, randomised k, DER, base64
    der = private_key(signing).sign(f"{timestamp}{body}".encode(), ec.ECDSA(hashes.SHA256()))
    headers = {SIGNATURE_HEADER: base64.b64encode(der).decode(),
               TIMESTAMP_HEADER: str(timestamp)}
    sdk = sendgrid_webhook.EventWebhook(verifying)
    assert sdk.verify_signature(body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])
    assert get_scheme("sendgrid").verify(headers, body.encode(), secrets=[verifying],
                                         now=timestamp) is None


def test_sendgrid_sdk_crashes_on_garbage_we_reject_cleanly() -> None:
    _, verifying = _sendgrid_keys(0)
    headers = {SIGNATURE_HEADER: "not*base64", TIMESTAMP_HEADER: "1"}
    with pytest.raises(binascii.Error):  # a 500 in a naive receiver
        sendgrid_webhook.EventWebhook(verifying).verify_signature("[]", "a", "1")
    with pytest.raises(VerificationError, match="base64"):
        get_scheme("sendgrid").verify(headers, b"[]", secrets=[verifying], now=1)


def test_body_sha256_is_the_hex_sha256_of_the_body() -> None:
    assert json_url("https://x.example/h", b"{}").endswith(
        "bodySHA256=" + hashlib.sha256(b"{}").hexdigest())
