"""Backoff: the retry schedule (un-jittered delays) and the jitter that spreads them.

A *retry schedule* says how long to wait before each retry; ``delay(n)`` is the wait
before retry ``n + 1`` (so ``n = 0`` is the wait after the first attempt). Four shapes:

==========================  =============================================================
:class:`FixedSchedule`      a fixed list of delays (the last one repeats past the end)
:class:`ConstantSchedule`   the same delay every time
:class:`LinearSchedule`     ``min(cap, initial + step · n)``
:class:`ExponentialSchedule` ``min(cap, base · factor^n)`` (AWS's ``expo(n)``)
==========================  =============================================================

*Jitter* turns a scheduled delay ``d`` into a random one. Every jitter but the decorrelated
one is an interval ``[low, low + span)`` drawn with one ``rng.random()`` (``span`` 0 draws
nothing), so a retry policy can precompute it per attempt (AWS, "Exponential Backoff and
Jitter", for the first three):

===========================  ==============================================================
:class:`NoJitter`            ``d``
:class:`FullJitter`          ``uniform(0, d)``
:class:`EqualJitter`         ``d/2 + uniform(0, d/2)``
:class:`DecorrelatedJitter`  ``min(cap, uniform(base, 3 · previous))``, ignores ``d``
:class:`ProportionalJitter`  ``uniform(d · (1 − f), d · (1 + f))`` (Svix: ``f = 0.2``)
:class:`AdditiveJitter`      ``d + uniform(0, b)``, ``b`` fixed (Convoy: 5 s) or
                             ``clamp(f · d, floor, bound)`` (Hook0: 0.1 d in [2 s, 900 s])
===========================  ==============================================================

Every parameter is checked when the object is built; a bad one raises
:class:`~hooklab.model.errors.InvalidPolicy` naming it.

Example::

    >>> ExponentialSchedule(base=10, cap=7200).delays(4)
    (10.0, 20.0, 40.0, 80.0)
    >>> ProportionalJitter(0.2).window(100.0)
    (80.0, 40.0)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from .errors import InvalidPolicy

__all__ = [
    "JITTERS",
    "SCHEDULES",
    "AdditiveJitter",
    "ConstantSchedule",
    "DecorrelatedJitter",
    "EqualJitter",
    "ExponentialSchedule",
    "FixedSchedule",
    "FullJitter",
    "Jitter",
    "LinearSchedule",
    "NoJitter",
    "ProportionalJitter",
    "Schedule",
    "check_seconds",
]


def check_seconds(name: str, value: Any, *, positive: bool = False) -> float:
    """``value`` as a finite number of seconds (``>= 0``, or ``> 0`` if ``positive``).

    Raises :class:`InvalidPolicy` naming ``name`` otherwise.

        >>> check_seconds("delay", 5)
        5.0
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        what = "a positive" if positive else "a non-negative"
        raise InvalidPolicy(f"{name} must be {what} number of seconds, got {value!r}")
    return float(value)


