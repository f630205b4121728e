"""The EventProcessor lane (n18–n21): a background task that processes each message the
receiver queued, through the Processing machine, and records how it ended.

:class:`EventProcessor` takes messages from an :class:`~hooklab.harness.inbox.Inbox` one at
a time, oldest first, and runs each through
:class:`~hooklab.model.processing.Processing` (its compiled table): deserialize the event,
route it by event type to a registered handler (sync handlers run in a thread), execute it,
update local state, complete. A failing step ends in a
:class:`~hooklab.harness.inbox.ProcessingRecord` with ``state == "failed"``, the step and
the error, logged and counted: nothing is silently dropped. The outcome goes back to the
inbox (committed, for a SQLite inbox), so a restarted receiver resumes after it.

What it keeps in memory is bounded: the :data:`RECORDS_KEPT` most recent records, counts
per outcome, and counts per event type for at most 100 types (the rest under ``(other)``).

Example::

    >>> from hooklab.harness.inbox import MemoryInbox
    >>> processor = EventProcessor(MemoryInbox())
    >>> processor.add_handler("invoice.*", lambda event: None)
    >>> processor.handler_for("invoice.paid") is not None, processor.handler_for("x") is None
    (True, True)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import Counter, deque
from collections.abc import Callable

from hooklab.model.compiled import compile_machine
from hooklab.model.endpoints import EventFilter
from hooklab.model.errors import ConfigError, StoreError
from hooklab.model.processing import Processing

from .clock import Clock, WallClock
from .inbox import Event, Handler, Inbox, ProcessingRecord

__all__ = ["RECORDS_KEPT", "EventProcessor"]

#: Processing records kept in memory (the most recent ones).
RECORDS_KEPT = 10_000
_EVENT_TYPES_KEPT = 100
_OTHER_TYPES = "(other)"
_PROCESSING = compile_machine(Processing)
_log = logging.getLogger("hooklab.receiver")


class EventProcessor:
    """Process what ``inbox`` holds; see the module docstring. ``after`` is called with
    each event once its processing is recorded (the receiver frees its body budget)."""

    def __init__(self, inbox: Inbox, *, clock: Clock | None = None,
                 after: Callable[[Event], None] | None = None) -> None:
        self.inbox = inbox
        self.clock = clock or WallClock()
        self.after = after
        self.records: deque[ProcessingRecord] = deque(maxlen=RECORDS_KEPT)
        self.outcomes: Counter[str] = Counter()
        self.by_type: Counter[str] = Counter()
        self._handlers: list[tuple[str, EventFilter, Handler]] = []
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()

    # -- handlers --------------------------------------------------------------------------

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

    # -- the background task -----------------------------------------------------------------

    def start(self) -> None:
        """Run the processing task on the running event loop (once per loop), unless it
        runs on another loop that is still running (a server's thread); a new task begins
        with whatever the inbox holds unfinished."""
        loop = asyncio.get_running_loop()
        if self._owned_elsewhere(loop):
            return
        if self._worker is None or self._worker.done() or self._loop is not loop:
            if self._worker is not None:  # the task that took them is gone
                self.inbox.rewind()
            self._loop = loop
            self._wake, self._idle = asyncio.Event(), asyncio.Event()
            self._worker = loop.create_task(self._work(), name="hooklab-processing")

    def _owned_elsewhere(self, loop: asyncio.AbstractEventLoop) -> bool:
        owner = self._loop
        return (owner is not None and owner is not loop and owner.is_running()
                and self._worker is not None and not self._worker.done())

    def wake(self) -> None:
        """Tell the task that the inbox has a new message."""
        self._wake.set()

    async def drain(self) -> None:
        """Wait until the inbox holds nothing left to process (from any event loop: the
        wait runs where the processing task runs)."""
        owner = self._loop
        if owner is not None and self._owned_elsewhere(asyncio.get_running_loop()):
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._drain(), owner))
            return
        await self._drain()

    async def _drain(self) -> None:
        self.start()
        self._idle.clear()
        self._wake.set()
        await self._idle.wait()

    def stop(self) -> None:
        """Cancel the processing task (what it has not taken stays in the inbox)."""
        if self._worker is not None:
            self._worker.cancel()

    async def _work(self) -> None:
        while True:
            batch = self.inbox.take(1)
            if not batch:
                self._idle.set()
                await self._wake.wait()
                self._wake.clear()
                continue
            (event,) = batch
            try:
                await self.process(event)
            finally:
                if self.after is not None:
                    self.after(event)

    # -- one message -----------------------------------------------------------------------

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
            self._count_type(event.event_type)  # n21: update local state
            state = _PROCESSING.fire(state, "complete")
        record = ProcessingRecord(event.message_id, event.event_type or None,
                                  _PROCESSING.name(state), step, error, event.received_at,
                                  self.clock.now(), event.key)
        self.records.append(record)
        self.outcomes[record.state] += 1
        try:
            self.inbox.finish(record)
        except StoreError as exc:  # it stays queued in the store: processed again on restart
            _log.error("could not record the processing of %s: %s", event.message_id, exc)
        if error:
            _log.warning("processing %s failed at %s: %s", event.message_id, step, error)
        return record

    def _count_type(self, event_type: str) -> None:
        if event_type in self.by_type or len(self.by_type) < _EVENT_TYPES_KEPT:
            self.by_type[event_type] += 1
        else:
            self.by_type[_OTHER_TYPES] += 1


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
