"""The simulator against closed forms: independent failures, fixed schedules, capacity.

Where the vectorized path applies (no shared resource), the same closed forms hold on both
paths (``engine`` is parametrized)."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import accumulate

import pytest

from hooklab.model.faults import Capacity, Latency, ReceiverModel
from hooklab.sim import Arrivals, EndpointSpec, Scenario, simulate

ENGINES = pytest.mark.parametrize("engine", ["events", "vector"])


@ENGINES
@pytest.mark.parametrize(("p", "k"), [(0.1, 2), (0.3, 3), (0.5, 4), (0.7, 6), (0.9, 3)])
def test_independent_failures_match_closed_forms(p: float, k: int, engine: str) -> None:
    n = 20_000
    scenario = Scenario.flaky(p, messages=n, rate=50.0, policy={"delays": [1.0] * 9})
    result = simulate(scenario.replace(max_attempts=k), seed=11, keep_records=False,
                      engine=engine)
    s = result.summary
    assert s.engine == engine
    assert s.deliveries == n and s.pending == 0
    failed_fraction = s.failed / n
    expected_failed = p**k
    sd_failed = math.sqrt(expected_failed * (1 - expected_failed) / n)
    assert abs(failed_fraction - expected_failed) <= 5 * sd_failed + 1e-12
    # attempts per message: a truncated geometric; its variance from the closed form
    mean = (1 - p**k) / (1 - p)
    second = sum((j + 1) ** 2 * p**j * (1 - p) for j in range(k - 1)) + k**2 * p ** (k - 1)
    sd_mean = math.sqrt((second - mean**2) / n)
    assert abs(s.attempts / n - mean) <= 5 * sd_mean


@ENGINES
def test_failed_fraction_tracks_p_to_the_k_across_policies(engine: str) -> None:
    # the svix preset (8 attempts, jitter) and the diagram's (6) dead-letter p^K
    for policy, k in (("svix", 8), ("diagram", 6)):
        result = simulate(Scenario.flaky(0.6, messages=20_000, policy=policy), seed=5,
                          keep_records=False, engine=engine)
        q = 0.6**k
        assert abs(result.summary.failed / 20_000 - q) <= 5 * math.sqrt(q * (1 - q) / 20_000)


@ENGINES
def test_unjittered_fixed_schedule_attempts_at_cumulative_sums(engine: str) -> None:
    delays = [5.0, 300.0, 1800.0, 7200.0, 0.1]
    scenario = Scenario.flaky(1.0, messages=50, rate=3.0, policy={"delays": delays})
    result = simulate(scenario, seed=2, engine=engine)
    starts: dict[str, list[float]] = defaultdict(list)
    for a in result.attempts:
        assert a.start == a.end  # zero latency
        starts[a.message_id].append(a.start)
    assert len(starts) == 50
    for d in result.deliveries:
        expected = list(accumulate(delays, initial=d.created_at))
        assert starts[d.message_id] == expected  # exactly, not approximately
        assert d.status == "failed" and d.attempts == len(delays) + 1
    for a in result.attempts:
        if a.next_attempt_at is not None:
            assert a.next_attempt_at in starts[a.message_id]


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                    key=lambda x: (x[0], x[1]))
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_receiver_capacity_is_never_exceeded() -> None:
    limit, latency = 20, 1.0
    receiver = ReceiverModel(latency=Latency(latency),
                             capacity=Capacity(limit, "503", retry_after=None))
    scenario = Scenario(messages=2_000, arrivals=Arrivals("poisson", rate=100.0),
                        endpoints=(EndpointSpec("r", receiver=receiver),),
                        policy={"preset": "diagram", "max_attempts": 20, "delays": [1.0] * 19})
    result = simulate(scenario, seed=4)
    served = [(a.start, a.end) for a in result.attempts if a.status_code == 200]
    assert _max_overlap(served) <= limit
    per_second: dict[int, int] = defaultdict(int)
    for _, end in served:
        per_second[int(end)] += 1
    assert max(per_second.values()) <= limit / latency
    assert any(a.status_code == 503 for a in result.attempts)  # the limit was reached


def test_worker_pool_bounds_throughput() -> None:
    workers, latency = 8, 0.5
    receiver = ReceiverModel(latency=Latency(latency))
    scenario = Scenario(messages=400, arrivals=Arrivals("burst"), workers=workers,
                        endpoints=(EndpointSpec("r", receiver=receiver),))
    result = simulate(scenario, seed=1)
    intervals = [(a.start, a.end) for a in result.attempts]
    assert _max_overlap(intervals) == workers
    assert result.summary.delivered == 400
    # 400 requests, 8 at a time, 0.5 s each: exactly 25 s of work
    assert max(a.end for a in result.attempts) == pytest.approx(400 / workers * latency)


def _erlang_c_mean(arrival_rate: float, servers: int, service_mean: float) -> float:
    """The M/M/c mean time in system (Erlang C wait plus the service)."""
    a = arrival_rate * service_mean
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    waiting = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return waiting * service_mean / (servers - a) + service_mean


def _batch_mean_bounds(values: list[float], batches: int = 25) -> tuple[float, float]:
    """The mean and its standard error from batch means (the samples are correlated)."""
    size = len(values) // batches
    means = [sum(values[i * size:(i + 1) * size]) / size for i in range(batches)]
    mean = sum(means) / batches
    var = sum((m - mean) ** 2 for m in means) / (batches - 1)
    return mean, math.sqrt(var / batches)


def test_slow_capacity_is_processor_sharing_with_the_mmc_mean() -> None:
    # each request's remaining work served at min(1, N/in_flight): with exponential work the
    # number in service is the M/M/c birth-death chain, so the mean matches Erlang C
    rate, slots, mean_work = 8.0, 10, 1.0
    receiver = ReceiverModel(latency=Latency(mean_work, distribution="exponential"),
                             capacity=Capacity(slots, "slow"))
    scenario = Scenario(messages=120_000, arrivals=Arrivals("poisson", rate=rate),
                        endpoints=(EndpointSpec("r", receiver=receiver, timeout=1e6),))
    result = simulate(scenario, seed=7)
    times = [a.end - a.start for a in sorted(result.attempts, key=lambda a: a.start)]
    mean, se = _batch_mean_bounds(times[5_000:])  # past the warm-up from an empty receiver
    expected = _erlang_c_mean(rate, slots, mean_work)
    assert abs(mean - expected) <= 4 * se, (mean, se, expected)


def test_shared_requests_slow_each_other_until_the_sender_gives_up() -> None:
    # two requests of 10 s work share one slot, so both would finish at 20 s: the sender
    # gives up on both at 15 s (a stretch frozen at the start gives 10 s, then 20 s)
    receiver = ReceiverModel(latency=Latency(10.0), capacity=Capacity(1, "slow"))
    scenario = Scenario(messages=2, arrivals=Arrivals("burst"), max_attempts=1,
                        endpoints=(EndpointSpec("r", receiver=receiver, timeout=15.0),))
    result = simulate(scenario, seed=1)
    assert sorted((a.end, a.error) for a in result.attempts) == [(15.0, "timeout")] * 2
