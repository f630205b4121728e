"""The reference webhook receiver: the diagram's WebhookReceiver and EventProcessor lanes.

:class:`ReferenceReceiver` is a plain ASGI app. Each POST runs the Reception machine
(:class:`~hooklab.model.reception.Reception`, through its compiled table), so the answer is
whatever the machine's final state says, never a status chosen here:

1. verify the signature over the raw bytes received (``n8``/``n9``): 401 if it fails;
   schemes that sign the request URL (twilio, square, hubspot) check it against the URL
   the request was sent to (``public_url`` states it behind a proxy);
2. parse the JSON strictly (``n10``, :mod:`~hooklab.harness.strict_json`): 400 if it is
   malformed, holds ``NaN`` or ``Infinity``, or nests deeper than 64 levels (a form body,
   as Twilio posts, is read as a form; see :mod:`~hooklab.harness.incoming`);
3. acknowledge (``n11``) and queue for async processing (``n13``): the 200 is sent once the
   message is in the :mod:`~hooklab.harness.inbox`. A message seen before is acknowledged
   too but not queued again, so it is processed once. A handshake of the scheme's provider
   (Slack's ``url_verification``, Discord's PING) is answered as the provider asks, and
   not queued.

**Memory mode loses acknowledged messages on a crash.** By default the queue is in memory:
if the process dies (SIGKILL, out of memory, a power cut), every message it acknowledged
and had not processed yet is gone, and the sender, which got its 200, never sends it again.
Give ``store=PATH`` (``hooklab serve receiver --store PATH``) and each message is committed
to SQLite before the 200; a receiver started again on the same file processes what was left.

Duplicates are recognised on :func:`~hooklab.harness.inbox.dedupe_key`: the message id when
the scheme signs it (Standard Webhooks, Stripe), else a digest of the signed body. GitHub
signs the body alone, so a replay of a captured delivery with a fresh ``X-GitHub-Delivery``
is a duplicate here. The record of seen messages is a window (``dedupe_window`` seconds,
``remember`` keys; see :mod:`~hooklab.harness.inbox`).

Before the lane starts, the request limits of :mod:`~hooklab.harness.limits` apply: 413
past ``max_body`` (1 MiB by default), 503 with ``Retry-After`` past ``max_concurrency``
requests, ``max_buffered`` body bytes or ``max_queued`` messages waiting for processing,
408 past ``body_timeout``. In memory mode a queued message's body counts against
``max_buffered`` until it is processed.

A background task (:class:`~hooklab.harness.processor.EventProcessor`) runs each queued
message through the Processing machine: deserialize, route by event type to a registered
handler, execute, update local state, complete. A failing step ends in a
:class:`ProcessingRecord` with ``state == "failed"`` and the reason: nothing is silently
dropped.

Mount it in a Starlette or FastAPI app (``Mount("/webhooks", app=receiver)``), serve it
with ``hooklab serve receiver`` (the secret in ``HOOKLAB_SECRET``), or drive it in-process
with httpx.

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
import hmac
import logging
import os
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from hooklab.model.compiled import compile_machine
from hooklab.model.errors import ConfigError, StoreError, VerificationError
from hooklab.model.reception import STATUS_CODES, Reception
from hooklab.model.signing import DEFAULT_TOLERANCE, check_secret, get_scheme
from hooklab.model.sqlite import Database

from .clock import Clock, WallClock
from .inbox import (
    DEDUPE_WINDOW,
    MAX_QUEUED,
    REMEMBER,
    Event,
    Handler,
    Inbox,
    ProcessingRecord,
    dedupe_key,
    open_inbox,
)
from .incoming import (
    Reply,
    answer,
    check_public_url,
    event_type,
    fallback_id,
    handshake_reply,
    parse_payload,
    refused,
    request_headers,
    request_url,
)
from .limits import (
    BODY_TIMEOUT,
    MAX_BODY,
    MAX_BUFFERED,
    MAX_CONCURRENCY,
    RETRY_AFTER,
    Admission,
    Limits,
    Refusal,
    read_limited,
)
from .processor import RECORDS_KEPT, EventProcessor

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_QUEUED",
    "RECORDS_KEPT",
    "STATE_PATH",
    "Event",
    "Handler",
    "ProcessingRecord",
    "ReferenceReceiver",
    "Reply",
    "create_receiver",
]

#: Largest request body the receiver reads by default; past it, 413 (see ``max_body``).
MAX_BODY_BYTES = MAX_BODY
#: GET on a path ending in this shows the processing state (when ``expose_state``).
STATE_PATH = "/_hooklab/state"
_LONGEST_QUERY_ID = 256

_RECEPTION = compile_machine(Reception)
_log = logging.getLogger("hooklab.receiver")


class ReferenceReceiver:
    """A receiver that follows the diagram exactly; see the module docstring.

    ``secrets`` are the signing secrets it accepts (any one may match: key rotation),
    checked with ``scheme`` at once (a malformed one raises
    :class:`~hooklab.model.errors.InvalidSecret`); an asymmetric scheme takes the public
    key (``whpk_``, SendGrid's base64 key, Discord's hex key). ``public_url`` is the URL
    the provider posts to, for the schemes that sign it, when it is not the one the request
    arrives at (behind a proxy); the request's query is appended. ``tolerance`` is the
    allowed clock skew in seconds, read on ``clock`` (default: the wall clock).

    ``store`` is where acknowledged messages wait: ``None`` in memory (lost on a crash), or
    a SQLite path (committed before the 200, resumed after a restart). ``remember`` and
    ``dedupe_window`` bound the record of seen messages (see :mod:`~hooklab.harness.inbox`);
    ``max_queued`` the messages waiting for processing. ``max_body``, ``max_concurrency``,
    ``max_buffered`` and ``body_timeout`` are the request limits of
    :class:`~hooklab.harness.limits.Limits`.

    ``expose_state`` answers GET ``.../_hooklab/state`` with the processing counts
    (``?message_id=ID`` for one message), so a conformance check over HTTP can see that a
    redelivery was processed once; with ``state_token`` that view asks for
    ``Authorization: Bearer <state_token>`` (401 otherwise).
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        scheme: str = "standard",
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Clock | None = None,
        store: str | os.PathLike[str] | Database | Inbox | None = None,
        remember: int = REMEMBER,
        dedupe_window: float = DEDUPE_WINDOW,
        max_queued: int = MAX_QUEUED,
        max_body: int = MAX_BODY,
        max_concurrency: int = MAX_CONCURRENCY,
        max_buffered: int = MAX_BUFFERED,
        body_timeout: float = BODY_TIMEOUT,
        expose_state: bool = False,
        state_token: str | None = None,
        public_url: str | None = None,
    ) -> None:
        self.scheme = get_scheme(scheme)
        self.public_url = check_public_url(public_url)
        if public_url is not None and "url" not in self.scheme.inputs:
            raise ConfigError(f"public_url: the {self.scheme.name} scheme signs no URL",
                              field="public_url")
        listed = (secrets,) if isinstance(secrets, str) else tuple(secrets)
        if not listed:
            raise ConfigError("the receiver needs at least one signing secret", field="secret")
        self.secrets = tuple(check_secret(s, self.scheme.name) for s in listed)
        if not isinstance(tolerance, int | float) or not 0 <= tolerance < float("inf"):
            raise ConfigError(f"tolerance must be a finite number of seconds >= 0: {tolerance!r}",
                              field="tolerance")
        if isinstance(max_queued, bool) or not isinstance(max_queued, int) or max_queued < 1:
            raise ConfigError(f"max_queued must be a whole number >= 1, not {max_queued!r}",
                              field="max_queued")
        self.limits = Limits(max_body=max_body, max_concurrency=max_concurrency,
                             max_buffered=max_buffered, body_timeout=body_timeout)
        self.state_token = _check_token(state_token, expose_state)
        self.tolerance = float(tolerance)
        self.clock = clock or WallClock()
        self.max_queued = max_queued
        self.expose_state = expose_state
        self.admission = Admission(self.limits)
        try:
            self.inbox = open_inbox(store, remember=remember, dedupe_window=dedupe_window)
        except StoreError as exc:
            raise ConfigError(f"store: {exc}", field="store") from None
        self.receptions: Counter[str] = Counter()
        self._held: dict[str, int] = {}  # memory mode: body bytes a queued message holds
        self.processor = EventProcessor(self.inbox, clock=self.clock, after=self._processed)

    def _processed(self, event: Event) -> None:
        self.admission.release(self._held.pop(event.key, 0))

    @property
    def max_body(self) -> int:
        """The body cap in bytes."""
        return self.limits.max_body

    # -- handlers and processing (the EventProcessor lane) ----------------------------------

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
        self.processor.add_handler(pattern, handler)

    def handler_for(self, event_type: str) -> Handler | None:
        """The handler an event type is routed to, or ``None``."""
        return self.processor.handler_for(event_type)

    async def process(self, event: Event) -> ProcessingRecord:
        """Run one event through the Processing machine and record how it ended."""
        return await self.processor.process(event)

    @property
    def records(self) -> deque[ProcessingRecord]:
        """The :data:`RECORDS_KEPT` most recent processing records, in order."""
        return self.processor.records

    @property
    def outcomes(self) -> Counter[str]:
        """How many messages were processed per outcome (``completed``, ``failed``)."""
        return self.processor.outcomes

    @property
    def failures(self) -> list[ProcessingRecord]:
        """Failed processing among the most recent records, in order (``outcomes["failed"]``
        counts them all)."""
        return [r for r in self.records if r.state == "failed"]

    @property
    def processed(self) -> Mapping[str, int]:
        """Message id → times processed (completed), for the messages still remembered."""
        return self.inbox.processed()

    def processed_count(self, message_id: str) -> int:
        """How many times ``message_id`` was processed (completed): 1 after redeliveries."""
        return self.inbox.processed_count(message_id)

    async def drain(self) -> None:
        """Wait until every queued message is processed, those a previous run left in the
        store included (call on the app's event loop)."""
        await self.processor.drain()

    def close(self) -> None:
        """Stop processing and close the store (unprocessed messages stay in it)."""
        self.processor.stop()
        self.inbox.close()

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "GET" and self.expose_state and scope["path"].endswith(STATE_PATH):
            await answer(send, self._state_reply(scope))
            return
        if method != "POST":
            await answer(send, Reply(405, {"error": "use POST"}, ((b"allow", b"POST"),)))
            return
        refusal = self.admission.enter()
        if refusal is not None:
            await answer(send, refused(refusal))
            return
        try:
            await answer(send, await self._receive(scope, receive))
        finally:
            self.admission.leave()

    async def _receive(self, scope: dict[str, Any], receive: Any) -> Reply:
        if self.inbox.pending() >= self.max_queued:
            self.receptions["unavailable"] += 1
            return refused(Refusal(503, f"{self.max_queued} messages wait for processing",
                                    RETRY_AFTER))
        body = await read_limited(receive, scope.get("headers", []), self.admission)
        if isinstance(body, Refusal):
            return refused(body)
        self.processor.start()
        url = request_url(scope, self.public_url) if "url" in self.scheme.inputs else None
        reply, queued = self._run_lane(request_headers(scope), body.data, url, scope["method"])
        if queued is not None and not self.inbox.durable:
            self._held[queued.key] = body.reserved  # released once it is processed
        else:
            self.admission.release(body.reserved)
        return reply

    def handle(self, headers: Mapping[str, str], body: bytes, *, url: str | None = None,
               method: str = "POST") -> Reply:
        """Run one request through the Reception machine and return the answer (call it on
        an event loop: a queued message starts the processing task there); ``url`` is the
        URL it was sent to (default: ``public_url``), for the schemes that sign it."""
        self.processor.start()
        return self._run_lane(headers, body, url or self.public_url, method)[0]

    def _run_lane(self, headers: Mapping[str, str], body: bytes, url: str | None = None,
                  method: str = "POST") -> tuple[Reply, Event | None]:
        received_at = self.clock.now()
        state = _RECEPTION.initial
        signed = {"url": url, "method": method}
        inputs = {name: signed[name] for name in self.scheme.inputs if name in signed}
        try:
            message_id = self.scheme.verify(
                headers, body, secrets=self.secrets, now=received_at, tolerance=self.tolerance,
                **inputs)
            reason = ""
        except VerificationError as exc:
            message_id, reason = "", str(exc)
        state = _RECEPTION.fire(state, "verify", not reason)
        if not _RECEPTION.is_final(state):
            payload, reason = parse_payload(body, headers.get("content-type"))
            state = _RECEPTION.fire(state, "parse", not reason)
            shake = None if reason else handshake_reply(self.scheme.name, payload)
            if shake is not None:  # answered, never queued: it is no event
                self.receptions["handshake"] += 1
                return shake, None
        queued = None
        if not _RECEPTION.is_final(state):  # n11: acknowledged; the 200 waits for n13
            message_id = message_id or fallback_id(payload, body)
            event = Event(message_id, event_type(payload, headers), payload, body, headers,
                          received_at, dedupe_key(self.scheme.name, message_id, body))
            try:
                first = self.inbox.add(event, now=received_at)  # committed, in store mode
            except StoreError as exc:
                _log.error("could not queue %s: %s", message_id, exc)
                self.receptions["unavailable"] += 1
                return refused(Refusal(503, "the message could not be queued; retry later",
                                        RETRY_AFTER)), None
            state = _RECEPTION.fire(state, "enqueue", first)  # n13: queued (or a duplicate)
            if first:
                queued = event
                self.processor.wake()
        final = _RECEPTION.name(state)
        self.receptions[final] += 1
        if reason:
            return Reply(STATUS_CODES[final], {"error": reason}), None
        return Reply(STATUS_CODES[final], {"status": final, "message_id": message_id}), queued

    # -- the state view ----------------------------------------------------------------------

    def _state_reply(self, scope: Mapping[str, Any]) -> Reply:
        if self.state_token is not None:
            given = dict(scope.get("headers", [])).get(b"authorization", b"")
            if not hmac.compare_digest(given, b"Bearer " + self.state_token.encode()):
                return Reply(401, {"error": "the state view needs its token "
                                            "(Authorization: Bearer ...)"},
                             ((b"www-authenticate", b"Bearer"),))
        try:
            return Reply(200, self.state(scope.get("query_string", b"")))
        except ValueError as exc:
            return Reply(400, {"error": str(exc)})

    def state(self, query_string: bytes = b"") -> dict[str, Any]:
        """The processing counts shown at :data:`STATE_PATH` (bounded: at most 100 event
        types, the rest counted under ``(other)``); a ValueError for a bad query."""
        query = parse_qs(query_string.decode("latin-1"), max_num_fields=4)
        if "message_id" in query:
            message_id = query["message_id"][0]
            if len(message_id) > _LONGEST_QUERY_ID:
                raise ValueError(f"message_id is longer than {_LONGEST_QUERY_ID} characters")
            return {"message_id": message_id, "processed": self.processed_count(message_id)}
        return {
            "receptions": dict(self.receptions),
            "processed": self.outcomes["completed"],
            "failed": self.outcomes["failed"],
            "by_type": dict(self.processor.by_type),
            "queued": self.inbox.pending(),
            "durable": self.inbox.durable,
        }

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.processor.start()  # a store's unfinished messages are processed now
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.drain(), 5.0)
                self.processor.stop()  # the store stays open to read; close() closes it
                await send({"type": "lifespan.shutdown.complete"})
                return

    def __repr__(self) -> str:
        where = "sqlite" if self.inbox.durable else "memory"
        return (f"ReferenceReceiver(scheme={self.scheme.name!r}, secrets={len(self.secrets)}, "
                f"inbox={where})")


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


def _check_token(token: str | None, expose_state: bool) -> str | None:
    if token is None:
        return None
    if not expose_state:
        raise ConfigError("state_token protects the state view: it needs expose_state",
                          field="state_token")
    if not isinstance(token, str) or not token.isascii() or not token.isprintable() or (
        not token or any(c.isspace() for c in token)
    ):
        raise ConfigError("state_token must be printable ASCII without spaces",
                          field="state_token")
    return token
