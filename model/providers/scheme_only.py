"""Scheme-only twins: Square, HubSpot, Paddle and Linear sign and send, nothing more yet.

These twins hold a provider's signing scheme and one payload in its shape, so that a
receiver can be sent a request it would really get, correctly signed. ``docs/reference.md``
gives none of their delivery behaviour (timeout, retries, disabling), so these twins state
none; the dedupe id each carries is the one its scheme declares
(:attr:`hooklab.model.signing.Scheme.id_signed`). A body is built once per message, so a
retry would carry the same ``webhookTimestamp`` (Linear) and ``attemptNumber`` (HubSpot).

    >>> import random
    >>> body = LinearTwin().message(random.Random(1), 1700000000, "Issue").json()
    >>> body["webhookTimestamp"]
    1700000000000
"""

from __future__ import annotations

import random

from .facts import DedupeId
from .ids import ALNUM, UPPER_ALNUM, digits, encode_json, rfc3339, token, uuid4
from .twin import Twin
from .wire import Message

__all__ = ["HubSpotTwin", "LinearTwin", "PaddleTwin", "SquareTwin"]

_NO_DELIVERY_FACTS = ("timeout, retries, disabling: docs/reference.md gives none",)
_LOWER = "0123456789abcdefghjkmnpqrstvwxyz"  # the lower-case ULID alphabet of Paddle ids


class SquareTwin(Twin):
    """Square's webhook subscriptions (signed over the notification URL and the body)."""

    name = "square"
    title = "Square"
    coverage = "scheme-only"
    scheme = "square"
    event_types = ("payment.updated", "customer.created")
    dedupe = DedupeId("event_id", "body", signed=True)
    sources = ("provider docs and SDK: the signature over URL and body, the event shape",)
    gaps = _NO_DELIVERY_FACTS

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A Square event: merchant, type, ``event_id``, ``created_at``, ``data``."""
        event_id = uuid4(rng)
        kind = event_type.split(".")[0]
        object_id = token(rng, 22, alphabet=ALNUM)
        body = {"merchant_id": token(rng, 13, alphabet=UPPER_ALNUM),
                "type": event_type, "event_id": event_id,
                "created_at": rfc3339(now, millis=True),
                "data": {"type": kind, "id": object_id,
                         "object": {kind: {"id": object_id, "created_at": rfc3339(now)}}}}
        return Message(self.name, event_id, event_type, now, encode_json(body),
                       "application/json")


class HubSpotTwin(Twin):
    """HubSpot's app webhooks (v3 signature over method, URI, body and timestamp)."""

    name = "hubspot"
    title = "HubSpot"
    coverage = "scheme-only"
    scheme = "hubspot"
    event_types = ("contact.creation", "deal.propertyChange")
    dedupe = DedupeId("eventId", "body", signed=True, each=True)
    sources = ("provider docs: the v3 signature, the batch of events",)
    gaps = _NO_DELIVERY_FACTS

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A batch of one HubSpot event (times in milliseconds)."""
        event = {"eventId": digits(rng, 10), "subscriptionId": digits(rng, 7),
                 "portalId": digits(rng, 8), "appId": digits(rng, 7),
                 "occurredAt": now * 1000, "subscriptionType": event_type,
                 "attemptNumber": 0, "objectId": digits(rng, 11), "changeSource": "CRM"}
        if event_type == "deal.propertyChange":
            event.update(propertyName="dealstage", propertyValue="closedwon")
        return Message(self.name, str(event["eventId"]), event_type, now,
                       encode_json([event]), "application/json")


class PaddleTwin(Twin):
    """Paddle Billing notifications."""

    name = "paddle"
    title = "Paddle Billing"
    coverage = "scheme-only"
    scheme = "paddle"
    event_types = ("transaction.completed", "subscription.created")
    dedupe = DedupeId("notification_id", "body", signed=True)
    sources = ("provider docs and SDK: Paddle-Signature, the notification shape",)
    gaps = _NO_DELIVERY_FACTS

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A notification: ``event_id``, ``event_type``, ``occurred_at``,
        ``notification_id``, ``data``."""
        notification = token(rng, 26, prefix="ntf_", alphabet=_LOWER)
        kind = event_type.split(".")[0]
        prefix = "txn_" if kind == "transaction" else "sub_"
        body = {"event_id": token(rng, 26, prefix="evt_", alphabet=_LOWER),
                "event_type": event_type, "occurred_at": rfc3339(now, millis=True),
                "notification_id": notification,
                "data": {"id": token(rng, 26, prefix=prefix, alphabet=_LOWER),
                         "status": "completed" if kind == "transaction" else "active",
                         "currency_code": "USD",
                         "customer_id": token(rng, 26, prefix="ctm_", alphabet=_LOWER)}}
        return Message(self.name, notification, event_type, now, encode_json(body),
                       "application/json")


class LinearTwin(Twin):
    """Linear's webhooks (dated by ``webhookTimestamp`` inside the signed body)."""

    name = "linear"
    title = "Linear"
    coverage = "scheme-only"
    scheme = "linear"
    event_types = ("Issue", "Comment")
    dedupe = DedupeId("Linear-Delivery", "header", signed=False)
    sources = ("provider docs and SDK: Linear-Signature, webhookTimestamp, Linear-Delivery",)
    gaps = _NO_DELIVERY_FACTS

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A ``create`` action on an ``Issue`` or a ``Comment``."""
        delivery = uuid4(rng)
        data = {"id": uuid4(rng), "createdAt": rfc3339(now, millis=True)}
        if event_type == "Issue":
            data.update(title="Retries lose events", number=str(rng.randrange(1, 999)),
                        teamId=uuid4(rng))
        else:
            data.update(body="Reproduced with hooklab", issueId=uuid4(rng))
        body = {"action": "create", "type": event_type, "data": data,
                "url": f"https://linear.app/hooklab/issue/HL-{rng.randrange(1, 999)}",
                "createdAt": rfc3339(now, millis=True), "organizationId": uuid4(rng),
                "webhookTimestamp": now * 1000, "webhookId": uuid4(rng)}
        return Message(self.name, delivery, event_type, now, encode_json(body),
                       "application/json")
