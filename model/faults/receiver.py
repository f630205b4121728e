"""A receiver model: the faults of one receiver, and the answer it gives to each request.

:class:`ReceiverModel` holds one of each fault of :mod:`hooklab.model.faults.kinds` (or a
plain rate or window list) and decides one :class:`~hooklab.model.faults.kinds.Answer`
at a time (see :mod:`hooklab.model.faults` for the order). It is read from and written to
its compact and TOML spellings through :mod:`hooklab.model.faults.spec`, which knows the
fault classes but not this one: ``receiver`` → ``spec`` → ``kinds``, never back.

Example::

    >>> import random
    >>> model = ReceiverModel.parse("script=500,200")
    >>> [model.answer(now=0.0, attempt=n, in_flight=0, rng=random.Random(0)).status
    ...  for n in (1, 2, 3)]
    [500, 200, 200]
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from math import exp
from typing import Any

from ..errors import ScenarioError
from .kinds import (
    ANSWER_ERRORS,
    Answer,
    Bandwidth,
    Capacity,
    Down,
    EventProcessor,
    Latency,
    SlowClose,
    StatusFault,
    check_code,
    check_nonneg,
    check_rate,
    check_windows,
)
from .spec import faults_to_table, table_to_faults, tokens_to_table

__all__ = ["ReceiverModel", "faults_from_mapping", "faults_to_mapping", "parse_faults"]


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
    #: only independent draws (no window, capacity, script, slow close nor bandwidth)
    _plain: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        for name in ("timeout", "reset", "truncated"):
            check_rate(getattr(self, name), name)
        total = self.timeout + self.reset + self.truncated + sum(s.rate for s in self.status)
        if total > 1.0 + 1e-9:
            raise ScenarioError(
                f"the rates of timeout, reset, truncated and status add up to {total:g} > 1"
            )
        for step in self.script:
            _check_step(step)
        check_windows(self.unauthorized, "unauthorized")
        if self.gone is not None:
            check_nonneg(self.gone, "gone")
        object.__setattr__(self, "_draws", self._cumulative())
        object.__setattr__(self, "_plain", (
            self.down is None and self.gone is None and not self.unauthorized
            and self.capacity is None and not self.script and self.slow_close is None
            and self.bandwidth is None))

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
        ``now`` while ``in_flight`` other requests are being served.

        With ``capacity`` overflow ``slow`` the latency is stretched by
        :meth:`Capacity.frozen_stretch`, fixed now; the simulator passes ``in_flight=0``
        and shares the slots exactly instead (:mod:`hooklab.sim.sharing`)."""
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
            scale = capacity.frozen_stretch(in_flight)
        if self.script:
            step = self.script[min(attempt, len(self.script)) - 1]
            return self._finish(_scripted(step), rng, scale)
        if self._draws:
            u = rng.random()
            for edge, drawn in self._draws:
                if u < edge:
                    return self._finish(drawn, rng, scale)
        return self._finish(_OK, rng, scale)

    def sampler(self, rng: random.Random) -> Callable[[], tuple[Answer, float]] | None:
        """For a model of independent draws only (no window, capacity, script, slow close,
        bandwidth nor processing lane), a function that draws from ``rng`` what
        :meth:`answer` would, without building the answer: ``(fault answer, latency)``,
        the latency being the seconds until the whole answer (``inf`` for a hang). The
        simulator calls it per attempt. ``None`` for any other model.

            >>> model = ReceiverModel.parse("status=503:0.5 latency=0.2")
            >>> model.sampler(random.Random(0))()
            (Answer(status=200, error=None, latency=0.0, retry_after=None, fault='ok', \
transfer=0.0, slow_close=0.0), 0.2)
            >>> ReceiverModel.parse("down=0:60").sampler(random.Random(0)) is None
            True
        """
        if not self._plain or self.processing is not None:
            return None
        draws, latency, uniform = self._draws, self.latency.drawer(rng), rng.random
        # a lognormal is drawn as Random.lognormvariate draws it, exp(normalvariate), one
        # call fewer per attempt
        lognormal, normal = self.latency.lognormal, rng.normalvariate
        mu, sigma = lognormal or (0.0, 0.0)

        def sample() -> tuple[Answer, float]:
            drawn = _OK
            if draws:
                u = uniform()
                for edge, answer in draws:
                    if u < edge:
                        drawn = answer
                        break
            if latency is None or drawn.error in _NO_LATENCY:
                return drawn, drawn.latency
            if lognormal is not None:
                return drawn, exp(normal(mu, sigma))
            return drawn, latency()

        return sample

    def _finish(self, answer: Answer, rng: random.Random, scale: float) -> Answer:
        if answer.error in _NO_LATENCY:
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
        return Answer(answer.status, answer.error, seconds, answer.retry_after, answer.fault,
                      transfer, close)  # not _replace: a plain tuple is about 3x cheaper

    def replace(self, **changes: Any) -> ReceiverModel:
        """A copy with some faults changed: ``model.replace(timeout=0.1)``."""
        return replace(self, **changes)

    # -- spellings ------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> ReceiverModel:
        """A model from compact ``name=value`` tokens (:func:`parse_faults`).

            >>> ReceiverModel.parse("status=503:0.3 down=3600:7200").down
            Down(windows=((3600.0, 7200.0),), flap_up=0.0, flap_down=0.0, flap_offset=0.0)
        """
        return parse_faults(text)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], *, where: str = "receiver") -> ReceiverModel:
        """A model from a TOML table (:func:`faults_from_mapping`).

            >>> ReceiverModel.from_mapping({"timeout": 0.1}).timeout
            0.1
        """
        return faults_from_mapping(table, where=where)

    def to_mapping(self) -> dict[str, Any]:
        """The model as a TOML-ready table (:func:`faults_to_mapping`).

            >>> ReceiverModel.parse("gone=60").to_mapping()
            {'gone': 60.0}
        """
        return faults_to_mapping(self)

