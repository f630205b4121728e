"""Receiver fault models: how a flaky receiver answers one request.

The simulator's receivers and the real flaky HTTP receiver share these models, with the
names of the fault vocabulary in ``webhook-facts.md`` (toxiproxy, Chaos Mesh, Envoy):

=================  ===========================================================  ==================
fault              what happens                                                 compact form
=================  ===========================================================  ==================
``status``         answer ``code`` with probability ``rate`` (``Retry-After``)  ``status=503:0.3:60``
``latency``        answer after ``mean`` s (``jitter``, ``distribution``)       ``latency=0.2:0.05:normal``
``timeout``        no answer at all, with probability ``rate``                  ``timeout=0.01``
``reset``          the connection is reset, with probability ``rate``           ``reset=0.01``
``truncated``      the response body is cut short, with probability ``rate``    ``truncated=0.01``
``slow_close``     the socket closes ``delay`` s late                           ``slow_close=2:0.5``
``bandwidth``      the body (``body_bytes``) trickles at ``bytes_per_second``   ``bandwidth=512:4096``
``down``           connection refused over windows, or flapping                 ``down=3600:7200``,
                                                                                ``down=flap:540:60``
``capacity``       ``limit`` concurrent requests; past it 503, or slow          ``capacity=50:503:1``
``script``         per-attempt answers, the last repeating                      ``script=500,timeout,200``
``unauthorized``   401 over windows (e.g. it knows only the old key)            ``unauthorized=0:600``
``gone``           410 from time ``at`` on                                      ``gone=86400``
``processing``     the async EventProcessor lane: time, failures, sync ack      ``processing=0.5:0.01:sync``
=================  ===========================================================  ==================

:meth:`ReceiverModel.answer` decides one answer from the simulated or wall-clock time, the
attempt number, the requests in flight and a ``random.Random``; it is pure and cheap. The
order is: ``down``, ``gone``, ``unauthorized``, ``script``, ``capacity``, then one draw over
the rates of ``timeout``, ``reset``, ``truncated`` and ``status`` (their sum is at most 1),
else 200. Times in windows are seconds from the start of a run (the real receiver counts
from its own start).

Example::

    >>> import random
    >>> model = ReceiverModel.parse("status=503:1:30 latency=0.1")
    >>> model.answer(now=0.0, attempt=1, in_flight=0, rng=random.Random(1))
    Answer(status=503, error=None, latency=0.1, retry_after=30.0, fault='status', transfer=0.0, slow_close=0.0)
"""  # noqa: E501

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from .errors import ScenarioError

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
    "ReceiverModel",
    "SlowClose",
    "StatusFault",
]

#: The keys a receiver model accepts, in TOML tables and compact strings alike.
FAULT_NAMES = (
    "status", "latency", "timeout", "reset", "truncated", "slow_close", "bandwidth", "down",
    "capacity", "script", "unauthorized", "gone", "processing",
)
#: Errors an :class:`Answer` may carry instead of (or, for ``truncated``, besides) a status.
ANSWER_ERRORS = ("timeout", "reset", "connection_refused", "truncated")
#: Latency distributions: ``uniform`` is mean ± jitter, ``normal`` has sd ``jitter``,
#: ``exponential`` ignores jitter, ``lognormal`` has mean ``mean`` and sd ``jitter``.
DISTRIBUTIONS = ("uniform", "normal", "exponential", "lognormal")


# -- validation --------------------------------------------------------------------------


def _check_rate(rate: float, what: str) -> None:
    if not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise ScenarioError(f"{what} must be a probability in [0, 1], got {rate!r}")


def _check_nonneg(value: float, what: str) -> None:
    if not isinstance(value, int | float) or not 0.0 <= value < math.inf:
        raise ScenarioError(f"{what} must be a finite number >= 0, got {value!r}")


def _check_code(code: int, what: str) -> None:
    if not isinstance(code, int) or not 100 <= code <= 599:
        raise ScenarioError(f"{what} code must be an HTTP status 100-599, got {code!r}")


def _check_step(step: int | str) -> None:
    if isinstance(step, int):
        _check_code(step, "script step")
    elif step not in ANSWER_ERRORS:
        raise ScenarioError(
            f"script step {step!r} must be a status code or one of {', '.join(ANSWER_ERRORS)}"
        )


def _check_windows(windows: tuple[tuple[float, float], ...], what: str) -> None:
    for window in windows:
        if len(window) != 2:
            raise ScenarioError(f"{what} window {window!r} must be (start, end)")
        start, end = window
        _check_nonneg(start, f"{what} window start")
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
        _check_code(self.code, "status")
        _check_rate(self.rate, "status rate")
        if self.retry_after is not None:
            _check_nonneg(self.retry_after, "status retry_after")


