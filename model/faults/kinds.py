"""The parts of a receiver fault model: one frozen class per fault, and the answer.

Each class checks its own values when it is made (a bad rate or window is a
:class:`~hooklab.model.errors.ScenarioError` at once, not at the first request), and
:class:`Answer` is what a receiver model decides for one request. The checks are public
because :mod:`hooklab.model.faults.receiver` applies the same ones to the faults kept as
plain numbers (``timeout``, ``reset``, ``truncated``, windows). What each fault means is
tabled in :mod:`hooklab.model.faults`.

Example::

    >>> Down(windows=((0.0, 10.0),)).is_down(5.0)
    True
    >>> StatusFault(503, 1.5)
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ScenarioError: status rate must be a probability in [0, 1], got 1.5
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from statistics import NormalDist
from typing import NamedTuple

from ..errors import ScenarioError

__all__ = [
    "ANSWER_ERRORS",
    "DISTRIBUTIONS",
    "FAULT_NAMES",
    "Answer",
    "Bandwidth",
    "Capacity",
    "Down",
    "EventProcessor",
    "Latency",
    "SlowClose",
    "StatusFault",
    "check_code",
    "check_nonneg",
    "check_rate",
    "check_windows",
]

#: The keys a receiver model accepts, in TOML tables and compact strings alike.
FAULT_NAMES = (
    "status", "latency", "timeout", "reset", "truncated", "slow_close", "bandwidth", "down",
    "capacity", "script", "unauthorized", "gone", "processing",
)
#: Errors an :class:`Answer` may carry instead of (or, for ``truncated``, besides) a status.
ANSWER_ERRORS = ("timeout", "reset", "connection_refused", "truncated")
#: Latency distributions, each with mean ``mean`` and never negative: ``uniform`` is mean ±
#: jitter (jitter capped at the mean), ``normal`` is truncated at 0 (``jitter`` is the sd
#: before truncation, its location moved so the mean stays), ``exponential`` ignores
#: jitter, ``lognormal`` has sd ``jitter``.
DISTRIBUTIONS = ("uniform", "normal", "exponential", "lognormal")


# -- checks ------------------------------------------------------------------------------


def check_rate(rate: float, what: str) -> None:
    """ScenarioError unless ``rate`` is a probability; ``what`` names it in the message.

        >>> check_rate(0.3, "timeout")
        >>> check_rate(2, "timeout")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: timeout must be a probability in [0, 1], got 2
    """
    if not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise ScenarioError(f"{what} must be a probability in [0, 1], got {rate!r}")


def check_nonneg(value: float, what: str) -> None:
    """ScenarioError unless ``value`` is a finite number, 0 or more.

        >>> check_nonneg(float("inf"), "gone")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: gone must be a finite number >= 0, got inf
    """
    if not isinstance(value, int | float) or not 0.0 <= value < math.inf:
        raise ScenarioError(f"{what} must be a finite number >= 0, got {value!r}")


def check_code(code: int, what: str) -> None:
    """ScenarioError unless ``code`` is an HTTP status (100-599).

        >>> check_code(600, "status")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: status code must be an HTTP status 100-599, got 600
    """
    if not isinstance(code, int) or not 100 <= code <= 599:
        raise ScenarioError(f"{what} code must be an HTTP status 100-599, got {code!r}")


def check_windows(windows: tuple[tuple[float, float], ...], what: str) -> None:
    """ScenarioError unless each window is ``(start, end)`` with ``0 <= start < end < inf``.

        >>> check_windows(((5.0, 1.0),), "down")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: down window (5.0, 1.0) must end after it starts, \
at a finite time
    """
    for window in windows:
        if len(window) != 2:
            raise ScenarioError(f"{what} window {window!r} must be (start, end)")
        start, end = window
        check_nonneg(start, f"{what} window start")
        if not isinstance(end, int | float) or not start < end < math.inf:
            raise ScenarioError(f"{what} window {window!r} must end after it starts, "
                                "at a finite time")


class Answer(NamedTuple):
    """One answer of a receiver, before the sender's timeout applies.

    ``status`` is ``None`` when no status is sent (``timeout``, ``reset``,
    ``connection_refused``); ``latency`` is seconds until the headers (``inf`` for a hang);
    ``transfer`` is seconds the body then takes; ``slow_close`` how late the socket closes.
    ``fault`` names what decided the answer (``"ok"`` when no fault did).
    """

    status: int | None
    error: str | None
    latency: float
    retry_after: float | None = None
    fault: str = "ok"
    transfer: float = 0.0
    slow_close: float = 0.0

    @property
    def accepted(self) -> bool:
        """The receiver acknowledged the message (2xx sent), whatever the sender then saw."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def total(self) -> float:
        """Seconds from the request until the sender has the whole answer."""
        return self.latency + self.transfer


