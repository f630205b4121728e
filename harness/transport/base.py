"""The seam between a delivery and the receiver it is sent to: one request in, one response out.

A :class:`Channel` moves one request (URL, headers, raw body) to a receiver and brings back
its :class:`Response`: the attempt's :class:`~hooklab.model.outcomes.Outcome`, at most
:data:`MAX_RESPONSE_BYTES` of the body, how long it took, and, when no answer came, what the
transport said and whether a connection was made at all. Delivery logic talks only to this
protocol, so the sender, the outbox worker and the conformance harness run over every
channel of :mod:`hooklab.harness.transport` and never ask which.

Headers are a mapping, or a sequence of ``(name, value)`` pairs sent in that order: a name
may repeat and a value may be raw ``bytes`` (non-ASCII, malformed). The sender signs with a
mapping; the conformance checks forge with pairs (:class:`Request`). Every channel adds
``user-agent`` and ``accept-encoding: identity`` unless given.

Example::

    >>> Response(Outcome(401), elapsed=0.25).describe()
    '401 after 0.250 s'
    >>> Request(b"{}", (("Webhook-Id", "msg_1"), ("webhook-id", "msg_2"))).header("WEBHOOK-ID")
    'msg_1'
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import socket
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from hooklab.model.errors import ConfigError
from hooklab.model.outcomes import Outcome, classify, parse_retry_after

if TYPE_CHECKING:
    from ..clock import Clock

__all__ = [
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "Channel",
    "HeaderPairs",
    "Headers",
    "Request",
    "Response",
    "check_max_body",
    "check_timeout",
    "classify_exception",
    "connect_reason",
    "header_pairs",
    "message_id_of",
    "no_answer",
    "outcome_of",
    "read_capped",
]

#: The most of a response body a channel reads (the rest is dropped unread).
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "hooklab-sender/0.1"
#: Header pairs in the order they are sent; a value may be raw bytes.
HeaderPairs = Sequence[tuple[str, str | bytes]]
#: What :meth:`Channel.post` takes as headers.
Headers = Mapping[str, str] | HeaderPairs
#: Headers that carry the message id, by scheme (Stripe sends none).
_ID_HEADERS = ("webhook-id", "svix-id", "x-github-delivery")
_DEFAULTS = (("user-agent", USER_AGENT), ("accept-encoding", "identity"))


class Request(NamedTuple):
    """One POST as raw as HTTP carries it: the exact body bytes and header pairs, in order."""

    body: bytes
    headers: tuple[tuple[str, str | bytes], ...]

    def header(self, name: str) -> str | bytes | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class Response:
    """What one attempt brought back: its outcome and the start of the body.

    ``elapsed`` is the seconds from sending to the answer (or to giving up). When no
    status came back, ``detail`` says what the transport said (``"no answer within 10 s"``,
    ``"ReadError: ..."``) and ``connected`` is False if no connection was ever made (the
    receiver cannot have seen the request).
    """

    outcome: Outcome
    body: bytes = b""
    truncated: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    detail: str = ""
    connected: bool = True

    @property
    def status(self) -> int | None:
        """The HTTP status code, or ``None`` when the transport failed."""
        return None if self.outcome.error is not None else self.outcome.status_code

    @property
    def text(self) -> str:
        """The body read so far, decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def describe(self) -> str:
        """``"401 after 0.250 s"``, or what the transport said."""
        if self.status is not None:
            return f"{self.status} after {self.elapsed:.3f} s"
        return self.detail or self.outcome.label


@runtime_checkable
class Channel(Protocol):
    """Moves one request to a receiver; see the module docstring."""

    async def post(
        self, url: str, headers: Headers, body: bytes, *, timeout: float
    ) -> Response:
        """POST ``body`` with ``headers`` to ``url``; the whole attempt ends by ``timeout``
        seconds. Transport failures are outcomes, not exceptions."""
        ...

    async def aclose(self) -> None:
        """Release what the channel holds (connections)."""
        ...


def _pairs(headers: Headers) -> list[tuple[str, str | bytes]]:
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def header_pairs(headers: Headers) -> list[tuple[bytes, bytes]]:
    """``headers`` as the raw pairs a channel sends: in order, repeats kept, text as
    Latin-1, plus ``user-agent`` and ``accept-encoding`` unless given.

    >>> header_pairs([("X-A", "1"), ("x-a", b"\\xff")])
    [(b'X-A', b'1'), (b'x-a', b'\\xff'), (b'user-agent', b'hooklab-sender/0.1'), \
(b'accept-encoding', b'identity')]
    """
    pairs = _pairs(headers)
    given = {name.lower() for name, _ in pairs}
    pairs += [(name, value) for name, value in _DEFAULTS if name not in given]
    return [(name.encode("latin-1"),
             value if isinstance(value, bytes) else value.encode("latin-1"))
            for name, value in pairs]


