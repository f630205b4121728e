"""The sender: deliver one message to one endpoint, signing, retrying and recording.

:class:`Sender` runs the diagram's ExternalService and RetryQueue lanes for real. For each
attempt it signs the message afresh (same message id, new timestamp) with the endpoint's
scheme and active secrets, posts it through a :class:`~hooklab.harness.transport.Channel`
(real HTTP by default), and hands the outcome to a
:class:`~hooklab.model.tracking.DeliveryTracker`, which drives the Delivery machine, asks
the endpoint's retry policy for the verdict and writes the attempt and every state change
to the status store. It then waits out the backoff on its :class:`~hooklab.harness.clock.
Clock` and tries again, until the message is delivered or failed (exhausted, gone, or the
endpoint is disabled). The sender never asks which channel or clock it has: with a
:class:`~hooklab.harness.clock.FakeClock` a 6-attempt schedule runs in milliseconds.

:meth:`Sender.attempt` is the single step (sign and post, no tracking, no waiting) for
callers that keep their own schedule, such as a durable outbox worker. :class:`SyncSender`
is the same sender for code without an event loop.

Example::

    >>> import asyncio
    >>> from hooklab.harness.transport import SimulatedChannel
    >>> from hooklab.harness.clock import FakeClock
    >>> from hooklab.model.endpoints import Endpoint
    >>> from hooklab.model.faults import ReceiverModel
    >>> clock = FakeClock(1_700_000_000)
    >>> channel = SimulatedChannel(ReceiverModel.parse("script=500,503,200"), clock=clock)
    >>> sender = Sender(channel, clock=clock, seed=1)
    >>> endpoint = Endpoint("ep_1", "https://example.com/hooks",
    ...                     ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",))
    >>> record = asyncio.run(sender.deliver(endpoint, Message("msg_1", "invoice.paid", b"{}")))
    >>> str(record.status), record.attempts, clock.sleeps
    ('delivered', 3, [60.0, 120.0])
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from hooklab.model.errors import ConfigError, InvalidSecret, StoreError
from hooklab.model.outcomes import OutcomeKind
from hooklab.model.records import DeliveryRecord, FailureReason
from hooklab.model.signing import generate_message_id, get_scheme
from hooklab.model.status import MemoryStatusStore, StatusStore
from hooklab.model.tracking import DeliveryTracker

from .clock import Clock, WallClock
from .transport import Channel, HttpChannel, Response

if TYPE_CHECKING:
    from hooklab.model.endpoints import Endpoint
    from hooklab.model.retry import RetryPolicy

__all__ = ["AttemptResult", "Message", "Sender", "SyncSender", "make_message"]

T = TypeVar("T")


class Message(NamedTuple):
    """One message: its id (the same on every attempt), event type and raw body bytes."""

    id: str
    event_type: str
    body: bytes


def make_message(
    event_type: str,
    data: Any,
    *,
    message_id: str | None = None,
    rng: random.Random | None = None,
) -> Message:
    """A JSON message ``{"type": ..., "data": ...}`` (a new ``msg_`` id unless given).

    >>> make_message("invoice.paid", {"amount": 42}, message_id="msg_1").body
    b'{"type":"invoice.paid","data":{"amount":42}}'
    """
    if not isinstance(event_type, str) or not event_type:
        raise ConfigError(f"event type must be a non-empty string, not {event_type!r}")
    body = json.dumps({"type": event_type, "data": data}, separators=(",", ":")).encode()
    return Message(message_id or generate_message_id(rng or random.Random()), event_type, body)


class AttemptResult(NamedTuple):
    """One attempt: what was sent (headers) and what came back, with its times."""

    message_id: str
    endpoint_id: str
    headers: dict[str, str]
    response: Response
    start: float
    end: float

    @property
    def kind(self) -> OutcomeKind:
        """The outcome class of the answer."""
        return self.response.outcome.kind


class Sender:
    """Delivers messages to endpoints with retries; see the module docstring.

    ``channel`` defaults to a real :class:`~hooklab.harness.transport.HttpChannel`; ``store``
    to a :class:`~hooklab.model.status.MemoryStatusStore`; ``clock`` to the wall clock.
    Jitter draws come from ``rng`` (or ``random.Random(seed)``). ``policy`` overrides every
    endpoint's named policy (tests use a fast one); ``on_gone`` is called with the
    endpoint when it answers 410 Gone (for example to disable it in a registry).
    """

    def __init__(
        self,
        channel: Channel | None = None,
        *,
        store: StatusStore | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
        policy: RetryPolicy | None = None,
        on_gone: Callable[[Endpoint], None] | None = None,
    ) -> None:
        self.channel: Channel = channel if channel is not None else HttpChannel()
        self.store: StatusStore = store if store is not None else MemoryStatusStore()
        self.clock: Clock = clock or WallClock()
        self.rng = rng if rng is not None else random.Random(seed)
        self.policy = policy
        self.on_gone = on_gone

    def policy_for(self, endpoint: Endpoint) -> RetryPolicy:
        """The retry policy used for ``endpoint``: the override, else its preset."""
        return self.policy if self.policy is not None else endpoint.retry_policy()

    def sign(self, endpoint: Endpoint, message: Message, *, now: float) -> dict[str, str]:
        """The headers of one attempt at ``now``: content type plus the scheme's signature
        with every secret active at ``now`` (several while a secret is rotated)."""
        secrets = [s.value for s in endpoint.active_secrets(now)]
        if not secrets:
            raise InvalidSecret(f"endpoint {endpoint.id!r} has no signing secret active now")
        headers = {"content-type": "application/json"}
        headers.update(
            get_scheme(endpoint.scheme).sign(
                message_id=message.id, timestamp=int(now), body=message.body, secrets=secrets
            )
        )
        return headers

    async def attempt(self, endpoint: Endpoint, message: Message) -> AttemptResult:
        """Sign ``message`` now and post it once to ``endpoint`` (no tracking, no retry)."""
        start = self.clock.now()
        headers = self.sign(endpoint, message, now=start)
        response = await self.channel.post(
            endpoint.url, headers, message.body, timeout=endpoint.timeout
        )
        return AttemptResult(message.id, endpoint.id, headers, response, start, self.clock.now())

    async def deliver(
        self, endpoint: Endpoint, message: Message, *, policy: RetryPolicy | None = None
    ) -> DeliveryRecord:
        """Deliver ``message`` to ``endpoint`` until it is delivered or failed.

        Every attempt and state change goes to the status store. A message already tracked
        for this endpoint is not sent again: its record is returned if it is finished,
        else :class:`~hooklab.model.errors.StoreError` is raised.
        """
        existing = self.store.get(message.id, endpoint.id)
        if existing is not None:
            if existing.finished_at is None:
                raise StoreError(f"message {message.id!r} to endpoint {endpoint.id!r} is "
                                 "already being delivered")
            return existing.record()
        retry_policy = policy or self.policy_for(endpoint)
        tracker = DeliveryTracker(self.store)
        tracker.start(message.id, endpoint.id, message.event_type, now=self.clock.now())
        if not endpoint.enabled:
            tracker.disable(endpoint.disabled_reason or "endpoint disabled", self.clock.now())
            return self._record(message, endpoint)
        while True:
            tracker.attempt(self.clock.now())
            result = await self.attempt(endpoint, message)
            delay = tracker.finish(
                result.response.outcome,
                now=result.end,
                policy=retry_policy,
                rng=self.rng,
                body=result.response.body,
            )
            if delay is None:
                break
            await self.clock.sleep(delay)
            tracker.retry_due(self.clock.now())
            if tracker.expired(self.clock.now(), retry_policy):  # the sleep overran the window
                break
        if tracker.reason == FailureReason.GONE and self.on_gone is not None:
            self.on_gone(endpoint)
        return self._record(message, endpoint)

    async def deliver_many(
        self,
        endpoint: Endpoint,
        messages: Iterable[Message],
        *,
        concurrency: int = 10,
        policy: RetryPolicy | None = None,
    ) -> list[DeliveryRecord]:
        """Deliver each message to ``endpoint``, at most ``concurrency`` at a time; the
        records come back in the order of ``messages``."""
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {concurrency!r}")
        gate = asyncio.Semaphore(concurrency)

        async def one(message: Message) -> DeliveryRecord:
            async with gate:
                return await self.deliver(endpoint, message, policy=policy)

        return list(await asyncio.gather(*(one(m) for m in messages)))

    def _record(self, message: Message, endpoint: Endpoint) -> DeliveryRecord:
        view = self.store.get(message.id, endpoint.id)
        assert view is not None  # the tracker added it
        return view.record()

    async def aclose(self) -> None:
        """Close the channel."""
        await self.channel.aclose()

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Sender({self.channel!r}, clock={self.clock!r})"


class SyncSender:
    """A :class:`Sender` for code without an event loop (scripts, notebooks).

    It runs the async sender on its own event loop in a background thread, so it works
    even where a loop is already running (Jupyter). Close it, or use ``with``.

        >>> from hooklab.harness.transport import SimulatedChannel
        >>> from hooklab.model.faults import ReceiverModel
        >>> from hooklab.model.endpoints import Endpoint
        >>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        >>> with SyncSender(SimulatedChannel(ReceiverModel())) as sender:
        ...     e = Endpoint("ep", "https://example.com/", (secret,))
        ...     str(sender.deliver(e, Message("msg_1", "a.b", b"{}")).status)
        'delivered'
    """

    def __init__(self, channel: Channel | None = None, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="hooklab-sync-sender", daemon=True
        )
        self._thread.start()
        self.sender: Sender = self._run(_build(channel, kwargs))

    @property
    def store(self) -> StatusStore:
        """The status store the sender writes to."""
        return self.sender.store

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            raise RuntimeError("this SyncSender is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def attempt(self, endpoint: Endpoint, message: Message) -> AttemptResult:
        """:meth:`Sender.attempt`, blocking."""
        return self._run(self.sender.attempt(endpoint, message))

    def deliver(
        self, endpoint: Endpoint, message: Message, *, policy: RetryPolicy | None = None
    ) -> DeliveryRecord:
        """:meth:`Sender.deliver`, blocking."""
        return self._run(self.sender.deliver(endpoint, message, policy=policy))

    def deliver_many(
        self, endpoint: Endpoint, messages: Iterable[Message], **kwargs: Any
    ) -> list[DeliveryRecord]:
        """:meth:`Sender.deliver_many`, blocking."""
        return self._run(self.sender.deliver_many(endpoint, list(messages), **kwargs))

    def close(self) -> None:
        """Close the channel, stop the loop and its thread (idempotent)."""
        if self._loop.is_closed():
            return
        self._run(self.sender.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        self._loop.close()

    def __enter__(self) -> SyncSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _build(channel: Channel | None, kwargs: Mapping[str, Any]) -> Sender:
    return Sender(channel, **kwargs)