@dataclass(frozen=True, slots=True)
class StatusFault:
    """Answer ``code`` with probability ``rate``, with an optional ``Retry-After`` (s)."""

    code: int
    rate: float
    retry_after: float | None = None

    def __post_init__(self) -> None:
        check_code(self.code, "status")
        check_rate(self.rate, "status rate")
        if self.retry_after is not None:
            check_nonneg(self.retry_after, "status retry_after")


@dataclass(frozen=True, slots=True)
class Latency:
    """Seconds before the answer: ``mean`` with ``jitter`` and a ``distribution``; every
    distribution has mean ``mean`` and no negative draw (see :data:`DISTRIBUTIONS`).

        >>> Latency(0.2, 0.3, "uniform").draw(random.Random(0)) <= 0.4   # 0.2 ± 0.2
        True
    """

    mean: float = 0.0
    jitter: float = 0.0
    distribution: str = "uniform"
    #: the truncated normal's location and its upper-tail mass (``normal`` only)
    _normal: tuple[float, float] | None = field(
        init=False, repr=False, compare=False, default=None)
    #: the lognormal's (mu, sigma), worked out once (``lognormal`` with a jitter only)
    _lognormal: tuple[float, float] | None = field(
        init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        check_nonneg(self.mean, "latency mean")
        check_nonneg(self.jitter, "latency jitter")
        if self.distribution not in DISTRIBUTIONS:
            raise ScenarioError(
                f"latency distribution {self.distribution!r} is unknown; use one of "
                f"{', '.join(DISTRIBUTIONS)}"
            )
        if (self.distribution == "normal" and self.jitter > 0 and self.mean > 0
                and self.mean < _UNTRUNCATED * self.jitter):
            truncated = _truncated_normal(self.mean, self.jitter)
            if truncated[1] < 1.0:
                object.__setattr__(self, "_normal", truncated)
        if self.distribution == "lognormal" and self.mean > 0 and self.jitter > 0:
            mean, jitter = self.mean, self.jitter
            # a lognormal with this mean and sd: sigma² = log(1 + (sd/mean)²), written so
            # that extreme ratios do not overflow
            if jitter <= mean:
                sigma2 = math.log1p((jitter / mean) ** 2)
            else:
                sigma2 = (2.0 * (math.log(jitter) - math.log(mean))
                          + math.log1p((mean / jitter) ** 2))
            object.__setattr__(self, "_lognormal",
                               (math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))

    @property
    def lognormal(self) -> tuple[float, float] | None:
        """For a ``lognormal`` with a jitter: the ``(mu, sigma)`` of the normal whose
        exponential it is (else ``None``).

            >>> [round(x, 4) for x in Latency(1.0, 1.0, "lognormal").lognormal]
            [-0.3466, 0.8326]
        """
        return self._lognormal

    @property
    def truncation(self) -> tuple[float, float] | None:
        """For a ``normal`` that 0 truncates: the location of the normal before truncation
        and its mass above 0 (else ``None``: clipping at 0 changes nothing)."""
        return self._normal

    def drawer(self, rng: random.Random) -> Callable[[], float] | None:
        """A function drawing latencies from ``rng`` as :meth:`draw` does, bound once (the
        simulator calls it per attempt); ``None`` for a constant latency of 0.

            >>> Latency(0.1, 0.05, "lognormal").drawer(random.Random(0))() > 0
            True
            >>> Latency().drawer(random.Random(0)) is None
            True
        """
        if not (self.mean or self.distribution == "exponential"):
            return None
        if self._lognormal is not None:
            return partial(rng.lognormvariate, *self._lognormal)
        return partial(self.draw, rng)

    def draw(self, rng: random.Random) -> float:
        """One latency in seconds (never negative)."""
        lognormal = self._lognormal
        if lognormal is not None:
            return rng.lognormvariate(*lognormal)
        mean, jitter, dist = self.mean, self.jitter, self.distribution
        if dist == "exponential":
            return mean * rng.expovariate(1.0)
        if jitter == 0.0:
            return mean
        if dist == "uniform":
            return mean + min(jitter, mean) * (2.0 * rng.random() - 1.0)
        if dist == "normal":
            truncated = self._normal
            if truncated is None:  # 0 lies 8 sd below the mean: clipping changes nothing
                return max(0.0, rng.gauss(mean, jitter)) if mean > 0 else 0.0
            mu, upper = truncated
            if upper < 1e-300:  # far in the tail, a normal above 0 is an exponential
                return mean * rng.expovariate(1.0)
            # the inverse CDF of the part above 0
            return max(0.0, mu - jitter * _STANDARD.inv_cdf((1.0 - rng.random()) * upper))
        return 0.0  # a lognormal of mean 0 (any other one is worked out above)


_STANDARD = NormalDist()
#: At ``mean >= 8 sd`` a normal's mass below 0 (< 1e-15) changes nothing: no truncation.
_UNTRUNCATED = 8.0


def _truncated_normal(mean: float, sd: float) -> tuple[float, float]:
    """The location ``mu`` of a normal with ``sd`` that, truncated at 0, has mean
    ``mean``; and its mass above 0. Found by bisection (the truncated mean grows with mu).
    """
    def truncated_mean(mu: float) -> float:
        x = mu / sd
        upper = _cdf(x)
        if upper < 1e-300:  # far in the tail: the Mills ratio's asymptote
            return sd / -x
        return mu + sd * _STANDARD.pdf(x) / upper

    low, high = mean - sd * max(10.0, 4.0 * sd / mean), mean
    for _ in range(200):
        mid = (low + high) / 2
        if truncated_mean(mid) < mean:
            low = mid
        else:
            high = mid
    mu = (low + high) / 2
    return mu, _cdf(mu / sd)


def _cdf(x: float) -> float:
    """The standard normal CDF, accurate in the lower tail (NormalDist.cdf uses erf, which
    cancels to nothing there)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@dataclass(frozen=True, slots=True)
class SlowClose:
    """The socket closes ``delay`` seconds after the answer, with probability ``rate``."""

    delay: float
    rate: float = 1.0

    def __post_init__(self) -> None:
        check_nonneg(self.delay, "slow_close delay")
        check_rate(self.rate, "slow_close rate")


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """The response body of ``body_bytes`` trickles at ``bytes_per_second``."""

    bytes_per_second: float
    body_bytes: int = 1024

    def __post_init__(self) -> None:
        if not self.bytes_per_second > 0:
            raise ScenarioError(f"bandwidth must be > 0 bytes/s, got {self.bytes_per_second}")
        if self.body_bytes < 0:
            raise ScenarioError(f"bandwidth body_bytes must be >= 0, got {self.body_bytes}")

    @property
    def transfer(self) -> float:
        """Seconds the body takes."""
        return self.body_bytes / self.bytes_per_second


@dataclass(frozen=True, slots=True)
class Down:
    """Unavailable (connection refused) over ``windows`` ``(start, end)``, and/or flapping:
    up ``flap_up`` s, then down ``flap_down`` s, repeating from ``flap_offset``."""

    windows: tuple[tuple[float, float], ...] = ()
    flap_up: float = 0.0
    flap_down: float = 0.0
    flap_offset: float = 0.0

    def __post_init__(self) -> None:
        check_windows(self.windows, "down")
        check_nonneg(self.flap_up, "down flap up")
        check_nonneg(self.flap_down, "down flap down")
        if self.flap_down > 0 and self.flap_up <= 0:
            raise ScenarioError("down flapping needs an up time > 0")

    def is_down(self, now: float) -> bool:
        """Whether the receiver is down at ``now``."""
        for start, end in self.windows:
            if start <= now < end:
                return True
        if self.flap_down > 0 and now >= self.flap_offset:
            return (now - self.flap_offset) % (self.flap_up + self.flap_down) >= self.flap_up
        return False


@dataclass(frozen=True, slots=True)
class Capacity:
    """At most ``limit`` requests served at full speed.

    Past it, ``overflow="503"`` answers 503 at once (with ``retry_after``).
    ``overflow="slow"`` is processor sharing: while ``n`` requests are in service, each
    one's remaining work (its latency on an idle receiver) is served at rate
    ``min(1, limit / n)``, so a later arrival slows it and a departure speeds it up. The
    simulator does exactly that (:mod:`hooklab.sim.sharing`). A caller that must fix a
    request's latency when it starts (the real flaky receiver, through
    :meth:`ReceiverModel.answer`) can only apply :meth:`frozen_stretch` instead.

        >>> Capacity(2, "slow").frozen_stretch(3)
        2.0
    """

    limit: int
    overflow: str = "503"
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or self.limit < 1:
            raise ScenarioError(f"capacity limit must be an integer >= 1, got {self.limit!r}")
        if self.overflow not in ("503", "slow"):
            raise ScenarioError(f"capacity overflow must be '503' or 'slow', got {self.overflow!r}")
        if self.retry_after is not None:
            check_nonneg(self.retry_after, "capacity retry_after")

    def frozen_stretch(self, in_flight: int) -> float:
        """The factor ``(in_flight + 1) / limit`` (1 below the limit) by which a request that
        starts while ``in_flight`` others are served is slowed, fixed at its start: an
        approximation of processor sharing that ignores later arrivals and departures."""
        return (in_flight + 1) / self.limit if in_flight >= self.limit else 1.0


@dataclass(frozen=True, slots=True)
class EventProcessor:
    """The receiver's async lane: ``time`` s per event (the mean of an exponential
    draw), failing with probability ``failure_rate``; ``synchronous`` receivers
    acknowledge only after processing (the bug that makes duplicates)."""

    time: float = 0.0
    failure_rate: float = 0.0
    synchronous: bool = False

    def __post_init__(self) -> None:
        check_nonneg(self.time, "processing time")
        check_rate(self.failure_rate, "processing failure_rate")
