"""The flaky receiver: a real ASGI receiver that fails the way the simulator's receivers do.

:class:`FlakyReceiver` answers each request as its :class:`~hooklab.model.faults.
ReceiverModel` decides (the same model, names and parameters as the simulator's receivers:
``status``, ``latency``, ``timeout``, ``reset``, ``truncated``, ``bandwidth``, ``down``,
``capacity``, ``script``, ``unauthorized``, ``gone``, ``processing``), and records every
request to a :mod:`~hooklab.harness.request_log` (id, time, headers, whether the signature
verified, and its own answer). Point any real sender at it, then read the log to see what
the sender did.

How each answer is carried out:

- a status: sent after the latency, with ``Retry-After`` when the model gives one; a
  ``bandwidth`` fault trickles the body; a synchronous ``processing`` lane adds its time;
- ``timeout``: no answer; the request hangs until the sender gives up (or ``max_hang``);
- ``reset``: under uvicorn the TCP connection is aborted with an RST; in-process (httpx's
  ASGI transport) the app raises :class:`ConnectionResetError`, which
  :class:`~hooklab.harness.transport.AppChannel` reports as a reset;
- ``down`` (connection refused): a real server has already accepted the connection, so
  over HTTP it resets it at once; in-process it raises :class:`ConnectionRefusedError`;
- ``truncated``: a 200 whose body stops half way, then a reset.

``slow_close`` has no visible effect over HTTP/1.1 keep-alive and is only recorded.
Signatures are verified when secrets are given and the result recorded; faults apply
whatever it is, unless ``reject_invalid`` answers 401 to a bad signature. Window times
(``down``, ``gone``, ``unauthorized``) count from the receiver's start.

Whatever the model says, the request limits of :mod:`~hooklab.harness.limits` come first
(413 past ``max_body``, 503 with ``Retry-After`` past ``max_concurrency`` requests or
``max_buffered`` body bytes, 408 past ``body_timeout``); such a refusal is logged too, with
its fault named ``limit`` and the model not asked. What the receiver keeps is bounded:

- attempts are counted per message id for the ``remember`` most recently seen ids (default
  100,000; least recently seen forgotten first): a forgotten id that comes back counts
  from attempt 1 again, so a ``script`` restarts for it;
- the request log keeps at most ``log_max_bytes`` (see :mod:`~hooklab.harness.request_log`
  for what each kind of log keeps).

Example::

    >>> flaky = FlakyReceiver("status=503:1:30", seed=1)
    >>> flaky.model.status[0].retry_after
    30.0
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import random
import socket
import struct
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from hooklab.model.endpoints import mask_url
from hooklab.model.errors import ConfigError, VerificationError
from hooklab.model.faults import Answer, ReceiverModel
from hooklab.model.signing import DEFAULT_TOLERANCE, check_secret, get_scheme

from .clock import Clock, WallClock
from .inbox import REMEMBER
from .incoming import check_public_url, request_url
from .limits import (
    BODY_TIMEOUT,
    MAX_BODY,
    MAX_BUFFERED,
    MAX_CONCURRENCY,
    Admission,
    Limits,
    Refusal,
    read_limited,
)
from .request_log import LOG_MAX_BYTES, RequestLog, RequestRecord, open_request_log
from .transport import message_id_of

__all__ = ["MAX_HANG", "FlakyReceiver"]

#: The longest a ``timeout`` answer hangs when the sender never gives up.
MAX_HANG = 3600.0
_CHUNK_SECONDS = 0.05
_LONGEST_ID = 256


class FlakyReceiver:
    """An ASGI receiver driven by a fault model; see the module docstring.

    ``model`` is a :class:`~hooklab.model.faults.ReceiverModel`, a compact string
    (``"status=503:0.3 latency=0.2"``) or a TOML-style table. ``log`` is a
    :class:`~hooklab.harness.request_log.RequestLog`, a path (``.jsonl`` or ``.sqlite``)
    or ``None`` (in memory), holding at most ``log_max_bytes`` when opened here. Fault
    draws come from ``rng`` (or ``random.Random(seed)``); times from ``clock``.
    ``remember`` bounds the ids whose attempts are counted; ``max_body``,
    ``max_concurrency``, ``max_buffered`` and ``body_timeout`` are the request limits.
    """

    def __init__(
        self,
        model: ReceiverModel | str | Mapping[str, Any] | None = None,
        *,
        secrets: str | Sequence[str] = (),
        scheme: str = "standard",
        tolerance: float = DEFAULT_TOLERANCE,
        log: RequestLog | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
        reject_invalid: bool = False,
        max_hang: float = MAX_HANG,
        remember: int = REMEMBER,
        log_max_bytes: int = LOG_MAX_BYTES,
        max_body: int = MAX_BODY,
        max_concurrency: int = MAX_CONCURRENCY,
        max_buffered: int = MAX_BUFFERED,
        body_timeout: float = BODY_TIMEOUT,
        public_url: str | None = None,
    ) -> None:
        self.model = _model(model)
        self.scheme = get_scheme(scheme)
        self.public_url = check_public_url(public_url)
        if public_url is not None and "url" not in self.scheme.inputs:
            raise ConfigError(f"public_url: the {self.scheme.name} scheme signs no URL",
                              field="public_url")
        listed = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        self.secrets = tuple(check_secret(s, self.scheme.name) for s in listed)
        if reject_invalid and not self.secrets:
            raise ConfigError("reject_invalid needs at least one secret to verify with")
        if not isinstance(tolerance, int | float) or not 0 <= tolerance < math.inf:
            raise ConfigError(f"tolerance must be a finite number of seconds >= 0: {tolerance!r}")
        if not isinstance(max_hang, int | float) or not 0 < max_hang < math.inf:
            raise ConfigError(f"max_hang must be a positive number of seconds: {max_hang!r}")
        if isinstance(remember, bool) or not isinstance(remember, int) or remember < 1:
            raise ConfigError(f"remember must be a whole number >= 1, not {remember!r}",
                              field="remember")
        self.limits = Limits(max_body=max_body, max_concurrency=max_concurrency,
                             max_buffered=max_buffered, body_timeout=body_timeout)
        self.tolerance = float(tolerance)
        self.remember = remember
        self.admission = Admission(self.limits)
        self.log: RequestLog = (
            open_request_log(log, max_bytes=log_max_bytes)
            if log is None or isinstance(log, str | os.PathLike) else log
        )
        self.clock = clock or WallClock()
        self.rng = rng if rng is not None else random.Random(seed)
        self.reject_invalid = reject_invalid
        self.max_hang = float(max_hang)
        self.origin = self.clock.now()
        self.in_flight = 0
        #: Attempts counted per message id, least recently seen first (at most ``remember``).
        self.attempts: OrderedDict[str, int] = OrderedDict()
        self._seq = 0

    def records(self) -> list[RequestRecord]:
        """Every request recorded so far, in arrival order."""
        return self.log.records()

    def close(self) -> None:
        """Close the request log."""
        self.log.close()

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw = scope.get("headers", [])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
        url = request_url(scope, self.public_url) if "url" in self.scheme.inputs else None
        query = scope.get("query_string", b"").decode("latin-1")
        if query:  # logged with the path, credentials masked (mask_url)
            scope = {**scope, "path": mask_url(scope["path"] + "?" + query)}
        refusal = self.admission.enter()
        if refusal is not None:
            await self._refuse(scope, headers, refusal, send)
            return
        try:
            body = await read_limited(receive, raw, self.admission)
            if isinstance(body, Refusal):
                await self._refuse(scope, headers, body, send)
                return
            self.in_flight += 1
            try:
                answer = self.decide(scope["method"], scope["path"], headers, body.data,
                                     url=url)
                await self._carry_out(answer, receive, send)
            finally:
                self.in_flight -= 1
                self.admission.release(body.reserved)
        finally:
            self.admission.leave()

    async def _refuse(self, scope: Mapping[str, Any], headers: Mapping[str, str],
                      refusal: Refusal, send: Any) -> None:
        """Answer a request the limits refuse, and log it (the model is not asked)."""
        message_id = message_id_of(headers, b"")
        self._seq += 1
        self.log.append(RequestRecord(
            self._seq, self.clock.now(), scope["method"], scope["path"], message_id,
            self._count_attempt(message_id), _loggable(headers), None, refusal.status, None, 0.0,
            refusal.retry_after, "limit", 0, None,
        ))
        body = json.dumps({"status": refusal.status, "error": refusal.error}).encode()
        await send({"type": "http.response.start", "status": refusal.status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            *refusal.headers()]})
        await send({"type": "http.response.body", "body": body})

    def _count_attempt(self, message_id: str) -> int:
        key = message_id if len(message_id) <= _LONGEST_ID else (
            "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest())
        attempt = self.attempts.pop(key, 0) + 1
        self.attempts[key] = attempt  # now the most recently seen
        if len(self.attempts) > self.remember:
            self.attempts.popitem(last=False)
        return attempt

    def decide(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, *,
        url: str | None = None,
    ) -> Answer:
        """Verify, count the attempt, ask the model, and record the request; returns the
        answer to carry out (``url``: the request's, for the schemes that sign it)."""
        arrived = self.clock.now()
        signed = {"url": url or self.public_url, "method": method}
        inputs = {name: signed[name] for name in self.scheme.inputs if name in signed}
        valid, problem, message_id = self._verify(headers, body, arrived, inputs)
        attempt = self._count_attempt(message_id)
        answer = self.model.answer(
            now=arrived - self.origin, attempt=attempt, in_flight=self.in_flight - 1,
            rng=self.rng,
        )
        if self.reject_invalid and not valid:
            answer = Answer(401, None, 0.0, None, "signature")
        processing = self.model.processing
        if processing is not None and processing.synchronous and answer.status is not None:
            answer = answer._replace(latency=answer.latency + processing.time)
        self._seq += 1
        self.log.append(RequestRecord(
            self._seq, arrived, method, path, message_id, attempt, _loggable(headers), valid,
            answer.status if answer.error is None else None, answer.error,
            None if math.isinf(answer.latency) else answer.latency, answer.retry_after,
            answer.fault, len(body), problem,
        ))
        return answer

    def _verify(
        self, headers: Mapping[str, str], body: bytes, now: float,
        inputs: Mapping[str, str | None],
    ) -> tuple[bool | None, str | None, str]:
        fallback = message_id_of(headers, body)
        if not self.secrets:
            return None, None, fallback
        try:
            verified = self.scheme.verify(
                headers, body, secrets=self.secrets, now=now, tolerance=self.tolerance,
                **inputs)
        except VerificationError as exc:
            return False, str(exc), fallback
        return True, None, verified or fallback

    async def _carry_out(self, answer: Answer, receive: Any, send: Any) -> None:
        if answer.error == "timeout":
            await self._hang(receive)
            return
        if answer.error == "connection_refused":
            await _abort(send, ConnectionRefusedError("flaky receiver is down"))
            return
        if answer.latency > 0:
            await self.clock.sleep(answer.latency)
        if answer.error == "reset":
            await _abort(send, ConnectionResetError("flaky receiver reset the connection"))
            return
        status = answer.status if answer.status is not None else 200
        body = json.dumps({"status": status, "fault": answer.fault}).encode()
        if self.model.bandwidth is not None and answer.transfer > 0:
            body = body.ljust(self.model.bandwidth.body_bytes, b" ")
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        if answer.retry_after is not None:
            headers.append((b"retry-after", str(math.ceil(answer.retry_after)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if answer.error == "truncated":
            await send({"type": "http.response.body", "body": body[: len(body) // 2],
                        "more_body": True})
            await _abort(send, ConnectionResetError("flaky receiver truncated the body"))
            return
        await self._send_body(body, answer.transfer, send)

    async def _send_body(self, body: bytes, transfer: float, send: Any) -> None:
        if transfer <= 0 or len(body) < 2:
            await send({"type": "http.response.body", "body": body})
            return
        chunks = max(1, min(len(body), math.ceil(transfer / _CHUNK_SECONDS)))
        size = math.ceil(len(body) / chunks)
        for start in range(0, len(body), size):
            await self.clock.sleep(transfer / chunks)
            more = start + size < len(body)
            await send({"type": "http.response.body", "body": body[start:start + size],
                        "more_body": more})

    async def _hang(self, receive: Any) -> None:
        """Wait for the sender to give up (its disconnect), at most ``max_hang``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_hang):
                while (await receive())["type"] != "http.disconnect":
                    pass

    def __repr__(self) -> str:
        return f"FlakyReceiver({self.model!r})"


def _loggable(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as the request log keeps them: credentials (``Authorization``, which
    carries a URL's ``user:password``) shown by their scheme only."""
    kept = dict(headers)
    for name in ("authorization", "proxy-authorization"):
        if name in kept:
            kept[name] = kept[name].split(" ", 1)[0] + " ***"
    return kept


def _model(model: ReceiverModel | str | Mapping[str, Any] | None) -> ReceiverModel:
    if model is None:
        return ReceiverModel()
    if isinstance(model, ReceiverModel):
        return model
    if isinstance(model, str):
        return ReceiverModel.parse(model)
    if isinstance(model, Mapping):
        return ReceiverModel.from_mapping(model)
    raise ConfigError(f"a flaky receiver needs a ReceiverModel, a string or a table, not "
                      f"{type(model).__name__}")


async def _abort(send: Any, error: OSError) -> None:
    """Reset the connection under uvicorn; elsewhere raise ``error`` (a server-less app
    transport has no connection to reset)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise error
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    for _ in range(3):  # let uvicorn see the connection lost, so it sends no 500
        await asyncio.sleep(0)


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
