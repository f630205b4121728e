"""The Stripe SDK (``stripe.Webhook.construct_event``) in a Django view.

Follows: Stripe's docs, "Receive Stripe events in your webhook endpoint", section "Verify
webhook signatures with official libraries" (https://docs.stripe.com/webhooks), Python
(Django): ``my_webhook_view`` with ``@csrf_exempt``.

Deliberate choices, all the doc's unless said:

- the raw body is ``request.body``; the header is read as
  ``request.META['HTTP_STRIPE_SIGNATURE']``, so a request without ``Stripe-Signature``
  raises ``KeyError`` and Django answers 500;
- ``ValueError`` and ``SignatureVerificationError`` are answered
  ``HttpResponse(status=400)``; anything else escapes to Django's 500 (see
  :mod:`corpus.receivers.stripe_flask` for the SDK's ``TypeError`` and
  ``AttributeError``), and the SDK's current name ``stripe.SignatureVerificationError``
  replaces the doc's ``stripe.error.…`` (absent from stripe 16);
- the event is handled at once by ``event.type`` and acknowledged
  ``HttpResponse(status=200)``; no deduplication by ``event.id``;
- Django settings are configured here, once per process, as a minimal project would
  (``DEBUG = False``, the default middleware that needs no database, the URL
  ``webhook/``). Django's own limits apply: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``
  (2.5 MB) gets 400, a POST to ``/webhook`` without the slash a 301. Django has one
  configuration per process, so the view reads the secret and the counter that the last
  :func:`create_app` call set.
"""

from __future__ import annotations

import logging
from typing import Any

import django
import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .scaffold import OBSERVE_PATH, Processed

__all__ = ["create_app"]

log = logging.getLogger(__name__)
endpoint_secret = ""
_processed = Processed()


@csrf_exempt
def my_webhook_view(request: HttpRequest) -> HttpResponse:
    payload = request.body
    sig_header = request.META["HTTP_STRIPE_SIGNATURE"]
    event = None

    try:
        event = stripe.Webhook.construct_event(payload, sig_header, endpoint_secret)
    except ValueError as e:
        # Invalid payload
        log.info("Error parsing payload: %s", e)
        return HttpResponse(status=400)
    except stripe.SignatureVerificationError as e:
        # Invalid signature
        log.info("Error verifying webhook signature: %s", e)
        return HttpResponse(status=400)

    # Handle the event
    if event.type == "payment_intent.succeeded":
        payment_intent = event.data.object  # contains a stripe.PaymentIntent
        log.info("PaymentIntent was successful: %s", type(payment_intent).__name__)
    else:
        log.info("Unhandled event type %s", event.type)
    _processed.record(event.id)

    return HttpResponse(status=200)


def observe(request: HttpRequest) -> JsonResponse:  # test scaffolding, not in the doc
    return JsonResponse(_processed.count(request.GET.get("message_id", "")), safe=False)


urlpatterns = [
    path("webhook/", my_webhook_view),
    path(OBSERVE_PATH.lstrip("/"), observe),
]

_SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "corpus-not-secret",
    "ALLOWED_HOSTS": ["*"],
    "ROOT_URLCONF": __name__,
    "MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    "INSTALLED_APPS": [],
    "LOGGING_CONFIG": None,
    "USE_TZ": True,
}


def create_app(secret: str, processed: Processed) -> Any:
    """Django's WSGI application for this view, verifying with ``secret``."""
    global endpoint_secret, _processed
    if not settings.configured:
        settings.configure(**_SETTINGS)
        django.setup()
    endpoint_secret = secret
    _processed = processed
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()
