"""The Stripe SDK (``stripe.Webhook.construct_event``) on Flask.

Follows: Stripe's docs, "Receive Stripe events in your webhook endpoint", section "Verify
webhook signatures with official libraries" (https://docs.stripe.com/webhooks), in its
Flask form (``request.data``, ``request.headers['STRIPE_SIGNATURE']``).

Deliberate choices, all the doc's unless said:

- the raw body is ``request.data``; the header is read by subscript. Werkzeug 3's
  ``EnvironHeaders`` raises a plain ``KeyError`` for a missing header (not the
  ``BadRequestKeyError`` that would give 400), so a request without ``Stripe-Signature``
  gets a 500;
- ``ValueError`` (invalid payload: not UTF-8, not JSON) and
  ``SignatureVerificationError`` (invalid signature, stale timestamp) are answered 400 as
  the doc does; anything else escapes and Flask answers 500. ``construct_event`` compares
  signatures with ``hmac.compare_digest(str, str)``, which raises ``TypeError`` on a
  non-ASCII ``v1=`` value, and builds the event with ``values.get``, which raises
  ``AttributeError`` on a signed JSON array or scalar;
- the doc's ``except stripe.error.SignatureVerificationError``: the SDK installed here
  (stripe 16) has no ``stripe.error`` module, so that clause itself would raise
  ``AttributeError`` on every forgery; this receiver uses the SDK's current name,
  ``stripe.SignatureVerificationError``;
- the doc's ``print`` calls are ``logging`` calls (the corpus runs inside pytest);
- the event is handled at once by ``event['type']`` and acknowledged with
  ``jsonify(success=True)`` (200); no deduplication by ``event['id']`` (the doc shows
  none).
"""

from __future__ import annotations

import logging

import stripe
from flask import Flask, Response, jsonify, request

from .scaffold import OBSERVE_PATH, Processed

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(secret: str, processed: Processed) -> Flask:
    """The Flask app of the doc, with ``secret`` as its ``endpoint_secret``."""
    endpoint_secret = secret
    app = Flask(__name__)

    @app.route("/webhook", methods=["POST"])
    def webhook() -> Response | tuple[str, int]:
        event = None
        payload = request.data
        sig_header = request.headers["STRIPE_SIGNATURE"]

        try:
            event = stripe.Webhook.construct_event(payload, sig_header, endpoint_secret)
        except ValueError:
            # Invalid payload
            return "Invalid payload", 400
        except stripe.SignatureVerificationError:
            # Invalid signature
            return "Invalid signature", 400

        # Handle the event
        if event["type"] == "payment_intent.succeeded":
            payment_intent = event["data"]["object"]  # contains a stripe.PaymentIntent
            log.info("PaymentIntent was successful: %s", type(payment_intent).__name__)
        else:
            log.info("Unhandled event type %s", event["type"])
        processed.record(event["id"])

        return jsonify(success=True)

    @app.get(OBSERVE_PATH)
    def observe() -> Response:  # test scaffolding, not in the doc
        return jsonify(processed.count(request.args.get("message_id", "")))

    return app
