"""The vectorized path agrees with the event engine, statistically, where it applies.

Both paths run the same scenario at fixed seeds (so every test is deterministic), and
two-sample z-tests compare what users read off a summary: the delivered and failed
fractions (and per failure reason), attempts per delivery, the time-to-delivery
p50/p95/p99 and duplicates. A
quantile is compared without assuming a shape: ``q`` must lie within the other path's
empirical CDF around this path's quantile, give or take its sampling error. Peak load,
peak backlog, drain time and reordering are compared within stated relative tolerances.
The same seed gives the same bytes on each path; the two paths are not expected to match
byte for byte. ``test_the_z_tests_catch_a_real_difference`` shows the tests can fail.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.faults import Down, Latency, ReceiverModel, StatusFault
from hooklab.sim import (
    Arrivals,
    AutoDisable,
    Burst,
    EndpointSpec,
    Scenario,
    named_scenarios,
    simulate,
)
from hooklab.sim.runner import SimulationResult
from hooklab.sim.vector import why_not

#: |z| bound on every metric: about 1 in 4,000 for one normal metric (fixed seeds: a
#: pass is a pass every time).
Z = 3.5
COVERED = [n for n in named_scenarios() if why_not(Scenario.load(n)) is None]


def _runs(scenario: Scenario, seed: int = 3) -> tuple[SimulationResult, SimulationResult]:
    return (simulate(scenario, seed=seed, engine="events"),
            simulate(scenario, seed=seed + 1000, engine="vector"))


def _z_proportion(k1: int, n1: int, k2: int, n2: int) -> float:
    if n1 == 0 or n2 == 0:
        return 0.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else (k1 / n1 - k2 / n2) / se


def _z_means(a: np.ndarray, b: np.ndarray) -> float:
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return 0.0 if se == 0 else float(a.mean() - b.mean()) / se


def _z_quantile(a: np.ndarray, b: np.ndarray, q: float) -> float:
    """How far ``q`` lies outside ``b``'s CDF at ``a``'s ``q``-quantile, in standard
    errors of both samples (0 inside the CDF's jump there: atoms are common)."""
    x = float(np.quantile(a, q))
    below, at_or_below = np.mean(b < x - 1e-9), np.mean(b <= x + 1e-9)
    se = math.sqrt(q * (1 - q) * (1 / len(a) + 1 / len(b)))
    if below <= q <= at_or_below:
        return 0.0
    return float(min(abs(q - below), abs(q - at_or_below))) / se


def _metrics(r: SimulationResult) -> dict[str, np.ndarray]:
    delivered = [d for d in r.deliveries if d.status == "delivered"]
    return {"ttd": np.array([d.finished_at - d.created_at for d in delivered]),
            "attempts": np.array([d.attempts for d in r.deliveries], dtype=float)}


def agreement(events: SimulationResult, vector: SimulationResult) -> dict[str, float]:
    """Every compared metric's |z| (see the module docstring)."""
    e, v = events.summary, vector.summary
    z = {"delivered": _z_proportion(e.delivered, e.deliveries, v.delivered, v.deliveries),
         "failed": _z_proportion(e.failed, e.deliveries, v.failed, v.deliveries),
         "duplicates": _z_proportion(e.duplicates, e.attempts, v.duplicates, v.attempts)}
    re, rv = dict(e.failed_by_reason), dict(v.failed_by_reason)
    for reason in re.keys() | rv.keys():
        z[f"failed_{reason}"] = _z_proportion(re.get(reason, 0), e.deliveries,
                                              rv.get(reason, 0), v.deliveries)
    me, mv = _metrics(events), _metrics(vector)
    if len(me["attempts"]) > 1 and len(mv["attempts"]) > 1:
        z["attempts"] = _z_means(me["attempts"], mv["attempts"])
    if len(me["ttd"]) > 10 and len(mv["ttd"]) > 10:
        for q in (0.5, 0.95, 0.99):
            z[f"ttd_p{round(q * 100)}"] = max(_z_quantile(me["ttd"], mv["ttd"], q),
                                              _z_quantile(mv["ttd"], me["ttd"], q))
    return {k: abs(val) for k, val in z.items()}


def _close(a: float | None, b: float | None, rel: float, slack: float = 0.0) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= rel * max(abs(a), abs(b)) + slack


@pytest.mark.parametrize("name", COVERED)
def test_shipped_scenarios_agree_on_both_paths(name: str) -> None:
    events, vector = _runs(Scenario.load(name))
    assert (events.summary.engine, vector.summary.engine) == ("events", "vector")
    z = agreement(events, vector)
    assert max(z.values()) < Z, z
    e, v = events.summary, vector.summary
    assert e.messages == v.messages or _close(e.messages, v.messages, 0.1)
    assert _close(e.peak_backlog, v.peak_backlog, 0.15, 3)
    assert _close(e.peak_attempts_per_s, v.peak_attempts_per_s, 0.35, 3)
    assert _close(e.time_to_drain_s, v.time_to_drain_s, 0.15, 60)
    for a, b in zip(e.endpoints, v.endpoints, strict=True):
        assert _close(a.out_of_order, b.out_of_order, 0.2, 10), (a.id, a, b)


def test_shipped_scenarios_the_vector_path_covers() -> None:
    assert COVERED == ["default", "flaky-receiver", "key-rotation"]
    assert "worker pool" in (why_not(Scenario.load("outage-storm")) or "")


def test_the_z_tests_catch_a_real_difference() -> None:
    base = Scenario.flaky(0.2, messages=3000, policy="svix")
    events = simulate(base, seed=1, engine="events")
    vector = simulate(base.replace(failure_rate=0.26), seed=1, engine="vector")
    z = agreement(events, vector)
    assert z["attempts"] > Z and z["delivered"] < Z  # svix retries nearly all to success


_STATUS = st.lists(st.tuples(st.sampled_from([500, 503, 429, 404, 502]),
                             st.floats(0.02, 0.2), st.sampled_from([None, 5.0, 90.0])),
                   max_size=2, unique_by=lambda s: s[0])
_LATENCY = st.builds(Latency, st.sampled_from([0.0, 0.05, 0.5, 3.0]),
                     st.sampled_from([0.0, 0.05, 0.4]),
                     st.sampled_from(["uniform", "normal", "exponential", "lognormal"]))
_DOWN = st.sampled_from([None, Down(windows=((300.0, 2100.0),)),
                         Down(flap_up=200.0, flap_down=40.0)])


@st.composite
def receivers(draw: st.DrawFn) -> ReceiverModel:
    """A receiver with independent faults only (nothing the vector path refuses)."""
    status = tuple(StatusFault(c, r, a) for c, r, a in draw(_STATUS))
    return ReceiverModel(status=status, latency=draw(_LATENCY),
                         timeout=draw(st.sampled_from([0.0, 0.01, 0.05])),
                         reset=draw(st.sampled_from([0.0, 0.02])),
                         truncated=draw(st.sampled_from([0.0, 0.03])), down=draw(_DOWN),
                         unauthorized=draw(st.sampled_from([(), ((600.0, 900.0),)])))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random scenario of one or two independent endpoints."""
    endpoints = tuple(
        EndpointSpec(f"e{i}", receiver=draw(receivers()), timeout=draw(st.sampled_from(
            [1.0, 15.0])), auto_disable=AutoDisable(gone=False),
            events=draw(st.sampled_from([("*",), ("a.*",)])))
        for i in range(draw(st.integers(1, 2))))
    process = draw(st.sampled_from(["poisson", "uniform"]))
    return Scenario(
        name="drawn", messages=2500, endpoints=endpoints,
        arrivals=Arrivals(process, rate=draw(st.sampled_from([2.0, 20.0])),
                          event_types=(("a.x", 2.0), ("b.y", 1.0))),
        policy=draw(st.sampled_from(["svix", "diagram", "hook0", "standard-webhooks",
                                     "stripe", "convoy"])),
        max_attempts=draw(st.sampled_from([None, 2, 4])))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(scenarios())
def test_random_independent_scenarios_agree_on_every_metric(scenario: Scenario) -> None:
    assert why_not(scenario) is None
    events, vector = _runs(scenario, seed=7)
    z = agreement(events, vector)
    assert max(z.values()) < Z, (z, scenario)
    s = vector.summary
    assert s.delivered + s.failed + s.pending == s.deliveries


@pytest.mark.parametrize("engine", ["events", "vector"])
def test_same_seed_gives_the_same_bytes_on_each_path(tmp_path: Path, engine: str) -> None:
    scenario = Scenario.load("default").replace(messages=600)
    paths = []
    for i in range(2):
        path = tmp_path / f"{engine}{i}.csv"
        result = simulate(scenario, seed=5, engine=engine, records_path=path)
        paths.append((path, json.dumps(result.summary.to_dict())))
    (a, sa), (b, sb) = paths
    assert sa == sb
    assert a.read_bytes() == b.read_bytes()
    other = simulate(scenario, seed=6, engine=engine, keep_records=False)
    assert json.dumps(other.summary.to_dict()) != sa


def test_cut_off_runs_count_pending_deliveries_alike() -> None:
    scenario = Scenario.load("default").replace(until=2400.0)
    events, vector = _runs(scenario)
    for r in (events, vector):
        s = r.summary
        assert s.pending > 0 and s.sim_time_s == 2400.0
        assert s.delivered + s.failed + s.pending == s.deliveries
        assert sum(d.status == "pending" for d in r.deliveries) == s.pending
    assert _z_proportion(events.summary.pending, events.summary.deliveries,
                         vector.summary.pending, vector.summary.deliveries) < Z


def _one(receiver: str, *, policy: str | dict[str, Any] = "svix", arrivals: Arrivals | None = None,
         messages: int | None = 3000, timeout: float = 15.0, **changes: object) -> Scenario:
    spec = EndpointSpec("e", receiver=ReceiverModel.parse(receiver), timeout=timeout,
                        auto_disable=AutoDisable(gone=False))
    return Scenario(name="case", messages=messages, endpoints=(spec,), policy=policy,
                    arrivals=arrivals or Arrivals("poisson", 5.0), **changes)  # type: ignore[arg-type]


def _trace(tmp_path: Path) -> str:
    rng = np.random.default_rng(4)
    times = np.sort(rng.uniform(0, 3600, 3000))
    lines = ["time,event_type"] + [f"{t:.3f},{'a.x' if i % 3 else 'b.y'}"
                                   for i, t in enumerate(times)]
    path = tmp_path / "trace.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


CASES = {
    "script": lambda tmp: _one("script=503,timeout,500,200", policy="diagram"),
    "429 retry-after and the overload penalty": lambda tmp: _one(
        "status=429:0.3:120 timeout=0.05 latency=0.2:0.1:normal"),
    "503 retry-after clamped": lambda tmp: _one("status=503:0.4:30 latency=0.1",
                                                policy="svix"),
    "hook0 retry-after max": lambda tmp: _one("status=429:0.4:600", policy="hook0"),
    "truncated answers make duplicates": lambda tmp: _one("truncated=0.2 latency=0.1"),
    "a slow body past the timeout": lambda tmp: _one(
        "latency=0.5:0.5:exponential bandwidth=512:4096", timeout=8.0),
    "gone without auto-disable": lambda tmp: _one("gone=300 latency=0.05"),
    "not retried codes": lambda tmp: _one("status=400:0.3", policy="azure-event-grid"),
    "a retry window": lambda tmp: _one("status=500:0.6", policy={"delays": [600.0] * 9,
                                                                 "max_window": 2000}),
    "a flapping receiver": lambda tmp: _one("down=flap:300:120 latency=0.05"),
    "burst arrivals": lambda tmp: _one("status=500:0.3 down=0:600", arrivals=Arrivals(
        "burst", at=10.0), policy="standard-webhooks"),
    "uniform arrivals with bursts": lambda tmp: _one("status=500:0.3", arrivals=Arrivals(
        "uniform", rate=2.0, bursts=(Burst(100.0, 500), Burst(900.0, 300)))),
    "trace arrivals": lambda tmp: _one("status=500:0.2 latency=0.2:0.1", messages=None,
                                       arrivals=Arrivals("trace", trace=_trace(tmp))),
    "a duration, cut off": lambda tmp: _one("status=500:0.5", messages=None,
                                            duration=900.0, until=1800.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_fault_and_arrival_process_agrees_on_both_paths(case: str,
                                                             tmp_path: Path) -> None:
    scenario = CASES[case](tmp_path)
    assert why_not(scenario) is None
    events, vector = _runs(scenario, seed=11)
    z = agreement(events, vector)
    assert max(z.values()) < Z, z
    e, v = events.summary, vector.summary
    assert (e.duplicates > 0) == (v.duplicates > 0)
    assert _close(e.peak_backlog, v.peak_backlog, 0.2, 5)
    assert _close(e.attempts, v.attempts, 0.1, 20)
