"""Svix's Python library (``svix.webhooks.Webhook``) on Flask.

Follows: Svix's docs "How to Verify Webhooks with the Svix Libraries", section
"Framework specific examples", Python (Flask)
(https://docs.svix.com/receiving/verifying-payloads/how).

Deliberate choices:

- the raw body is ``request.get_data()``, the headers ``request.headers`` (Werkzeug joins
  duplicated headers with commas);
- only ``WebhookVerificationError`` is caught and answered ``('', 400)``, as the doc
  does; anything else the library raises escapes and Flask answers 500. Svix's
  ``verify`` wraps the Standard Webhooks library with ``json_parse=False``: it never
  parses the body, so a signed body that is not JSON is acknowledged like any other;
- a verified message is answered ``('', 204)`` and processed at once, keyed by the id
  header the library verified (``svix-id``, else ``webhook-id``); no deduplication (the
  doc shows none);
- one departure from the doc's text: its ``@app.route('/webhook/')`` lists no methods, so
  Flask would answer every POST with 405; this receiver adds ``methods=["POST"]``.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from svix.webhooks import Webhook, WebhookVerificationError

from .scaffold import OBSERVE_PATH, Processed

__all__ = ["create_app"]


def create_app(secret: str, processed: Processed) -> Flask:
    """The Flask app of the doc, verifying with ``secret``."""
    app = Flask(__name__)

    @app.route("/webhook/", methods=["POST"])
    def webhook_handler() -> tuple[str, int]:
        headers = request.headers
        payload = request.get_data()

        try:
            wh = Webhook(secret)
            msg = wh.verify(payload, headers)  # type: ignore[arg-type, func-returns-value]
        except WebhookVerificationError:
            return ("", 400)

        # Do something with the message...
        del msg
        processed.record(headers.get("svix-id", headers.get("webhook-id")))

        return ("", 204)

    @app.get(OBSERVE_PATH)
    def observe() -> Response:  # test scaffolding, not in the doc
        return jsonify(processed.count(request.args.get("message_id", "")))

    return app
