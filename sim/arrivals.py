"""Arrival processes: when messages are created, and with which event type.

:func:`arrival_plan` turns a scenario's :class:`~hooklab.sim.parts.Arrivals` into the
event-type names and a lazy, time-ordered stream of ``(time, event_type_index,
message_id)`` tuples (``message_id`` is ``None`` unless a trace names it). Processes:

- ``poisson``: exponential gaps at ``rate`` messages/s, starting at ``at``;
- ``uniform``: evenly spaced at ``rate``, the first at ``at``;
- ``burst``: all ``messages`` at once, at ``at``;
- ``trace``: replayed from a CSV file with a ``time`` column (seconds; rows in any order)
  and optional ``event_type`` and ``message_id`` columns.

``messages`` and ``duration`` bound the stream (whichever comes first); ``bursts`` are
merged in. Event types are drawn by weight from ``rng``, one stream per run.

Example::

    >>> import random
    >>> from hooklab.sim.parts import Arrivals
    >>> types, stream = arrival_plan(Arrivals("uniform", rate=2.0), messages=3,
    ...                              duration=None, rng=random.Random(0))
    >>> [t for t, _, _ in stream]
    [0.0, 0.5, 1.0]
"""

from __future__ import annotations

import bisect
import csv
import heapq
import math
import random
from collections.abc import Iterator
from itertools import accumulate, count

from hooklab.model.errors import ScenarioError

from .parts import Arrivals

__all__ = ["Arrival", "arrival_plan", "read_trace"]

#: One arrival: its time, the index of its event type, and the trace's message id if any.
Arrival = tuple[float, int, str | None]


def arrival_plan(
    arrivals: Arrivals, *, messages: int | None, duration: float | None, rng: random.Random
) -> tuple[list[str], Iterator[Arrival]]:
    """The event-type names and the time-ordered arrival stream of ``arrivals``."""
    types = [name for name, _ in arrivals.event_types]
    weights = [w for _, w in arrivals.event_types]
    draw = _type_drawer(weights, rng)
    end = math.inf if duration is None else arrivals.at + duration
    streams: list[Iterator[Arrival]] = []
    if arrivals.process == "trace":
        assert arrivals.trace is not None
        rows = read_trace(arrivals.trace)
        index = {name: i for i, name in enumerate(types)}
        streams.append(_trace(rows, types, index, draw, messages, end))
    elif arrivals.process == "burst":
        streams.append(_burst(arrivals.at, messages or 0, draw))
    elif arrivals.process == "poisson":
        streams.append(_poisson(arrivals, rng, draw, messages, end))
    else:
        streams.append(_uniform(arrivals, draw, messages, end))
    for burst in arrivals.bursts:
        streams.append(_burst(burst.at, burst.count, draw))
    stream = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_time)
    return types, stream


def read_trace(path: str) -> list[tuple[float, str | None, str | None]]:
    """The rows of a CSV trace as ``(time, event_type, message_id)``, sorted by time.

    A missing file, a missing ``time`` column or a bad time is a :class:`ScenarioError`
    naming the file and line.
    """
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path ("a\u0000b" in TOML)
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise ScenarioError(f"cannot read arrival trace {path!r}: {reason}") from None
    rows: list[tuple[float, str | None, str | None]] = []
    with handle:
        reader = csv.DictReader(handle)
        try:
            if reader.fieldnames is None or "time" not in reader.fieldnames:
                raise ScenarioError(f"arrival trace {path!r} needs a 'time' column (seconds)")
            for line, row in enumerate(reader, start=2):
                try:
                    t = float(row["time"])
                except (TypeError, ValueError):
                    t = math.nan
                if not 0 <= t < math.inf:
                    raise ScenarioError(
                        f"arrival trace {path!r} line {line}: time {row['time']!r} must be "
                        "a number of seconds >= 0"
                    )
                rows.append((t, row.get("event_type") or None, row.get("message_id") or None))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ScenarioError(f"arrival trace {path!r} is not valid CSV: {exc}") from None
    rows.sort(key=lambda r: r[0])
    return rows


def _time(arrival: Arrival) -> float:
    return arrival[0]


def _type_drawer(weights: list[float], rng: random.Random) -> object:
    if len(weights) == 1:
        return None
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    hi = len(cumulative) - 1

    def draw() -> int:
        return min(bisect.bisect_right(cumulative, rng.random() * total), hi)

    return draw


def _poisson(arrivals: Arrivals, rng: random.Random, draw: object, messages: int | None,
             end: float) -> Iterator[Arrival]:
    t, rate = arrivals.at, arrivals.rate
    expo = rng.expovariate
    left = math.inf if messages is None else messages
    while True:
        t += expo(rate)  # drawn before the bound is checked: the stream's draws are pinned
        if left <= 0 or t >= end:
            return
        left -= 1
        yield (t, draw() if draw is not None else 0, None)  # type: ignore[operator]


def _uniform(arrivals: Arrivals, draw: object, messages: int | None,
             end: float) -> Iterator[Arrival]:
    at, gap = arrivals.at, 1.0 / arrivals.rate
    for i in range(messages) if messages is not None else count():
        t = at + i * gap
        if t >= end:
            return
        yield (t, draw() if draw is not None else 0, None)  # type: ignore[operator]


def _burst(at: float, count: int, draw: object) -> Iterator[Arrival]:
    for _ in range(count):
        yield (at, draw() if draw is not None else 0, None)  # type: ignore[operator]


def _trace(rows: list[tuple[float, str | None, str | None]], types: list[str],
           index: dict[str, int], draw: object, messages: int | None,
           end: float) -> Iterator[Arrival]:
    left = math.inf if messages is None else messages
    for t, event_type, message_id in rows:
        if left <= 0 or t >= end:
            return
        left -= 1
        if event_type is None:
            kind = draw() if draw is not None else 0  # type: ignore[operator]
        else:
            kind = index.get(event_type, -1)
            if kind < 0:
                kind = index[event_type] = len(types)
                types.append(event_type)
        yield (t, kind, message_id)
