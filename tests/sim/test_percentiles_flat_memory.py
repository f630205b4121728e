"""Percentiles in flat memory: the same figures from a list, an ``array('d')`` or numpy
(what each percentile means is tested with the summary)."""

from __future__ import annotations

import random
import tracemalloc
from array import array

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hooklab.sim.summary import percentiles

_SAMPLES = st.lists(st.floats(0, 1e6, allow_nan=False), max_size=300)


@given(_SAMPLES)
def test_percentiles_are_identical_from_a_list_an_array_and_a_numpy_array(
        values: list[float]) -> None:
    from_list = percentiles(values)
    assert percentiles(array("d", values)) == from_list
    assert percentiles(np.array(values)) == from_list
    for figure in (from_list.p50, from_list.p95, from_list.p99, from_list.max):
        assert figure is None or type(figure) is float  # repr and JSON as before
    if values:
        assert from_list.max == max(values)
        assert from_list.p50 <= from_list.p95 <= from_list.p99  # type: ignore[operator]
        # quantiles are rounded to 1e-9 s, so they may pass the extremes by that much
        assert min(values) - 1e-9 <= from_list.p50 and from_list.p99 <= max(values) + 1e-9


def test_percentiles_of_an_array_sort_in_place_without_a_list_of_the_samples() -> None:
    rng = random.Random(1)
    n = 500_000
    samples = array("d", (rng.random() for _ in range(n)))
    tracemalloc.start()
    try:
        result = percentiles(samples)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n  # a sorted list of n floats alone would take 8n bytes for its pointers
    assert result.p50 is not None and abs(result.p50 - 0.5) < 0.01