@dataclass(frozen=True, slots=True)
class Latency:
    """Seconds before the answer: ``mean`` with ``jitter`` and a ``distribution``."""

    mean: float = 0.0
    jitter: float = 0.0
    distribution: str = "uniform"

    def __post_init__(self) -> None:
        _check_nonneg(self.mean, "latency mean")
        _check_nonneg(self.jitter, "latency jitter")
        if self.distribution not in DISTRIBUTIONS:
            raise ScenarioError(
                f"latency distribution {self.distribution!r} is unknown; use one of "
                f"{', '.join(DISTRIBUTIONS)}"
            )

    def draw(self, rng: random.Random) -> float:
        """One latency in seconds (never negative)."""
        mean, jitter, dist = self.mean, self.jitter, self.distribution
        if dist == "exponential":
            return mean * rng.expovariate(1.0)
        if jitter == 0.0:
            return mean
        if dist == "uniform":
            return max(0.0, mean + jitter * (2.0 * rng.random() - 1.0))
        if dist == "normal":
            return max(0.0, rng.gauss(mean, jitter))
        if mean <= 0:
            return 0.0
        # a lognormal with this mean and sd: sigma² = log(1 + (sd/mean)²), written so
        # that extreme ratios do not overflow
        if jitter <= mean:
            sigma2 = math.log1p((jitter / mean) ** 2)
        else:
            sigma2 = 2.0 * (math.log(jitter) - math.log(mean)) + math.log1p((mean / jitter) ** 2)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class SlowClose:
    """The socket closes ``delay`` seconds after the answer, with probability ``rate``."""

    delay: float
    rate: float = 1.0

    def __post_init__(self) -> None:
        _check_nonneg(self.delay, "slow_close delay")
        _check_rate(self.rate, "slow_close rate")


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
        _check_windows(self.windows, "down")
        _check_nonneg(self.flap_up, "down flap up")
        _check_nonneg(self.flap_down, "down flap down")
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
    """At most ``limit`` concurrent requests. Past it, ``overflow="503"`` answers 503 at
    once (with ``retry_after``); ``overflow="slow"`` stretches the latency by
    ``in_flight / limit`` (processor sharing: latency grows with the queue)."""

    limit: int
    overflow: str = "503"
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or self.limit < 1:
            raise ScenarioError(f"capacity limit must be an integer >= 1, got {self.limit!r}")
        if self.overflow not in ("503", "slow"):
            raise ScenarioError(f"capacity overflow must be '503' or 'slow', got {self.overflow!r}")
        if self.retry_after is not None:
            _check_nonneg(self.retry_after, "capacity retry_after")


@dataclass(frozen=True, slots=True)
class EventProcessor:
    """The receiver's async lane: ``time`` s per event (mean, exponential when ``jitter``
    is true), failing with probability ``failure_rate``; ``synchronous`` receivers
    acknowledge only after processing (the bug that makes duplicates)."""

    time: float = 0.0
    failure_rate: float = 0.0
    synchronous: bool = False

    def __post_init__(self) -> None:
        _check_nonneg(self.time, "processing time")
        _check_rate(self.failure_rate, "processing failure_rate")


