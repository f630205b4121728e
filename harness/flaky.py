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

Example::

    >>> flaky = FlakyReceiver("status=503:1:30", seed=1)
    >>> flaky.model.status[0].retry_after
    30.0
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import socket
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from hooklab.model.errors import ConfigError, VerificationError
from hooklab.model.faults import Answer, ReceiverModel
from hooklab.model.signing import DEFAULT_TOLERANCE, check_secret, get_scheme

from .clock import Clock, WallClock
from .request_log import RequestLog, RequestRecord, open_request_log
from .transport import message_id_of

__all__ = ["MAX_HANG", "FlakyReceiver"]

#: The longest a ``timeout`` answer hangs when the sender never gives up.
MAX_HANG = 3600.0
_MAX_BODY = 5 * 1024 * 1024
_CHUNK_SECONDS = 0.05


class FlakyReceiver:
    """An ASGI receiver driven by a fault model; see the module docstring.

    ``model`` is a :class:`~hooklab.model.faults.ReceiverModel`, a compact string
    (``"status=503:0.3 latency=0.2"``) or a TOML-style table. ``log`` is a
    :class:`~hooklab.harness.request_log.RequestLog`, a path (``.jsonl`` or ``.sqlite``)
    or ``None`` (in memory). Fault draws come from ``rng`` (or ``random.Random(seed)``);
    times from ``clock``.
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
    ) -> None:
        self.model = _model(model)
        self.scheme = get_scheme(scheme)
        listed = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        self.secrets = tuple(check_secret(s, self.scheme.name) for s in listed)
        if reject_invalid and not self.secrets:
            raise ConfigError("reject_invalid needs at least one secret to verify with")
        if not isinstance(tolerance, int | float) or not 0 <= tolerance < math.inf:
            raise ConfigError(f"tolerance must be a finite number of seconds >= 0: {tolerance!r}")
        if not isinstance(max_hang, int | float) or not 0 < max_hang < math.inf:
            raise ConfigError(f"max_hang must be a positive number of seconds: {max_hang!r}")
        self.tolerance = float(tolerance)
        self.log: RequestLog = (
            open_request_log(log) if log is None or isinstance(log, str | os.PathLike) else log
        )
        self.clock = clock or WallClock()
        self.rng = rng if rng is not None else random.Random(seed)
        self.reject_invalid = reject_invalid
        self.max_hang = float(max_hang)
        self.origin = self.clock.now()
        self.in_flight = 0
        self.attempts: dict[str, int] = {}
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
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        self.in_flight += 1
        try:
            answer = self.decide(scope["method"], scope["path"], headers, body)
            await self._carry_out(answer, receive, send)
        finally:
            self.in_flight -= 1

    def decide(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> Answer:
        """Verify, count the attempt, ask the model, and record the request; returns the
        answer to carry out."""
        arrived = self.clock.now()
        valid, problem, message_id = self._verify(headers, body, arrived)
        attempt = self.attempts.get(message_id, 0) + 1
        self.attempts[message_id] = attempt
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
            self._seq, arrived, method, path, message_id, attempt, dict(headers), valid,
            answer.status if answer.error is None else None, answer.error,
            None if math.isinf(answer.latency) else answer.latency, answer.retry_after,
            answer.fault, len(body), problem,
        ))
        return answer

    def _verify(
        self, headers: Mapping[str, str], body: bytes, now: float
    ) -> tuple[bool | None, str | None, str]:
        fallback = message_id_of(headers, body)
        if not self.secrets:
            return None, None, fallback
        try:
            verified = self.scheme.verify(
                headers, body, secrets=self.secrets, now=now, tolerance=self.tolerance
            )
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


async def _read_body(receive: Any) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if size < _MAX_BODY:
            parts.append(chunk[: _MAX_BODY - size])
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
