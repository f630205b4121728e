"""Time-to-delivery percentiles count every delivery: a failed one is never delivered."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from hooklab.sim import Scenario, simulate
from hooklab.sim.summary import percentiles, quantile


def _by_hand(ordered: list[float], q: float) -> float | None:
    """The linearly interpolated q-quantile of ``ordered``, inf included; None if inf."""
    rank = q * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    if ordered[high] == math.inf and (high > low or ordered[low] == math.inf):
        return None
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 9)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=40), st.integers(0, 40),
       st.sampled_from([0.5, 0.95, 0.99]))
def test_a_percentile_is_never_exactly_when_it_needs_a_delivery_that_never_came(
    times: list[float], never: int, q: float
) -> None:
    got = getattr(percentiles(times, never=never), f"p{round(q * 100)}")
    expected = _by_hand(sorted(times) + [math.inf] * never, q)
    assert got == expected or (got is not None and expected is not None
                               and math.isclose(got, expected, abs_tol=2e-9))


def test_summary_percentiles_count_failed_deliveries_as_never() -> None:
    # 30 % failures per attempt, 2 attempts: about 9 % of deliveries fail, so p50 is a
    # time, p95 and p99 are never, and the delivered-only percentiles say what they are
    n = 4_000
    scenario = Scenario.flaky(0.3, messages=n, rate=20.0, policy={"delays": [60.0]})
    result = simulate(scenario.replace(max_attempts=2), seed=3)
    s = result.summary.to_dict()
    assert 0.05 < s["failed"] / n < 0.13
    everything = sorted(d.time_to_delivery if d.time_to_delivery is not None else math.inf
                        for d in result.deliveries)
    assert s["time_to_delivery_s"]["p50"] == _by_hand(everything, 0.5) is not None
    assert s["time_to_delivery_s"]["p95"] is None and s["time_to_delivery_s"]["p99"] is None
    assert s["time_to_delivery_s"]["max"] is None
    delivered = [t for t in everything if t < math.inf]
    assert s["time_to_delivery_delivered_only_s"] == {
        "p50": quantile(delivered, 0.5), "p95": quantile(delivered, 0.95),
        "p99": quantile(delivered, 0.99), "max": delivered[-1]}


def test_outage_storm_reports_a_never_median_next_to_its_failures() -> None:
    s = simulate(Scenario.load("outage-storm"), seed=0).summary.to_dict()
    assert s["failed"] > s["delivered"]  # most deliveries fail...
    assert s["time_to_delivery_s"]["p50"] is None  # ...so the median delivery never arrives
    assert s["time_to_delivery_delivered_only_s"]["p50"] is not None
