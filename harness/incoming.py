"""What the reference receiver reads off a request, and how it writes its answer.

The receiver's lane (:mod:`~hooklab.harness.receiver`) judges a request; this module holds
the plain reading around it: the headers as a case-insensitive mapping that keeps repeated
names, the URL the request was sent to (which Twilio, Square and HubSpot sign), the body
read by its content type (a form body, as Twilio posts, is a form, not JSON), the event type
and the fallback message id found in a payload, the handshakes a provider sends before its
events (Slack's ``url_verification``, Discord's PING), and the :class:`Reply` written back
as a small JSON body.

    >>> event_type({"type": "invoice.paid"}, {})
    'invoice.paid'
    >>> fallback_id([{"sg_event_id": "sg_1"}], b"[]")
    'sg_1'
    >>> parse_payload(b"Body=hi&MessageSid=SM1", "application/x-www-form-urlencoded")
    ({'Body': 'hi', 'MessageSid': 'SM1'}, '')
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlsplit

from hooklab.model.errors import ConfigError

from .limits import Refusal
from .strict_json import MalformedJSON, parse_strict

__all__ = [
    "FORM",
    "Reply",
    "answer",
    "check_public_url",
    "event_type",
    "fallback_id",
    "handshake_reply",
    "parse_payload",
    "refused",
    "request_headers",
    "request_url",
]

#: The media type of a form body (Twilio's webhooks).
FORM = "application/x-www-form-urlencoded"


class Reply(NamedTuple):
    """The receiver's answer to one request: a status, a small JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


def request_headers(scope: Mapping[str, Any]) -> Mapping[str, str]:
    """The ASGI scope's headers, case-insensitive, repeated names kept (so they fail)."""
    from starlette.datastructures import Headers

    return Headers(raw=scope.get("headers", []))


def check_public_url(url: str | None) -> str | None:
    """``url`` if it is an ``http(s)://`` URL with a host and no query or fragment (the
    query is the request's own), else ConfigError; None passes.

    >>> check_public_url("https://example.com/twilio/sms")
    'https://example.com/twilio/sms'
    """
    if url is None:
        return None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"public_url must be an http(s):// URL with a host, not {url!r}",
                          field="public_url")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigError(f"public_url {url!r}: give no query or fragment; the request's "
                          "query is appended as received", field="public_url")
    return url


def request_url(scope: Mapping[str, Any], public_url: str | None = None) -> str:
    """The URL a request was sent to, as the provider signs it: scheme, ``Host`` and path as
    received (``public_url`` in their place, behind a proxy), then the query as received.

    >>> request_url({"scheme": "https", "path": "/sms", "query_string": b"a=1",
    ...              "headers": [(b"host", b"example.com")]})
    'https://example.com/sms?a=1'
    >>> request_url({"path": "/sms", "query_string": b"a=1"}, "https://example.com/tw")
    'https://example.com/tw?a=1'
    """
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    if public_url is not None:
        base = public_url
    else:
        host = request_headers(scope).get("host")
        if not host:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(str(scope.get("path", "/")), safe="/%")
        base = f"{scope.get('scheme', 'http')}://{host}{path}"
    return base + ("?" + query if query else "")


def parse_payload(body: bytes, content_type: str | None) -> tuple[Any, str]:
    """The payload of ``body`` and ``""``, or ``None`` and why it is malformed: a form body
    (:data:`FORM`) as a dict of its parameters (a repeated name: a list of its values),
    anything else as strict JSON (:mod:`~hooklab.harness.strict_json`).

    >>> parse_payload(b"a=1&a=2", FORM)
    ({'a': ['1', '2']}, '')
    >>> parse_payload(b"{", "application/json")[1][:15]
    'malformed JSON:'
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == FORM:
        try:
            pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True,
                              strict_parsing=bool(body), errors="strict")
        except ValueError as exc:  # UnicodeDecodeError too
            return None, f"malformed form body: {exc}"
        form: dict[str, Any] = {}
        for name, value in pairs:
            if name in form:
                form[name] = [*_listed(form[name]), value]
            else:
                form[name] = value
        return form, ""
    try:
        return parse_strict(body), ""
    except MalformedJSON as exc:
        return None, f"malformed JSON: {exc}"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def handshake_reply(scheme: str, payload: Any) -> Reply | None:
    """The answer to a provider's handshake when serving ``scheme``, else None: Slack's
    ``url_verification`` gets its challenge back, Discord's PING (``type`` 1) a PONG.

    >>> handshake_reply("discord", {"type": 1}).body
    {'type': 1}
    >>> handshake_reply("standard", {"type": 1}) is None
    True
    """
    if not isinstance(payload, dict):
        return None
    if scheme == "slack" and payload.get("type") == "url_verification" and isinstance(
            payload.get("challenge"), str):
        return Reply(200, {"challenge": payload["challenge"]})
    if scheme == "discord" and payload.get("type") == 1 and not isinstance(
            payload.get("type"), bool):
        return Reply(200, {"type": 1})
    return None


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
    ``event`` in a batch (SendGrid), Twilio's form (``status-callback`` when it carries a
    ``MessageStatus``, else ``incoming-message``: hooklab's labels, as Twilio names none),
    else GitHub's or Shopify's header."""
    if isinstance(payload, list) and payload and isinstance(payload[0], dict) and (
            isinstance(payload[0].get("event"), str)):
        return str(payload[0]["event"])
    kind = payload.get("type") if isinstance(payload, dict) else None
    if isinstance(kind, str) or (isinstance(kind, int) and not isinstance(kind, bool)):
        return str(kind)
    if isinstance(payload, dict) and isinstance(payload.get("MessageSid"), str):
        return "status-callback" if "MessageStatus" in payload else "incoming-message"
    return headers.get("x-github-event", "") or headers.get("x-shopify-topic", "")


def fallback_id(payload: Any, body: bytes) -> str:
    """The message id when no header carries one: the payload's ``id`` (Stripe, Discord),
    Slack's ``event_id``, the first ``sg_event_id`` of a SendGrid batch, Twilio's
    ``MessageSid``, else a digest of the body."""
    first = payload[0] if isinstance(payload, list) and payload else payload
    if isinstance(first, dict):
        for name in ("id", "event_id", "sg_event_id", "MessageSid"):
            if isinstance(first.get(name), str) and first[name]:
                return str(first[name])
    return "sha256:" + hashlib.sha256(body).hexdigest()
