"""One test case per signing scheme: its keys, its extra inputs and a body it accepts.

The property tests of every scheme (``test_signing_schemes.py``) and the CLI tests read
these, so a new scheme is covered by adding one :class:`Case`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hooklab.model.signing import SCHEMES, generate_v1a_keys, get_scheme

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SW_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
URL = "https://hooks.example.com/in?source=hooklab"


def _pair(scheme: str, seed: int) -> tuple[str, str]:
    keys = get_scheme(scheme).generate_keys(random.Random(seed))
    return keys["signing key"], keys["verifying key"]


def _raw(body: bytes, timestamp: int) -> bytes:
    return body


def _form(body: bytes, timestamp: int) -> bytes:
    # hex values only: a form is signed as its decoded parameters, not as its bytes, so
    # spellings that decode alike ("%2b" and "%2B") are left out of the byte-flip property
    return urlencode({"Body": body.hex(), "From": "14158675309", "Empty": ""}).encode()


def _linear(body: bytes, timestamp: int) -> bytes:
    return b'{"action": "create", "data": "%s", "webhookTimestamp": %d}' % (
        body.hex().encode(), timestamp * 1000)


@dataclass(frozen=True)
class Case:
    """How to exercise one scheme: keys to sign and verify with (two of each, for
    rotation), the extra inputs it signs and a body maker (raw bytes, timestamp -> body)."""

    scheme: str
    sign_key: str
    verify_key: str
    other_sign_key: str
    other_verify_key: str
    extra: dict[str, str] = field(default_factory=dict)
    body: Callable[[bytes, int], bytes] = _raw
    rotates: bool = False  # several secrets give several signatures

    @property
    def signature_headers(self) -> list[str]:
        """The headers ``sign`` sends whose change must fail verification."""
        scheme = get_scheme(self.scheme)
        sent = scheme.sign(message_id="m", timestamp=1, body=self.body(b"x", 1),
                           secrets=[self.sign_key], **self.extra)
        unsigned = {scheme.id_header} if scheme.id_header and not scheme.id_signed else set()
        return [name for name in sent if name not in unsigned]

    def sign(self, body: bytes, timestamp: int, message_id: str = "msg_1",
             secrets: list[str] | None = None) -> dict[str, str]:
        return get_scheme(self.scheme).sign(
            message_id=message_id, timestamp=timestamp, body=body,
            secrets=secrets or [self.sign_key], **self.extra)

    def verify(self, headers: Any, body: bytes, now: float, **kw: Any) -> str | None:
        kw.setdefault("secrets", [self.verify_key])
        return get_scheme(self.scheme).verify(headers, body, now=now, **{**self.extra, **kw})


_V1A, _V1A_OTHER = generate_v1a_keys(random.Random(1)), generate_v1a_keys(random.Random(2))
_SENDGRID, _SENDGRID_OTHER = _pair("sendgrid", 1), _pair("sendgrid", 2)
_DISCORD, _DISCORD_OTHER = _pair("discord", 1), _pair("discord", 2)

CASES: dict[str, Case] = {
    case.scheme: case
    for case in (
        Case("standard", SW_SECRET, SW_SECRET, OTHER_SW_SECRET, OTHER_SW_SECRET, rotates=True),
        Case("stripe", "whsec_test_secret_for_stripe", "whsec_test_secret_for_stripe",
             "whsec_another_stripe_secret", "whsec_another_stripe_secret", rotates=True),
        Case("github", "It's a Secret to Everybody", "It's a Secret to Everybody",
             "another GitHub secret", "another GitHub secret"),
        Case("shopify", "test_secret_key", "test_secret_key", "shpss_other", "shpss_other"),
        Case("slack", "8f742231b10e8888abcd99yyyzzz85a5", "8f742231b10e8888abcd99yyyzzz85a5",
             "another slack secret", "another slack secret"),
        Case("twilio", "12345", "12345", "auth-token-2", "auth-token-2", {"url": URL},
             body=_form),
        Case("sendgrid", *_SENDGRID, *_SENDGRID_OTHER),
        Case("square", "square-signature-key", "square-signature-key", "square-key-2",
             "square-key-2", {"url": URL}),
        Case("hubspot", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
             "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "zzzzzzzz-zzzz", "zzzzzzzz-zzzz",
             {"url": URL, "method": "POST"}),
        Case("paddle", "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
             "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh",
             "pdl_ntf_other_secret", "pdl_ntf_other_secret", rotates=True),
        Case("linear", "lin_wh_secret_1", "lin_wh_secret_1", "lin_wh_secret_2",
             "lin_wh_secret_2", body=_linear),
        Case("discord", *_DISCORD, *_DISCORD_OTHER),
    )
}
#: A second standard case: v1a keys (whsk_ signs, whpk_ verifies).
V1A = Case("standard", _V1A["signing key"], _V1A["verifying key"],
           _V1A_OTHER["signing key"], _V1A_OTHER["verifying key"], rotates=True)
ALL_CASES = [*CASES.values(), V1A]
CASE_IDS = [*CASES, "standard-v1a"]
assert list(CASES) == list(SCHEMES), "every scheme needs a case"
