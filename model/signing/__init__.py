"""Payload signing: how a sender proves a message came from it, and how a receiver checks.

A *scheme* turns a message (id, timestamp, raw body) and the endpoint's signing secrets into
the headers to send, and checks those headers on the receiving side. Each provider's scheme
sits behind one :class:`Scheme` protocol, in a module of its own, exactly as
``docs/reference.md`` describes them (``standard`` is the default):

- ``standard``: Standard Webhooks ``v1`` (HMAC, ``whsec_``) and ``v1a`` (Ed25519,
  ``whsk_``/``whpk_``) in one ``webhook-signature`` list; Svix's ``svix-`` headers too.
- ``stripe``: ``Stripe-Signature: t=<unix>,v1=<hex>``; only "too old" is checked.
- ``github``: ``X-Hub-Signature-256`` over the body; no timestamp, the id is not signed.
- ``shopify``: ``X-Shopify-Hmac-Sha256``, base64 over the body; nothing dated.
- ``slack``: ``X-Slack-Signature: v0=<hex>`` over ``v0:{ts}:{body}``; 300 s both ways.
- ``twilio``: ``X-Twilio-Signature``, HMAC-SHA1 of the URL and sorted form parameters (or
  of the URL with ``bodySHA256`` for JSON); takes ``url=``.
- ``sendgrid``: ECDSA P-256 over ``{ts}{body}``; signs with a PEM private key, verifies
  with the dashboard's base64 public key.
- ``square``: ``x-square-hmacsha256-signature``, base64 over URL + body; takes ``url=``.
- ``hubspot``: v3, base64 over method + URI + body + timestamp in milliseconds; 300 s,
  past only; takes ``url=`` and ``method=`` (default ``POST``).
- ``paddle``: ``Paddle-Signature: ts=...;h1=<hex>``; 5 s, past only; ``pdl_ntf_`` secrets.
- ``linear``: ``Linear-Signature`` over the body, dated by ``webhookTimestamp`` (ms) inside
  the body; 60 s both ways.
- ``discord``: Ed25519 over ``{ts}{body}``, hex signature and hex public key.

Several secrets give several signatures where the header holds a list (key rotation), and a
receiver accepts any one that matches. Verification never reads the clock: ``now`` is an
argument, and ``tolerance`` (None: the provider SDK's own) applies in the direction the
provider checks (:attr:`Scheme.direction`). Schemes that sign the request URL list it in
:attr:`Scheme.inputs` and take it as ``url=`` (and ``method=``). Every malformed input ends
in :class:`~hooklab.model.errors.VerificationError` with the reason; a malformed *secret* is
the receiver's own configuration and raises :class:`~hooklab.model.errors.InvalidSecret`.

    >>> list(SCHEMES)[:3]
    ['standard', 'stripe', 'github']
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Protocol

from ..errors import UnknownScheme
from ..secrets import SECRET_PREFIX, generate_message_id, generate_secret
from ._common import DEFAULT_TOLERANCE, FAR_FUTURE, MAX_HEADER_CHARS, Direction
from ._keys import Use
from .discord import DiscordScheme
from .github import GitHubScheme
from .hubspot import HubSpotScheme
from .linear import LinearScheme
from .paddle import PaddleScheme
from .sendgrid import SendGridScheme
from .shopify import ShopifyScheme
from .slack import SlackScheme
from .square import SquareScheme
from .standard import StandardScheme, generate_v1a_keys
from .stripe import StripeScheme
from .twilio import TwilioScheme

__all__ = [
    "DEFAULT_SCHEME",
    "DEFAULT_TOLERANCE",
    "FAR_FUTURE",
    "MAX_HEADER_CHARS",
    "SCHEMES",
    "SECRET_PREFIX",
    "DiscordScheme",
    "Direction",
    "GitHubScheme",
    "HubSpotScheme",
    "LinearScheme",
    "PaddleScheme",
    "Scheme",
    "SendGridScheme",
    "ShopifyScheme",
    "SlackScheme",
    "SquareScheme",
    "StandardScheme",
    "StripeScheme",
    "TwilioScheme",
    "Use",
    "check_secret",
    "generate_keys",
    "generate_message_id",
    "generate_secret",
    "generate_v1a_keys",
    "get_scheme",
    "sign_headers",
    "verify",
]

DEFAULT_SCHEME = "standard"


class Scheme(Protocol):
    """One way of signing a message and checking its signature.

    ``inputs`` names the extra keyword arguments the scheme signs (``url``, ``method``);
    ``tolerance`` is the default allowed skew in seconds (None: the timestamp is not checked
    unless a tolerance is given, or there is none), checked in ``direction``; ``id_header``
    is where the message id travels (None: in the body or nowhere), and ``id_signed`` says
    whether a forger can change it without breaking the signature.
    """

    name: str
    inputs: tuple[str, ...]
    tolerance: float | None
    direction: Direction
    id_header: str | None
    id_signed: bool

    def check_secret(self, secret: str, use: Use = "verify") -> None:
        """Raise InvalidSecret unless ``secret`` is a key of this scheme fit for ``use``."""
        ...

    def generate_keys(self, rng: random.Random) -> dict[str, str]:
        """A new secret, or key pair, labelled (``secret``; ``signing key``,
        ``verifying key``)."""
        ...

    def sign(
        self,
        *,
        message_id: str,
        timestamp: int,
        body: bytes,
        secrets: Sequence[str],
        url: str | None = None,
        method: str | None = None,
    ) -> dict[str, str]:
        """The headers to send with ``body``: one signature per secret where possible."""
        ...

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> str | None:
        """The message id the headers carry (None if the scheme has none), once the
        signature verifies; else VerificationError."""
        ...


#: Every scheme by name, in the order the docs and ``--help`` list them.
SCHEMES: Mapping[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        StandardScheme(),
        StripeScheme(),
        GitHubScheme(),
        ShopifyScheme(),
        SlackScheme(),
        TwilioScheme(),
        SendGridScheme(),
        SquareScheme(),
        HubSpotScheme(),
        PaddleScheme(),
        LinearScheme(),
        DiscordScheme(),
    )
}


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name``; UnknownScheme (a ConfigError) names the valid ones.

    >>> get_scheme("github").name
    'github'
    """
    try:
        return SCHEMES[name]
    except (KeyError, TypeError):
        valid = ", ".join(SCHEMES)
        raise UnknownScheme(f"unknown signing scheme {name!r}; choose one of {valid}") from None


