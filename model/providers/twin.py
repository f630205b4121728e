"""A provider twin: one real provider's webhooks as a small declarative definition.

A twin is a class whose attributes state, once, what ``docs/reference.md`` knows about how
a provider delivers: its signing ``scheme`` (a name of
:data:`hooklab.model.signing.SCHEMES`), the ``headers`` every request carries, its
``timeout``, its retry schedule as a ``policy`` (a
:class:`~hooklab.model.retry.RetryPolicy`, which :mod:`hooklab.model.presets` lists under
the same name), the ``retry_headers`` a retry carries, the ``dedupe`` id and whether it is
signed, its ``disable`` rule, its ``handshake``, and the status it demands for a bad
signature. ``sources`` says where the facts come from, ``approximate`` what is only
roughly published, and ``gaps`` what the twin leaves out. A fact the reference does not
give is None, never a guess.

Behaviour is two methods: :meth:`Twin.payload` draws one event in the provider's shape
from an ``rng`` at ``now`` (the :class:`~hooklab.model.providers.wire.Message`, the same on
every retry), and :meth:`Twin.request` turns a message into the request of one attempt,
signed at that attempt's time, with that attempt's retry headers. Nothing reads the clock
or global randomness: the same seed and ``now`` give the same bytes.

How much of a provider a twin covers is its ``coverage``:

=================  ===========================================================================
``full``           scheme, headers, payloads, handshake and every delivery fact the reference
                   gives
``scheme-only``    the scheme and a payload in the provider's shape; no delivery facts
``delivery-only``  delivery facts (timeout, retries, id); hooklab has no scheme for it yet
=================  ===========================================================================

A declaration is checked when its class is defined: an unknown scheme, a coverage the
attributes do not give, or a dedupe id that contradicts the scheme fails at import.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, NamedTuple

from ..errors import ConfigError
from ..outcomes import Outcome
from ..retry import RetryPolicy
from ..signing import SCHEMES, Scheme, get_scheme
from .facts import DedupeId, DisableRule, RetryHeaders, Timeout
from .handshake import Handshake
from .ids import check_now
from .wire import Headers, Message, Request

__all__ = [
    "COVERAGES",
    "EXAMPLE_NOW",
    "EXAMPLE_SEED",
    "EXAMPLE_URL",
    "Coverage",
    "Example",
    "Twin",
    "signing_secret",
    "verifying_secret",
]

Coverage = Literal["full", "scheme-only", "delivery-only"]
#: The coverage levels, most complete first.
COVERAGES: tuple[Coverage, ...] = ("full", "scheme-only", "delivery-only")

#: Where a twin's example request is sent, unless told otherwise.
EXAMPLE_URL = "https://receiver.example/webhooks"
#: When a twin's example request is signed: 2023-11-14T22:13:20Z.
EXAMPLE_NOW = 1_700_000_000
#: The seed of a twin's demo keys and example payload.
EXAMPLE_SEED = 0


def signing_secret(keys: dict[str, str]) -> str:
    """The key that signs, from a scheme's labelled keys (a secret, or a signing key).

    >>> signing_secret({"signing key": "k", "verifying key": "p"})
    'k'
    """
    return keys.get("secret") or keys["signing key"]


def verifying_secret(keys: dict[str, str]) -> str:
    """The key that verifies, from a scheme's labelled keys.

    >>> verifying_secret({"secret": "s"})
    's'
    """
    return keys.get("secret") or keys["verifying key"]


class Example(NamedTuple):
    """A twin's example: its demo keys, one message, and its signed first request."""

    keys: dict[str, str]
    message: Message
    request: Request
    now: int


