"""The clock a sender or receiver waits on: real time, or a fake one that never blocks.

Delivery logic reads the time and sleeps only through a :class:`Clock`, so the same code
runs on the wall clock in production and on a :class:`FakeClock` in tests, where a whole
6-attempt retry schedule with hours of backoff runs in milliseconds. ``now()`` is Unix
seconds for :class:`WallClock` (signatures carry it) and any origin you choose for
:class:`FakeClock`.

Example::

    >>> import asyncio
    >>> clock = FakeClock(start=1_700_000_000.0)
    >>> asyncio.run(clock.sleep(3600))
    >>> clock.now()
    1700003600.0
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol, runtime_checkable

from hooklab.model.errors import ConfigError

__all__ = ["Clock", "FakeClock", "WallClock"]


@runtime_checkable
class Clock(Protocol):
    """What delivery logic needs of time: read it, and wait."""

    def now(self) -> float:
        """The current time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a negative wait is no wait)."""
        ...


class WallClock:
    """Real time: ``time.time()`` and ``asyncio.sleep``.

    >>> WallClock().now() > 1_600_000_000
    True
    """

    def now(self) -> float:
        """Unix seconds."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "WallClock()"


class FakeClock:
    """A clock whose ``sleep`` advances time at once (after yielding to the event loop).

    ``start`` is the time it shows first; :meth:`advance` moves it by hand. It records every
    sleep in :attr:`sleeps`, so a test can read back the backoff a sender waited.

    >>> clock = FakeClock()
    >>> clock.advance(2.5)
    >>> clock.now(), clock.sleeps
    (2.5, [])
    """

    def __init__(self, start: float = 0.0) -> None:
        if not isinstance(start, int | float) or not math.isfinite(start):
            raise ConfigError(f"FakeClock start must be a finite number, not {start!r}")
        self._now = float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The fake time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backwards)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ConfigError(f"a clock only moves forward by a finite amount, not {seconds!r}")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` and let other tasks run once."""
        wait = max(0.0, float(seconds))
        self.sleeps.append(wait)
        self.advance(wait)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"
