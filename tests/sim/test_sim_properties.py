"""Hypothesis properties of the simulator over random scenarios, each named for its
invariant."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooklab.model.faults import (
    Capacity,
    Down,
    EventProcessor,
    Latency,
    ReceiverModel,
    StatusFault,
)
from hooklab.model.records import AttemptRecord, DeliveryRecord
from hooklab.sim import Arrivals, AutoDisable, Burst, EndpointSpec, Scenario, simulate

receivers = st.builds(
    ReceiverModel,
    status=st.lists(st.builds(StatusFault, st.sampled_from([500, 503, 429, 410, 400, 301]),
                              st.floats(0, 0.2), st.none() | st.sampled_from([0.0, 3.0, 120.0])),
                    max_size=2).map(tuple),
    latency=st.builds(Latency, st.sampled_from([0.0, 0.05, 2.0, 20.0]), st.floats(0, 1),
                      st.sampled_from(["uniform", "exponential"])),
    timeout=st.sampled_from([0.0, 0.05]),
    reset=st.sampled_from([0.0, 0.05]),
    truncated=st.sampled_from([0.0, 0.05]),
    down=st.none() | st.builds(Down, st.just(((30.0, 400.0),))) | st.builds(
        Down, st.just(()), st.just(50.0), st.just(20.0)),
    capacity=st.none() | st.builds(Capacity, st.integers(1, 3), st.sampled_from(["503", "slow"])),
    script=st.lists(st.sampled_from([200, 500, 503, "timeout", "reset"]), max_size=3).map(tuple),
    unauthorized=st.sampled_from([(), ((10.0, 200.0),)]),
    gone=st.none() | st.sampled_from([100.0, 5000.0]),
    processing=st.none() | st.builds(EventProcessor, st.sampled_from([0.0, 1.0, 30.0]),
                                     st.sampled_from([0.0, 0.2]), st.booleans()),
)
endpoints = st.builds(
    EndpointSpec,
    id=st.just("x"),
    events=st.sampled_from([("*",), ("invoice.*",), ("customer.created",)]),
    policy=st.sampled_from(["diagram", "svix", "github", "convoy-linear",
                            {"delays": [1.0, 2.0, 4.0]}, {"preset": "hook0", "max_attempts": 5}]),
    timeout=st.sampled_from([1.0, 15.0]),
    receiver=receivers,
    auto_disable=st.builds(AutoDisable, st.none() | st.integers(1, 3),
                           st.none() | st.sampled_from([0.0, 600.0]), st.booleans()),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    eps = draw(st.lists(endpoints, min_size=1, max_size=3))
    eps = [EndpointSpec(f"ep{i}", e.events, e.policy, e.timeout, e.receiver, e.auto_disable)
           for i, e in enumerate(eps)]
    arrivals = Arrivals(
        process=draw(st.sampled_from(["poisson", "uniform", "burst"])),
        rate=draw(st.sampled_from([0.5, 5.0])),
        bursts=tuple(draw(st.lists(st.builds(Burst, st.sampled_from([0.0, 60.0]),
                                             st.integers(0, 10)), max_size=2))),
        event_types=(("invoice.paid", 2.0), ("customer.created", 1.0)),
    )
    return Scenario(
        messages=draw(st.integers(0, 25)), arrivals=arrivals, endpoints=tuple(eps),
        max_attempts=draw(st.none() | st.integers(1, 4)),
        workers=draw(st.none() | st.integers(1, 3)),
        until=draw(st.none() | st.sampled_from([30.0, 500.0, 4000.0])),
    )


def run(scenario: Scenario, seed: int) -> tuple[list[AttemptRecord], list[DeliveryRecord], dict]:
    result = simulate(scenario, seed=seed)
    return result.attempts, result.deliveries, result.summary.to_dict()


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenario=scenarios(), seed=st.integers(0, 1000))
def test_every_delivery_ends_delivered_or_failed_unless_cut_off(scenario: Scenario,
                                                              seed: int) -> None:
    _, deliveries, summary = run(scenario, seed)
    statuses = {d.status for d in deliveries}
    if scenario.until is None:
        assert statuses <= {"delivered", "failed"}
        assert summary["pending"] == 0
    else:
        assert statuses <= {"delivered", "failed", "pending"}
    for d in deliveries:
        assert (d.finished_at is None) == (d.status == "pending")


@SETTINGS
@given(scenario=scenarios(), seed=st.integers(0, 1000))
def test_attempts_never_exceed_policy_limit(scenario: Scenario, seed: int) -> None:
    attempts, deliveries, _ = run(scenario, seed)
    limit = {e.id: scenario.policy_for(e).max_attempts for e in scenario.endpoints}
    numbers: dict[tuple[str, str], list[int]] = defaultdict(list)
    for a in attempts:
        numbers[(a.message_id, a.endpoint_id)].append(a.attempt)
    for (_, endpoint), seen in numbers.items():
        assert seen == list(range(1, len(seen) + 1))
        assert len(seen) <= limit[endpoint]
    for d in deliveries:
        assert d.attempts == len(numbers.get((d.message_id, d.endpoint_id), []))


@SETTINGS
@given(scenario=scenarios(), seed=st.integers(0, 1000))
def test_no_attempt_while_delivery_is_terminal(scenario: Scenario, seed: int) -> None:
    attempts, deliveries, _ = run(scenario, seed)
    by_delivery: dict[tuple[str, str], list[AttemptRecord]] = defaultdict(list)
    for a in attempts:
        by_delivery[(a.message_id, a.endpoint_id)].append(a)
    for d in deliveries:
        mine = by_delivery.get((d.message_id, d.endpoint_id), [])
        for a in mine:
            assert a.start >= d.created_at
            if d.finished_at is not None:
                assert a.start <= d.finished_at
        successes = [a for a in mine if a.outcome == "success"]
        assert len(successes) <= 1
        if d.status == "delivered":
            assert mine[-1].outcome == "success" and mine[-1].end == d.finished_at
        if successes:
            assert successes[0] is mine[-1]  # nothing is sent after the 2xx


@SETTINGS
@given(scenario=scenarios(), seed=st.integers(0, 1000))
def test_conservation_deliveries_equal_delivered_failed_pending(scenario: Scenario,
                                                                seed: int) -> None:
    attempts, deliveries, s = run(scenario, seed)
    assert s["deliveries"] == s["delivered"] + s["failed"] + s["pending"]
    assert s["deliveries"] == len(deliveries)
    assert s["attempts"] == len(attempts)
    assert s["failed"] == sum(s["failed_by_reason"].values())
    for endpoint in s["endpoints"].values():
        assert endpoint["deliveries"] == (endpoint["delivered"] + endpoint["failed"]
                                          + endpoint["pending"])
    assert s["peak_backlog"] <= s["deliveries"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), seed=st.integers(0, 1000))
def test_same_seed_gives_identical_records(scenario: Scenario, seed: int) -> None:
    assert run(scenario, seed) == run(scenario, seed)
