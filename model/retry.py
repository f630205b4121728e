"""Retry policies: when a failed attempt is retried, and after how long.

A :class:`RetryPolicy` joins a retry schedule and a jitter (:mod:`hooklab.model.backoff`)
with limits and throttling:

- **limits**: ``max_attempts`` counts every attempt, the first included (the diagram's
  "retry up to 5 times" is 6); ``max_window`` is the time after the first attempt past
  which no attempt starts.
- **outcome classes** (:mod:`hooklab.model.outcomes`): 2xx is delivered and 410 Gone stops,
  so neither is retried; everything else (3xx, 4xx, 5xx, throttling, timeouts, connection
  errors) is retried while the limits allow, except the status codes a sender never
  retries, ``no_retry_codes`` (Azure Event Grid: 400, 401, 403 and 413).
- **overload penalty**: after a timeout or a 429 the delay is at least
  ``overload_penalty`` seconds (Svix: 60 s).
- **Retry-After** (already in seconds on :attr:`Outcome.retry_after
  <hooklab.model.outcomes.Outcome.retry_after>`; :func:`~hooklab.model.outcomes.
  parse_retry_after` reads both header forms), by ``retry_after`` mode:

  ==========  =============================================================================
  ``ignore``  the header changes nothing
  ``clamp``   Svix: on 429/502/503/504, ``clamp(retry_after, d, 2d)``
  ``max``     Hook0: on 429 only, ``max(d, retry_after)``
  ==========  =============================================================================

  ``retry_after_cap`` (Hook0: 10 h) bounds the header's value, never the scheduled delay.

The delay after attempt ``n`` is computed in this order (once the outcome is one that is
retried at all): the un-jittered delay ``d`` of the schedule, then jitter, then the
overload penalty, then Retry-After; if the next attempt would then start past
``max_window``, there is no retry. All randomness comes from the ``rng`` argument.

Named policies live in :mod:`hooklab.model.presets`; a policy read from a preset name or a
table comes from :func:`hooklab.model.policy_config.policy_from_config`. Both build on this
module, which imports neither.

Example::

    >>> import random
    >>> from hooklab.model.backoff import FixedSchedule
    >>> from hooklab.model.outcomes import classify
    >>> policy = RetryPolicy("demo", max_attempts=3, backoff=FixedSchedule((5, 60)))
    >>> policy.next_delay(1, classify(500), elapsed=0.2, previous_delay=None,
    ...                   rng=random.Random(0))
    5.0
    >>> policy.next_delay(3, classify(500), elapsed=70.0, previous_delay=60.0,
    ...                   rng=random.Random(0)) is None
    True
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .backoff import (
    DecorrelatedJitter,
    ExponentialSchedule,
    Jitter,
    NoJitter,
    Schedule,
    check_seconds,
)
from .delivery import DEFAULT_MAX_ATTEMPTS, Verdict
from .errors import ConfigError, InvalidPolicy
from .outcomes import THROTTLE_CODES, Outcome

__all__ = [
    "MAX_ATTEMPTS_LIMIT",
    "RetryAfterMode",
    "RetryPolicy",
]

#: The largest ``max_attempts`` a policy accepts (its delays are precomputed).
MAX_ATTEMPTS_LIMIT = 10_000


class RetryAfterMode(StrEnum):
    """How a policy treats a ``Retry-After`` header; see the module docstring."""

    IGNORE = "ignore"
    CLAMP = "clamp"
    MAX = "max"


_IGNORE, _CLAMP, _MAX = 0, 1, 2
_MODE_CODES = {RetryAfterMode.IGNORE: _IGNORE, RetryAfterMode.CLAMP: _CLAMP,
               RetryAfterMode.MAX: _MAX}


def _status_codes(codes: Any) -> frozenset[int]:
    if isinstance(codes, str | bytes) or not hasattr(codes, "__iter__"):
        raise InvalidPolicy(f"no_retry_codes must be a set of HTTP status codes, got {codes!r}")
    codes = tuple(codes)
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int) or not 300 <= code <= 599 or (
                code == 410):
            raise InvalidPolicy(
                f"no_retry_codes holds {code!r}; give failure codes in 300..599 (410 is "
                "never retried anyway)")
    return frozenset(codes)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A retry schedule, a jitter, limits and throttling rules; see the module docstring.

    Built once, checked at once (a bad parameter raises :class:`InvalidPolicy` naming it),
    then asked :meth:`next_delay` on the hot path; the un-jittered delays and jitter
    windows are precomputed per attempt.
    """

    name: str
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_window: float | None = None
    backoff: Schedule = field(default_factory=lambda: ExponentialSchedule(60.0))
    jitter: Jitter = field(default_factory=NoJitter)
    retry_after: RetryAfterMode = RetryAfterMode.IGNORE
    retry_after_cap: float | None = None
    overload_penalty: float = 0.0
    no_retry_codes: frozenset[int] = frozenset()
    description: str = field(default="", compare=False)

    _delays: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _low: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _span: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _decorrelated: DecorrelatedJitter | None = field(init=False, repr=False, compare=False)
    _window: float = field(init=False, repr=False, compare=False)
    _mode: int = field(init=False, repr=False, compare=False)
    _cap: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check_limits()
        self._check_throttling()
        delays = self.backoff.delays(self.max_attempts - 1)
        if not all(math.isfinite(d) for d in delays):
            raise InvalidPolicy(
                f"retry policy {self.name!r}: the schedule overflows within "
                f"{self.max_attempts} attempts; set a cap"
            )
        setattr_ = object.__setattr__
        setattr_(self, "_delays", delays)
        if isinstance(self.jitter, DecorrelatedJitter):
            base = self.jitter.base if self.jitter.base is not None else (
                delays[0] if delays else 1.0)
            cap = self.jitter.cap if self.jitter.cap is not None else max(delays, default=base)
            if base > cap:
                raise InvalidPolicy(
                    f"retry policy {self.name!r}: decorrelated jitter base ({base:g}) "
                    f"exceeds its cap ({cap:g})"
                )
            resolved = DecorrelatedJitter(base=max(base, 1e-9), cap=max(cap, 1e-9))
            setattr_(self, "_decorrelated", resolved)
            setattr_(self, "_low", ())
            setattr_(self, "_span", ())
        else:
            windows = [self.jitter.window(d) for d in delays]
            setattr_(self, "_decorrelated", None)
            setattr_(self, "_low", tuple(w[0] for w in windows))
            setattr_(self, "_span", tuple(w[1] for w in windows))
        setattr_(self, "_window", math.inf if self.max_window is None else self.max_window)
        setattr_(self, "_mode", _MODE_CODES[self.retry_after])
        setattr_(self, "_cap", math.inf if self.retry_after_cap is None else
                 self.retry_after_cap)

    def _check_limits(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidPolicy(f"name must be a non-empty string, got {self.name!r}")
        n = self.max_attempts
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ATTEMPTS_LIMIT:
            raise InvalidPolicy(
                f"max_attempts must be an integer in [1, {MAX_ATTEMPTS_LIMIT}], got {n!r}"
            )
        if self.max_window is not None:
            object.__setattr__(
                self, "max_window", check_seconds("max_window", self.max_window, positive=True)
            )
        if not isinstance(self.backoff, Schedule):
            raise InvalidPolicy(f"backoff must be a Schedule, got {self.backoff!r}")
        if not isinstance(self.jitter, Jitter):
            raise InvalidPolicy(f"jitter must be a Jitter, got {self.jitter!r}")

    def _check_throttling(self) -> None:
        try:
            object.__setattr__(self, "retry_after", RetryAfterMode(self.retry_after))
        except ValueError:
            known = ", ".join(m.value for m in RetryAfterMode)
            raise InvalidPolicy(
                f"retry_after must be one of {known}; got {self.retry_after!r}"
            ) from None
        if self.retry_after_cap is not None:
            cap = check_seconds("retry_after_cap", self.retry_after_cap, positive=True)
            object.__setattr__(self, "retry_after_cap", cap)
        penalty = check_seconds("overload_penalty", self.overload_penalty)
        object.__setattr__(self, "overload_penalty", penalty)
        object.__setattr__(self, "no_retry_codes", _status_codes(self.no_retry_codes))
        if not isinstance(self.description, str):
            raise InvalidPolicy(f"description must be a string, got {self.description!r}")

    # ------------------------------------------------------------------ hot path

    def next_delay(
        self,
        attempt: int,
        outcome: Outcome,
        *,
        elapsed: float,
        previous_delay: float | None,
        rng: random.Random,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` for no retry.

        ``attempt`` (1-based) ended in ``outcome``, ``elapsed`` seconds after the first
        attempt started; ``previous_delay`` is the wait before ``attempt`` (``None`` after
        the first one). No retry: success, 410 Gone, a status of ``no_retry_codes``,
        attempts exhausted, or the next attempt would start past ``max_window``.

            >>> from hooklab.model.backoff import ConstantSchedule
            >>> from hooklab.model.outcomes import classify
            >>> p = RetryPolicy("p", max_attempts=2, backoff=ConstantSchedule(30))
            >>> p.next_delay(1, classify(503), elapsed=1.0, previous_delay=None,
            ...              rng=random.Random(0))
            30.0
        """
        status = outcome.status_code
        error = outcome.error
        if error is None and (200 <= status < 300 or status == 410
                              or status in self.no_retry_codes):
            return None
        if attempt >= self.max_attempts:
            return None
        if attempt < 1:
            raise ConfigError(f"attempt numbers start at 1, got {attempt}")
        i = attempt - 1
        dj = self._decorrelated
        if dj is None:
            delay = self._low[i]
            span = self._span[i]
            if span:
                delay += span * rng.random()
        else:
            delay = dj.apply(0.0, rng, previous_delay)
        penalty = self.overload_penalty
        if penalty and delay < penalty and (status == 429 or error == "timeout"):
            delay = penalty
        retry_after = outcome.retry_after
        if retry_after is not None and self._mode and error is None:
            delay = self._throttle(delay, status, retry_after)
        if elapsed + delay > self._window:
            return None
        return delay

    def retries(self, outcome: Outcome) -> bool:
        """Whether ``outcome`` is one this policy retries at all (limits aside): not a
        2xx, not 410 Gone, not one of ``no_retry_codes``.

            >>> from hooklab.model.outcomes import classify
            >>> RetryPolicy("p", no_retry_codes=frozenset({400})).retries(classify(400))
            False
        """
        status = outcome.status_code
        return outcome.error is not None or not (
            200 <= status < 300 or status == 410 or status in self.no_retry_codes)

    def _throttle(self, delay: float, status: int, retry_after: float) -> float:
        wanted = min(retry_after, self._cap)
        if self._mode == _CLAMP:
            if status in THROTTLE_CODES:
                return min(max(wanted, delay), 2 * delay)
        elif status == 429:
            return max(delay, wanted)
        return delay

    def verdict(
        self,
        attempt: int,
        outcome: Outcome,
        *,
        elapsed: float,
        previous_delay: float | None,
        rng: random.Random,
    ) -> Verdict:
        """The :class:`~hooklab.model.delivery.Verdict` for the Delivery machine's
        ``respond`` event: the outcome class and :meth:`next_delay`.

            >>> from hooklab.model.outcomes import classify
            >>> RetryPolicy("p").verdict(1, classify(410), elapsed=0.0, previous_delay=None,
            ...                          rng=random.Random(0))
            Verdict(kind=<OutcomeKind.GONE: 'gone'>, next_delay=None)
        """
        delay = self.next_delay(
            attempt, outcome, elapsed=elapsed, previous_delay=previous_delay, rng=rng
        )
        return Verdict(outcome.kind, delay)

    # ------------------------------------------------------------------ inspection

    def delay_bounds(self, attempt: int, outcome: Outcome | None = None) -> tuple[float, float]:
        """The least and greatest delay :meth:`next_delay` can return after ``attempt``.

        Without ``outcome``: for a plain failure (no overload penalty, no Retry-After).
        With one: including its penalty and Retry-After (but not the window cut).

            >>> from hooklab.model.backoff import ConstantSchedule, FullJitter
            >>> RetryPolicy("p", backoff=ConstantSchedule(10), jitter=FullJitter()
            ...             ).delay_bounds(1)
            (0.0, 10.0)
        """
        if not 1 <= attempt < self.max_attempts:
            raise ConfigError(
                f"policy {self.name!r} has no delay after attempt {attempt} "
                f"(attempts 1..{self.max_attempts - 1} are retried)"
            )
        dj = self._decorrelated
        if dj is None:
            low = self._low[attempt - 1]
            high = low + self._span[attempt - 1]
        else:
            assert dj.base is not None and dj.cap is not None
            low, high = min(dj.base, dj.cap), dj.cap
        if outcome is None:
            return low, high
        status, error = outcome.status_code, outcome.error
        penalty = self.overload_penalty
        if penalty and (status == 429 or error == "timeout"):
            low, high = max(low, penalty), max(high, penalty)
        if outcome.retry_after is not None and self._mode and error is None:
            low = self._throttle(low, status, outcome.retry_after)
            high = self._throttle(high, status, outcome.retry_after)
        return low, high

    def schedule(self) -> tuple[float, ...]:
        """The un-jittered delays, one per retry (``max_attempts - 1`` of them).

            >>> RetryPolicy("p", max_attempts=4, backoff=ExponentialSchedule(60)).schedule()
            (60.0, 120.0, 240.0)
        """
        return self._delays

    def attempt_times(self) -> tuple[float, ...]:
        """When each attempt starts without jitter, in seconds after the first (which is 0).

        Attempts the ``max_window`` would cut are left out.

            >>> from hooklab.model.backoff import ConstantSchedule
            >>> RetryPolicy("p", max_attempts=3, backoff=ConstantSchedule(5)).attempt_times()
            (0.0, 5.0, 10.0)
        """
        times = [0.0]
        for d in self._delays:
            t = times[-1] + d
            if t > self._window:
                break
            times.append(t)
        return tuple(times)

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with ``changes`` applied, checked like a new policy.

            >>> RetryPolicy("p").replace(max_attempts=3).schedule()
            (60.0, 120.0)
        """
        allowed = {f.name for f in dataclasses.fields(self) if f.init}
        for key in changes:
            if key not in allowed:
                raise InvalidPolicy(
                    f"unknown retry policy field {key!r}; known: {', '.join(sorted(allowed))}"
                )
        return dataclasses.replace(self, **changes)