def _check_fraction(name: str, value: Any, *, upper: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0 < value <= upper:
        raise InvalidPolicy(f"{name} must be a number in (0, {upper:g}], got {value!r}")
    return float(value)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------- schedules


class Schedule:
    """A retry schedule: the un-jittered delay before each retry."""

    kind = "schedule"

    def delay(self, n: int) -> float:
        """The wait before retry ``n + 1`` (``n = 0``: after the first attempt)."""
        raise NotImplementedError

    def delays(self, count: int) -> tuple[float, ...]:
        """The first ``count`` delays.

            >>> ConstantSchedule(30).delays(3)
            (30.0, 30.0, 30.0)
        """
        return tuple(self.delay(n) for n in range(count))


@dataclass(frozen=True, slots=True)
class FixedSchedule(Schedule):
    """A fixed list of delays, in seconds; past its end, the last delay repeats."""

    values: tuple[float, ...]
    kind = "fixed"

    def __post_init__(self) -> None:
        if isinstance(self.values, str | bytes) or not hasattr(self.values, "__iter__"):
            raise InvalidPolicy(f"delays must be a list of seconds, got {self.values!r}")
        values = tuple(
            check_seconds(f"delays[{i}]", v) for i, v in enumerate(self.values)
        )
        if not values:
            raise InvalidPolicy("delays must hold at least one delay, got []")
        _set(self, "values", values)

    def delay(self, n: int) -> float:
        return self.values[min(n, len(self.values) - 1)]


@dataclass(frozen=True, slots=True)
class ConstantSchedule(Schedule):
    """The same delay before every retry."""

    seconds: float
    kind = "constant"

    def __post_init__(self) -> None:
        _set(self, "seconds", check_seconds("delay", self.seconds))

    def delay(self, n: int) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class LinearSchedule(Schedule):
    """``min(cap, initial + step · n)``: Convoy's linear default is ``initial=100, step=0``."""

    initial: float
    step: float = 0.0
    cap: float | None = None
    kind = "linear"

    def __post_init__(self) -> None:
        _set(self, "initial", check_seconds("initial", self.initial))
        _set(self, "step", check_seconds("step", self.step))
        if self.cap is not None:
            _set(self, "cap", check_seconds("cap", self.cap, positive=True))

    def delay(self, n: int) -> float:
        d = self.initial + self.step * n
        return d if self.cap is None else min(self.cap, d)


@dataclass(frozen=True, slots=True)
class ExponentialSchedule(Schedule):
    """``min(cap, base · factor^n)``, AWS's ``expo(n)`` when ``factor`` is 2."""

    base: float
    factor: float = 2.0
    cap: float | None = None
    kind = "exponential"

    def __post_init__(self) -> None:
        _set(self, "base", check_seconds("base", self.base, positive=True))
        f = self.factor
        if isinstance(f, bool) or not isinstance(f, int | float) or not 1 <= f <= 100:
            raise InvalidPolicy(f"factor must be a number in [1, 100], got {f!r}")
        _set(self, "factor", float(f))
        if self.cap is not None:
            _set(self, "cap", check_seconds("cap", self.cap, positive=True))

    def delay(self, n: int) -> float:
        cap = math.inf if self.cap is None else self.cap
        # Stop multiplying once past the cap: no overflow however large n is.
        d = self.base
        for _ in range(n):
            if d >= cap:
                break
            d *= self.factor
        return min(cap, d)

    def delays(self, count: int) -> tuple[float, ...]:
        cap = math.inf if self.cap is None else self.cap
        out: list[float] = []
        d = self.base
        for _ in range(count):
            out.append(min(cap, d))
            if d < cap:
                d *= self.factor
        return tuple(out)


#: Schedule shapes by the name a config uses.
SCHEDULES: dict[str, type[Schedule]] = {
    "fixed": FixedSchedule,
    "constant": ConstantSchedule,
    "linear": LinearSchedule,
    "exponential": ExponentialSchedule,
}


# ------------------------------------------------------------------------------ jitter


class Jitter:
    """How a scheduled delay ``d`` becomes a random one."""

    kind = "jitter"

    def window(self, d: float) -> tuple[float, float]:
        """``(low, span)``: the jittered delay is ``low + span · u``, ``u`` in [0, 1)."""
        raise NotImplementedError

    def apply(self, d: float, rng: random.Random, previous: float | None = None) -> float:
        """One jittered delay for scheduled delay ``d``.

            >>> EqualJitter().apply(10.0, random.Random(1)) >= 5.0
            True
        """
        low, span = self.window(d)
        return low + span * rng.random() if span else low


@dataclass(frozen=True, slots=True)
class NoJitter(Jitter):
    """No jitter: the delay is exactly the scheduled one."""

    kind = "none"

    def window(self, d: float) -> tuple[float, float]:
        return d, 0.0


@dataclass(frozen=True, slots=True)
class FullJitter(Jitter):
    """AWS full jitter: ``uniform(0, d)``."""

    kind = "full"

    def window(self, d: float) -> tuple[float, float]:
        return 0.0, d


@dataclass(frozen=True, slots=True)
class EqualJitter(Jitter):
    """AWS equal jitter: ``d/2 + uniform(0, d/2)``."""

    kind = "equal"

    def window(self, d: float) -> tuple[float, float]:
        return d / 2, d / 2


@dataclass(frozen=True, slots=True)
class ProportionalJitter(Jitter):
    """Multiplicative jitter: ``uniform(d · (1 − fraction), d · (1 + fraction))``."""

    fraction: float
    kind = "proportional"

    def __post_init__(self) -> None:
        _set(self, "fraction", _check_fraction("jitter_fraction", self.fraction, upper=1))

    def window(self, d: float) -> tuple[float, float]:
        return d * (1 - self.fraction), 2 * self.fraction * d


@dataclass(frozen=True, slots=True)
class AdditiveJitter(Jitter):
    """Additive bounded jitter: ``d + uniform(0, b)``.

    ``b`` is ``bound`` when ``fraction`` is ``None`` (Convoy: 5 s), else
    ``clamp(fraction · d, floor, bound)`` (Hook0: ``fraction=0.1, floor=2, bound=900``).
    """

    bound: float
    fraction: float | None = None
    floor: float = 0.0
    kind = "additive"

    def __post_init__(self) -> None:
        _set(self, "bound", check_seconds("jitter_bound", self.bound))
        _set(self, "floor", check_seconds("jitter_floor", self.floor))
        if self.fraction is not None:
            _set(self, "fraction", _check_fraction("jitter_fraction", self.fraction, upper=10))
        if self.floor > self.bound:
            raise InvalidPolicy(
                f"jitter_floor ({self.floor:g}) must not exceed jitter_bound ({self.bound:g})"
            )

    def window(self, d: float) -> tuple[float, float]:
        if self.fraction is None:
            return d, self.bound
        return d, min(self.bound, max(self.floor, self.fraction * d))


@dataclass(frozen=True, slots=True)
class DecorrelatedJitter(Jitter):
    """AWS decorrelated jitter: ``min(cap, uniform(base, 3 · previous))``.

    It ignores the scheduled delay and grows from the previous one (``base`` before the
    first retry). ``base`` and ``cap`` default to the schedule's first and largest delays
    (a :class:`~hooklab.model.retry.RetryPolicy` fills them in).
    """

    base: float | None = None
    cap: float | None = None
    kind = "decorrelated"

    def __post_init__(self) -> None:
        if self.base is not None:
            _set(self, "base", check_seconds("jitter_base", self.base, positive=True))
        if self.cap is not None:
            _set(self, "cap", check_seconds("jitter_cap", self.cap, positive=True))
        if self.base is not None and self.cap is not None and self.base > self.cap:
            raise InvalidPolicy(
                f"jitter_base ({self.base:g}) must not exceed jitter_cap ({self.cap:g})"
            )

    def window(self, d: float) -> tuple[float, float]:
        raise TypeError("decorrelated jitter depends on the previous delay; use apply()")

    def apply(self, d: float, rng: random.Random, previous: float | None = None) -> float:
        base = d if self.base is None else self.base
        cap = math.inf if self.cap is None else self.cap
        prev = base if previous is None else previous
        high = max(base, 3 * prev)
        return min(cap, base + (high - base) * rng.random())


#: Jitter kinds by the name a config uses.
JITTERS: dict[str, type[Jitter]] = {
    "none": NoJitter,
    "full": FullJitter,
    "equal": EqualJitter,
    "decorrelated": DecorrelatedJitter,
    "proportional": ProportionalJitter,
    "additive": AdditiveJitter,
}
