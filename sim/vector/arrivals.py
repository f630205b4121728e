"""Arrivals as numpy arrays: the same processes as :mod:`hooklab.sim.arrivals`, in chunks.

:func:`arrival_chunks` gives the event-type names and an iterator of :class:`Chunk`
(arrival times in order, event-type indexes, and the trace's message ids when it names
them), at most ``size`` messages each. Poisson and uniform arrivals without bursts are
drawn chunk by chunk, so memory stays flat however many messages a run has; bursts and
traces are put in order once, then sliced. The draws come from a numpy generator, so the
times differ from the event engine's, not their distribution.

Example::

    >>> import numpy as np
    >>> from hooklab.sim.parts import Arrivals
    >>> types, chunks = arrival_chunks(Arrivals("uniform", rate=2.0), messages=3,
    ...                                duration=None, until=None,
    ...                                rng=np.random.default_rng(0), size=2)
    >>> [c.times.tolist() for c in chunks]
    [[0.0, 0.5], [1.0]]
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..arrivals import read_trace
from ..parts import Arrivals

__all__ = ["Chunk", "arrival_chunks"]


@dataclass(frozen=True)
class Chunk:
    """Consecutive messages: arrival ``times``, event-type ``kinds``, trace ``ids``."""

    first: int
    times: np.ndarray
    kinds: np.ndarray
    ids: list[str | None] | None = None


def arrival_chunks(arrivals: Arrivals, *, messages: int | None, duration: float | None,
                   until: float | None, rng: np.random.Generator,
                   size: int) -> tuple[list[str], Iterator[Chunk]]:
    """The event-type names and the arrival chunks (messages arriving before ``until``)."""
    types = [name for name, _ in arrivals.event_types]
    weights = np.array([w for _, w in arrivals.event_types], dtype=float)
    end = math.inf if duration is None else arrivals.at + duration
    stop = math.inf if until is None else until
    if arrivals.process in ("poisson", "uniform") and not arrivals.bursts:
        return types, _lazy(arrivals, messages, min(end, stop), weights, rng, size)
    times, kinds, ids = _ordered(arrivals, messages, end, types, weights, rng)
    keep = times < stop
    if not keep.all():
        times, kinds = times[keep], kinds[keep]
        ids = None if ids is None else [i for i, k in zip(ids, keep, strict=True) if k]
    return types, _sliced(times, kinds, ids, size)


def _kinds(weights: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    if len(weights) == 1:
        return np.zeros(n, dtype=np.int32)
    cumulative = np.cumsum(weights)
    drawn = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return np.minimum(drawn, len(weights) - 1).astype(np.int32)


def _lazy(arrivals: Arrivals, messages: int | None, end: float, weights: np.ndarray,
          rng: np.random.Generator, size: int) -> Iterator[Chunk]:
    left = math.inf if messages is None else messages
    first, t = 0, arrivals.at
    while left > 0:
        n = int(min(left, size))
        if arrivals.process == "poisson":
            times = t + np.cumsum(rng.exponential(1.0 / arrivals.rate, n))
        else:
            times = arrivals.at + np.arange(first, first + n) / arrivals.rate
        cut = int(np.searchsorted(times, end, side="left"))
        times = times[:cut]
        if cut:
            yield Chunk(first, times, _kinds(weights, rng, cut))
        if cut < n:
            return
        first, left, t = first + n, left - n, float(times[-1])


def _ordered(arrivals: Arrivals, messages: int | None, end: float, types: list[str],
             weights: np.ndarray, rng: np.random.Generator,
             ) -> tuple[np.ndarray, np.ndarray, list[str | None] | None]:
    parts: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    ids: list[str | None] | None = None
    if arrivals.process == "trace":
        assert arrivals.trace is not None
        rows = read_trace(arrivals.trace)
        rows = [r for r in rows if r[0] < end][: messages if messages is not None else None]
        index = {name: i for i, name in enumerate(types)}
        drawn = _kinds(weights, rng, len(rows))
        kind = np.empty(len(rows), dtype=np.int32)
        for i, (_, event_type, _) in enumerate(rows):
            if event_type is None:
                kind[i] = drawn[i]
            else:
                if event_type not in index:
                    index[event_type] = len(types)
                    types.append(event_type)
                kind[i] = index[event_type]
        parts.append(np.array([r[0] for r in rows], dtype=float))
        kinds.append(kind)
        if any(r[2] is not None for r in rows):
            ids = [r[2] for r in rows]
    elif arrivals.process == "burst":
        n = messages or 0
        parts.append(np.full(n, arrivals.at))
        kinds.append(_kinds(weights, rng, n))
    else:
        chunks = list(_lazy(arrivals, messages, end, weights, rng, 1 << 20))
        parts.extend(c.times for c in chunks)
        kinds.extend(c.kinds for c in chunks)
    main = sum(len(p) for p in parts)
    for burst in arrivals.bursts:
        parts.append(np.full(burst.count, burst.at))
        kinds.append(_kinds(weights, rng, burst.count))
    times = np.concatenate(parts) if parts else np.empty(0)
    kind_all = np.concatenate(kinds) if kinds else np.empty(0, dtype=np.int32)
    order = np.argsort(times, kind="stable")
    if ids is not None:
        ids = ids + [None] * (len(times) - main)
        ids = [ids[i] for i in order]
    return times[order], kind_all[order], ids


def _sliced(times: np.ndarray, kinds: np.ndarray, ids: list[str | None] | None,
            size: int) -> Iterator[Chunk]:
    for first in range(0, len(times), size):
        last = first + size
        yield Chunk(first, times[first:last], kinds[first:last],
                    None if ids is None else ids[first:last])
