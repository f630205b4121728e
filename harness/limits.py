"""Request limits of the receivers: the body cap, requests and body bytes in flight, and
the body-read deadline; what both the reference and the flaky receiver enforce in ASGI.

Nothing about a request is trusted before its signature is checked, and the signature can
only be checked over the whole body, so a receiver must bound what it holds while it
reads. :class:`Limits` names the bounds and :class:`Admission` keeps the counts of one
app (one event loop, so no lock):

- ``max_body`` (default 1 MiB): a ``Content-Length`` above it is answered 413 before a byte
  of the body is read; a body without one (chunked) is answered 413 as soon as it runs past;
- ``max_concurrency``: requests inside the app at once; the next one gets 503;
- ``max_buffered``: bytes of request bodies held in memory at once (reserved up front from
  ``Content-Length``, or chunk by chunk); a body that does not fit gets 503;
- ``body_timeout``: the whole body must arrive within it, or the answer is 408.

Overload is refused with ``503`` and ``Retry-After`` (:data:`RETRY_AFTER`), not with
backpressure: a refused request costs the receiver nothing more, while a stalled one holds
its socket, its buffers and its sender's timeout; every sender in ``docs/reference.md``
reads 503 as "overloaded, retry later", so the message is not lost. Every refusal closes
the connection (``Connection: close``), so an unread body is never drained.

Example::

    >>> limits = Limits(max_body=10)
    >>> limits.refuse_length(b"11")
    Refusal(status=413, error='body of 11 bytes is over the 10-byte limit', retry_after=None)
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from hooklab.model.errors import ConfigError

__all__ = [
    "BODY_TIMEOUT",
    "MAX_BODY",
    "MAX_BUFFERED",
    "MAX_CONCURRENCY",
    "RETRY_AFTER",
    "Admission",
    "Body",
    "Limits",
    "Refusal",
    "read_limited",
]

#: Default body cap, in bytes.
MAX_BODY = 1024 * 1024
#: Default number of requests inside the app at once.
MAX_CONCURRENCY = 100
#: Default bytes of request bodies held in memory at once.
MAX_BUFFERED = 16 * 1024 * 1024
#: Default seconds for a whole body to arrive: the longest sender timeout in
#: ``docs/reference.md`` (Svix's open-source server, 30 s); past it, its sender gave up.
BODY_TIMEOUT = 30.0
#: Seconds a 503 asks the sender to wait.
RETRY_AFTER = 5


class Refusal(NamedTuple):
    """A request refused before the receiver's own logic ran: the status, why, and the
    ``Retry-After`` seconds of a 503."""

    status: int
    error: str
    retry_after: int | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``Connection: close``, and ``Retry-After`` when there is one."""
        extra = [(b"connection", b"close")]
        if self.retry_after is not None:
            extra.append((b"retry-after", str(self.retry_after).encode()))
        return extra


class Body(NamedTuple):
    """A body read within the limits, and the bytes of the budget it holds."""

    data: bytes
    reserved: int


@dataclass(frozen=True)
class Limits:
    """The bounds a receiver enforces on each request; see the module docstring. Each is
    checked here, so a wrong one fails at construction with the field it names."""

    max_body: int = MAX_BODY
    max_concurrency: int = MAX_CONCURRENCY
    max_buffered: int = MAX_BUFFERED
    body_timeout: float = BODY_TIMEOUT

    def __post_init__(self) -> None:
        for name in ("max_body", "max_concurrency", "max_buffered"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number >= 1, not {value!r}",
                                  field=name)
        if self.max_buffered < self.max_body:
            raise ConfigError(f"max_buffered ({self.max_buffered}) must be at least max_body "
                              f"({self.max_body}), or no body of the largest size fits",
                              field="max_buffered")
        timeout = self.body_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
            0 < timeout < math.inf
        ):
            raise ConfigError(f"body_timeout must be a number of seconds > 0, not {timeout!r}",
                              field="body_timeout")

    def refuse_length(self, content_length: bytes | None) -> Refusal | None:
        """The refusal a ``Content-Length`` value alone decides (400 unreadable, 413 too
        large), or ``None``.

        >>> Limits().refuse_length(b"12") is None, Limits().refuse_length(b"-1").status
        (True, 400)
        """
        if content_length is None:
            return None
        text = content_length.strip()
        if not text.isdigit() or len(text) > 18:
            return Refusal(400, f"unreadable Content-Length {text[:40]!r}")
        size = int(text)
        if size > self.max_body:
            return Refusal(413, f"body of {size} bytes is over the {self.max_body}-byte limit")
        return None