@dataclass(frozen=True, slots=True)
class ReceiverModel:
    """A receiver's faults. The default is a healthy receiver: 200 at once.

        >>> ReceiverModel.flaky(0.3).status
        (StatusFault(code=500, rate=0.3, retry_after=None),)
    """

    status: tuple[StatusFault, ...] = ()
    latency: Latency = Latency()
    timeout: float = 0.0
    reset: float = 0.0
    truncated: float = 0.0
    slow_close: SlowClose | None = None
    bandwidth: Bandwidth | None = None
    down: Down | None = None
    capacity: Capacity | None = None
    script: tuple[int | str, ...] = ()
    unauthorized: tuple[tuple[float, float], ...] = ()
    gone: float | None = None
    processing: EventProcessor | None = None
    _draws: tuple[tuple[float, Answer], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        for name in ("timeout", "reset", "truncated"):
            _check_rate(getattr(self, name), name)
        total = self.timeout + self.reset + self.truncated + sum(s.rate for s in self.status)
        if total > 1.0 + 1e-9:
            raise ScenarioError(
                f"the rates of timeout, reset, truncated and status add up to {total:g} > 1"
            )
        for step in self.script:
            _check_step(step)
        _check_windows(self.unauthorized, "unauthorized")
        if self.gone is not None:
            _check_nonneg(self.gone, "gone")
        object.__setattr__(self, "_draws", self._cumulative())

    def _cumulative(self) -> tuple[tuple[float, Answer], ...]:
        draws, edge = [], 0.0
        kinds = [("timeout", self.timeout, Answer(None, "timeout", math.inf, None, "timeout")),
                 ("reset", self.reset, Answer(None, "reset", 0.0, None, "reset")),
                 ("truncated", self.truncated, Answer(200, "truncated", 0.0, None, "truncated"))]
        kinds += [("status", s.rate, Answer(s.code, None, 0.0, s.retry_after, "status"))
                  for s in self.status]
        for _, rate, answer in kinds:
            if rate > 0:
                edge += rate
                draws.append((edge, answer))
        return tuple(draws)

    @classmethod
    def flaky(cls, rate: float, code: int = 500) -> ReceiverModel:
        """Independent failures: answer ``code`` with probability ``rate``, else 200."""
        return cls(status=(StatusFault(code, rate),) if rate > 0 else ())

    def answer(
        self, *, now: float, attempt: int, in_flight: int, rng: random.Random
    ) -> Answer:
        """Decide the answer to attempt ``attempt`` (1-based) of a message, sent at
        ``now`` while ``in_flight`` other requests are being served."""
        down = self.down
        if down is not None and down.is_down(now):
            return _REFUSED
        if self.gone is not None and now >= self.gone:
            return self._finish(Answer(410, None, 0.0, None, "gone"), rng, 1.0)
        for start, end in self.unauthorized:
            if start <= now < end:
                return self._finish(Answer(401, None, 0.0, None, "unauthorized"), rng, 1.0)
        scale = 1.0
        capacity = self.capacity
        if capacity is not None and in_flight >= capacity.limit:
            if capacity.overflow == "503":
                return Answer(503, None, 0.0, capacity.retry_after, "capacity")
            scale = (in_flight + 1) / capacity.limit
        if self.script:
            step = self.script[min(attempt, len(self.script)) - 1]
            return self._finish(_scripted(step), rng, scale)
        if self._draws:
            u = rng.random()
            for edge, drawn in self._draws:
                if u < edge:
                    return self._finish(drawn, rng, scale)
        return self._finish(_OK, rng, scale)

    def _finish(self, answer: Answer, rng: random.Random, scale: float) -> Answer:
        if answer.error in ("timeout", "connection_refused"):
            return answer
        latency = self.latency
        seconds = (latency.draw(rng) if latency.mean or latency.distribution == "exponential"
                   else 0.0) * scale
        slow_close = self.slow_close
        bandwidth = self.bandwidth
        if not seconds and slow_close is None and bandwidth is None:
            return answer
        close = 0.0
        if slow_close is not None and (slow_close.rate >= 1.0 or rng.random() < slow_close.rate):
            close = slow_close.delay
        transfer = bandwidth.transfer if bandwidth is not None and answer.error is None else 0.0
        return answer._replace(latency=seconds, transfer=transfer, slow_close=close)

    def replace(self, **changes: Any) -> ReceiverModel:
        """A copy with some faults changed: ``model.replace(timeout=0.1)``."""
        return replace(self, **changes)

    # -- parsing -------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> ReceiverModel:
        """A model from compact ``name=value`` tokens, separated by spaces or ``;``.

            >>> ReceiverModel.parse("status=503:0.3 down=3600:7200").down
            Down(windows=((3600.0, 7200.0),), flap_up=0.0, flap_down=0.0, flap_offset=0.0)
        """
        from .faultspec import parse_faults

        return parse_faults(text)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], *, where: str = "receiver") -> ReceiverModel:
        """A model from a TOML table; each value is a table or a compact string.

        Errors name the offending key, prefixed with ``where``.
        """
        from .faultspec import faults_from_mapping

        return faults_from_mapping(table, where=where)

    def to_mapping(self) -> dict[str, Any]:
        """The model as a TOML-ready table (defaults left out); ``from_mapping`` reads it."""
        from .faultspec import faults_to_mapping

        return faults_to_mapping(self)


_OK = Answer(200, None, 0.0)
_REFUSED = Answer(None, "connection_refused", 0.0, None, "down")


def _scripted(step: int | str) -> Answer:
    if isinstance(step, int):
        return Answer(step, None, 0.0, None, "script")
    if step == "timeout":
        return Answer(None, "timeout", math.inf, None, "script")
    if step == "truncated":
        return Answer(200, "truncated", 0.0, None, "script")
    return Answer(None, step, 0.0, None, "script")
