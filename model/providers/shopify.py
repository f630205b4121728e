"""The Shopify twin: topic webhooks signed over the body in base64, with Shopify's headers.

From ``docs/reference.md``: Shopify signs only the raw body (``X-Shopify-Hmac-Sha256``),
so ``X-Shopify-Webhook-Id``, the id receivers deduplicate on, is **not** signed; nothing
dates a delivery but ``X-Shopify-Triggered-At``. Shopify gives an endpoint 1 s to connect
and 5 s in all, retries 8 times over 4 hours with an exponential back-off, and deletes an
Admin-API subscription after 8 consecutive failures (reported by users). Each delivery
also names its ``X-Shopify-Topic``, ``X-Shopify-Shop-Domain`` and
``X-Shopify-API-Version``.

Shopify does not publish its intervals. The ``shopify`` preset is hooklab's
APPROXIMATION: waits that double, scaled so that the eighth retry falls at 4:00:00
exactly (whole seconds: 56, 113, 226, 452, 904, 1807, 3614, 7228). "8 consecutive
failures" is read as one message failing all 8 of its retries; it is the reading the
schedule allows (counting attempts, the subscription would be gone before the eighth
retry is due).

    >>> SHOPIFY_POLICY.attempt_times()[-1]
    14400.0
"""

from __future__ import annotations

import random
from typing import Any

from ..backoff import FixedSchedule
from ..retry import RetryPolicy
from .facts import DedupeId, DisableRule, Timeout
from .ids import digits, encode_json, rfc3339, uuid4
from .twin import Twin
from .wire import Message

__all__ = ["SHOPIFY_API_VERSION", "SHOPIFY_POLICY", "ShopifyTwin"]

#: The API version the twin's webhooks are rendered in.
SHOPIFY_API_VERSION = "2024-07"

_RETRIES = 8
_HORIZON = 4 * 3600.0

#: Shopify's 8 retries over 4 h, approximated: the ``shopify`` preset.
SHOPIFY_POLICY = RetryPolicy(
    "shopify",
    max_attempts=_RETRIES + 1,
    max_window=_HORIZON,
    backoff=FixedSchedule(tuple(
        float(round(_HORIZON * 2**n / (2**_RETRIES - 1))) for n in range(_RETRIES))),
    description="Shopify, APPROXIMATE: 8 retries over 4 h, exponential (Shopify publishes "
    "no intervals; hooklab doubles them so the 8th retry falls at 4 h)",
)


def _shop(rng: random.Random) -> str:
    return f"hooklab-demo-{rng.randrange(1000)}.myshopify.com"


def _order(rng: random.Random, now: int) -> dict[str, Any]:
    order_id = digits(rng, 13)
    quantity, price = rng.randrange(1, 4), rng.randrange(500, 20_000)
    total = f"{quantity * price / 100:.2f}"
    return {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "email": f"buyer{rng.randrange(10_000)}@example.com",
            "created_at": rfc3339(now), "currency": "USD", "total_price": total,
            "financial_status": "paid",
            "line_items": [{"id": digits(rng, 14), "title": "Webhook mug",
                            "quantity": quantity, "price": f"{price / 100:.2f}"}]}


def _product(rng: random.Random, now: int) -> dict[str, Any]:
    product_id = digits(rng, 13)
    return {"id": product_id, "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
            "title": "Webhook mug", "status": "active", "updated_at": rfc3339(now),
            "variants": [{"id": digits(rng, 14), "price": f"{rng.randrange(500, 20_000) / 100:.2f}",
                          "inventory_quantity": rng.randrange(100)}]}


class ShopifyTwin(Twin):
    """Shopify's Admin-API webhook subscriptions."""

    name = "shopify"
    title = "Shopify"
    coverage = "full"
    scheme = "shopify"
    event_types = ("orders/create", "products/update", "app/uninstalled")
    timeout = Timeout(5, connect=1)
    policy = SHOPIFY_POLICY
    dedupe = DedupeId("X-Shopify-Webhook-Id", "header", signed=False)
    disable = DisableRule(action="deletes the Admin-API subscription", consecutive=1,
                          counts="messages", reported=True)
    sources = ("provider docs: headers, signature, timeout, 8 retries over 4 h",
               "reports: the subscription deleted after 8 consecutive failures")
    approximate = ("retries: the intervals are unpublished; hooklab doubles them so the 8th "
                   "retry falls at 4:00:00",
                   "disable: reported by users; '8 consecutive failures' read as one message "
                   "failing all 8 retries")

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A webhook of topic ``event_type`` from one shop."""
        webhook_id = uuid4(rng)
        shop = _shop(rng)
        if event_type == "orders/create":
            body = _order(rng, now)
        elif event_type == "products/update":
            body = _product(rng, now)
        else:
            body = {"id": digits(rng, 11), "name": shop.split(".")[0], "domain": shop,
                    "myshopify_domain": shop}
        headers = (("X-Shopify-Topic", event_type),
                   ("X-Shopify-Triggered-At", rfc3339(now, millis=True)),
                   ("X-Shopify-Shop-Domain", shop),
                   ("X-Shopify-API-Version", SHOPIFY_API_VERSION))
        return Message(self.name, webhook_id, event_type, now, encode_json(body),
                       "application/json", headers)
