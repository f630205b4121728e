"""Every published test vector (docs/reference.md), signed and verified through the API."""

from __future__ import annotations

import pytest

from hooklab.model.errors import VerificationError
from hooklab.model.signing import sign_headers, verify

SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
V1A_SIGNING = ("whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ"
               "6p9lMicMFs6Kvg==")
V1A_VERIFYING = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
V1A_SIGNATURE = ("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3m"
                 "Nl8EM+m7TBAg==")
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_FORM = (b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
               b"&From=%2B14158675309&To=%2B18005551212")
PADDLE_SECRET = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"
PADDLE_H1 = "h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
HUBSPOT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HUBSPOT_BODY = b"{'example_field':'example_value'}"

# (scheme, secret, message id, timestamp, body, extra inputs, header, expected value)
VECTORS = [
    ("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SW_ID, SW_TS, SW_BODY, {},
     "webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    ("standard", V1A_SIGNING, SW_ID, SW_TS, SW_BODY, {}, "webhook-signature", V1A_SIGNATURE),
    ("github", "It's a Secret to Everybody", "d1", 0, b"Hello, World!", {},
     "X-Hub-Signature-256",
     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    ("shopify", "test_secret_key", "w1", 0, b'{"foo": "bar"}', {}, "X-Shopify-Hmac-Sha256",
     "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
    ("paddle", PADDLE_SECRET, "n1", 1696195954, b"hello-world", {}, "Paddle-Signature",
     "ts=1696195954;" + PADDLE_H1),
    ("twilio", "12345", "m1", 0, TWILIO_FORM, {"url": TWILIO_URL}, "X-Twilio-Signature",
     "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ("hubspot", HUBSPOT_SECRET, "e1", 1693657560, HUBSPOT_BODY,
     {"url": "https://www.example.com/webhook_uri", "method": "POST"}, "X-HubSpot-Signature-v3",
     "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="),
]
IDS = ["standard-v1", "standard-v1a", "github", "shopify", "paddle", "twilio", "hubspot"]


@pytest.mark.parametrize(("scheme", "secret", "message_id", "timestamp", "body", "extra",
                          "header", "expected"), VECTORS, ids=IDS)
def test_published_vector_signs_to_the_published_signature(
    scheme: str, secret: str, message_id: str, timestamp: int, body: bytes,
    extra: dict[str, str], header: str, expected: str,
) -> None:
    headers = sign_headers(body, message_id=message_id, timestamp=timestamp, secrets=[secret],
                           scheme=scheme, **extra)
    assert headers[header] == expected


@pytest.mark.parametrize(("scheme", "secret", "message_id", "timestamp", "body", "extra",
                          "header", "expected"), VECTORS, ids=IDS)
def test_published_vector_verifies(
    scheme: str, secret: str, message_id: str, timestamp: int, body: bytes,
    extra: dict[str, str], header: str, expected: str,
) -> None:
    headers = sign_headers(body, message_id=message_id, timestamp=timestamp, secrets=[secret],
                           scheme=scheme, **extra)
    headers[header] = expected
    verify(headers, body, secrets=[secret], now=timestamp, scheme=scheme, **extra)
    with pytest.raises(VerificationError, match="no signature matches"):
        verify(headers, body + b" ", secrets=[secret], now=timestamp, scheme=scheme, **extra)


def test_v1a_vector_verifies_with_the_published_verifying_key() -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS),
               "webhook-signature": V1A_SIGNATURE}
    assert verify(headers, SW_BODY, secrets=[V1A_VERIFYING], now=SW_TS) == SW_ID


def test_v1_and_v1a_vectors_share_one_header_and_either_key_verifies() -> None:
    headers = sign_headers(SW_BODY, message_id=SW_ID, timestamp=SW_TS,
                           secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", V1A_SIGNING])
    assert headers["webhook-signature"] == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " + V1A_SIGNATURE)
    for key in ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", V1A_VERIFYING, V1A_SIGNING):
        assert verify(headers, SW_BODY, secrets=[key], now=SW_TS) == SW_ID


def test_paddle_vector_verifies_among_other_h1_entries() -> None:
    other = "h1=" + "0" * 64
    for value in (f"ts=1696195954;{other};{PADDLE_H1}", f"ts=1696195954;{PADDLE_H1};{other}"):
        verify({"Paddle-Signature": value}, b"hello-world", secrets=[PADDLE_SECRET],
               now=1696195954, scheme="paddle")


def test_twilio_vector_verifies_with_and_without_the_port_as_the_sdk_does() -> None:
    headers = {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}
    for url in (TWILIO_URL, "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                "https://mycompany.com:8443/myapp.php?foo=1&bar=2"):  # the SDK drops any port
        verify(headers, TWILIO_FORM, secrets=["12345"], now=0, scheme="twilio", url=url)
    with pytest.raises(VerificationError, match="no signature matches: 1 signature.*1 secret"):
        verify(headers, TWILIO_FORM, secrets=["12345"], now=0, scheme="twilio",
               url="https://mycompany.com/myapp.php?foo=1&bar=3")


def test_twilio_form_parameters_are_sorted_whatever_their_order_on_the_wire() -> None:
    shuffled = b"To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE&From=%2B14158675309" \
               b"&Caller=%2B14158675309"
    headers = {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}
    verify(headers, shuffled, secrets=["12345"], now=0, scheme="twilio", url=TWILIO_URL)


def test_hubspot_vector_verifies_within_five_minutes_after_only() -> None:
    headers = sign_headers(HUBSPOT_BODY, message_id="e", timestamp=1693657560,
                           secrets=[HUBSPOT_SECRET], scheme="hubspot",
                           url="https://www.example.com/webhook_uri")
    assert headers["X-HubSpot-Request-Timestamp"] == "1693657560000"
    kw = {"secrets": [HUBSPOT_SECRET], "scheme": "hubspot",
          "url": "https://www.example.com/webhook_uri"}
    verify(headers, HUBSPOT_BODY, now=1693657560 + 300, **kw)  # type: ignore[arg-type]
    with pytest.raises(VerificationError, match="too old"):
        verify(headers, HUBSPOT_BODY, now=1693657560 + 301, **kw)  # type: ignore[arg-type]


def test_hubspot_signs_the_uri_with_the_listed_escapes_decoded() -> None:
    kw = {"message_id": "e", "timestamp": 1693657560, "secrets": [HUBSPOT_SECRET],
          "scheme": "hubspot"}
    encoded = sign_headers(HUBSPOT_BODY, url="https://www.example.com/webhook%3Auri",
                           **kw)  # type: ignore[arg-type]
    decoded = sign_headers(HUBSPOT_BODY, url="https://www.example.com/webhook:uri",
                           **kw)  # type: ignore[arg-type]
    other = sign_headers(HUBSPOT_BODY, url="https://www.example.com/webhook%20uri",
                         **kw)  # type: ignore[arg-type]
    assert encoded == decoded != other
