"""What each signing scheme means for a receiver's rules, and how a forger edits headers.

The checks are written once; :class:`SchemeRules` says how each applies to a scheme:

- ``standard`` signs the id and the timestamp, checks both "too old" and "too new", and
  carries several space-separated signatures during key rotation;
- ``stripe`` signs the timestamp (``t=`` inside ``Stripe-Signature``), checks only "too
  old", and carries several ``v1=`` signatures; it has no id header;
- ``github`` signs the body alone: no timestamp (so no stale or future check), one
  signature (no rotation), and ``X-GitHub-Delivery`` is not signed;
- ``shopify`` likewise (``X-Shopify-Hmac-Sha256``, base64; ``X-Shopify-Webhook-Id`` is
  not signed); ``slack`` signs ``v0:timestamp:body`` and checks both directions;
  ``discord`` signs timestamp and body with Ed25519 and carries no id header.

The helpers edit a :class:`~hooklab.harness.transport.Request` the way a forger would: drop
or replace a header, change a timestamp, flip a character of a signature.

Example::

    >>> rules_for("github").dated
    False
    >>> rules_for("standard").signed_headers
    ('webhook-id', 'webhook-timestamp', 'webhook-signature')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..transport import Request

__all__ = ["SCHEME_RULES", "SchemeRules", "retime", "rules_for", "tamper_signature",
           "with_header"]

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_HEX = "0123456789abcdef"


@dataclass(frozen=True)
class SchemeRules:
    """The receiver rules a signing scheme implies."""

    name: str
    signature_header: str
    id_header: str | None
    timestamp_header: str | None
    dated: bool
    future_checked: bool
    rotation: bool
    id_signed: bool
    digest_prefix: str
    digest_alphabet: str
    digest_chars: int

    @property
    def signed_headers(self) -> tuple[str, ...]:
        """Headers whose absence must get a 401 (they take part in the signature)."""
        names = (self.id_header if self.id_signed else None, self.timestamp_header,
                 self.signature_header)
        return tuple(name for name in names if name)

    @property
    def tampering(self) -> tuple[str, ...]:
        """The parts of a delivery a forger can change that the signature protects."""
        kinds = ["secret", "body", "signature"]
        if self.id_signed:
            kinds.append("id")
        if self.dated:
            kinds.append("timestamp")
        return tuple(kinds)

    @property
    def garbage_headers(self) -> tuple[str, ...]:
        """Headers a malformed-header check fills with garbage."""
        return tuple(dict.fromkeys(n for n in (self.signature_header, self.timestamp_header,
                                               self.id_header) if n))


SCHEME_RULES = {
    "standard": SchemeRules("standard", "webhook-signature", "webhook-id", "webhook-timestamp",
                            dated=True, future_checked=True, rotation=True, id_signed=True,
                            digest_prefix="v1,", digest_alphabet=_BASE64, digest_chars=42),
    "stripe": SchemeRules("stripe", "Stripe-Signature", None, None, dated=True,
                          future_checked=False, rotation=True, id_signed=False,
                          digest_prefix="v1=", digest_alphabet=_HEX, digest_chars=64),
    "github": SchemeRules("github", "X-Hub-Signature-256", "X-GitHub-Delivery", None,
                          dated=False, future_checked=False, rotation=False, id_signed=False,
                          digest_prefix="sha256=", digest_alphabet=_HEX, digest_chars=64),
    "shopify": SchemeRules("shopify", "X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id", None,
                           dated=False, future_checked=False, rotation=False,
                           id_signed=False, digest_prefix="", digest_alphabet=_BASE64,
                           digest_chars=42),
    "slack": SchemeRules("slack", "X-Slack-Signature", None, "X-Slack-Request-Timestamp",
                         dated=True, future_checked=True, rotation=False, id_signed=False,
                         digest_prefix="v0=", digest_alphabet=_HEX, digest_chars=64),
    "discord": SchemeRules("discord", "X-Signature-Ed25519", None, "X-Signature-Timestamp",
                           dated=True, future_checked=False, rotation=False,
                           id_signed=False, digest_prefix="", digest_alphabet=_HEX,
                           digest_chars=128),
}


def rules_for(scheme: str) -> SchemeRules:
    """The rules of the scheme called ``scheme`` (a name :func:`get_scheme` knows)."""
    return SCHEME_RULES[scheme]


def with_header(request: Request, name: str, *values: str | bytes) -> Request:
    """``request`` with every ``name`` header replaced by ``values`` (none: dropped).

    >>> with_header(Request(b"", (("A", "1"), ("b", "2"))), "a", "3", "4").headers
    (('b', '2'), ('a', '3'), ('a', '4'))
    """
    kept = tuple((k, v) for k, v in request.headers if k.lower() != name.lower())
    return Request(request.body, kept + tuple((name, value) for value in values))


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("latin-1")


def retime(rules: SchemeRules, request: Request, timestamp: str) -> Request:
    """``request`` with its signed timestamp replaced by ``timestamp`` (signature kept).

    >>> r = Request(b"", (("Stripe-Signature", "t=5,v1=ab"),))
    >>> retime(rules_for("stripe"), r, "6").header("stripe-signature")
    't=6,v1=ab'
    """
    if rules.timestamp_header:
        return with_header(request, rules.timestamp_header, timestamp)
    value = _text(request.header(rules.signature_header))
    return with_header(request, rules.signature_header,
                       re.sub(r"(^|,)t=[^,]*", rf"\g<1>t={timestamp}", value, count=1))


def tamper_signature(rules: SchemeRules, request: Request, position: int) -> Request:
    """``request`` with one character of its (last) signature changed.

    Only characters that carry whole digest bits are changed, so the result never decodes
    to the same digest.

    >>> r = Request(b"", (("X-Hub-Signature-256", "sha256=" + "0" * 64),))
    >>> tamper_signature(rules_for("github"), r, 3).header("x-hub-signature-256")[7:12]
    '00010'
    """
    value = _text(request.header(rules.signature_header))
    prefix = rules.digest_prefix
    start = value.rfind(prefix) + len(prefix) if prefix else 0
    index = start + position % rules.digest_chars
    old = value[index]
    alphabet = rules.digest_alphabet
    new = alphabet[(alphabet.index(old) + 1) % len(alphabet)] if old in alphabet else alphabet[0]
    return with_header(request, rules.signature_header, value[:index] + new + value[index + 1:])
