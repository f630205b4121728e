"""Running tallies the vectorized path keeps across chunks, each in flat memory.

- :class:`Buckets`: attempts started per whole second, in blocks of 65,536 seconds made
  only where attempts fall (so a trace spread over years costs nothing);
- :class:`Backlog`: the most deliveries open at once, from sorted runs holding only the
  ends of deliveries still open at the end of the chunks seen so far;
- :class:`Order`: deliveries delivered after a later-created message of the same endpoint,
  from a pool of the in-order ones a later chunk could still overtake;
- :class:`Samples`: the times to delivery, one growing float64 array.

Example::

    >>> import numpy as np
    >>> b = Buckets()
    >>> b.add(np.array([0.1, 0.5, 1.2, 70000.0]))
    >>> b.peak
    2
"""

from __future__ import annotations

import numpy as np

__all__ = ["Backlog", "Buckets", "Order", "Samples"]

_BLOCK = 16


class Buckets:
    """Attempts per second ``[k, k+1)``; :attr:`peak` is the most in one second."""

    def __init__(self) -> None:
        self.blocks: dict[int, np.ndarray] = {}
        self.peak = 0

    def add(self, starts: np.ndarray) -> None:
        """Count attempts started at ``starts`` (seconds >= 0)."""
        if not len(starts):
            return
        secs = starts.astype(np.int64)
        lo, hi = int(secs.min()) >> _BLOCK, int(secs.max()) >> _BLOCK
        size = 1 << _BLOCK
        for block in range(lo, hi + 1):
            part = secs if lo == hi else secs[(secs >> _BLOCK) == block]
            if not len(part):
                continue
            counts = np.bincount(part - (block << _BLOCK), minlength=size)
            have = self.blocks.get(block)
            if have is None:
                have = self.blocks[block] = np.zeros(size, dtype=np.int64)
            have += counts
            self.peak = max(self.peak, int(have.max()))


class Backlog:
    """Deliveries open at once (created, not yet delivered or failed)."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []  # sorted ends of earlier chunks, still ahead
        self.created = 0
        self.ended = 0
        self.peak = 0

    def add(self, times: np.ndarray, fanout: np.ndarray, ends: np.ndarray) -> None:
        """One chunk: message arrival ``times`` (in order), the deliveries each made, and
        the chunk's delivery ends (``inf`` for those still pending)."""
        if not len(times):
            return
        runs = [*self.runs, np.sort(ends)]
        last = times[-1]
        kept: list[np.ndarray] = []
        where: list[np.ndarray] = []  # for each end within the chunk: the first arrival after
        for run in runs:
            cut = int(np.searchsorted(run, last, side="right"))
            if cut:
                where.append(np.searchsorted(times, run[:cut], side="left"))
            if cut < len(run):
                kept.append(run[cut:].copy() if cut else run)  # a view would pin the run
        opened = self.created + np.cumsum(fanout)
        closed = self.ended + (np.cumsum(np.bincount(np.concatenate(where), minlength=len(
            times))[: len(times)]) if where else 0)
        if opened[-1] > 0:
            self.peak = max(self.peak, int((opened - closed).max()), 1)
        self.created = int(opened[-1])
        self.ended += sum(len(w) for w in where)
        self.runs = kept


class Order:
    """Out-of-order deliveries of one endpoint (delivered after a later message)."""

    def __init__(self) -> None:
        self.pool = np.empty(0)
        self.count = 0

    def add(self, finished: np.ndarray, last_arrival: float) -> None:
        """One chunk's delivered deliveries' delivery times, in message order, the chunk's
        messages all arriving by ``last_arrival``. A delivery is out of order when a later
        message was delivered before it: when its time exceeds the least time after it."""
        if len(finished):
            beaten = self.pool > finished.min()
            self.count += int(beaten.sum())
            self.pool = self.pool[~beaten]
            least_after = np.minimum.accumulate(finished[::-1])[::-1]
            late = np.zeros(len(finished), dtype=bool)
            late[:-1] = finished[:-1] > least_after[1:]
            self.count += int(late.sum())
            in_order = finished[~late]
            self.pool = np.concatenate((self.pool, in_order[in_order > last_arrival]))
        self.pool = self.pool[self.pool > last_arrival]


class Samples:
    """A growing float64 sample (amortised doubling past ``capacity``; the pages of the
    ``capacity`` not yet written take no memory)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.data = np.empty(max(capacity, 16))
        self.size = 0

    def add(self, values: np.ndarray) -> None:
        """Append ``values``."""
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty(max(end, 2 * len(self.data)))
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size:end] = values
        self.size = end

    def values(self) -> np.ndarray:
        """The sample so far (a view)."""
        return self.data[: self.size]