def check_secret(secret: str, scheme: str = DEFAULT_SCHEME, *, use: Use = "verify") -> str:
    """Validate a signing secret for ``scheme`` and ``use``, and return it unchanged.

    A verifying key (``whpk_``, a SendGrid or Discord public key) passes for ``verify``
    and fails for ``sign``.

    >>> check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    >>> try:
    ...     check_secret("whsec_c2hvcnQ=")
    ... except ValueError as exc:  # InvalidSecret, a ConfigError
    ...     print(exc)
    secret key is 5 bytes; needs 24 to 64
    """
    get_scheme(scheme).check_secret(secret, use)
    return secret


def generate_keys(rng: random.Random, scheme: str = DEFAULT_SCHEME) -> dict[str, str]:
    """A new secret (or key pair) for ``scheme``, labelled, from ``rng``.

    >>> generate_keys(random.Random(0))["secret"][:6]
    'whsec_'
    """
    return get_scheme(scheme).generate_keys(rng)


def sign_headers(
    body: bytes,
    *,
    message_id: str,
    timestamp: int,
    secrets: Sequence[str],
    scheme: str = DEFAULT_SCHEME,
    url: str | None = None,
    method: str | None = None,
) -> dict[str, str]:
    """Sign ``body`` with the named scheme; returns the headers to send.

    >>> sign_headers(b'{"test": 2432232314}', message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
    ...              timestamp=1614265330,
    ...              secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])["webhook-signature"]
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    return get_scheme(scheme).sign(
        message_id=message_id, timestamp=timestamp, body=body, secrets=secrets, url=url,
        method=method,
    )


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str],
    now: float,
    tolerance: float | None = None,
    scheme: str = DEFAULT_SCHEME,
    url: str | None = None,
    method: str | None = None,
) -> str | None:
    """Verify ``headers`` for ``body`` with the named scheme; returns the message id.

    >>> verify({"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a"
    ...         "37570b6d7586c22c46f4379c8b043e17"}, b"Hello, World!",
    ...        secrets=["It's a Secret to Everybody"], now=0, scheme="github") is None
    True
    """
    return get_scheme(scheme).verify(
        headers, body, secrets=secrets, now=now, tolerance=tolerance, url=url, method=method
    )
