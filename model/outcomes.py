"""What an attempt's answer means to the sender: the outcome classes.

Every attempt ends in one :class:`Outcome`: an HTTP status code, or a transport error kind
when no status came back (a timeout, a refused connection, a reset, a TLS failure). Its
:attr:`~Outcome.kind` is the class the retry policy and the Delivery machine reason about:

==================  ==========================================================
kind                when
==================  ==========================================================
``success``         2xx, the only success
``redirect``        3xx: a failure, redirects are not followed
``gone``            410: stop retrying and disable the endpoint
``throttled``       429, 502, 503, 504: retry, honouring ``Retry-After``
``client_error``    any other 4xx
``server_error``    any other 5xx (and any other code)
``timeout``         no answer within the request timeout
``connection``      connection refused, reset, DNS or TLS failure, or ``blocked``
                    (the sender's own SSRF guard refused the address)
==================  ==========================================================

Example::

    >>> classify(503).kind
    <OutcomeKind.THROTTLED: 'throttled'>
    >>> Outcome.transport("timeout").status_code
    0
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ConfigError

__all__ = [
    "THROTTLE_CODES",
    "TRANSPORT_ERRORS",
    "Outcome",
    "OutcomeKind",
    "classify",
    "parse_retry_after",
]


class OutcomeKind(StrEnum):
    """The class of an attempt's answer; see the module docstring."""

    SUCCESS = "success"
    REDIRECT = "redirect"
    GONE = "gone"
    THROTTLED = "throttled"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"


#: Status codes that mean "slow down": retried, honouring ``Retry-After``.
THROTTLE_CODES = frozenset({429, 502, 503, 504})

#: Transport error kinds an attempt may end in instead of a status code.
TRANSPORT_ERRORS = ("timeout", "connection_refused", "reset", "tls", "dns", "blocked")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's answer: a status code (0 for a transport error, as Svix stores it)."""

    status_code: int
    error: str | None = None
    retry_after: float | None = None
    #: The outcome class (see the module table), worked out once when the outcome is made.
    kind: OutcomeKind = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind(self.status_code, self.error))

    @classmethod
    def transport(cls, error: str) -> Outcome:
        """An attempt that got no status code: ``timeout``, ``reset``, ``tls``..."""
        if error not in TRANSPORT_ERRORS:
            raise ConfigError(f"unknown transport error {error!r}; use one of {TRANSPORT_ERRORS}")
        return cls(0, error)

    @property
    def label(self) -> str:
        """A short human label: ``"503"`` or ``"timeout"``."""
        return self.error if self.error else str(self.status_code)


def _kind(status: int, error: str | None) -> OutcomeKind:
    if error is not None:
        return OutcomeKind.TIMEOUT if error == "timeout" else OutcomeKind.CONNECTION
    if 200 <= status < 300:
        return OutcomeKind.SUCCESS
    if 300 <= status < 400:
        return OutcomeKind.REDIRECT
    if status == 410:
        return OutcomeKind.GONE
    if status in THROTTLE_CODES:
        return OutcomeKind.THROTTLED
    if 400 <= status < 500:
        return OutcomeKind.CLIENT_ERROR
    return OutcomeKind.SERVER_ERROR


def classify(status: int, retry_after: float | None = None) -> Outcome:
    """The outcome of an attempt that got HTTP ``status`` (``retry_after`` in seconds)."""
    return Outcome(status, None, retry_after)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``now`` is the current Unix time, used for the HTTP-date form. Returns ``None`` for a
    missing or unparseable value (a sender ignores a header it cannot read).

        >>> parse_retry_after("120", now=0)
        120.0
        >>> parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30)
        30.0
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # not "²", which isdigit() also accepts
        try:
            return float(int(text))
        except (ValueError, OverflowError):  # thousands of digits: not a usable delay
            return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)
