"""Provider-realistic deliveries, signed with the providers' own libraries, and forgeries.

The ground truth must not rest on hooklab's signing code, so each delivery is signed by an
independent implementation: Standard Webhooks with ``standardwebhooks.Webhook.sign``,
Stripe with ``stripe.WebhookSignature.generate_signature_header``, GitHub with the
construction GitHub documents (``sha256=`` + hex HMAC-SHA256 of the raw body; checked
against GitHub's published test vector in ``test_corpus_deliveries.py``).

The payloads and headers are the ones the providers send (see providers.md): Standard
Webhooks' ``{type, timestamp, data}``; a Stripe event object (``id`` ``evt_…``,
``object: "event"``, ``type``, ``created``, ``data.object``) with Stripe's User-Agent;
GitHub's ``X-GitHub-Event``, ``-Delivery``, ``-Hook-ID``,
``-Hook-Installation-Target-Type`` and ``-ID`` headers with a ``GitHub-Hookshot/`` User-Agent.

A :class:`Delivery` is plain data (body bytes, header pairs, the message id the receiver
keys processing on); :meth:`Delivery.with_header` makes forgeries and malformed variants.

Example::

    >>> d = signed("github", body=b"Hello, World!", secret="It's a Secret to Everybody")
    >>> d.header("X-Hub-Signature-256")[:15]
    'sha256=757107ea'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import stripe
from standardwebhooks import Webhook

__all__ = ["Delivery", "github_signature", "realistic", "signed", "standard_signature",
           "stripe_header", "wrong_standard_secret"]

_ids = itertools.count(1)
_NONCE = os.urandom(3).hex()
STRIPE_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(frozen=True)
class Delivery:
    """One POST: the exact body bytes, header pairs in order, and its message id."""

    body: bytes
    headers: tuple[tuple[str, str | bytes], ...]
    message_id: str

    def header(self, name: str) -> str | bytes | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def with_header(self, name: str, *values: str | bytes) -> Delivery:
        """This delivery with every ``name`` header replaced by ``values`` (none: dropped)."""
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=kept + tuple((name, v) for v in values))

    def with_body(self, body: bytes) -> Delivery:
        """This delivery with another body and the same (now wrong) signature."""
        return replace(self, body=body)


def _new_id(prefix: str) -> str:
    return f"{prefix}{_NONCE}{next(_ids):06d}"


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` for the message, computed by the ``standardwebhooks`` library."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(message_id, when, body.decode("utf-8"))


def stripe_header(secret: str, timestamp: int, body: bytes) -> str:
    """``t=…,v1=…`` for the body, computed by the Stripe SDK."""
    return stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8"), secret, timestamp=timestamp)


def github_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body under the secret, as GitHub signs."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _standard_payload(message_id: str, now: int) -> bytes:
    stamp = datetime.fromtimestamp(now, tz=UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": "invoice.paid", "timestamp": stamp, "data": {
        "invoice_id": "in_" + message_id[-8:], "amount": 2000, "currency": "eur",
        "customer": {"name": "Zoë Ångström", "email": "zoe@example.com"}}}).encode()


def _stripe_payload(event_id: str, now: int) -> bytes:
    return json.dumps({
        "id": event_id, "object": "event", "api_version": "2024-06-20", "created": now,
        "data": {"object": {"id": "pi_" + event_id[4:], "object": "payment_intent",
                            "amount": 2000, "currency": "usd", "status": "succeeded"}},
        "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
    }, indent=2).encode()


def _github_payload(hook_id: int) -> bytes:
    return json.dumps({
        "zen": "Design for failure.", "hook_id": hook_id,
        "hook": {"type": "Repository", "id": hook_id, "name": "web", "active": True,
                 "events": ["push", "issues"], "config": {"content_type": "json"}},
        "repository": {"id": 1296269, "full_name": "octocat/Hello-World"},
        "sender": {"login": "octocat", "id": 1},
    }).encode()


def signed(scheme: str, *, body: bytes, secret: str, message_id: str | None = None,
           timestamp: int | None = None, event: str = "ping", svix_headers: bool = False,
           ) -> Delivery:
    """``body`` signed for ``scheme`` with the provider's full header set.

    ``svix_headers`` sends Svix's branded ``svix-*`` headers instead of ``webhook-*``.
    """
    now = int(time.time()) if timestamp is None else timestamp
    if scheme == "standard":
        message_id = message_id or _new_id("msg_corpus")
        prefix = "svix" if svix_headers else "webhook"
        headers: tuple[tuple[str, str | bytes], ...] = (
            (f"{prefix}-id", message_id), (f"{prefix}-timestamp", str(now)),
            (f"{prefix}-signature", standard_signature(secret, message_id, now, body)),
            ("content-type", "application/json"), ("user-agent", "Svix-Webhooks/1.40"))
    elif scheme == "stripe":
        message_id = message_id or _new_id("evt_corpus")
        headers = (("Stripe-Signature", stripe_header(secret, now, body)),
                   ("Content-Type", "application/json; charset=utf-8"),
                   ("User-Agent", STRIPE_USER_AGENT))
    elif scheme == "github":
        message_id = message_id or _uuid()
        headers = (("X-GitHub-Event", event), ("X-GitHub-Delivery", message_id),
                   ("X-GitHub-Hook-ID", "292430182"),
                   ("X-GitHub-Hook-Installation-Target-Type", "repository"),
                   ("X-GitHub-Hook-Installation-Target-ID", "1296269"),
                   ("X-Hub-Signature", "sha1=" + hmac.new(secret.encode(), body,
                                                          hashlib.sha1).hexdigest()),
                   ("X-Hub-Signature-256", github_signature(secret, body)),
                   ("Content-Type", "application/json"),
                   ("User-Agent", "GitHub-Hookshot/6b02022"))
    else:
        raise ValueError(f"unknown scheme {scheme!r}")
    return Delivery(body, headers, message_id)


def _uuid() -> str:
    raw = bytearray(hashlib.sha256(_new_id("gh").encode()).digest()[:16])
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def realistic(scheme: str, secret: str, *, timestamp: int | None = None,
              svix_headers: bool = False, **overrides: Any) -> Delivery:
    """A delivery as the provider sends it: its payload shape, headers and signature.

    >>> realistic("stripe", "whsec_x").message_id.startswith("evt_")
    True
    """
    now = int(time.time()) if timestamp is None else timestamp
    if scheme == "standard":
        message_id = overrides.pop("message_id", None) or _new_id("msg_corpus")
        body = overrides.pop("body", None) or _standard_payload(message_id, now)
    elif scheme == "stripe":
        message_id = overrides.pop("message_id", None) or _new_id("evt_corpus")
        body = overrides.pop("body", None) or _stripe_payload(message_id, now)
    else:
        message_id = overrides.pop("message_id", None) or _uuid()
        body = overrides.pop("body", None) or _github_payload(292430182)
    return signed(scheme, body=body, secret=secret, message_id=message_id, timestamp=now,
                  svix_headers=svix_headers, **overrides)


def wrong_standard_secret() -> str:
    """A well-formed Standard Webhooks secret that is not the receiver's."""
    return "whsec_" + base64.b64encode(b"not the receiver's key 32 bytes!").decode()