def message_id_of(headers: Headers, body: bytes) -> str:
    """The message id a request carries, to count attempts of the same message.

    The scheme's id header when there is one; else a digest of the body, which is the
    same on every attempt of a message (only the signature headers change).

    >>> message_id_of({"Webhook-Id": "msg_1"}, b"{}")
    'msg_1'
    >>> message_id_of({}, b"{}")[:5]
    'body:'
    """
    for name, value in _pairs(headers):
        if name.lower() in _ID_HEADERS and value:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return "body:" + hashlib.sha256(body).hexdigest()[:24]


def classify_exception(exc: BaseException) -> Outcome:
    """The outcome of an attempt that ended in ``exc`` instead of an HTTP answer.

    Walks the exception's causes, so httpx, httpcore, anyio and socket errors all land on
    one of the transport error kinds.

    >>> classify_exception(ConnectionRefusedError(111, "refused")).error
    'connection_refused'
    """
    names: list[str] = []
    for current in _chain(exc):
        names.append(type(current).__name__)
        if isinstance(current, TimeoutError | asyncio.TimeoutError) or "Timeout" in names[-1]:
            return Outcome.transport("timeout")
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return Outcome.transport("tls")
        if isinstance(current, socket.gaierror):
            return Outcome.transport("dns")
        if isinstance(current, ConnectionRefusedError):
            return Outcome.transport("connection_refused")
        if isinstance(current, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return Outcome.transport("reset")
    text = str(exc).lower()
    if "ssl" in text or "certificate" in text or "tls" in text:
        return Outcome.transport("tls")
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return Outcome.transport("dns")
    if "refused" in text or "all connection attempts failed" in text:
        return Outcome.transport("connection_refused")
    return Outcome.transport("reset")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, then its causes, contexts and grouped exceptions, breadth first."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    found: list[BaseException] = []
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        pending.extend(getattr(current, "exceptions", ()))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return found


def connect_reason(exc: BaseException) -> str:
    """Why a connection could not be made, in the operating system's words when it gave
    some (the error number deepest in ``exc``'s causes).

    >>> connect_reason(OSError("All connection attempts failed"))
    'All connection attempts failed'
    >>> cause = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)")
    >>> try:
    ...     raise OSError("All connection attempts failed") from cause
    ... except OSError as exc:
    ...     connect_reason(exc)
    '[Errno 111] Connection refused'
    """
    for current in reversed(_chain(exc)):
        number = getattr(current, "errno", None)
        if isinstance(current, socket.gaierror):
            return str(current)
        if isinstance(current, OSError) and isinstance(number, int) and number > 0:
            return f"[Errno {number}] {os.strerror(number)}"
    return str(exc) or type(exc).__name__


def no_answer(timeout: float) -> str:
    """What a timed-out attempt's :attr:`Response.detail` says.

    >>> no_answer(10.0)
    'no answer within 10 s'
    """
    return f"no answer within {timeout:g} s"


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> tuple[bytes, bool]:
    """Read ``chunks`` up to ``limit`` bytes; returns the bytes and whether more came."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        room = limit - size
        if len(chunk) > room:
            parts.append(chunk[:room])
            return b"".join(parts), True
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts), False


def outcome_of(status: int, headers: Mapping[str, str], clock: Clock) -> Outcome:
    """The outcome of an answer with ``status``, reading its ``Retry-After`` at the clock's
    time (for an HTTP date)."""
    return classify(status, parse_retry_after(headers.get("retry-after"), clock.now()))


def check_timeout(timeout: float) -> float:
    """``timeout`` as a float; ConfigError unless it is a positive number of seconds.

    >>> check_timeout(0)
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ConfigError: timeout must be a positive number of seconds, not 0
    """
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
        math.isfinite(timeout) and timeout > 0
    ):
        raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}",
                          field="timeout")
    return float(timeout)


def check_max_body(max_body: int) -> int:
    """``max_body`` if it is a whole number of bytes >= 0, else a ConfigError."""
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
        raise ConfigError(f"max_body must be >= 0 bytes, not {max_body!r}", field="max_body")
    return max_body