_OK = Answer(200, None, 0.0)
#: answers that come with no latency draw: a hang, and a refused connection
_NO_LATENCY = ("timeout", "connection_refused")
_REFUSED = Answer(None, "connection_refused", 0.0, None, "down")


def _scripted(step: int | str) -> Answer:
    if isinstance(step, int):
        return Answer(step, None, 0.0, None, "script")
    if step == "timeout":
        return Answer(None, "timeout", math.inf, None, "script")
    if step == "truncated":
        return Answer(200, "truncated", 0.0, None, "script")
    return Answer(None, step, 0.0, None, "script")


def _check_step(step: int | str) -> None:
    if isinstance(step, int):
        check_code(step, "script step")
    elif step not in ANSWER_ERRORS:
        raise ScenarioError(
            f"script step {step!r} must be a status code or one of {', '.join(ANSWER_ERRORS)}"
        )


def parse_faults(text: str | Iterable[str]) -> ReceiverModel:
    """A model from compact ``name=value`` tokens, separated by spaces or ``;``.

        >>> parse_faults("script=500,timeout,200").script
        (500, 'timeout', 200)
    """
    return faults_from_mapping(tokens_to_table(text), where="receiver")


def faults_from_mapping(table: Mapping[str, Any], *, where: str = "receiver") -> ReceiverModel:
    """A model from a TOML table; each value is a table or a compact string.

    Errors name the offending key, prefixed with ``where``.

        >>> faults_from_mapping({"capacity": {"limit": 50, "overflow": "slow"}}).capacity.overflow
        'slow'
    """
    faults = table_to_faults(table, where=where)
    try:
        return ReceiverModel(**faults)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def faults_to_mapping(model: ReceiverModel) -> dict[str, Any]:
    """The model as a TOML-ready table (defaults left out); :func:`faults_from_mapping`
    reads it back.

        >>> faults_to_mapping(parse_faults("status=503:0.5 latency=0.2"))
        {'status': [{'code': 503, 'rate': 0.5}], 'latency': {'mean': 0.2}}
    """
    changed = {}
    for f in fields(model):
        value = getattr(model, f.name)
        if not f.name.startswith("_") and value != f.default:
            changed[f.name] = value
    return faults_to_table(changed)
