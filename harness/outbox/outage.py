"""A database outage as the worker rides it out: capped backoff, and a console line.

While the outbox's database refuses the worker's steps (another process holds its lock
longer than the busy timeout, the disk is full, an I/O error), the worker keeps going:
it keeps the results it could not record in memory and tries the step again after a
backoff that doubles from ``first`` up to ``cap`` seconds. The results are bounded
without dropping any: no new claim is made while the database refuses steps, so they
are at most the claims already in hand (three times the worker's concurrency). They are
recorded by the first step that succeeds, under the leases they were claimed with; a
lease another worker has taken over meanwhile drops its answer (``lease_lost``), as
always. A line on the console says when an outage starts (and what SQLite said, "disk
full" included), every ``remind`` seconds while it lasts, and when it ends.

Example::

    >>> outage = Outage(first=0.5, cap=2.0, say=print)
    >>> outage.failed(Exception("database is locked"), held=3, now=0.0)
    outbox database unavailable (database is locked); 3 results kept in memory, retrying \
in 0.5 s
    0.5
    >>> outage.ready(0.2), outage.failed(Exception("locked"), held=3, now=0.5)
    (False, 1.0)
    >>> outage.recovered(recorded=3, now=2.0)
    outbox database writable again after 2.0 s (2 failed steps); 3 results recorded
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Outage"]


class Outage:
    """The state of one worker's database outage (none while ``failures`` is 0)."""

    def __init__(self, *, first: float = 0.1, cap: float = 2.0, remind: float = 30.0,
                 say: Callable[[str], None]) -> None:
        self.first, self.cap, self.remind, self.say = first, cap, remind, say
        self.failures = 0
        self.since = 0.0
        self.retry_at = 0.0
        self._said_at = 0.0

    def ready(self, now: float) -> bool:
        """Whether a step may be tried at ``now`` (monotonic seconds)."""
        return now >= self.retry_at

    def wait(self, now: float) -> float:
        """Seconds until the next step may be tried."""
        return max(0.0, self.retry_at - now)

    def failed(self, exc: BaseException, *, held: int, now: float) -> float:
        """A step failed with ``exc`` while ``held`` results wait; returns the backoff."""
        if self.failures == 0:
            self.since = self._said_at = now
        self.failures += 1
        delay = min(self.cap, self.first * 2 ** (self.failures - 1))
        self.retry_at = now + delay
        if self.failures == 1:
            self.say(f"outbox database unavailable ({exc}); {held} results kept in memory, "
                     f"retrying in {delay:g} s")
        elif now - self._said_at >= self.remind:
            self._said_at = now
            self.say(f"outbox database still unavailable after {now - self.since:.0f} s "
                     f"({exc}); {held} results kept in memory, retrying every "
                     f"{delay:g} s")
        return delay

    def recovered(self, *, recorded: int, now: float) -> None:
        """A step succeeded, recording ``recorded`` results; ends an outage, if any."""
        if self.failures:
            self.say(f"outbox database writable again after {now - self.since:.1f} s "
                     f"({self.failures} failed steps); {recorded} results recorded")
        self.failures = 0
        self.retry_at = 0.0
