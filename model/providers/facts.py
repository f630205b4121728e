"""A provider's delivery behaviour as plain data: timeout, dedupe id, retry headers, disabling.

These small frozen records hold the facts of the "Delivery behaviour of other providers"
table of ``docs/reference.md``, one field per fact, so that a twin states them once and
every part of hooklab reads them from there:

=======================  ===================================================================
record                   holds
=======================  ===================================================================
:class:`Timeout`         how long the provider waits for an answer (and to connect)
:class:`DedupeId`        the id receivers deduplicate on, where it travels, whether signed
:class:`RetryHeaders`    headers a retry carries (Slack's ``X-Slack-Retry-Num``), opt-out
:class:`DisableRule`     when the provider disables an endpoint
=======================  ===================================================================

A fact the provider publishes only roughly carries ``approximate=True``; one known only
from users' reports carries ``reported=True``; the descriptions say so in words.

    >>> Timeout(5, connect=1).describe()
    '5 s (1 s to connect)'
    >>> DedupeId("X-Shopify-Webhook-Id", "header", signed=False).describe()
    'X-Shopify-Webhook-Id header (not signed)'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from ..outcomes import Outcome
from .wire import Headers, header

__all__ = ["DedupeId", "DisableRule", "RetryHeaders", "Timeout", "span"]


def span(seconds: float) -> str:
    """A duration in the largest whole unit: ``3 s``, ``1 min``, ``4 h``, ``5 days``.

    >>> span(300), span(432000), span(90)
    ('5 min', '5 days', '90 s')
    """
    for size, unit in ((86_400, " days"), (3600, " h"), (60, " min")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count}{' day' if unit == ' days' and count == 1 else unit}"
    return f"{seconds:g} s"


def _positive(value: Any, what: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Timeout:
    """How long a provider waits for an answer: ``total`` seconds, ``connect`` of them to
    connect (None: not published); ``approximate`` when the provider says "about"."""

    total: float
    connect: float | None = None
    approximate: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", _positive(self.total, "timeout"))
        if self.connect is not None:
            connect = _positive(self.connect, "connect timeout")
            if connect > self.total:
                raise ConfigError(f"connect timeout {connect:g} s exceeds the total "
                                  f"{self.total:g} s")
            object.__setattr__(self, "connect", connect)

    def describe(self) -> str:
        """The timeout in words.

        >>> Timeout(30, approximate=True).describe()
        'about 30 s'
        """
        text = ("about " if self.approximate else "") + span(self.total)
        return text + (f" ({span(self.connect)} to connect)" if self.connect else "")


@dataclass(frozen=True)
class DedupeId:
    """The id a receiver deduplicates on: header or body field ``name``, and whether the
    signature covers it (a forger can change an unsigned one, and a receiver that trusts
    it processes a replay again). ``each``: the body is a batch, one id per event."""

    name: str
    where: Literal["header", "body"]
    signed: bool
    each: bool = False

    def __post_init__(self) -> None:
        if self.where not in ("header", "body"):
            raise ConfigError(f"dedupe id travels in a header or the body, not {self.where!r}")
        if self.each and self.where != "body":
            raise ConfigError("only a body holds one dedupe id per event")

    def describe(self) -> str:
        """Where the id is, in words.

        >>> DedupeId("event_id", "body", signed=True).describe()
        'event_id in the body (signed)'
        """
        where = "header" if self.where == "header" else (
            "in each event of the body" if self.each else "in the body")
        return f"{self.name} {where} ({'signed' if self.signed else 'not signed'})"

    def read(self, headers: Headers, body: bytes) -> tuple[str, ...]:
        """The id values a request carries (empty when it carries none).

        >>> DedupeId("id", "body", signed=True).read((), b'{"id": "evt_1"}')
        ('evt_1',)
        """
        if self.where == "header":
            value = header(headers, self.name)
            return () if value is None else (value,)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return ()
        events = payload if self.each and isinstance(payload, list) else [payload]
        found = [event.get(self.name) for event in events if isinstance(event, dict)]
        return tuple(str(value) for value in found if value is not None)


@dataclass(frozen=True)
class RetryHeaders:
    """Headers a provider adds to a retry, and how a receiver opts out of retries.

    A retry (attempt 2 onwards) carries ``number`` with the retries so far (1 for the
    first retry) and ``reason`` with the word ``reasons`` gives the previous outcome's
    kind (``timeout``, ``connection``, else ``status``). A non-2xx answer carrying the
    ``opt_out`` header with its value asks for no more retries.
    """

    number: str
    reason: str | None = None
    reasons: tuple[tuple[str, str], ...] = ()
    opt_out: tuple[str, str] | None = None

    def for_attempt(self, attempt: int, previous: Outcome | None) -> Headers:
        """The headers attempt number ``attempt`` (1-based) carries after ``previous``.

        >>> from hooklab.model.outcomes import Outcome
        >>> slack = RetryHeaders("X-Slack-Retry-Num", "X-Slack-Retry-Reason",
        ...                      (("timeout", "http_timeout"),))
        >>> slack.for_attempt(2, Outcome.transport("timeout"))
        (('X-Slack-Retry-Num', '1'), ('X-Slack-Retry-Reason', 'http_timeout'))
        """
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise ConfigError(f"attempt must be a whole number >= 1, not {attempt!r}",
                              field="attempt")
        if attempt == 1:
            return ()
        pairs = [(self.number, str(attempt - 1))]
        if self.reason is not None and previous is not None:
            kind = ("timeout" if previous.error == "timeout" else
                    "connection" if previous.error is not None else "status")
            word = dict(self.reasons).get(kind)
            if word is not None:
                pairs.append((self.reason, word))
        return tuple(pairs)

    def opts_out(self, answer_headers: Headers | Mapping[str, str]) -> bool:
        """Whether an answer's headers ask for no retry (``X-Slack-No-Retry: 1``).

        >>> RetryHeaders("N", opt_out=("X-Slack-No-Retry", "1")).opts_out(
        ...     {"x-slack-no-retry": "1"})
        True
        """
        if self.opt_out is None:
            return False
        pairs = tuple(answer_headers.items()) if isinstance(answer_headers, Mapping) else (
            answer_headers)
        value = header(pairs, self.opt_out[0])
        return value is not None and value.strip() == self.opt_out[1]


@dataclass(frozen=True)
class DisableRule:
    """When a provider disables an endpoint; every part is optional and they add up.

    - ``consecutive`` failures in a row, counted in ``counts`` (``attempts`` or
      ``messages`` whose retries were all used up); any success resets the count;
    - ``window``: seconds of failures with no success in between (Svix: 5 days);
    - ``gone``: at once on a 410 Gone;
    - ``success_below`` over ``over`` seconds, for endpoints receiving at least
      ``min_events`` in that time (Slack: under 5 % over 60 min, from 1000 events an hour);
    - ``forgery``: when the endpoint accepts a request with an invalid signature (Discord).

    ``action`` says what the provider does (deletes the subscription, switches events
    off); ``reported`` marks a rule known only from users' reports.
    """

    action: str = "disables the endpoint"
    consecutive: int | None = None
    counts: Literal["attempts", "messages"] = "messages"
    window: float | None = None
    gone: bool = False
    success_below: float | None = None
    over: float | None = None
    min_events: int | None = None
    forgery: bool = False
    reported: bool = False

    def __post_init__(self) -> None:
        n = self.consecutive
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError(f"consecutive must be a whole number >= 1, not {n!r}")
        if self.counts not in ("attempts", "messages"):
            raise ConfigError(f"counts must be attempts or messages, not {self.counts!r}")
        if self.window is not None:
            _positive(self.window, "window")
        rate = (self.success_below, self.over, self.min_events)
        if any(v is not None for v in rate) and (
            self.success_below is None or self.over is None
            or not 0 < self.success_below < 1
        ):
            raise ConfigError("a success-rate rule needs success_below in (0, 1) and over")
        if self.over is not None:
            _positive(self.over, "over")

    def describe(self) -> str:
        """The rule in words.

        >>> DisableRule(window=432000, gone=True).describe()
        'disables the endpoint after 5 days failing with no success; on 410 Gone'
        """
        parts = []
        if self.consecutive == 1:
            parts.append("after a failed attempt" if self.counts == "attempts" else
                         "when a message has failed every retry")
        elif self.consecutive is not None:
            unit = "failed attempts" if self.counts == "attempts" else "exhausted messages"
            parts.append(f"after {self.consecutive} consecutive {unit}")
        if self.window is not None:
            parts.append(f"after {span(self.window)} failing with no success")
        if self.gone:
            parts.append("on 410 Gone")
        if self.success_below is not None and self.over is not None:
            volume = (f", for {self.min_events} events or more in that time"
                      if self.min_events else "")
            parts.append(f"when under {self.success_below:.0%} succeed over "
                         f"{span(self.over)}{volume}")
        if self.forgery:
            parts.append("when it accepts a request with an invalid signature")
        text = f"{self.action} " + "; ".join(parts)
        return text + (" (reported)" if self.reported else "")

    def brief(self) -> str:
        """The rule in a few words, for a table (:meth:`describe` has it in full).

        >>> DisableRule(window=432000, gone=True).brief()
        '5 days failing; 410'
        >>> DisableRule(success_below=0.05, over=3600, min_events=1000, reported=True).brief()
        '<5% ok over 1 h (reported)'
        """
        parts = []
        if self.consecutive is not None:
            unit = "attempt" if self.counts == "attempts" else "exhausted message"
            parts.append(f"{self.consecutive} {unit}{'s' if self.consecutive > 1 else ''}")
        if self.window is not None:
            parts.append(f"{span(self.window)} failing")
        if self.gone:
            parts.append("410")
        if self.success_below is not None and self.over is not None:
            parts.append(f"<{self.success_below:.0%} ok over {span(self.over)}")
        if self.forgery:
            parts.append("accepts a forgery")
        return "; ".join(parts) + (" (reported)" if self.reported else "")

    def auto_disable(self) -> dict[str, Any] | None:
        """The rule as the simulator's auto-disable settings (``consecutive`` exhausted
        messages, ``window``, ``gone``), or None when it has a part those cannot say.

        >>> DisableRule(window=432000, gone=True).auto_disable()
        {'consecutive': None, 'window': 432000, 'gone': True}
        >>> DisableRule(consecutive=8, counts="attempts").auto_disable() is None
        True
        """
        if self.forgery or self.success_below is not None or (
                self.consecutive is not None and self.counts == "attempts"):
            return None
        return {"consecutive": self.consecutive, "window": self.window, "gone": self.gone}
