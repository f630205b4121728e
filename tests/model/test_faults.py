"""Receiver fault models: each fault answers as the vocabulary says, and parsing is strict."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.errors import ScenarioError
from hooklab.model.faults import (
    Answer,
    Capacity,
    Down,
    EventProcessor,
    Latency,
    ReceiverModel,
    StatusFault,
    faults_from_mapping,
    parse_faults,
)


def ask(model: ReceiverModel, *, now: float = 0.0, attempt: int = 1, in_flight: int = 0,
        seed: int = 0) -> Answer:
    return model.answer(now=now, attempt=attempt, in_flight=in_flight, rng=random.Random(seed))


def test_healthy_receiver_answers_200_at_once() -> None:
    answer = ask(ReceiverModel())
    assert (answer.status, answer.error, answer.latency, answer.fault) == (200, None, 0.0, "ok")
    assert answer.accepted


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_status_rate_matches_within_bounds(rate: float) -> None:
    model = ReceiverModel.flaky(rate, code=503)
    rng = random.Random(7)
    n = 20_000
    fails = sum(model.answer(now=0, attempt=1, in_flight=0, rng=rng).status == 503
                for _ in range(n))
    sd = math.sqrt(rate * (1 - rate) / n)
    assert abs(fails / n - rate) < 5 * sd


def test_status_mix_and_retry_after() -> None:
    model = ReceiverModel.parse("status=429:0.5:60 status=500:0.5")
    answers = {ask(model, seed=s)[:2] + (ask(model, seed=s).retry_after,) for s in range(50)}
    assert answers == {(429, None, 60.0), (500, None, None)}


def test_timeout_never_answers() -> None:
    answer = ask(ReceiverModel(timeout=1.0, latency=Latency(0.5)))
    assert answer.status is None and answer.error == "timeout" and answer.latency == math.inf
    assert not answer.accepted


def test_reset_and_truncated() -> None:
    reset = ask(ReceiverModel(reset=1.0))
    assert (reset.status, reset.error) == (None, "reset")
    truncated = ask(ReceiverModel(truncated=1.0))
    assert (truncated.status, truncated.error) == (200, "truncated")
    assert truncated.accepted  # the receiver acked; only the sender missed the end


def test_down_windows_refuse_connections_inside_only() -> None:
    model = ReceiverModel.parse("down=100:200,300:400")
    assert ask(model, now=99.9).status == 200
    assert ask(model, now=100).error == "connection_refused"
    assert ask(model, now=199.9).fault == "down"
    assert ask(model, now=200).status == 200
    assert ask(model, now=350).error == "connection_refused"


def test_flapping_is_periodic() -> None:
    down = Down(flap_up=9, flap_down=1)
    states = [down.is_down(t + 0.5) for t in range(30)]
    assert states == ([False] * 9 + [True]) * 3


def test_gone_and_unauthorized_windows() -> None:
    model = ReceiverModel.parse("unauthorized=0:600 gone=1000")
    assert ask(model, now=10).status == 401
    assert ask(model, now=700).status == 200
    assert ask(model, now=1000).status == 410


def test_capacity_503_past_limit() -> None:
    model = ReceiverModel(capacity=Capacity(2, "503", retry_after=1.0))
    assert ask(model, in_flight=1).status == 200
    over = ask(model, in_flight=2)
    assert (over.status, over.retry_after, over.fault) == (503, 1.0, "capacity")


def test_capacity_slow_stretches_latency_with_queue() -> None:
    model = ReceiverModel(capacity=Capacity(2, "slow"), latency=Latency(1.0))
    assert ask(model, in_flight=1).latency == 1.0
    assert ask(model, in_flight=3).latency == 2.0
    assert ask(model, in_flight=7).latency == 4.0


def test_script_is_per_attempt_and_last_step_repeats() -> None:
    model = ReceiverModel.parse("script=500,timeout,reset,200")
    got = [ask(model, attempt=k) for k in range(1, 7)]
    assert [a.status or a.error for a in got] == [500, "timeout", "reset", 200, 200, 200]


def test_down_takes_precedence_over_script() -> None:
    model = ReceiverModel.parse("script=200 down=0:10")
    assert ask(model, now=5).error == "connection_refused"


@pytest.mark.parametrize("dist", ["uniform", "normal", "exponential", "lognormal"])
def test_latency_distributions_have_their_mean(dist: str) -> None:
    latency = Latency(2.0, 0.5, dist)
    rng = random.Random(3)
    draws = [latency.draw(rng) for _ in range(20_000)]
    assert min(draws) >= 0
    assert abs(sum(draws) / len(draws) - 2.0) < 0.08


def test_slow_close_and_bandwidth() -> None:
    answer = ask(ReceiverModel.parse("slow_close=2 bandwidth=512:1024 latency=0.1"))
    assert (answer.latency, answer.transfer, answer.slow_close) == (0.1, 2.0, 2.0)
    assert answer.total == pytest.approx(2.1)


def test_processing_lane_parses() -> None:
    assert parse_faults("processing=0.5:0.1:sync").processing == EventProcessor(0.5, 0.1, True)
    table = {"processing": {"time": 2, "failure_rate": 0.0}}
    assert faults_from_mapping(table).processing == EventProcessor(2.0, 0.0, False)


def test_same_seed_gives_same_answers() -> None:
    model = ReceiverModel.parse("status=500:0.3 latency=0.2:0.1:normal reset=0.1")
    a = [model.answer(now=i, attempt=1, in_flight=0, rng=r)
         for r in [random.Random(5)] for i in range(200)]
    b = [model.answer(now=i, attempt=1, in_flight=0, rng=r)
         for r in [random.Random(5)] for i in range(200)]
    assert a == b


def test_toml_tables_and_compact_strings_read_alike() -> None:
    table = {
        "status": [{"code": 503, "rate": 0.3, "retry_after": 60}],
        "latency": {"mean": 0.2, "jitter": 0.05, "distribution": "normal"},
        "down": {"windows": [[3600, 7200]]},
        "capacity": {"limit": 50, "overflow": "slow"},
        "script": [500, "timeout", 200],
    }
    text = ("status=503:0.3:60 latency=0.2:0.05:normal down=3600:7200 capacity=50:slow "
            "script=500,timeout,200")
    assert faults_from_mapping(table) == parse_faults(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("status=700:0.1", "status"),
        ("status=500:1.5", "rate"),
        ("latency=fast", "latency"),
        ("latency=1:0:weird", "distribution"),
        ("boom=1", "unknown fault"),
        ("status=500:0.7 reset=0.5", "add up"),
        ("down=5:3", "end after"),
        ("down=0:inf", "at a finite time"),  # an endless outage has no drain (was NaN)
        ("unauthorized=0:inf", "at a finite time"),
        ("capacity=0", "capacity"),
        ("capacity=5:queue", "overflow"),
        ("script=500,boom", "script step"),
        ("timeout", "name=value"),
        ("gone=-1", "gone"),
        ("timeout=0.1 timeout=0.2", "twice"),
    ],
)
def test_bad_input_is_a_scenario_error_naming_it(text: str, names: str) -> None:
    with pytest.raises(ScenarioError, match=names):
        parse_faults(text)


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("status=abc", r"expected status=CODE:RATE\[:RETRY_AFTER\]"),
        ("latency=x:y", r"expected latency=MEAN"),
        ("down=a:b", r"expected down=START:END"),
        ("processing=abc", r"expected processing=TIME"),
    ],
)
def test_an_unreadable_fault_value_shows_the_expected_form(text: str, form: str) -> None:
    with pytest.raises(ScenarioError, match=form):
        parse_faults(text)


def test_bad_table_names_its_key() -> None:
    with pytest.raises(ScenarioError, match=r"endpoints\[1\]\.receiver\.latency"):
        faults_from_mapping({"latency": {"mean": "x"}}, where="endpoints[1].receiver")


models = st.builds(
    ReceiverModel,
    status=st.lists(
        st.builds(StatusFault, st.sampled_from([429, 500, 503, 410]),
                  st.floats(0, 0.2), st.none() | st.floats(0, 100)), max_size=3
    ).map(tuple),
    latency=st.builds(Latency, st.floats(0, 5), st.floats(0, 1),
                      st.sampled_from(["uniform", "normal", "exponential", "lognormal"])),
    timeout=st.floats(0, 0.1),
    reset=st.floats(0, 0.1),
    down=st.none() | st.builds(Down, st.just(((10.0, 20.0),)), st.floats(0, 10),
                               st.just(0.0)),
    capacity=st.none() | st.builds(Capacity, st.integers(1, 5), st.sampled_from(["503", "slow"])),
    script=st.lists(st.sampled_from([200, 500, "timeout", "reset"]), max_size=3).map(tuple),
    gone=st.none() | st.floats(0, 1000),
)


@settings(max_examples=80, deadline=None)
@given(model=models)
def test_table_round_trip_keeps_the_model(model: ReceiverModel) -> None:
    assert faults_from_mapping(model.to_mapping()) == model


@settings(max_examples=80, deadline=None)
@given(model=models, now=st.floats(0, 2000), attempt=st.integers(1, 10),
       in_flight=st.integers(0, 10), seed=st.integers(0, 2**32))
def test_every_answer_has_a_status_or_a_transport_error_and_no_negative_time(
    model: ReceiverModel, now: float, attempt: int, in_flight: int, seed: int
) -> None:
    answer = ask(model, now=now, attempt=attempt, in_flight=in_flight, seed=seed)
    assert (answer.status is None) == (answer.error in ("timeout", "reset",
                                                         "connection_refused"))
    assert answer.latency >= 0 and answer.transfer >= 0 and answer.slow_close >= 0
    assert answer.error != "timeout" or answer.latency == math.inf


@pytest.mark.parametrize(("mean", "jitter", "dist"), [
    (0.2, 0.3, "normal"), (0.2, 0.3, "uniform"), (0.05, 1.0, "normal"), (1.0, 0.6, "normal"),
])
def test_latency_keeps_its_mean_when_zero_is_within_reach(mean: float, jitter: float,
                                                          dist: str) -> None:
    # clipping at 0 would raise the mean (0.2:0.3:normal gave 0.245)
    latency = Latency(mean, jitter, dist)
    rng = random.Random(5)
    draws = [latency.draw(rng) for _ in range(40_000)]
    assert min(draws) >= 0
    sd = math.sqrt(sum((x - mean) ** 2 for x in draws) / len(draws))
    assert abs(sum(draws) / len(draws) - mean) < 5 * sd / math.sqrt(len(draws))


@settings(max_examples=80, deadline=None)
@given(model=models, seed=st.integers(0, 2**32), n=st.integers(1, 30))
def test_a_sampler_draws_exactly_what_answer_gives(model: ReceiverModel, seed: int,
                                                    n: int) -> None:
    """The simulator's per-attempt shortcut: same answers, same latencies, same stream."""
    sample = model.sampler(random.Random(seed))
    plain = (model.down is None and model.capacity is None and not model.script
             and model.gone is None)
    assert (sample is not None) == plain
    if sample is None:
        return
    rng = random.Random(seed)
    for _ in range(n):
        answer = model.answer(now=0.0, attempt=1, in_flight=0, rng=rng)
        drawn, latency = sample()
        assert (drawn.status, drawn.error, drawn.retry_after, drawn.fault, latency) == (
            answer.status, answer.error, answer.retry_after, answer.fault, answer.latency)
        assert answer.transfer == answer.slow_close == 0.0
