"""What the reference receiver reads off a request, and how it writes its answer.

The receiver's lane (:mod:`~hooklab.harness.receiver`) judges a request; this module holds
the plain reading around it: the headers as a case-insensitive mapping that keeps repeated
names, the event type and the fallback message id found in a payload, and the
:class:`Reply` written back as a small JSON body.

    >>> event_type({"type": "invoice.paid"}, {})
    'invoice.paid'
    >>> fallback_id([{"sg_event_id": "sg_1"}], b"[]")
    'sg_1'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from .limits import Refusal

__all__ = ["Reply", "answer", "event_type", "fallback_id", "refused", "request_headers"]


class Reply(NamedTuple):
    """The receiver's answer to one request: a status, a small JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


def request_headers(scope: Mapping[str, Any]) -> Mapping[str, str]:
    """The ASGI scope's headers, case-insensitive, repeated names kept (so they fail)."""
    from starlette.datastructures import Headers

    return Headers(raw=scope.get("headers", []))


def refused(refusal: Refusal) -> Reply:
    """The reply to a request refused by the limits."""
    return Reply(refusal.status, {"error": refusal.error}, tuple(refusal.headers()))


async def answer(send: Any, reply: Reply) -> None:
    """Send ``reply`` as a JSON response on the ASGI ``send``."""
    body = json.dumps(reply.body).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def event_type(payload: Any, headers: Mapping[str, str]) -> str:
    """The event type: the payload's ``type`` (Discord's is a number), the first event's
    ``event`` in a batch (SendGrid), else GitHub's or Shopify's header."""
    if isinstance(payload, list) and payload and isinstance(payload[0], dict) and (
            isinstance(payload[0].get("event"), str)):
        return str(payload[0]["event"])
    kind = payload.get("type") if isinstance(payload, dict) else None
    if isinstance(kind, str) or (isinstance(kind, int) and not isinstance(kind, bool)):
        return str(kind)
    return headers.get("x-github-event", "") or headers.get("x-shopify-topic", "")


def fallback_id(payload: Any, body: bytes) -> str:
    """The message id when no header carries one: the payload's ``id`` (Stripe, Discord),
    Slack's ``event_id``, the first ``sg_event_id`` of a SendGrid batch, else a digest."""
    first = payload[0] if isinstance(payload, list) and payload else payload
    if isinstance(first, dict):
        for name in ("id", "event_id", "sg_event_id"):
            if isinstance(first.get(name), str) and first[name]:
                return str(first[name])
    return "sha256:" + hashlib.sha256(body).hexdigest()
