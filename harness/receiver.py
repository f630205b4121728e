"""The reference webhook receiver: the diagram's WebhookReceiver and EventProcessor lanes.

:class:`ReferenceReceiver` is a plain ASGI app. Each POST runs the Reception machine
(:class:`~hooklab.model.reception.Reception`, through its compiled table), so the answer is
whatever the machine's final state says, never a status chosen here:

1. verify the signature over the raw bytes received (``n8``/``n9``): 401 if it fails;
2. parse the JSON (``n10``): 400 if it is malformed;
3. acknowledge (``n11``) and queue for async processing (``n13``): 200 at once. A message
   id already seen is acknowledged too but not queued again, so it is processed once.

A background task runs each queued message through the Processing machine
(:class:`~hooklab.model.processing.Processing`): deserialize the event, route it by event
type to a registered handler, execute it, update local state, complete. A failing step
ends in a :class:`ProcessingRecord` with ``state == "failed"`` and the reason: nothing is
silently dropped.

Mount it in a Starlette or FastAPI app (``Mount("/webhooks", app=receiver)``), serve it
with ``hooklab serve receiver --secret S``, or drive it in-process with httpx.

Example::

    >>> receiver = ReferenceReceiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    >>> @receiver.on("invoice.paid")
    ... def paid(event):
    ...     return event.payload["data"]["amount"]
    >>> receiver.handler_for("invoice.paid") is paid
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from hooklab.model.compiled import compile_machine
from hooklab.model.endpoints import EventFilter
from hooklab.model.errors import ConfigError, VerificationError
from hooklab.model.processing import Processing
from hooklab.model.reception import STATUS_CODES, Reception
from hooklab.model.signing import DEFAULT_TOLERANCE, check_secret, get_scheme

from .clock import Clock, WallClock

__all__ = [
    "MAX_BODY_BYTES",
    "STATE_PATH",
    "Event",
    "Handler",
    "ProcessingRecord",
    "ReferenceReceiver",
    "Reply",
    "create_receiver",
]

#: Largest request body the receiver reads; a longer one gets 413 before the lane starts.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: GET on a path ending in this shows the processing state (when ``expose_state``).
STATE_PATH = "/_hooklab/state"

_RECEPTION = compile_machine(Reception)
_PROCESSING = compile_machine(Processing)
_log = logging.getLogger("hooklab.receiver")


class Event(NamedTuple):
    """One acknowledged message, as a handler gets it."""

    message_id: str
    event_type: str
    payload: Any
    body: bytes
    headers: Mapping[str, str]
    received_at: float


Handler = Callable[[Event], Any] | Callable[[Event], Awaitable[Any]]


class ProcessingRecord(NamedTuple):
    """How one queued message's processing ended: ``completed`` or ``failed`` (with the
    machine state where it failed, ``step``, and the ``error``)."""

    message_id: str
    event_type: str | None
    state: str
    step: str | None
    error: str | None
    received_at: float
    finished_at: float


class Reply(NamedTuple):
    """The receiver's answer to one request: a status and a small JSON body."""

    status: int
    body: dict[str, Any]