class Admission:
    """The counts of one app against its :class:`Limits`: requests inside, body bytes held.

    >>> gate = Admission(Limits(max_concurrency=1))
    >>> gate.enter() is None, gate.enter().status
    (True, 503)
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.active = 0
        self.buffered = 0
        self.refused = 0

    def enter(self) -> Refusal | None:
        """Count one request in, or the 503 that refuses it."""
        if self.active >= self.limits.max_concurrency:
            self.refused += 1
            return Refusal(503, f"over {self.limits.max_concurrency} requests at once",
                           RETRY_AFTER)
        self.active += 1
        return None

    def leave(self) -> None:
        """Count one request out."""
        self.active -= 1

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes of the body budget, if they fit."""
        if self.buffered + size > self.limits.max_buffered:
            return False
        self.buffered += size
        return True

    def release(self, size: int) -> None:
        """Give ``size`` bytes back to the budget."""
        self.buffered -= size

    def overloaded(self) -> Refusal:
        """The 503 for a body that does not fit the budget."""
        self.refused += 1
        return Refusal(503, f"over {self.limits.max_buffered} bytes of bodies in flight",
                       RETRY_AFTER)


async def read_limited(receive: Any, headers: Sequence[tuple[bytes, bytes]],
                       admission: Admission) -> Body | Refusal:
    """Read one request body within ``admission``'s limits: the :class:`Body` (its bytes
    reserved in the budget: the caller releases ``reserved``), or the :class:`Refusal`
    (nothing left reserved). A client that disconnects gets a refusal it never reads."""
    limits = admission.limits
    lengths = [value for name, value in headers if name.lower() == b"content-length"]
    refusal = limits.refuse_length(lengths[0] if lengths else None)
    if refusal is not None:
        return refusal
    reader = _Reader(admission, int(lengths[0]) if lengths else None)
    if reader.declared is not None and not reader.take(reader.declared):
        return admission.overloaded()
    try:
        async with asyncio.timeout(limits.body_timeout):
            outcome = await reader.read(receive)
    except TimeoutError:
        outcome = Refusal(408, f"body not received within {limits.body_timeout:g} s")
    except BaseException:
        admission.release(reader.reserved)
        raise
    if isinstance(outcome, Refusal):
        admission.release(reader.reserved)
        return outcome
    return Body(outcome, reader.reserved)


class _Reader:
    """One body being read, and the bytes it holds in the budget so far."""

    def __init__(self, admission: Admission, declared: int | None) -> None:
        self.admission = admission
        self.declared = declared
        self.reserved = 0

    def take(self, size: int) -> bool:
        if not self.admission.reserve(size):
            return False
        self.reserved += size
        return True

    async def read(self, receive: Any) -> bytes | Refusal:
        limit = self.admission.limits.max_body
        buffer = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return Refusal(400, "the client disconnected before the body ended")
            chunk = message.get("body", b"")
            if len(buffer) + len(chunk) > limit:
                return Refusal(413, f"body is over the {limit}-byte limit")
            if self.declared is None and not self.take(len(chunk)):  # chunked: as it comes
                return self.admission.overloaded()
            buffer += chunk
            if not message.get("more_body", False):
                return bytes(buffer)
