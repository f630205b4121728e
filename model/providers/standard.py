"""The Standard Webhooks twin, as Svix sends it: ``{type, timestamp, data}`` signed ``v1``.

Svix is the sender the Standard Webhooks specification comes from, so this twin holds its
delivery behaviour (``docs/reference.md``): a 15 s timeout (Svix hosted), Svix's retry
schedule (the ``svix`` preset: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 % jitter,
``Retry-After`` clamped to ``[d, 2d]``, at least 60 s after a timeout or a 429), the
signed ``webhook-id`` to deduplicate on, and disabling after 5 days of failures with no
success, or at once on 410 Gone (the specification's advice). The payload is the
specification's envelope: ``type`` (full-stop separated), ``timestamp`` (RFC 3339) and
``data``. The ``v1a`` (Ed25519) form is the same twin signed with a ``whsk_`` key.

    >>> import random
    >>> message = StandardTwin().message(random.Random(1), 1700000000, "user.created")
    >>> sorted(message.json())
    ['data', 'timestamp', 'type']
"""

from __future__ import annotations

import random
from typing import Any

from ..backoff import FixedSchedule, ProportionalJitter
from ..retry import RetryAfterMode, RetryPolicy
from ..secrets import generate_message_id
from .facts import DedupeId, DisableRule, Timeout
from .ids import ALNUM, encode_json, rfc3339, token
from .twin import Twin
from .wire import Message

__all__ = ["SVIX_POLICY", "StandardTwin"]

_DAY = 86_400.0

#: Svix's retry schedule: the ``svix`` preset.
SVIX_POLICY = RetryPolicy(
    "svix",
    max_attempts=8,
    backoff=FixedSchedule((5, 300, 1800, 7200, 18000, 36000, 36000)),
    jitter=ProportionalJitter(0.2),
    retry_after=RetryAfterMode.CLAMP,
    overload_penalty=60.0,
    description="Svix: ±20 % jitter, Retry-After clamped to [d, 2d], "
    "at least 60 s after a timeout or 429",
)


def _data(rng: random.Random, event_type: str, now: int) -> dict[str, Any]:
    if event_type == "user.created":
        return {"id": token(rng, 20, prefix="user_", alphabet=ALNUM),
                "email": f"user{rng.randrange(10_000)}@example.com",
                "created_at": rfc3339(now)}
    return {"id": token(rng, 20, prefix="in_", alphabet=ALNUM),
            "amount": rng.randrange(100, 100_000), "currency": "usd", "status": "paid"}


class StandardTwin(Twin):
    """Standard Webhooks, as Svix delivers them."""

    name = "standard"
    title = "Standard Webhooks (Svix)"
    coverage = "full"
    scheme = "standard"
    event_types = ("user.created", "invoice.paid")
    timeout = Timeout(15)
    policy = SVIX_POLICY
    dedupe = DedupeId("webhook-id", "header", signed=True)
    disable = DisableRule(window=5 * _DAY, gone=True)
    sources = ("spec: the envelope, the headers, 410 Gone disables",
               "source and docs of Svix: timeout (hosted), retry schedule, 5-day disabling")

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """``{type, timestamp, data}`` with a ``msg_`` id."""
        message_id = generate_message_id(rng)
        body = {"type": event_type, "timestamp": rfc3339(now),
                "data": _data(rng, event_type, now)}
        return Message(self.name, message_id, event_type, now, encode_json(body),
                       "application/json")