class ReferenceReceiver:
    """A receiver that follows the diagram exactly; see the module docstring.

    ``secrets`` are the signing secrets it accepts (any one may match: key rotation),
    checked with ``scheme`` at once (a malformed one raises
    :class:`~hooklab.model.errors.InvalidSecret`). ``tolerance`` is the allowed clock skew
    in seconds, read on ``clock`` (default: the wall clock). ``remember`` bounds how many
    message ids are kept for deduplication. ``expose_state`` answers GET
    ``.../_hooklab/state`` with the processing counts (``?message_id=ID`` for one message),
    so a conformance check over HTTP can see that a redelivery was processed once.
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        scheme: str = "standard",
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Clock | None = None,
        remember: int = 100_000,
        max_body: int = MAX_BODY_BYTES,
        expose_state: bool = False,
    ) -> None:
        self.scheme = get_scheme(scheme)
        listed = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        if not listed:
            raise ConfigError("the receiver needs at least one signing secret")
        self.secrets = tuple(check_secret(s, self.scheme.name) for s in listed)
        if not isinstance(tolerance, int | float) or not 0 <= tolerance < float("inf"):
            raise ConfigError(f"tolerance must be a finite number of seconds >= 0: {tolerance!r}")
        if remember < 1 or max_body < 1:
            raise ConfigError("remember and max_body must be at least 1")
        self.tolerance = float(tolerance)
        self.clock = clock or WallClock()
        self.remember = remember
        self.max_body = max_body
        self.expose_state = expose_state
        self.records: list[ProcessingRecord] = []
        self.processed: Counter[str] = Counter()
        self.by_type: Counter[str] = Counter()
        self.receptions: Counter[str] = Counter()
        self._handlers: list[tuple[str, EventFilter, Handler]] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._queue: asyncio.Queue[Event] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- handlers --------------------------------------------------------------------------

    def on(self, pattern: str) -> Callable[[Handler], Handler]:
        """Register the decorated function for event types matching ``pattern``
        (``invoice.paid``, ``invoice.*`` or ``*``); it may be sync or async."""

        def register(handler: Handler) -> Handler:
            self.add_handler(pattern, handler)
            return handler

        return register

    def add_handler(self, pattern: str, handler: Handler) -> None:
        """Route event types matching ``pattern`` to ``handler`` (first match wins, exact
        patterns before wildcards)."""
        if not callable(handler):
            raise ConfigError(f"handler for {pattern!r} must be callable, not {handler!r}")
        self._handlers.append((pattern, EventFilter([pattern]), handler))
        self._handlers.sort(key=lambda item: "*" in item[0])

    def handler_for(self, event_type: str) -> Handler | None:
        """The handler an event type is routed to, or ``None``."""
        for _, matcher, handler in self._handlers:
            if matcher.matches(event_type):
                return handler
        return None

    # -- observing processing ----------------------------------------------------------------

    @property
    def failures(self) -> list[ProcessingRecord]:
        """Processing that failed, in order."""
        return [r for r in self.records if r.state == "failed"]

    def processed_count(self, message_id: str) -> int:
        """How many times ``message_id`` was processed (completed): 1 after redeliveries."""
        return self.processed[message_id]

    async def drain(self) -> None:
        """Wait until every queued message is processed (call on the app's event loop)."""
        if self._queue is not None and self._loop is asyncio.get_running_loop():
            await self._queue.join()

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "GET" and self.expose_state and scope["path"].endswith(STATE_PATH):
            await _answer(send, Reply(200, self.state(scope.get("query_string", b""))))
            return
        if method != "POST":
            await _answer(send, Reply(405, {"error": "use POST"}), [(b"allow", b"POST")])
            return
        body = await _read_body(receive, self.max_body)
        if body is None:
            await _answer(send, Reply(413, {"error": f"body over {self.max_body} bytes"}))
            return
        await _answer(send, self.handle(_headers(scope), body))

    def handle(self, headers: Mapping[str, str], body: bytes) -> Reply:
        """Run one request through the Reception machine and return the answer (call it on
        an event loop: a queued message starts the processing task there)."""
        received_at = self.clock.now()
        state = _RECEPTION.initial
        try:
            message_id = self.scheme.verify(
                headers, body, secrets=self.secrets, now=received_at, tolerance=self.tolerance
            )
            reason = ""
        except VerificationError as exc:
            message_id, reason = "", str(exc)
        state = _RECEPTION.fire(state, "verify", not reason)
        if not _RECEPTION.is_final(state):
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, too deep
                payload, reason = None, f"malformed JSON: {exc}"
            state = _RECEPTION.fire(state, "parse", not reason)
        if not _RECEPTION.is_final(state):
            message_id = message_id or _fallback_id(payload, body)
            state = _RECEPTION.fire(state, "enqueue", self._first_time(message_id))
            if _RECEPTION.name(state) == "queued":
                event = Event(message_id, _event_type(payload, headers), payload, body,
                              headers, received_at)
                self._enqueue(event)
        final = _RECEPTION.name(state)
        self.receptions[final] += 1
        if reason:
            return Reply(STATUS_CODES[final], {"error": reason})
        return Reply(STATUS_CODES[final], {"status": final, "message_id": message_id})

    def state(self, query_string: bytes = b"") -> dict[str, Any]:
        """The processing counts shown at :data:`STATE_PATH`."""
        query = parse_qs(query_string.decode("latin-1"))
        if "message_id" in query:
            message_id = query["message_id"][0]
            return {"message_id": message_id, "processed": self.processed[message_id]}
        return {
            "receptions": dict(self.receptions),
            "processed": sum(self.processed.values()),
            "failed": len(self.failures),
            "by_type": dict(self.by_type),
            "queued": self._queue.qsize() if self._queue is not None else 0,
        }

    # -- the queue and the Processing lane ---------------------------------------------------

    def _first_time(self, message_id: str) -> bool:
        if message_id in self._seen:
            self._seen.move_to_end(message_id)
            return False
        self._seen[message_id] = None
        if len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return True

    def _enqueue(self, event: Event) -> None:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop or self._worker is None or (
            self._worker.done()
        ):
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._work(self._queue), name="hooklab-processing")
        self._queue.put_nowait(event)

    async def _work(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await self.process(event)
            finally:
                queue.task_done()

    async def process(self, event: Event) -> ProcessingRecord:
        """Run one event through the Processing machine and record how it ended."""
        state = _PROCESSING.initial
        step, error = None, None
        ok = event.event_type != ""
        state = _PROCESSING.fire(state, "deserialize", ok)
        if not ok:
            step, error = "deserializing", "no event type in the payload"
        handler = None
        if not _PROCESSING.is_final(state):
            handler = self.handler_for(event.event_type)
            state = _PROCESSING.fire(state, "route", handler is not None)
            if handler is None:
                step, error = "routing", f"no handler for event type {event.event_type!r}"
        if not _PROCESSING.is_final(state) and handler is not None:
            error = await _run(handler, event)
            state = _PROCESSING.fire(state, "execute", error is None)
            step = "executing" if error else None
        if not _PROCESSING.is_final(state):
            self.processed[event.message_id] += 1  # n21: update local state
            self.by_type[event.event_type] += 1
            state = _PROCESSING.fire(state, "complete")
        record = ProcessingRecord(event.message_id, event.event_type or None,
                                  _PROCESSING.name(state), step, error, event.received_at,
                                  self.clock.now())
        self.records.append(record)
        if error:
            _log.warning("processing %s failed at %s: %s", event.message_id, step, error)
        return record

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.drain(), 5.0)
                if self._worker is not None:
                    self._worker.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def __repr__(self) -> str:
        return f"ReferenceReceiver(scheme={self.scheme.name!r}, secrets={len(self.secrets)})"


