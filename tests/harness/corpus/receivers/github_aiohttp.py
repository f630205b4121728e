"""GitHub's documented signature check (``hmac.compare_digest``) in an aiohttp app.

Follows: GitHub's docs "Validating webhook deliveries", the Python example
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), moved
to aiohttp: the doc's ``verify_signature`` with its 403 as aiohttp's
``web.HTTPForbidden``; the app is aiohttp's documented ``web.Application`` with a POST
route (https://docs.aiohttp.org/en/stable/web_quickstart.html).

Deliberate choices:

- the raw body is ``await request.read()``. aiohttp refuses bodies of
  ``client_max_size`` (1 MiB by default) or more with 413 before the handler sees them;
- the comparison is the doc's ``hmac.compare_digest(str, str)``, which raises
  ``TypeError`` on a non-ASCII header value (aiohttp decodes header bytes as UTF-8 with
  surrogate escapes), so aiohttp answers 500;
- as in :mod:`corpus.receivers.github_fastapi`: ``json.loads`` unguarded after the check,
  ``X-GitHub-Event`` read with ``.get``, 202 on success, processed at once keyed by
  ``X-GitHub-Delivery``, no deduplication.

aiohttp apps are neither ASGI nor WSGI: this receiver runs over HTTP only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from aiohttp import web

from .scaffold import OBSERVE_PATH, Processed

__all__ = ["create_app", "verify_signature"]

log = logging.getLogger(__name__)


def verify_signature(payload_body: bytes, secret_token: str, signature_header: str | None,
                     ) -> None:
    """The doc's check; answers 403 (``web.HTTPForbidden``) if not authorized."""
    if not signature_header:
        raise web.HTTPForbidden(text="x-hub-signature-256 header is missing!")
    hash_object = hmac.new(secret_token.encode("utf-8"), msg=payload_body,
                           digestmod=hashlib.sha256)
    expected_signature = "sha256=" + hash_object.hexdigest()
    if not hmac.compare_digest(expected_signature, signature_header):
        raise web.HTTPForbidden(text="Request signatures didn't match!")


def create_app(secret: str, processed: Processed) -> web.Application:
    """The aiohttp application, checking deliveries with ``secret``."""

    async def webhook(request: web.Request) -> web.Response:
        payload_body = await request.read()
        verify_signature(payload_body, secret, request.headers.get("x-hub-signature-256"))
        payload = json.loads(payload_body)
        event = request.headers.get("X-GitHub-Event")
        log.info("received %s event (action %s)", event,
                 payload.get("action") if isinstance(payload, dict) else None)
        processed.record(request.headers.get("X-GitHub-Delivery"))
        return web.Response(status=202)

    async def observe(request: web.Request) -> web.Response:  # test scaffolding
        return web.json_response(processed.count(request.query.get("message_id", "")))

    app = web.Application()
    app.add_routes([web.post("/webhook", webhook), web.get(OBSERVE_PATH, observe)])
    return app
