"""The seam between a delivery and the receiver it is sent to.

A :class:`Channel` moves one signed request (URL, headers, raw body) to a receiver and
brings back its :class:`Response`: the attempt's :class:`~hooklab.model.outcomes.Outcome`
and at most :data:`MAX_RESPONSE_BYTES` of the body. Delivery logic talks only to this
protocol, so the same sender runs over three implementations and never asks which:

- :class:`HttpChannel`: real HTTP with httpx. Redirects are not followed, the whole
  attempt has one deadline, and transport failures become the error kinds of
  :data:`~hooklab.model.outcomes.TRANSPORT_ERRORS` (timeout, connection_refused, reset,
  tls, dns).
- :class:`AppChannel`: an ASGI or WSGI app object in the same process, through httpx's
  ``ASGITransport`` / ``WSGITransport``; no socket, no network.
- :class:`SimulatedChannel`: a :class:`~hooklab.model.faults.ReceiverModel` answering on an
  injected :class:`~hooklab.harness.clock.Clock`, the same fault model the simulator uses.

Example::

    >>> import asyncio
    >>> from hooklab.harness.clock import FakeClock
    >>> from hooklab.model.faults import ReceiverModel
    >>> channel = SimulatedChannel(ReceiverModel.parse("status=503:1:30"), clock=FakeClock())
    >>> asyncio.run(channel.post("http://r.test/", {}, b"{}", timeout=15.0)).outcome
    Outcome(status_code=503, error=None, retry_after=30.0)
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import random
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hooklab.model.errors import ConfigError, InvalidURL
from hooklab.model.outcomes import Outcome, classify, parse_retry_after

from .clock import Clock, WallClock

if TYPE_CHECKING:
    import httpx

    from hooklab.model.faults import ReceiverModel

__all__ = [
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "AppChannel",
    "Channel",
    "HttpChannel",
    "Response",
    "SimulatedChannel",
    "classify_exception",
    "message_id_of",
]

#: The most of a response body a sender reads (the rest is dropped unread).
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "hooklab-sender/0.1"
#: Headers that carry the message id, by scheme (Stripe sends none).
_ID_HEADERS = ("webhook-id", "svix-id", "x-github-delivery")


@dataclass(frozen=True, slots=True)
class Response:
    """What one attempt brought back: its outcome and the start of the body."""

    outcome: Outcome
    body: bytes = b""
    truncated: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body read so far, decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


@runtime_checkable
class Channel(Protocol):
    """Moves one signed request to a receiver; see the module docstring."""

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float
    ) -> Response:
        """POST ``body`` with ``headers`` to ``url``; the whole attempt ends by ``timeout``
        seconds. Transport failures are outcomes, not exceptions."""
        ...

    async def aclose(self) -> None:
        """Release what the channel holds (connections)."""
        ...


def message_id_of(headers: Mapping[str, str], body: bytes) -> str:
    """The message id a request carries, to count attempts of the same message.

    The scheme's id header when there is one; else a digest of the body, which is the
    same on every attempt of a message (only the signature headers change).

    >>> message_id_of({"Webhook-Id": "msg_1"}, b"{}")
    'msg_1'
    >>> message_id_of({}, b"{}")[:5]
    'body:'
    """
    for name, value in headers.items():
        if name.lower() in _ID_HEADERS and value:
            return value
    return "body:" + hashlib.sha256(body).hexdigest()[:24]


def classify_exception(exc: BaseException) -> Outcome:
    """The outcome of an attempt that ended in ``exc`` instead of an HTTP answer.

    Walks the exception's causes, so httpx, httpcore, anyio and socket errors all land on
    one of the transport error kinds.

    >>> classify_exception(ConnectionRefusedError(111, "refused")).error
    'connection_refused'
    """
    import socket

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    names: list[str] = []
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
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
        pending.extend(getattr(current, "exceptions", ()))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    text = str(exc).lower()
    if "ssl" in text or "certificate" in text or "tls" in text:
        return Outcome.transport("tls")
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return Outcome.transport("dns")
    if "refused" in text or "all connection attempts failed" in text:
        return Outcome.transport("connection_refused")
    return Outcome.transport("reset")


def _headers_out(headers: Mapping[str, str]) -> dict[str, str]:
    out = {"user-agent": USER_AGENT, "accept-encoding": "identity"}
    out.update({name: value for name, value in headers.items()})
    return out


async def _read_capped(chunks: AsyncIterator[bytes], limit: int) -> tuple[bytes, bool]:
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


def _outcome(status: int, headers: Mapping[str, str], clock: Clock) -> Outcome:
    return classify(status, parse_retry_after(headers.get("retry-after"), clock.now()))


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
        math.isfinite(timeout) and timeout > 0
    ):
        raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return float(timeout)


class HttpChannel:
    """Real HTTP with an ``httpx.AsyncClient``; see the module docstring.

    ``connect_timeout`` bounds the TCP and TLS handshake (never beyond the attempt's
    timeout); ``client`` lets a caller share a client (it is then not closed here).

    >>> channel = HttpChannel()
    >>> channel.max_body
    65536
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        max_body: int = MAX_RESPONSE_BYTES,
        connect_timeout: float | None = None,
        verify: bool | ssl.SSLContext = True,
        clock: Clock | None = None,
    ) -> None:
        import httpx

        if max_body < 0:
            raise ConfigError(f"max_body must be >= 0 bytes, not {max_body!r}")
        self.max_body = max_body
        self.connect_timeout = connect_timeout
        self._clock = clock or WallClock()  # for Retry-After given as an HTTP date
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            follow_redirects=False, verify=verify, trust_env=False
        )
        self._httpx = httpx

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float
    ) -> Response:
        """POST once; never follows a redirect, never reads past ``max_body``."""
        httpx = self._httpx
        timeout = _check_timeout(timeout)
        connect = min(timeout, self.connect_timeout or timeout)
        status: int | None = None
        try:
            async with asyncio.timeout(timeout):
                async with self._client.stream(
                    "POST",
                    url,
                    headers=_headers_out(headers),
                    content=bytes(body),
                    timeout=httpx.Timeout(timeout, connect=connect),
                    follow_redirects=False,
                ) as answer:
                    status = answer.status_code
                    data, truncated = await _read_capped(answer.aiter_raw(), self.max_body)
                    return Response(
                        _outcome(status, answer.headers, self._clock),
                        data,
                        truncated,
                        dict(answer.headers),
                    )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise InvalidURL(f"cannot POST to {url!r}: {exc}") from None
        except (httpx.TransportError, OSError, TimeoutError, ssl.SSLError) as exc:
            return Response(classify_exception(exc))

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"HttpChannel(max_body={self.max_body})"


