"""Processor sharing: how a receiver with ``capacity=N:slow`` serves the requests it holds.

Each request brings an amount of work (its latency on an idle receiver, in seconds). While
``n`` requests are in service, each one's remaining work goes down at rate ``min(1, N/n)``:
up to ``N`` requests run at full speed, past ``N`` they share ``N`` slots equally. When a
request arrives or leaves, every other one's finishing time moves; :class:`Sharing` keeps
that exact with one *virtual clock* (the work a request in service has received since
the start), so a change costs ``O(log n)`` and only the next finish needs an event.

A request the sender gives up on stays in service until its work is done (the receiver
does not notice the closed connection, and that wasted work is what keeps an overload
going); only a hang (infinite work) leaves when the sender gives up. A slow close holds
no share: the work is done by then.

With exponential work this is the M/M/c queue's processor-sharing twin: the mean time in
the receiver equals Erlang C's. Pure bookkeeping on the times it is given; the engine
(:mod:`hooklab.sim._engine`) schedules the events.

Example::

    >>> s = Sharing(1)
    >>> a, b = Job("a"), Job("b")
    >>> s.admit(0.0, 1.0, a); s.admit(0.0, 1.0, b)
    >>> s.next_done(0.0)          # two requests share one slot: each runs at half speed
    2.0
    >>> s.finish(2.0) is a, s.next_done(2.0)
    (True, 0.0)
"""

from __future__ import annotations

import heapq
import math
from typing import Any

__all__ = ["Job", "Sharing"]


class Job:
    """One request in service; ``payload`` is whatever the engine needs back.

    ``live`` while it is in service; ``abandoned`` once the sender gave up on it (a
    receiver that does not notice goes on serving it: wasted work).
    """

    __slots__ = ("abandoned", "live", "payload")

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.live = True
        self.abandoned = False


class Sharing:
    """``limit`` slots shared equally by the requests in service (see the module)."""

    __slots__ = ("_heap", "_seq", "_stamp", "_virtual", "count", "generation", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0  # requests in service
        self.generation = 0  # bumped at every change: an older scheduled finish is stale
        self._virtual = 0.0  # work each request in service has received since the start
        self._stamp = 0.0  # the time _virtual was last brought up to date
        self._heap: list[tuple[float, int, Job]] = []  # (virtual finish, order, job)
        self._seq = 0

    def rate(self) -> float:
        """Seconds of work served per second to each request in service."""
        return min(1.0, self.limit / self.count) if self.count else 1.0

    def _advance(self, now: float) -> None:
        if self.count:
            self._virtual += (now - self._stamp) * self.rate()
        self._stamp = now

    def admit(self, now: float, work: float, job: Job) -> None:
        """Take ``job`` into service at ``now`` with ``work`` seconds to do (``inf``: a hang)."""
        self._advance(now)
        self._seq += 1
        heapq.heappush(self._heap, (self._virtual + work, self._seq, job))
        self.count += 1
        self.generation += 1

    def leave(self, now: float, job: Job) -> None:
        """``job`` leaves before its work is done (the sender gave up)."""
        self._advance(now)
        job.live = False
        self.count -= 1
        self.generation += 1

    def next_done(self, now: float) -> float | None:
        """Seconds from ``now`` until the next request's work is done (``None``: never)."""
        self._advance(now)
        heap = self._heap
        while heap and not heap[0][2].live:
            heapq.heappop(heap)
        if not heap or heap[0][0] == math.inf:
            return None
        return max(0.0, (heap[0][0] - self._virtual) / self.rate())

    def finish(self, now: float) -> Job:
        """The request whose work is done at ``now`` leaves service; returns it."""
        self._advance(now)
        heap = self._heap
        while not heap[0][2].live:
            heapq.heappop(heap)
        job = heapq.heappop(heap)[2]
        job.live = False
        self.count -= 1
        self.generation += 1
        return job
