"""Receivers built on the Slack, Twilio, SendGrid and Discord SDKs, the way each SDK's docs
show them.

The corpus (``tests/harness/corpus``) holds the standardwebhooks, svix, Stripe and GitHub
receivers; these four cover the other fully covered twins that have a Python SDK in the
test extra (Discord's is ``discord-interactions``, its ``verify_key_decorator`` as its
README shows it: 401 for a bad signature, the PING answered with a PONG). Each is a Flask
app as the SDK's docs write it: verify with the SDK over what
the framework gives, refuse with the doc's status, handle, acknowledge with 200. None
deduplicates (no doc shows it). Each counts, where the doc says "handle the event", the id
the twin deduplicates on, in a :class:`collections.Counter` kept on ``app.processed``.

Shopify has no SDK receiver here: its docs show webhook verification as a hand-written
HMAC check, not a call into its Python library.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from discord_interactions import InteractionResponseType, verify_key_decorator
from flask import Flask, jsonify, request
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

__all__ = ["PATHS", "SDK_RECEIVERS", "discord_flask", "sendgrid_flask", "slack_flask",
           "twilio_flask"]

#: Where each receiver takes webhooks.
PATHS = {"slack": "/slack/events", "twilio": "/sms", "sendgrid": "/events",
         "discord": "/interactions"}


def slack_flask(signing_secret: str) -> Any:
    """slack_sdk's ``SignatureVerifier`` on Flask (``is_valid_request``, 403 if not)."""
    app = Flask(__name__)
    verifier = SignatureVerifier(signing_secret=signing_secret)
    processed: Counter[str] = Counter()

    @app.route(PATHS["slack"], methods=["POST"])
    def events() -> Any:
        if not verifier.is_valid_request(request.get_data(), dict(request.headers)):
            return "invalid request", 403
        payload = json.loads(request.get_data())
        if payload.get("type") == "url_verification":
            return {"challenge": payload["challenge"]}
        processed[payload.get("event_id", "")] += 1
        return "", 200

    app.processed = processed  # type: ignore[attr-defined]
    return app


def twilio_flask(auth_token: str) -> Any:
    """twilio's ``RequestValidator`` on Flask (``validate(request.url, request.form,
    X-Twilio-Signature)``, 403 if not)."""
    app = Flask(__name__)
    validator = RequestValidator(auth_token)
    processed: Counter[str] = Counter()

    @app.route(PATHS["twilio"], methods=["POST"])
    def sms() -> Any:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            return "forbidden", 403
        processed[request.form.get("MessageSid", "")] += 1
        return "<Response></Response>", 200, {"Content-Type": "text/xml"}

    app.processed = processed  # type: ignore[attr-defined]
    return app


def sendgrid_flask(public_key: str) -> Any:
    """sendgrid's ``EventWebhook`` on Flask (``verify_signature`` over the text body, 403
    if not)."""
    app = Flask(__name__)
    event_webhook = EventWebhook()
    ec_public_key = event_webhook.convert_public_key_to_ecdsa(public_key)
    processed: Counter[str] = Counter()

    @app.route(PATHS["sendgrid"], methods=["POST"])
    def events() -> Any:
        payload = request.get_data(as_text=True)
        signature = request.headers.get(EventWebhookHeader.SIGNATURE, "")
        timestamp = request.headers.get(EventWebhookHeader.TIMESTAMP, "")
        if not event_webhook.verify_signature(payload, signature, timestamp, ec_public_key):
            return "forbidden", 403
        for event in json.loads(payload):
            processed[event.get("sg_event_id", "")] += 1
        return "", 200

    app.processed = processed  # type: ignore[attr-defined]
    return app


def discord_flask(public_key: str) -> Any:
    """discord-interactions' ``verify_key_decorator`` on Flask (401 if the signature is
    bad, the PING answered by the decorator), the command answered with a message."""
    app = Flask(__name__)
    processed: Counter[str] = Counter()

    @app.route(PATHS["discord"], methods=["POST"])
    @verify_key_decorator(public_key)
    def interactions() -> Any:
        processed[str(request.json.get("id", ""))] += 1  # type: ignore[union-attr]
        return jsonify({"type": InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE,
                        "data": {"content": "Hello world"}})

    app.processed = processed  # type: ignore[attr-defined]
    return app


#: The SDK receiver of each twin that has one here.
SDK_RECEIVERS = {"slack": slack_flask, "twilio": twilio_flask, "sendgrid": sendgrid_flask,
                 "discord": discord_flask}
