"""Delivery-only twins: Azure Event Grid, Amazon SNS and PayPal, as retry schedules and ids.

hooklab has no signing scheme for these providers yet, so these twins send nothing; they
hold what ``docs/reference.md`` gives of their delivery behaviour, so that ``hooklab
simulate --policy`` and the presets know their schedules:

- **Azure Event Grid** waits 30 s, then retries after 10 s, 30 s, 1 min, 5 min, 10 min,
  30 min, 1 h, 3 h, 6 h and every 12 h after that, until a 24-hour time to live or 30
  attempts, whichever comes first (in practice the time to live: 11 attempts); 400, 401,
  403 and 413 are never retried. The event ``id`` is in the body; nothing signs it.
- **Amazon SNS** (HTTP/S, the default delivery policy) retries 3 times, 20 s apart, all
  within 3600 s; ``MessageId`` is signed.
- **PayPal** retries 25 times over 3 days and publishes no intervals. The ``paypal``
  preset is hooklab's APPROXIMATION: 25 waits of 2:52:48, so the last retry falls at
  72:00:00. The transmission id is signed.

    >>> AZURE_EVENT_GRID_POLICY.attempt_times()[-1]
    82000.0
"""

from __future__ import annotations

from ..backoff import ConstantSchedule, FixedSchedule
from ..retry import RetryPolicy
from .facts import DedupeId, Timeout
from .twin import Twin

__all__ = [
    "AZURE_EVENT_GRID_POLICY",
    "PAYPAL_POLICY",
    "SNS_POLICY",
    "AzureEventGridTwin",
    "PayPalTwin",
    "SnsTwin",
]

_HOUR = 3600.0
_DAY = 24 * _HOUR

#: Azure Event Grid's published schedule: the ``azure-event-grid`` preset.
AZURE_EVENT_GRID_POLICY = RetryPolicy(
    "azure-event-grid",
    max_attempts=30,
    max_window=_DAY,
    backoff=FixedSchedule((10, 30, 60, 300, 600, 1800, _HOUR, 3 * _HOUR, 6 * _HOUR,
                           12 * _HOUR)),
    no_retry_codes=frozenset({400, 401, 403, 413}),
    description="Azure Event Grid: 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, "
    "then every 12 h, within a 24 h time to live and 30 attempts; 400, 401, 403, 413 "
    "never retried",
)

#: SNS's default HTTP/S delivery policy: the ``sns`` preset.
SNS_POLICY = RetryPolicy(
    "sns",
    max_attempts=4,
    max_window=_HOUR,
    backoff=ConstantSchedule(20.0),
    description="Amazon SNS, HTTP/S default policy: 3 retries 20 s apart, within 3600 s",
)

_PAYPAL_RETRIES = 25

#: PayPal's 25 retries over 3 days, approximated: the ``paypal`` preset.
PAYPAL_POLICY = RetryPolicy(
    "paypal",
    max_attempts=_PAYPAL_RETRIES + 1,
    max_window=3 * _DAY,
    backoff=ConstantSchedule(3 * _DAY / _PAYPAL_RETRIES),
    description="PayPal, APPROXIMATE: 25 retries over 3 days (PayPal publishes no "
    "intervals; hooklab spreads them evenly)",
)


class AzureEventGridTwin(Twin):
    """Azure Event Grid's push delivery to a webhook."""

    name = "azure-event-grid"
    title = "Azure Event Grid"
    coverage = "delivery-only"
    timeout = Timeout(30)
    policy = AZURE_EVENT_GRID_POLICY
    dedupe = DedupeId("id", "body", signed=False)
    sources = ("provider docs: timeout, retry schedule, time to live, codes not retried",)
    gaps = ("signing, payloads and handshake: not in docs/reference.md",)


class SnsTwin(Twin):
    """Amazon SNS delivering to an HTTP/S subscription."""

    name = "sns"
    title = "Amazon SNS (HTTP/S)"
    coverage = "delivery-only"
    policy = SNS_POLICY
    dedupe = DedupeId("MessageId", "body", signed=True)
    sources = ("provider docs: the default delivery policy, MessageId",)
    gaps = ("signing and payloads: hooklab has no SNS scheme yet",
            "the SubscriptionConfirmation handshake (a visit to its SubscribeURL): not "
            "modelled without the scheme")


class PayPalTwin(Twin):
    """PayPal's webhooks."""

    name = "paypal"
    title = "PayPal"
    coverage = "delivery-only"
    policy = PAYPAL_POLICY
    dedupe = DedupeId("PAYPAL-TRANSMISSION-ID", "header", signed=True)
    sources = ("provider docs: 25 retries over 3 days, the signed transmission id",)
    approximate = ("retries: the intervals are unpublished; hooklab spreads the 25 evenly, "
                   "2:52:48 apart",)
    gaps = ("signing and payloads: hooklab has no PayPal scheme yet",
            "timeout: docs/reference.md gives none")
