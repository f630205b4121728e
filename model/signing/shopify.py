"""Shopify: ``X-Shopify-Hmac-Sha256``, the base64 HMAC-SHA256 of the raw body.

The key is the app's client secret as UTF-8. Only the body is signed: no timestamp (Shopify
dates a delivery in the unsigned ``X-Shopify-Triggered-At``), and ``X-Shopify-Webhook-Id``,
the id receivers deduplicate on, is not signed, so a replay under a new id verifies. The
header holds one signature; the first secret signs.

    >>> headers = ShopifyScheme().sign(message_id="w1", timestamp=0, body=b'{"foo": "bar"}',
    ...                                secrets=["test_secret_key"])
    >>> headers["X-Shopify-Hmac-Sha256"]
    'B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g='
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._common import Direction, check_id, check_message, hmac_digest, match, require, verify_inputs
from ._keys import TextKeyed, b64

__all__ = ["ShopifyScheme"]


class ShopifyScheme(TextKeyed):
    """Shopify's body-only HMAC, base64-encoded."""

    name = "shopify"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = None
    direction: Direction = "none"
    id_header: str | None = "X-Shopify-Webhook-Id"
    id_signed = False

    def sign(
        self,
        *,
        message_id: str,
        timestamp: int,
        body: bytes,
        secrets: Sequence[str],
        url: str | None = None,
        method: str | None = None,
    ) -> dict[str, str]:
        """``X-Shopify-Hmac-Sha256`` (first secret) and ``X-Shopify-Webhook-Id``."""
        check_message(message_id, timestamp, body)
        key = self.keys(secrets)[0]
        return {
            "X-Shopify-Hmac-Sha256": b64(hmac_digest(key, bytes(body))),
            "X-Shopify-Webhook-Id": message_id,
        }

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> str | None:
        """Check the body's signature; returns ``X-Shopify-Webhook-Id`` as read (unsigned)."""
        keys = self.keys(secrets)
        found = verify_inputs(headers, body, now, tolerance)
        header = "x-shopify-hmac-sha256"
        candidates = [require(found, header)]
        match(candidates, [b64(hmac_digest(k, bytes(body))).encode("ascii") for k in keys],
              header)
        webhook_id = found.get("x-shopify-webhook-id", "")
        return check_id(webhook_id, "x-shopify-webhook-id") if webhook_id else None