class AppChannel:
    """An in-process ASGI or WSGI app, through httpx's app transports (no network).

    ``kind`` is ``"asgi"``, ``"wsgi"`` or ``"auto"`` (a coroutine ``__call__`` or three
    parameters mean ASGI). The app answers whatever URL it is given. An exception from
    the app is what a server would make of it: a 500, or a reset for a connection error
    (the flaky receiver raises ``ConnectionResetError`` to reset in-process).
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        kind: str = "auto",
        max_body: int = MAX_RESPONSE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        import httpx

        if not callable(app):
            raise ConfigError(f"AppChannel needs an ASGI or WSGI app, not {app!r}")
        self.kind = _app_kind(app) if kind == "auto" else kind
        if self.kind not in ("asgi", "wsgi"):
            raise ConfigError(f"app kind must be 'asgi', 'wsgi' or 'auto', not {kind!r}")
        self.app = app
        self.max_body = max_body
        self._clock = clock or WallClock()
        if self.kind == "asgi":
            self._async: Any = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), follow_redirects=False
            )
            self._sync: Any = None
        else:
            self._async = None
            self._sync = httpx.Client(
                transport=httpx.WSGITransport(app=app), follow_redirects=False
            )

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float
    ) -> Response:
        """POST once to the app; the attempt times out after ``timeout`` seconds."""
        timeout = _check_timeout(timeout)
        try:
            if self.kind == "asgi":
                async with asyncio.timeout(timeout):
                    answer = await self._async.post(
                        url, headers=_headers_out(headers), content=bytes(body)
                    )
            else:
                call = asyncio.to_thread(
                    self._sync.post, url, headers=_headers_out(headers), content=bytes(body)
                )
                answer = await asyncio.wait_for(call, timeout)
        except (TimeoutError, OSError) as exc:
            return Response(classify_exception(exc))
        except Exception as exc:  # what a server does with an app's crash
            return Response(classify(500), f"app raised {type(exc).__name__}".encode())
        data = answer.content
        return Response(
            _outcome(answer.status_code, answer.headers, self._clock),
            data[: self.max_body],
            len(data) > self.max_body,
            dict(answer.headers),
        )

    async def aclose(self) -> None:
        """Close the in-process client."""
        if self._async is not None:
            await self._async.aclose()
        if self._sync is not None:
            self._sync.close()

    def __repr__(self) -> str:
        return f"AppChannel({type(self.app).__name__}, kind={self.kind!r})"


def _app_kind(app: Callable[..., Any]) -> str:
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else app.__call__  # type: ignore[operator]
    if inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        params = [
            p for p in inspect.signature(call).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return "asgi"
    return "wsgi" if len(params) == 2 else "asgi"


class SimulatedChannel:
    """A :class:`~hooklab.model.faults.ReceiverModel` as a receiver, on ``clock``.

    Time in the model's windows counts from ``origin`` (default: the clock's time when the
    channel is made). Attempts are counted per message (see :func:`message_id_of`), so
    scripted sequences apply to each message's attempts. ``rng`` (or ``seed``) makes the
    faults reproducible.
    """

    def __init__(
        self,
        model: ReceiverModel,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
        origin: float | None = None,
    ) -> None:
        if not hasattr(model, "answer"):
            raise ConfigError(f"SimulatedChannel needs a ReceiverModel, not {model!r}")
        self.model = model
        self.clock = clock or WallClock()
        self.rng = rng if rng is not None else random.Random(seed)
        self.origin = self.clock.now() if origin is None else origin
        self.attempts: dict[str, int] = {}
        self.in_flight = 0

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float
    ) -> Response:
        """Ask the model for an answer and take as long as it says, up to ``timeout``."""
        timeout = _check_timeout(timeout)
        key = message_id_of(headers, body)
        attempt = self.attempts.get(key, 0) + 1
        self.attempts[key] = attempt
        answer = self.model.answer(
            now=self.clock.now() - self.origin,
            attempt=attempt,
            in_flight=self.in_flight,
            rng=self.rng,
        )
        if answer.error == "connection_refused":
            return Response(Outcome.transport("connection_refused"))
        self.in_flight += 1
        try:
            if answer.error == "timeout" or answer.total > timeout:
                await self.clock.sleep(timeout)
                return Response(Outcome.transport("timeout"))
            if answer.total > 0:
                await self.clock.sleep(answer.total)
            else:
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
        if answer.error in ("reset", "truncated") or answer.status is None:
            return Response(Outcome.transport("reset"))
        return Response(classify(answer.status, answer.retry_after))

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"SimulatedChannel({self.model!r})"