class Twin:
    """One provider's webhooks; see the module docstring. Subclasses declare attributes."""

    name: ClassVar[str]
    title: ClassVar[str]
    coverage: ClassVar[Coverage]
    scheme: ClassVar[str | None] = None
    headers: ClassVar[Headers] = ()
    event_types: ClassVar[tuple[str, ...]] = ()
    timeout: ClassVar[Timeout | None] = None
    policy: ClassVar[RetryPolicy | None] = None
    retry_headers: ClassVar[RetryHeaders | None] = None
    dedupe: ClassVar[DedupeId | None] = None
    disable: ClassVar[DisableRule | None] = None
    handshake: ClassVar[Handshake | None] = None
    bad_signature_status: ClassVar[int | None] = None
    sources: ClassVar[tuple[str, ...]] = ()
    approximate: ClassVar[tuple[str, ...]] = ()
    gaps: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_declaration(cls)

    # ------------------------------------------------------------------ behaviour

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """One ``event_type`` event drawn from ``rng`` at ``now``, in the provider's shape."""
        raise ConfigError(f"provider {self.name!r} is a {self.coverage} twin: hooklab has no "
                          "payload for it", field="provider")

    def message(self, rng: random.Random, now: float, event_type: str | None = None
                ) -> Message:
        """One event of ``event_type`` (default: one of :attr:`event_types`, drawn).

        ConfigError names ``event_type`` when the twin does not send that type.

        >>> from hooklab.model.providers import get_provider
        >>> get_provider("github").message(random.Random(0), 1700000000, "ping").event_type
        'ping'
        """
        seconds = check_now(now)
        if event_type is None:
            if not self.event_types:
                return self.payload(rng, seconds, "")
            event_type = self.event_types[rng.randrange(len(self.event_types))]
        elif event_type not in self.event_types:
            known = ", ".join(self.event_types) or "none"
            raise ConfigError(f"event_type {event_type!r}: {self.name} sends {known}",
                              field="event_type")
        return self.payload(rng, seconds, event_type)

    def handshake_message(self, rng: random.Random, now: float) -> Message:
        """The handshake message the provider sends before any event (ConfigError if the
        provider has no handshake)."""
        if self.handshake is None:
            raise ConfigError(f"provider {self.name!r} sends no handshake", field="provider")
        return self.handshake.message(self.name, rng, check_now(now))

    def request(
        self,
        message: Message,
        *,
        secrets: Sequence[str],
        now: float,
        url: str = EXAMPLE_URL,
        attempt: int = 1,
        previous: Outcome | None = None,
    ) -> Request:
        """The request of attempt ``attempt`` of ``message`` to ``url``, signed at ``now``
        with ``secrets``; a retry carries the retry headers that follow ``previous``.

        >>> from hooklab.model.outcomes import Outcome
        >>> from hooklab.model.providers import get_provider
        >>> slack = get_provider("slack")
        >>> message = slack.message(random.Random(0), 1700000000)
        >>> retry = slack.request(message, secrets=["8f742231b10e8888abcd99yyyzzz85a5"],
        ...                       now=1700000060, attempt=2,
        ...                       previous=Outcome.transport("timeout"))
        >>> retry.header("X-Slack-Retry-Num"), retry.header("X-Slack-Retry-Reason")
        ('1', 'http_timeout')
        """
        if message.provider != self.name:
            raise ConfigError(f"message is {message.provider!r}'s, not {self.name!r}'s")
        scheme = self._scheme()
        retry = (self.retry_headers.for_attempt(attempt, previous)
                 if self.retry_headers is not None else ())
        signed = scheme.sign(
            message_id=message.id, timestamp=check_now(now), body=message.body,
            secrets=secrets,
            url=url if "url" in scheme.inputs else None,
            method="POST" if "method" in scheme.inputs else None,
        )
        pairs = [("Content-Type", message.content_type), *self.headers, *message.headers,
                 *retry, *signed.items()]
        return Request("POST", url, _last_wins(pairs), message.body)

    def example(self, url: str = EXAMPLE_URL, event_type: str | None = None) -> Example:
        """Demo keys, a message (of the first event type unless told) and its first
        request, drawn from :data:`EXAMPLE_SEED` and signed at :data:`EXAMPLE_NOW`: the
        same every time.

        >>> from hooklab.model.providers import get_provider
        >>> get_provider("stripe").example().request.header("Stripe-Signature")[:13]
        't=1700000000,'
        """
        rng = random.Random(EXAMPLE_SEED)
        keys = self._scheme().generate_keys(rng)
        message = self.message(rng, EXAMPLE_NOW, event_type or self.event_types[0])
        request = self.request(message, secrets=[signing_secret(keys)], now=EXAMPLE_NOW,
                               url=url)
        return Example(keys, message, request, EXAMPLE_NOW)

    def _scheme(self) -> Scheme:
        if self.scheme is None:
            raise ConfigError(f"provider {self.name!r} is a delivery-only twin: hooklab has "
                              "no signing scheme for it yet", field="provider")
        return get_scheme(self.scheme)

    # ------------------------------------------------------------------ inspection

    def describe(self) -> dict[str, Any]:
        """The twin's facts as plain JSON-ready data (what ``hooklab providers`` shows).

        >>> from hooklab.model.providers import get_provider
        >>> get_provider("slack").describe()["timeout"]
        {'seconds': 3.0, 'connect': None, 'approximate': False, 'text': '3 s'}
        """
        policy = self.policy
        return {
            "name": self.name,
            "title": self.title,
            "coverage": self.coverage,
            "scheme": self.scheme,
            "event_types": list(self.event_types),
            "headers": [list(pair) for pair in self.headers],
            "timeout": None if self.timeout is None else {
                "seconds": self.timeout.total, "connect": self.timeout.connect,
                "approximate": self.timeout.approximate, "text": self.timeout.describe()},
            "retries": None if policy is None else {
                "policy": policy.name, "attempts": policy.max_attempts,
                "delays": list(policy.schedule()[: len(policy.attempt_times()) - 1]),
                "window": policy.max_window,
                "no_retry_codes": sorted(policy.no_retry_codes),
                "description": policy.description},
            "retry_headers": None if self.retry_headers is None else {
                "number": self.retry_headers.number, "reason": self.retry_headers.reason,
                "reasons": dict(self.retry_headers.reasons),
                "opt_out": None if self.retry_headers.opt_out is None else
                ": ".join(self.retry_headers.opt_out)},
            "dedupe": None if self.dedupe is None else {
                "name": self.dedupe.name, "where": self.dedupe.where,
                "signed": self.dedupe.signed, "each": self.dedupe.each,
                "text": self.dedupe.describe()},
            "handshake": None if self.handshake is None else {
                "name": self.handshake.name, "needs": self.handshake.needs},
            "disable": None if self.disable is None else {
                "text": self.disable.describe(), "reported": self.disable.reported,
                "auto_disable": self.disable.auto_disable()},
            "bad_signature_status": self.bad_signature_status,
            "sources": list(self.sources),
            "approximate": list(self.approximate),
            "gaps": list(self.gaps),
        }


