"""RetryPolicy: limits, outcome classes, throttling, determinism, and configs."""

from __future__ import annotations

import doctest
import random
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model import policy_config, retry
from hooklab.model.backoff import (
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
from hooklab.model.compiled import compile_machine
from hooklab.model.delivery import Delivery, Verdict
from hooklab.model.errors import InvalidPolicy, UnknownPolicy
from hooklab.model.outcomes import Outcome, OutcomeKind, classify, parse_retry_after
from hooklab.model.policy_config import policy_from_config
from hooklab.model.presets import PRESETS, get_policy
from hooklab.model.retry import RetryAfterMode, RetryPolicy

# ------------------------------------------------------------------ strategies

seconds = st.floats(0.5, 100) | st.floats(0.5, 5000)  # often below the 60 s penalty

schedules = st.one_of(
    st.lists(st.floats(0, 120) | st.floats(0, 1e5), min_size=1, max_size=12).map(FixedSchedule),
    seconds.map(ConstantSchedule),
    st.builds(LinearSchedule, seconds, st.floats(0, 500), st.none() | st.floats(1, 1e5)),
    st.builds(ExponentialSchedule, seconds, st.floats(1, 3), st.none() | st.floats(1, 1e5)),
)
jitters = st.one_of(
    st.just(NoJitter()), st.just(FullJitter()), st.just(EqualJitter()),
    st.floats(0.01, 1).map(ProportionalJitter),
    st.builds(AdditiveJitter, st.floats(0, 100)),
    st.builds(AdditiveJitter, st.just(900.0), st.floats(0.01, 1), st.floats(0, 10)),
    st.builds(DecorrelatedJitter),
)
policies = st.builds(
    RetryPolicy,
    name=st.just("generated"),
    max_attempts=st.integers(1, 30),
    max_window=st.none() | st.floats(1, 1e6),
    backoff=schedules,
    jitter=jitters,
    retry_after=st.sampled_from(list(RetryAfterMode)),
    retry_after_cap=st.none() | st.floats(1, 1e5),
    overload_penalty=st.sampled_from([0.0, 60.0]),
)
failures = st.one_of(
    st.builds(classify, st.sampled_from([301, 400, 401, 404, 429, 500, 502, 503, 504]),
              st.none() | st.floats(0, 1e5)),
    st.sampled_from(["timeout", "connection_refused", "reset", "tls", "dns"]).map(
        Outcome.transport),
)
seeds = st.integers(0, 2**32)


def run(policy: RetryPolicy, outcomes: list[Outcome], rng: random.Random,
        duration: float = 0.5) -> list[float]:
    """Drive a delivery through ``outcomes`` (cycled); the delays it waited."""
    waited: list[float] = []
    elapsed, previous, attempt = 0.0, None, 1
    while True:
        elapsed += duration
        outcome = outcomes[(attempt - 1) % len(outcomes)]
        delay = policy.next_delay(attempt, outcome, elapsed=elapsed,
                                  previous_delay=previous, rng=rng)
        if delay is None:
            return waited
        waited.append(delay)
        elapsed += delay
        previous = delay
        attempt += 1
        assert attempt <= policy.max_attempts + 1, "runaway retry loop"


# ------------------------------------------------------------------ properties


@given(policy=policies, outcomes=st.lists(failures, min_size=1, max_size=5), seed=seeds)
@settings(max_examples=300, deadline=None)
def test_attempts_never_exceed_policy_limit(policy: RetryPolicy, outcomes: list[Outcome],
                                            seed: int) -> None:
    waited = run(policy, outcomes, random.Random(seed))
    attempts = len(waited) + 1
    assert attempts <= policy.max_attempts
    if policy.max_window is None:  # only the attempt limit stops failures
        assert attempts == policy.max_attempts
    else:  # every attempt started inside the window
        starts = [0.5 * i + sum(waited[:i]) for i in range(attempts)]
        assert starts[-1] <= policy.max_window


@given(policy=policies, outcome=failures, seed=seeds, data=st.data())
@settings(max_examples=300, deadline=None)
def test_every_delay_lies_within_policy_bounds(policy: RetryPolicy, outcome: Outcome,
                                               seed: int, data: st.DataObject) -> None:
    if policy.max_attempts == 1:
        assert policy.schedule() == ()
        return
    attempt = data.draw(st.integers(1, policy.max_attempts - 1))
    previous = None if attempt == 1 else data.draw(st.floats(0, 1e5))
    rng = random.Random(seed)
    delay = policy.next_delay(attempt, outcome, elapsed=0.0, previous_delay=previous, rng=rng)
    if delay is None:  # only the window can refuse a failure before the limit
        assert policy.max_window is not None
        return
    low, high = policy.delay_bounds(attempt, outcome)
    assert low <= delay <= high
    plain = policy.next_delay(attempt, classify(500), elapsed=0.0, previous_delay=previous,
                              rng=random.Random(seed))
    if plain is not None:
        plain_low, plain_high = policy.delay_bounds(attempt)
        assert plain_low <= plain <= plain_high


@given(policy=policies.filter(lambda p: p.max_window is None),
       shape=st.sampled_from(["fixed", "constant", "linear", "exponential"]), seed=seeds)
@settings(max_examples=300, deadline=None)
def test_unjittered_schedules_are_exact(policy: RetryPolicy, shape: str, seed: int) -> None:
    base = {"fixed": FixedSchedule((7, 11, 13)), "constant": ConstantSchedule(42),
            "linear": LinearSchedule(10, 15, cap=50),
            "exponential": ExponentialSchedule(3, 2, cap=200)}[shape]
    policy = policy.replace(backoff=base, jitter=NoJitter())
    n = policy.max_attempts - 1
    expected = {
        "fixed": [(7.0, 11.0, 13.0)[min(i, 2)] for i in range(n)],
        "constant": [42.0] * n,
        "linear": [float(min(50, 10 + 15 * i)) for i in range(n)],
        "exponential": [float(min(200, 3 * 2**i)) for i in range(n)],
    }[shape]
    assert list(policy.schedule()) == expected
    assert run(policy, [classify(500)], random.Random(seed)) == expected
    for name, preset in PRESETS.items():  # every preset's own schedule, without jitter
        plain = preset.replace(jitter=NoJitter(), max_window=None)
        assert tuple(run(plain, [classify(500)], random.Random(seed))) == preset.schedule(), name


@given(policy=policies, outcomes=st.lists(failures, min_size=1, max_size=5), seed=seeds)
@settings(max_examples=200, deadline=None)
def test_same_seed_gives_same_delays(policy: RetryPolicy, outcomes: list[Outcome],
                                     seed: int) -> None:
    first = run(policy, outcomes, random.Random(seed))
    assert run(policy, outcomes, random.Random(seed)) == first


def test_different_seeds_give_different_jitter() -> None:
    svix = get_policy("svix")
    runs = {tuple(run(svix, [classify(500)], random.Random(seed))) for seed in range(5)}
    assert len(runs) == 5


# ------------------------------------------------------------------ outcome classes


def _delay(policy: RetryPolicy, outcome: Outcome, attempt: int = 1,
           elapsed: float = 0.0) -> float | None:
    return policy.next_delay(attempt, outcome, elapsed=elapsed, previous_delay=None,
                             rng=random.Random(0))


PLAIN = RetryPolicy("plain", max_attempts=4, backoff=FixedSchedule((100, 200, 300)))


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_success_is_never_retried(status: int) -> None:
    assert _delay(PLAIN, classify(status)) is None


def test_gone_stops_and_says_so() -> None:
    assert _delay(PLAIN, classify(410)) is None
    verdict = PLAIN.verdict(1, classify(410), elapsed=0, previous_delay=None,
                            rng=random.Random(0))
    assert verdict == Verdict(OutcomeKind.GONE, None)


@pytest.mark.parametrize("outcome", [classify(301), classify(400), classify(401),
                                     classify(404), classify(500), classify(503),
                                     classify(429), Outcome.transport("timeout"),
                                     Outcome.transport("reset"), Outcome(199)])
def test_every_other_outcome_is_retried(outcome: Outcome) -> None:
    assert _delay(PLAIN, outcome) == 100.0
    assert _delay(PLAIN, outcome, attempt=3) == 300.0
    assert _delay(PLAIN, outcome, attempt=4) is None


NO_400 = PLAIN.replace(no_retry_codes=frozenset({400, 413}))


@settings(max_examples=100, deadline=None, database=None)
@given(attempt=st.integers(1, 4), status=st.sampled_from([400, 413]),
       retry_after=st.none() | st.floats(0, 1e4))
def test_no_retry_codes_are_never_retried(attempt: int, status: int,
                                          retry_after: float | None) -> None:
    outcome = classify(status, retry_after)
    assert _delay(NO_400, outcome, attempt=attempt) is None
    assert not NO_400.retries(outcome)
    assert NO_400.verdict(attempt, outcome, elapsed=0, previous_delay=None,
                          rng=random.Random(0)) == Verdict(OutcomeKind.CLIENT_ERROR, None)


@pytest.mark.parametrize("outcome", [classify(401), classify(500), classify(429),
                                     Outcome.transport("timeout")])
def test_codes_outside_no_retry_codes_are_still_retried(outcome: Outcome) -> None:
    assert _delay(NO_400, outcome) == 100.0 and NO_400.retries(outcome)


@pytest.mark.parametrize("codes", [[200], [410], [99], ["400"], [True], "400", 400])
def test_bad_no_retry_codes_raise_invalid_policy(codes: object) -> None:
    with pytest.raises(InvalidPolicy, match="no_retry_codes"):
        PLAIN.replace(no_retry_codes=codes)


def test_policy_from_config_reads_no_retry_codes() -> None:
    policy = policy_from_config(tomllib.loads("no_retry_codes = [400, 403]"))
    assert policy.no_retry_codes == frozenset({400, 403})
    assert _delay(policy, classify(403)) is None


def test_verdict_drives_the_delivery_machine() -> None:
    machine = compile_machine(Delivery)

    def advance_to_sending(state: int) -> int:  # the one non-disable event at each step
        while machine.name(state) != "sending":
            (event,) = [e for e in machine.allowed(state) if e not in ("disable", "expire")]
            state = machine.fire(state, event)
        return state

    rng = random.Random(0)
    state = advance_to_sending(machine.initial)
    for attempt in range(1, PLAIN.max_attempts + 1):
        verdict = PLAIN.verdict(attempt, classify(503), elapsed=0, previous_delay=None,
                                rng=rng)
        state = machine.fire(state, "respond", verdict)
        if attempt < PLAIN.max_attempts:
            assert machine.name(state) == "retry_queued"
            assert verdict.next_delay == PLAIN.schedule()[attempt - 1]
            state = advance_to_sending(state)
    assert machine.name(state) == "failed"


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        _delay(PLAIN, classify(500), attempt=0)


# ------------------------------------------------------------------ limits


def test_window_stops_an_attempt_that_would_start_past_it() -> None:
    policy = PLAIN.replace(max_window=350.0)
    assert _delay(policy, classify(500), attempt=2, elapsed=150.0) == 200.0  # starts at 350
    assert _delay(policy, classify(500), attempt=2, elapsed=150.5) is None
    assert policy.attempt_times() == (0.0, 100.0, 300.0)


def test_hook0_window_is_eight_days() -> None:
    hook0 = get_policy("hook0")
    eight_days = 8 * 24 * 3600
    assert _delay(hook0, classify(500), attempt=24, elapsed=eight_days - 36000 - 1000) \
        is not None
    assert _delay(hook0, classify(500), attempt=24, elapsed=eight_days - 100) is None


# ------------------------------------------------------------------ throttling


CLAMP = PLAIN.replace(retry_after=RetryAfterMode.CLAMP)
MAX = PLAIN.replace(retry_after=RetryAfterMode.MAX, retry_after_cap=36000.0)


@pytest.mark.parametrize(("retry_after", "expected"),
                         [(10, 100.0), (150, 150.0), (500, 200.0), (None, 100.0)])
def test_clamp_mode_keeps_retry_after_within_d_and_2d(retry_after: float | None,
                                                      expected: float) -> None:
    for status in (429, 502, 503, 504):
        assert _delay(CLAMP, classify(status, retry_after)) == expected


def test_clamp_mode_applies_to_throttling_codes_only() -> None:
    assert _delay(CLAMP, classify(500, 150)) == 100.0
    assert _delay(CLAMP, classify(400, 150)) == 100.0


def test_max_mode_waits_for_retry_after_on_429_only_and_caps_it() -> None:
    assert _delay(MAX, classify(429, 5000)) == 5000.0
    assert _delay(MAX, classify(429, 10)) == 100.0
    assert _delay(MAX, classify(429, 99999)) == 36000.0
    assert _delay(MAX, classify(503, 5000)) == 100.0


def test_ignore_mode_ignores_retry_after() -> None:
    assert _delay(PLAIN, classify(429, 5000)) == 100.0


def test_retry_after_as_http_date_reaches_the_policy() -> None:
    now = 1_700_000_000.0
    seconds = parse_retry_after("Wed, 15 Nov 2023 00:10:00 GMT", now)
    assert seconds == 7000.0
    assert _delay(MAX, classify(429, seconds)) == 7000.0
    assert _delay(CLAMP, classify(503, parse_retry_after("150", now))) == 150.0


@pytest.mark.parametrize("header", ["\u00b2", "\u0661\u0662", "9" * 400, "9" * 5000, "-5", "1.5"])
def test_a_malformed_retry_after_from_a_receiver_is_ignored_not_raised(header: str) -> None:
    # A receiver controls this header: superscript or Arabic-Indic digits (isdigit() says
    # yes), or thousands of digits, must not crash the sender.
    assert parse_retry_after(header, now=0.0) is None


def test_overload_penalty_follows_a_timeout_or_a_429() -> None:
    svix = get_policy("svix")  # first delay 5 s, jittered to [4, 6]
    assert _delay(svix, Outcome.transport("timeout")) == 60.0
    assert _delay(svix, classify(429)) == 60.0
    for outcome in (classify(503), classify(500), Outcome.transport("reset")):
        delay = _delay(svix, outcome)
        assert delay is not None and 4 <= delay <= 6
    assert _delay(svix, classify(429, 90)) == 90.0  # clamp to [60, 120]
    assert svix.delay_bounds(1) == pytest.approx((4.0, 6.0))
    assert svix.delay_bounds(1, Outcome.transport("timeout")) == (60.0, 60.0)
    assert svix.delay_bounds(1, classify(429, 500)) == (120.0, 120.0)
    assert svix.delay_bounds(1, classify(503, 5)) == pytest.approx((5.0, 6.0))


# ------------------------------------------------------------------ construction


def test_replace_checks_like_a_new_policy() -> None:
    assert PLAIN.replace(max_attempts=2).schedule() == (100.0,)
    with pytest.raises(InvalidPolicy, match="max_attempts"):
        PLAIN.replace(max_attempts=0)
    with pytest.raises(InvalidPolicy, match="'max_tries'"):
        PLAIN.replace(max_tries=3)


@pytest.mark.parametrize(("changes", "named"), [
    ({"max_attempts": True}, "max_attempts"),
    ({"max_attempts": 10**6}, "max_attempts"),
    ({"max_window": -1}, "max_window"),
    ({"retry_after": "sometimes"}, "retry_after"),
    ({"retry_after_cap": 0}, "retry_after_cap"),
    ({"overload_penalty": -60}, "overload_penalty"),
    ({"name": ""}, "name"),
    ({"backoff": [1, 2]}, "backoff"),
    ({"jitter": "full"}, "jitter"),
    ({"backoff": ExponentialSchedule(60), "max_attempts": 5000}, "cap"),
])
def test_bad_policy_fields_raise_invalid_policy(changes: dict, named: str) -> None:
    with pytest.raises(InvalidPolicy, match=named):
        PLAIN.replace(**changes)


def test_policy_from_config_reads_a_preset_name_or_table() -> None:
    assert policy_from_config("svix") is get_policy("svix")
    svix4 = policy_from_config({"preset": "svix", "max_attempts": 4})
    assert svix4.schedule() == (5.0, 300.0, 1800.0) and svix4.name == "svix*"
    assert svix4.jitter == ProportionalJitter(0.2)
    expo = policy_from_config({"schedule": "exponential", "base": 10, "cap": 7200,
                               "max_attempts": 8, "jitter": "full"})
    assert expo.schedule() == (10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
    assert expo.jitter == FullJitter() and expo.name == "custom"
    fixed = policy_from_config({"delays": [5, 300, 1800]})
    assert fixed.max_attempts == 4 and fixed.schedule() == (5.0, 300.0, 1800.0)


def test_policy_from_config_reads_toml() -> None:
    table = tomllib.loads("""
        [retry]
        preset = "hook0"
        name = "hook0-short"
        schedule = "linear"
        initial = 30
        step = 30
        cap = 120
        max_attempts = 5
        max_window = false
        jitter = "additive"
        jitter_bound = 5
        retry_after = "clamp"
    """)["retry"]
    policy = policy_from_config(table)
    assert policy.name == "hook0-short"
    assert policy.schedule() == (30.0, 60.0, 90.0, 120.0)
    assert policy.max_window is None and policy.jitter == AdditiveJitter(5)
    assert policy.retry_after is RetryAfterMode.CLAMP
    assert policy.retry_after_cap == 36000.0  # kept from the preset


@pytest.mark.parametrize(("config", "named"), [
    ({"max_attempt": 3}, "'max_attempt'"),
    ({"schedule": "quadratic"}, "schedule"),
    ({"schedule": "exponential"}, "'base'"),
    ({"schedule": "linear", "initial": 10, "factor": 2}, "'factor'"),
    ({"base": 10}, "'base'"),
    ({"jitter": "wild"}, "jitter"),
    ({"jitter_fraction": 0.2}, "'jitter_fraction'"),
    ({"jitter": "proportional"}, "'jitter_fraction'"),
    ({"jitter": "proportional", "jitter_fraction": 2}, "jitter_fraction"),
    ({"delays": []}, "delays"),
    ({"delays": [5, -1]}, "delays[1]"),
    ({"max_attempts": "3"}, "max_attempts"),
    ({"max_window": "soon"}, "max_window"),
    ({"retry_after": "always"}, "retry_after"),
    ({"preset": 3}, "preset"),
])
def test_bad_configs_raise_invalid_policy_naming_the_key(config: dict, named: str) -> None:
    with pytest.raises(InvalidPolicy) as info:
        policy_from_config(config)
    assert named in str(info.value)


def test_unknown_presets_in_configs_raise_unknown_policy() -> None:
    for config in ("sqs", {"preset": "sqs"}):
        with pytest.raises(UnknownPolicy, match="unknown retry policy 'sqs'; known: diagram"):
            policy_from_config(config)  # type: ignore[arg-type]
    with pytest.raises(InvalidPolicy, match="preset name or a table"):
        policy_from_config([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("module", [retry, policy_config])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