def create_receiver(
    secret: str | Sequence[str], *, scheme: str = "standard", **kwargs: Any
) -> ReferenceReceiver:
    """A reference receiver that accepts every event type (a no-op handler for ``*``),
    so every valid delivery is processed; ``kwargs`` go to :class:`ReferenceReceiver`.

    >>> receiver = create_receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    >>> receiver.handler_for("anything.at.all") is not None
    True
    """
    receiver = ReferenceReceiver(secret, scheme=scheme, **kwargs)
    receiver.add_handler("*", _accept)
    return receiver


async def _accept(event: Event) -> None:
    """The default handler of :func:`create_receiver`: processing is the bookkeeping."""


async def _run(handler: Handler, event: Event) -> str | None:
    try:
        if inspect.iscoroutinefunction(handler):
            await handler(event)
        else:
            result = await asyncio.to_thread(handler, event)
            if inspect.isawaitable(result):
                await result
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _headers(scope: Mapping[str, Any]) -> Mapping[str, str]:
    from starlette.datastructures import Headers

    return Headers(raw=scope.get("headers", []))  # keeps repeated names, so they fail


async def _read_body(receive: Any, limit: int) -> bytes | None:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _answer(send: Any, reply: Reply, extra: list[tuple[bytes, bytes]] | None = None
                  ) -> None:
    body = json.dumps(reply.body).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _event_type(payload: Any, headers: Mapping[str, str]) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("type"), str):
        return payload["type"]
    return headers.get("x-github-event", "")


def _fallback_id(payload: Any, body: bytes) -> str:
    """Stripe sends no id header: its event id is in the payload."""
    if isinstance(payload, dict) and isinstance(payload.get("id"), str) and payload["id"]:
        return payload["id"]
    return "sha256:" + hashlib.sha256(body).hexdigest()
