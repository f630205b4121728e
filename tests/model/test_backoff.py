"""Retry schedules and jitter: the shapes, AWS's formulas, and parameter checks."""

from __future__ import annotations

import doctest
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model import backoff
from hooklab.model.backoff import (
    JITTERS,
    SCHEDULES,
    AdditiveJitter,
    ConstantSchedule,
    DecorrelatedJitter,
    EqualJitter,
    ExponentialSchedule,
    FixedSchedule,
    FullJitter,
    LinearSchedule,
    NoJitter,
    ProportionalJitter,
)
from hooklab.model.errors import InvalidPolicy

delays = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_subnormal=False)
seeds = st.integers(min_value=0, max_value=2**32)


# ---------------------------------------------------------------- schedules


def test_fixed_schedule_repeats_its_last_delay() -> None:
    assert FixedSchedule((5, 300, 1800)).delays(5) == (5.0, 300.0, 1800.0, 1800.0, 1800.0)


def test_constant_schedule() -> None:
    assert ConstantSchedule(100).delays(3) == (100.0, 100.0, 100.0)


def test_linear_schedule_grows_by_step_up_to_its_cap() -> None:
    assert LinearSchedule(10, step=20, cap=55).delays(4) == (10.0, 30.0, 50.0, 55.0)


def test_exponential_schedule_is_aws_expo() -> None:
    # expo(n) = min(cap, base * 2^n)
    schedule = ExponentialSchedule(10, cap=7200)
    assert schedule.delays(12) == tuple(float(min(7200, 10 * 2**n)) for n in range(12))
    assert ExponentialSchedule(1, factor=3).delays(4) == (1.0, 3.0, 9.0, 27.0)


def test_capped_exponential_never_overflows() -> None:
    schedule = ExponentialSchedule(1, cap=3600)
    assert schedule.delay(10_000) == 3600.0
    assert schedule.delays(2000)[-1] == 3600.0


@given(n=st.integers(min_value=0, max_value=60), base=st.floats(0.001, 1e4),
       factor=st.floats(1, 4), cap=st.floats(0.001, 1e7))
@settings(max_examples=200, deadline=None)
def test_exponential_delay_and_delays_agree(n: int, base: float, factor: float,
                                            cap: float) -> None:
    schedule = ExponentialSchedule(base, factor, cap)
    assert schedule.delays(n + 1)[n] == schedule.delay(n)
    assert schedule.delay(n) == pytest.approx(min(cap, base * factor**n), rel=1e-9)


# ---------------------------------------------------------------- jitter


@given(d=delays, seed=seeds)
@settings(max_examples=200)
def test_full_jitter_lies_in_zero_to_d(d: float, seed: int) -> None:
    value = FullJitter().apply(d, random.Random(seed))
    assert 0 <= value <= d


@given(d=delays, seed=seeds)
@settings(max_examples=200)
def test_equal_jitter_lies_in_half_d_to_d(d: float, seed: int) -> None:
    value = EqualJitter().apply(d, random.Random(seed))
    assert d / 2 <= value <= d


@given(d=delays, seed=seeds, fraction=st.floats(0.01, 1))
@settings(max_examples=200)
def test_proportional_jitter_lies_within_the_fraction(d: float, seed: int,
                                                      fraction: float) -> None:
    value = ProportionalJitter(fraction).apply(d, random.Random(seed))
    assert d * (1 - fraction) * (1 - 1e-12) <= value <= d * (1 + fraction) * (1 + 1e-12)


@given(d=delays, seed=seeds)
@settings(max_examples=200)
def test_additive_jitter_adds_at_most_its_bound(d: float, seed: int) -> None:
    value = AdditiveJitter(5).apply(d, random.Random(seed))
    assert d <= value <= d + 5
    hook0 = AdditiveJitter(900, fraction=0.1, floor=2).apply(d, random.Random(seed))
    assert d <= hook0 <= d + min(900, max(2, 0.1 * d))


@given(seed=seeds, previous=st.one_of(st.none(), st.floats(0, 1e5)))
@settings(max_examples=200)
def test_decorrelated_jitter_lies_between_base_and_three_times_previous(
    seed: int, previous: float | None
) -> None:
    # min(cap, uniform(base, 3 * previous)), previous = base before the first retry
    base, cap = 10.0, 3600.0
    value = DecorrelatedJitter(base, cap).apply(999.0, random.Random(seed), previous)
    prev = base if previous is None else previous
    assert base <= value <= min(cap, max(base, 3 * prev))


def test_no_jitter_draws_no_randomness() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert NoJitter().apply(42.0, rng) == 42.0
    assert rng.getstate() == state


def test_jitter_is_a_function_of_the_rng_only() -> None:
    for jitter in (FullJitter(), EqualJitter(), ProportionalJitter(0.2), AdditiveJitter(5),
                   DecorrelatedJitter(1, 100)):
        first = [jitter.apply(60.0, r, 30.0) for r in [random.Random(3)] * 5]
        again = [jitter.apply(60.0, r, 30.0) for r in [random.Random(3)] * 5]
        assert first == again
        assert len(set(first)) > 1, jitter  # it does vary along one rng


def test_decorrelated_jitter_has_no_fixed_window() -> None:
    with pytest.raises(TypeError, match="previous delay"):
        DecorrelatedJitter(1, 10).window(5.0)


def test_registries_name_every_shape() -> None:
    assert set(SCHEDULES) == {"fixed", "constant", "linear", "exponential"}
    assert set(JITTERS) == {"none", "full", "equal", "decorrelated", "proportional",
                            "additive"}
    assert all(cls.kind == name for name, cls in {**SCHEDULES, **JITTERS}.items())


# ---------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: FixedSchedule(()), "delays"),
        (lambda: FixedSchedule((5, -1)), "delays[1]"),
        (lambda: FixedSchedule("5, 10"), "delays"),  # type: ignore[arg-type]
        (lambda: FixedSchedule((5, math.nan)), "delays[1]"),
        (lambda: ConstantSchedule(-3), "delay"),
        (lambda: LinearSchedule(10, step=-1), "step"),
        (lambda: LinearSchedule(10, cap=0), "cap"),
        (lambda: ExponentialSchedule(0), "base"),
        (lambda: ExponentialSchedule(1, factor=0.5), "factor"),
        (lambda: ExponentialSchedule(1, factor=True), "factor"),  # type: ignore[arg-type]
        (lambda: ExponentialSchedule(1, cap=math.inf), "cap"),
        (lambda: ExponentialSchedule("10"), "base"),  # type: ignore[arg-type]
        (lambda: ProportionalJitter(0), "jitter_fraction"),
        (lambda: ProportionalJitter(1.5), "jitter_fraction"),
        (lambda: AdditiveJitter(-5), "jitter_bound"),
        (lambda: AdditiveJitter(5, floor=10), "jitter_floor"),
        (lambda: DecorrelatedJitter(100, 10), "jitter_base"),
    ],
)
def test_bad_parameters_raise_invalid_policy_naming_them(build, named: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidPolicy) as info:
        build()
    assert named in str(info.value)


def test_backoff_docstring_examples_run() -> None:
    result = doctest.testmod(backoff)
    assert result.attempted > 0 and result.failed == 0
