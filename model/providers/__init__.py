"""Provider twins: real providers' webhooks as executable models, one definition each.

A *twin* (:class:`Twin`) holds, once, how one provider delivers webhooks: its signing
scheme, the headers it sends, a payload generator in its shape, its handshake, timeout,
retry schedule (a retry preset of :mod:`hooklab.model.presets`, by the same definition),
retry headers, dedupe id (and whether it is signed) and disable rule. Each twin is a small
class in a module of its own; the facts are those of ``docs/reference.md``, and what a
provider publishes only roughly is marked ``approximate`` on the twin itself.

==================================================  =============  =====================
twins                                               coverage       module
==================================================  =============  =====================
``standard`` (Standard Webhooks, as Svix sends)     full           ``standard``
``stripe``, ``github``, ``shopify``                 full           one module each
``slack`` (``url_verification`` first)              full           ``slack``
``twilio``, ``sendgrid``                            full           one module each
``discord`` (PING first, 401 for bad signatures)    full           ``discord``
``square``, ``hubspot``, ``paddle``, ``linear``     scheme-only    ``scheme_only``
``azure-event-grid``, ``sns``, ``paypal``           delivery-only  ``delivery_only``
==================================================  =============  =====================

The parts every twin shares: ``twin`` (the :class:`Twin` base and its example), ``wire``
(:class:`Message`, :class:`Request`, :class:`Answer`), ``facts`` (:class:`Timeout`,
:class:`DedupeId`, :class:`RetryHeaders`, :class:`DisableRule`), ``handshake``
(:class:`Handshake`, :class:`Judgement`) and ``ids`` (ids and times from an ``rng``).
Imports run one way: provider modules → ``twin`` → ``facts``, ``handshake`` → ``wire``;
:mod:`hooklab.model.presets` imports this package, never the other way round.

    >>> import random
    >>> twin = get_provider("github")
    >>> message = twin.message(random.Random(7), now=1700000000, event_type="push")
    >>> request = twin.request(message, secrets=["It's a Secret to Everybody"],
    ...                        now=1700000000)
    >>> request.header("X-GitHub-Event"), request.header("X-GitHub-Delivery") == message.id
    ('push', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import UnknownProvider
from .delivery_only import AzureEventGridTwin, PayPalTwin, SnsTwin
from .discord import DiscordTwin
from .facts import DedupeId, DisableRule, RetryHeaders, Timeout
from .github import GitHubTwin
from .handshake import Handshake, Judgement
from .scheme_only import HubSpotTwin, LinearTwin, PaddleTwin, SquareTwin
from .sendgrid import SendGridTwin
from .shopify import ShopifyTwin
from .slack import SlackTwin
from .standard import StandardTwin
from .stripe import StripeTwin
from .twilio import TwilioTwin
from .twin import (
    COVERAGES,
    EXAMPLE_NOW,
    EXAMPLE_SEED,
    EXAMPLE_URL,
    Coverage,
    Example,
    Twin,
    signing_secret,
    verifying_secret,
)
from .wire import Answer, Message, Request

__all__ = [
    "COVERAGES",
    "EXAMPLE_NOW",
    "EXAMPLE_SEED",
    "EXAMPLE_URL",
    "PROVIDERS",
    "Answer",
    "Coverage",
    "DedupeId",
    "DisableRule",
    "Example",
    "Handshake",
    "Judgement",
    "Message",
    "Request",
    "RetryHeaders",
    "Timeout",
    "Twin",
    "get_provider",
    "signing_secret",
    "verifying_secret",
]

#: Every twin by name: the fully covered ones first, in the order the docs list them.
PROVIDERS: Mapping[str, Twin] = MappingProxyType({
    twin.name: twin
    for twin in (
        StandardTwin(), StripeTwin(), GitHubTwin(), ShopifyTwin(), SlackTwin(),
        TwilioTwin(), SendGridTwin(), DiscordTwin(),
        SquareTwin(), HubSpotTwin(), PaddleTwin(), LinearTwin(),
        AzureEventGridTwin(), SnsTwin(), PayPalTwin(),
    )
})


def get_provider(name: str) -> Twin:
    """The twin called ``name``; UnknownProvider (a ConfigError) lists the valid names.

    >>> get_provider("shopify").timeout.describe()
    '5 s (1 s to connect)'
    """
    try:
        return PROVIDERS[name]
    except (KeyError, TypeError):
        valid = ", ".join(PROVIDERS)
        raise UnknownProvider(f"provider {name!r} is unknown; choose one of {valid}",
                              field="provider") from None
