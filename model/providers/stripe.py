"""The Stripe twin: event objects (``evt_…``) signed ``Stripe-Signature: t=…,v1=…``.

From ``docs/reference.md``: Stripe sends ``User-Agent: Stripe/1.0
(+https://stripe.com/docs/webhooks)`` and a JSON event object (``id`` ``evt_…``,
``object: "event"``, ``type``, ``created``, ``data.object``), waits about 30 s for an
answer, and retries for about three days with an exponential back-off. Its event ``id`` is
in the signed body; that is what receivers deduplicate on. Stripe publishes neither its
exact timeout nor its retry intervals: the ``stripe`` preset is hooklab's APPROXIMATION
(doubling from one minute inside a 3-day window; see :mod:`hooklab.model.presets`). The
body is indented JSON, as Stripe sends it.

    >>> import random
    >>> event = StripeTwin().message(random.Random(1), 1700000000, "invoice.paid").json()
    >>> event["object"], event["id"][:4], event["data"]["object"]["object"]
    ('event', 'evt_', 'invoice')
"""

from __future__ import annotations

import random
from typing import Any

from ..backoff import ExponentialSchedule
from ..retry import RetryPolicy
from .facts import DedupeId, Timeout
from .ids import encode_json, token, uuid4
from .twin import Twin
from .wire import Message

__all__ = ["STRIPE_API_VERSION", "STRIPE_POLICY", "StripeTwin"]

#: The API version the twin's events are rendered in.
STRIPE_API_VERSION = "2024-06-20"

#: Stripe's retries, approximated: the ``stripe`` preset.
STRIPE_POLICY = RetryPolicy(
    "stripe",
    max_attempts=13,
    max_window=3 * 86_400.0,
    backoff=ExponentialSchedule(60.0, 2.0),
    description="Stripe, APPROXIMATE: exponential over a 3-day horizon "
    "(Stripe publishes no per-attempt list)",
)


def _object(rng: random.Random, event_type: str, now: int) -> dict[str, Any]:
    customer = token(rng, 14, prefix="cus_")
    if event_type == "payment_intent.succeeded":
        amount = rng.randrange(100, 100_000)
        return {"id": token(rng, 24, prefix="pi_"), "object": "payment_intent",
                "amount": amount, "amount_received": amount, "currency": "usd",
                "customer": customer, "created": now, "livemode": False,
                "status": "succeeded"}
    if event_type == "invoice.paid":
        amount = rng.randrange(100, 100_000)
        return {"id": token(rng, 24, prefix="in_"), "object": "invoice",
                "amount_due": amount, "amount_paid": amount, "currency": "usd",
                "customer": customer, "created": now, "livemode": False, "paid": True,
                "status": "paid"}
    return {"id": customer, "object": "customer", "created": now, "livemode": False,
            "email": f"customer{rng.randrange(10_000)}@example.com", "metadata": {}}


class StripeTwin(Twin):
    """Stripe's webhook events."""

    name = "stripe"
    title = "Stripe"
    coverage = "full"
    scheme = "stripe"
    headers = (("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),)
    event_types = ("payment_intent.succeeded", "invoice.paid", "customer.created")
    timeout = Timeout(30, approximate=True)
    policy = STRIPE_POLICY
    dedupe = DedupeId("id", "body", signed=True)
    sources = ("provider docs: headers, event object, timeout, retries, id",
               "provider SDK: the signature, and the event object it parses")
    approximate = ("timeout: 'about 30 s'",
                   "retries: 'about 3 days, exponential'; the intervals are hooklab's "
                   "(doubling from 1 min)")

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A Stripe event object of ``event_type``."""
        event_id = token(rng, 24, prefix="evt_")
        event = {
            "id": event_id,
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": now,
            "data": {"object": _object(rng, event_type, now)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": token(rng, 14, prefix="req_"), "idempotency_key": uuid4(rng)},
            "type": event_type,
        }
        return Message(self.name, event_id, event_type, now, encode_json(event, indent=2),
                       "application/json; charset=utf-8")
