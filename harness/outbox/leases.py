"""A claim's lease, checked once more right before its request is written.

A worker posts a claim only if the answer can come before the claim's lease ends
(:func:`time_left`): after that, another worker may have taken the delivery over, and
one delivery is attempted by one worker at a time. The worker checks when a lane takes
the claim; over HTTP, :class:`LeaseCheck` checks again right before the request's first
byte is written (the connection made, a pause such as SIGSTOP or a stalled VM perhaps
come in between), through httpcore's ``trace`` hook, and stops the request unsent with
:class:`LeaseRanOut`. The lane says which lease it is posting under with :func:`posting`
(a context variable: each lane is its own task).

This narrows the window and cannot close it: a pause between the last check and the
write, or a receiver slower than its answer deadline, still lets two attempts overlap.
The real guard is the receiver's dedupe on the ``webhook-id`` the attempts share.

Example::

    >>> time_left(lease_end=15.0, timeout=10.0, now=4.0), time_left(15.0, 10.0, now=6.0)
    (True, False)
"""

from __future__ import annotations

import contextvars
from typing import Any

from hooklab.model.errors import HooklabError

from ..clock import Clock

__all__ = ["LEASE_RAN_OUT", "LeaseCheck", "LeaseRanOut", "posting", "time_left"]

#: The body recorded for a claim not posted because its lease would end first.
LEASE_RAN_OUT = b"not sent: its lease would end before the answer came (the worker fell behind)"
_LEASE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "hooklab_lease", default=None)


class LeaseRanOut(HooklabError):
    """Raised inside the HTTP client to stop a request whose lease ran out, unsent."""


def time_left(lease_end: float, timeout: float, now: float) -> bool:
    """Whether an answer within ``timeout`` from ``now`` comes before ``lease_end``."""
    return now + timeout <= lease_end


def posting(lease_end: float, timeout: float) -> None:
    """The current task posts under a lease ending at ``lease_end``, with ``timeout``."""
    _LEASE.set((lease_end, timeout))


class LeaseCheck:
    """An httpx ``request`` event hook: the lease is checked before the first byte."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def __call__(self, request: Any) -> None:
        request.extensions["trace"] = self._trace

    async def _trace(self, name: str, info: Any) -> None:
        if name.endswith("send_request_headers.started"):
            lease = _LEASE.get()
            if lease is not None and not time_left(*lease, now=self.clock.now()):
                raise LeaseRanOut("the lease would end before the answer came")