def _last_wins(pairs: list[tuple[str, str]]) -> Headers:
    """Pairs in order, each name once (a later value replaces an earlier one in place)."""
    index: dict[str, int] = {}
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        key = name.lower()
        if key in index:
            out[index[key]] = (name, value)
        else:
            index[key] = len(out)
            out.append((name, value))
    return tuple(out)


def _check_declaration(cls: type[Twin]) -> None:
    name = getattr(cls, "name", None)
    where = f"provider twin {cls.__name__}"
    if not isinstance(name, str) or not name or name != name.lower() or " " in name:
        raise ConfigError(f"{where}: name must be a lower-case word, not {name!r}")
    if getattr(cls, "coverage", None) not in COVERAGES:
        raise ConfigError(f"{where}: coverage must be one of {', '.join(COVERAGES)}")
    if not getattr(cls, "title", None) or not cls.sources:
        raise ConfigError(f"{where}: needs a title and its sources")
    if cls.coverage == "delivery-only":
        if cls.scheme is not None or cls.event_types:
            raise ConfigError(f"{where}: a delivery-only twin has no scheme and no payloads")
    else:
        if cls.scheme is None or cls.scheme not in SCHEMES:
            raise ConfigError(f"{where}: unknown scheme {cls.scheme!r}")
        if not cls.event_types or cls.payload is Twin.payload:
            raise ConfigError(f"{where}: a {cls.coverage} twin needs event types and payload()")
        _check_dedupe(cls, SCHEMES[cls.scheme], where)


def _check_dedupe(cls: type[Twin], scheme: Scheme, where: str) -> None:
    dedupe = cls.dedupe
    if dedupe is None:
        return
    if dedupe.where == "header" and (
        dedupe.name.lower() != (scheme.id_header or "").lower()
        or dedupe.signed != scheme.id_signed
    ):
        raise ConfigError(f"{where}: dedupe id {dedupe.describe()} contradicts the "
                          f"{scheme.name} scheme (id header {scheme.id_header!r}, "
                          f"signed {scheme.id_signed})")
    if dedupe.where == "body" and not dedupe.signed:
        raise ConfigError(f"{where}: a dedupe id in the body is signed with it")
