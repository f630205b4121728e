"""Endpoints: where a sender delivers messages, and which messages it delivers there.

An :class:`Endpoint` is a receiver's URL with everything the sender needs to deliver to it:
its signing secrets (several at once while a secret is rotated, each with an optional
expiry), the event types it subscribes to, whether it is enabled (and if not, why), the name
of its retry-policy preset, its request timeout and its signing scheme. An endpoint checks
itself when it is built, so a bad URL, secret, filter or policy name fails at once with a
specific :mod:`~hooklab.model.errors` error, never later at the first delivery.

Event types are dot-delimited (``invoice.paid``). A filter is a list of patterns in which a
``*`` segment stands for one or more whole segments: ``invoice.*`` matches
``invoice.paid`` and ``invoice.payment.failed`` but not ``invoice``; ``*`` matches every
event type. :func:`matches` compiles each list of patterns once.

Example::

    >>> endpoint = Endpoint("ep_1", "https://example.com/hooks",
    ...                     (SigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),),
    ...                     events=("invoice.*",))
    >>> endpoint.accepts("invoice.paid"), endpoint.accepts("customer.created")
    (True, False)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import ConfigError, InvalidSecret, InvalidURL

if TYPE_CHECKING:
    from .retry import RetryPolicy

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_SCHEME",
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "Endpoint",
    "EventFilter",
    "SigningSecret",
    "check_url",
    "event_filter",
    "mask",
    "mask_url",
    "matches",
]

#: The request timeout of Svix's hosted service (``docs/reference.md``), in seconds.
DEFAULT_TIMEOUT = 15.0
#: The retry-policy preset of the source diagram: 6 attempts.
DEFAULT_POLICY = "diagram"
#: The longest request timeout an endpoint may have, in seconds: one hour. A delivery
#: waiting longer holds its lease and a connection for nothing (providers give up after
#: 5 to 30 seconds, ``docs/reference.md``).
MAX_TIMEOUT = 3600.0
#: Standard Webhooks ``v1`` signatures.
DEFAULT_SCHEME = "standard"

_SEGMENT = re.compile(r"[^.*\s]+")
_ANY_SEGMENTS = r"[^.]+(?:\.[^.]+)*"


def mask(secret: str) -> str:
    """A secret shortened for display: never print one in full.

        >>> mask("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        'whsec_Mf…'
    """
    keep = secret.index("_") + 3 if "_" in secret[:10] else 2
    return secret[:keep] + "…"


#: Query parameters whose values :func:`mask_url` hides: their names contain one of these.
_CREDENTIAL_PARAMS = re.compile(
    r"token|key|secret|pass|pwd|sig|auth|credential|session|jwt|code", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` fit to print: a password or a lone user name before ``@``, and the values of
    query parameters named like credentials (``token``, ``api_key``, ``sig``...), as ``***``.

    Everything else is left byte for byte, so the masked URL still says where it points. A
    target without a scheme (``/in?token=abc``, as a receiver sees it) has its query masked.

        >>> mask_url("https://user:hunter2@example.com/in?token=abc&tenant=7")
        'https://user:***@example.com/in?token=***&tenant=7'
        >>> mask_url("https://ghp_abc@example.com/"), mask_url("https://example.com/in")
        ('https://***@example.com/', 'https://example.com/in')
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = (rest[:cut], rest[cut:]) if sep else ("", rest)
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:***@{host}" if colon else f"***@{host}"
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        params = []
        for param in query.split("&"):
            name, eq, value = param.partition("=")
            params.append(f"{name}=***" if eq and value and _CREDENTIAL_PARAMS.search(name)
                          else param)
        tail = path + "?" + "&".join(params) + hash_ + fragment
    return f"{scheme}{sep}{authority}{tail}"


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """One signing secret; ``expires_at`` (seconds, same clock as ``now``) ends its use.

        >>> SigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", expires_at=60.0)
        SigningSecret('whsec_Mf…', expires_at=60.0)
    """

    value: str = field(repr=False)
    expires_at: float | None = None

    def active(self, now: float) -> bool:
        """Whether the secret still signs at time ``now`` (it stops at ``expires_at``)."""
        return self.expires_at is None or now < self.expires_at

    def __repr__(self) -> str:
        return f"SigningSecret({mask(self.value)!r}, expires_at={self.expires_at!r})"


class EventFilter:
    """A compiled list of event-type patterns; call :meth:`matches` on hot paths.

        >>> f = EventFilter(["invoice.*", "customer.created"])
        >>> f.matches("invoice.payment.failed"), f.matches("customer.deleted")
        (True, False)
    """

    __slots__ = ("_cache", "_match", "patterns")

    _CACHE_LIMIT = 4096

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: tuple[str, ...] = tuple(patterns)
        for pattern in self.patterns:
            _check_pattern(pattern)
        self._cache: dict[str, bool] = {}
        if "*" in self.patterns:
            self._match = None
        else:
            regex = "|".join(_pattern_regex(p) for p in self.patterns) or r"(?!)"
            self._match = re.compile(f"(?:{regex})").fullmatch

    def matches(self, event_type: str) -> bool:
        """Whether ``event_type`` matches one of the patterns."""
        if self._match is None:
            return True
        hit = self._cache.get(event_type)
        if hit is None:
            hit = self._match(event_type) is not None
            if len(self._cache) < self._CACHE_LIMIT:
                self._cache[event_type] = hit
        return hit

    __call__ = matches

    def __repr__(self) -> str:
        return f"EventFilter({list(self.patterns)!r})"


@lru_cache(maxsize=1024)
def event_filter(patterns: tuple[str, ...]) -> EventFilter:
    """The (cached) compiled :class:`EventFilter` of a tuple of patterns."""
    return EventFilter(patterns)


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether ``event_type`` matches one of ``patterns`` (compiled once per pattern list).

        >>> matches(["invoice.*"], "invoice.paid"), matches(["*.created"], "invoice.paid")
        (True, False)
    """
    key = patterns if isinstance(patterns, tuple) else tuple(patterns)
    return event_filter(key).matches(event_type)


def check_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL with a host; else raise InvalidURL.

        >>> check_url("ftp://example.com/")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.InvalidURL: endpoint URL 'ftp://example.com/' must use http or https
    """
    if not isinstance(url, str) or not url:
        raise InvalidURL(f"endpoint URL {url!r} must be a non-empty string")
    if any(c.isspace() for c in url):
        raise InvalidURL(f"endpoint URL {url!r} must not contain whitespace")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"endpoint URL {url!r} is malformed: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(f"endpoint URL {url!r} must use http or https")
    if not parts.hostname:
        raise InvalidURL(f"endpoint URL {url!r} has no host")
    if port == 0:
        raise InvalidURL(f"endpoint URL {url!r} has port 0")
    if parts.fragment:
        raise InvalidURL(f"endpoint URL {url!r} must not have a #fragment")
    return url


@dataclass(frozen=True)
class Endpoint:
    """A registered receiver; see the module docstring. Building one validates it."""

    id: str
    url: str
    secrets: tuple[SigningSecret, ...]
    events: tuple[str, ...] = ("*",)
    enabled: bool = True
    disabled_reason: str | None = None
    policy: str = DEFAULT_POLICY
    timeout: float = DEFAULT_TIMEOUT
    scheme: str = DEFAULT_SCHEME
    filter: EventFilter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip() or self.id != self.id.strip():
            raise ConfigError(f"endpoint id {self.id!r} must be a non-empty string without "
                              "surrounding whitespace")
        check_url(self.url)
        object.__setattr__(self, "secrets", _check_secrets(self.secrets, self.scheme))
        events = (self.events,) if isinstance(self.events, str) else tuple(self.events)
        if not events:
            raise ConfigError(f"endpoint {self.id!r}: the event filter needs at least one "
                              "pattern (use '*' for every event type)")
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "filter", event_filter(events))
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) or not (
            math.isfinite(self.timeout) and 0 < self.timeout <= MAX_TIMEOUT
        ):
            raise ConfigError(f"timeout {self.timeout!r} of endpoint {self.id!r} must be a "
                              f"positive number of seconds, at most {MAX_TIMEOUT:g}",
                              field="timeout")
        object.__setattr__(self, "timeout", float(self.timeout))
        if self.enabled and self.disabled_reason is not None:
            raise ConfigError(f"endpoint {self.id!r} is enabled but has a disabled_reason")
        _check_policy(self.policy)

    def accepts(self, event_type: str) -> bool:
        """Whether the endpoint subscribes to ``event_type`` (ignores ``enabled``)."""
        return self.filter.matches(event_type)

    def active_secrets(self, now: float) -> tuple[SigningSecret, ...]:
        """The secrets that sign at time ``now``, newest first (all of them during a
        rotation's grace period)."""
        return tuple(s for s in self.secrets if s.active(now))

    def rotated(self, new_secret: str | SigningSecret, *, now: float, grace: float) -> Endpoint:
        """This endpoint with ``new_secret`` signing first and the secrets active at ``now``
        still signing until ``now + grace`` (both sign during the grace period).

            >>> old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
            >>> new = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            >>> e = Endpoint("ep_1", "https://example.com/", (SigningSecret(old),))
            >>> [s.expires_at for s in e.rotated(new, now=100.0, grace=60.0).secrets]
            [None, 160.0]
        """
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not (
            math.isfinite(grace) and grace >= 0
        ):
            raise ConfigError(f"grace period {grace!r} must be a non-negative number of seconds")
        fresh = SigningSecret(new_secret) if isinstance(new_secret, str) else new_secret
        if any(s.value == fresh.value for s in self.active_secrets(now)):
            raise InvalidSecret(f"endpoint {self.id!r} already has secret {mask(fresh.value)!r}")
        until = now + grace
        kept = tuple(
            SigningSecret(s.value, until if s.expires_at is None else min(s.expires_at, until))
            for s in self.secrets
            if s.active(now)
        )
        return replace(self, secrets=(fresh, *kept))

    def retry_policy(self) -> RetryPolicy:
        """The :class:`~hooklab.model.retry.RetryPolicy` named by :attr:`policy`."""
        from .presets import get_policy

        return get_policy(self.policy)


def _check_pattern(pattern: str) -> None:
    segments = pattern.split(".") if isinstance(pattern, str) else [""]
    for segment in segments:
        if segment != "*" and not _SEGMENT.fullmatch(segment):
            raise ConfigError(
                f"event filter pattern {pattern!r} is malformed: use dot-delimited segments, "
                "each a name or '*' (e.g. 'invoice.*')"
            )


def _pattern_regex(pattern: str) -> str:
    return r"\.".join(_ANY_SEGMENTS if s == "*" else re.escape(s) for s in pattern.split("."))


def _check_secrets(secrets: object, scheme: str) -> tuple[SigningSecret, ...]:
    from .signing import check_secret

    if isinstance(secrets, SigningSecret | str):
        secrets = (secrets,)
    items = tuple(SigningSecret(s) if isinstance(s, str) else s for s in secrets)  # type: ignore[attr-defined]
    if not items:
        raise InvalidSecret("an endpoint needs at least one signing secret")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, SigningSecret):
            raise InvalidSecret(f"{item!r} is not a SigningSecret")
        check_secret(item.value, scheme, use="sign")
        if item.value in seen:
            raise InvalidSecret(f"signing secret {mask(item.value)!r} is listed twice")
        seen.add(item.value)
    return items


def _check_policy(name: str) -> None:
    from .presets import get_policy

    get_policy(name)
