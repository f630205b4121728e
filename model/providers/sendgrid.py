"""The SendGrid twin: Event Webhook batches, signed with ECDSA P-256.

SendGrid's Event Webhook posts a JSON **array** of events, and signs the timestamp followed
by the raw body with the account's private key (``X-Twilio-Email-Event-Webhook-Signature``
and ``-Timestamp``; ``docs/reference.md``); a receiver verifies with the base64 public key
the dashboard shows. Each event carries ``sg_event_id``, in the signed body, which is what
a receiver deduplicates on. A batch holds one to three events of the drawn type.
``docs/reference.md`` gives no timeout or retry schedule for SendGrid, so the twin states
none.

    >>> import random
    >>> events = SendGridTwin().message(random.Random(1), 1700000000, "delivered").json()
    >>> {event["event"] for event in events}
    {'delivered'}
"""

from __future__ import annotations

import random
from typing import Any

from .facts import DedupeId
from .ids import ALNUM, encode_json, token
from .twin import Twin
from .wire import Message

__all__ = ["SendGridTwin"]

_URLSAFE = ALNUM + "-_"


def _event(rng: random.Random, event_type: str, now: int) -> dict[str, Any]:
    message = token(rng, 22, alphabet=_URLSAFE)
    event: dict[str, Any] = {
        "email": f"recipient{rng.randrange(10_000)}@example.com",
        "timestamp": now - rng.randrange(60),
        "smtp-id": f"<{token(rng, 22, alphabet=_URLSAFE)}@ismtpd0001p1iad2.sendgrid.net>",
        "event": event_type,
        "category": ["hooklab"],
        "sg_event_id": token(rng, 22, alphabet=_URLSAFE),
        "sg_message_id": f"{message}.recvd-{token(rng, 10).lower()}-1-0",
    }
    if event_type == "delivered":
        event["response"] = "250 OK"
    elif event_type == "open":
        event.update(useragent="Mozilla/5.0", ip=f"192.0.2.{rng.randrange(1, 255)}")
    elif event_type == "bounce":
        event.update(reason="550 5.1.1 The email account does not exist.", status="5.1.1",
                     type="bounce")
    return event


class SendGridTwin(Twin):
    """SendGrid's Event Webhook."""

    name = "sendgrid"
    title = "SendGrid Event Webhook"
    coverage = "full"
    scheme = "sendgrid"
    event_types = ("processed", "delivered", "open", "bounce")
    dedupe = DedupeId("sg_event_id", "body", signed=True, each=True)
    sources = ("provider docs and SDK: the batch body, the ECDSA signature, sg_event_id",)
    gaps = ("timeout, retries, disabling: docs/reference.md gives none",)

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A batch of one to three ``event_type`` events."""
        events = [_event(rng, event_type, now) for _ in range(rng.randrange(1, 4))]
        return Message(self.name, events[0]["sg_event_id"], event_type, now,
                       encode_json(events), "application/json")
