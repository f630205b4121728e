"""Any channel, for code without an event loop: a blocking wrapper on a loop of its own.

The conformance checks are plain functions that Hypothesis calls again and again, so they
cannot ``await``. :class:`BlockingChannel` runs an async :class:`~hooklab.harness.
transport.base.Channel` on an event loop in a daemon thread and waits for each answer. It
works even where a loop is already running (a notebook, an async test), and everything the
channel starts (an ASGI app's lifespan, its background tasks) lives on that one loop.

Example::

    >>> from hooklab.harness.transport.app import AppChannel
    >>> async def app(scope, receive, send):
    ...     await send({"type": "http.response.start", "status": 204, "headers": []})
    ...     await send({"type": "http.response.body", "body": b""})
    >>> with BlockingChannel(AppChannel(app)) as channel:
    ...     channel.post("http://r.test/", {}, b"{}", timeout=5.0).status
    204
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .base import Channel, Headers, Response

__all__ = ["BlockingChannel"]

T = TypeVar("T")


class BlockingChannel:
    """``channel``, blocking; see the module docstring. Close it, or use ``with``."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="hooklab-blocking-channel")
        self._thread.start()
        self._closed = False

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the channel's loop and wait for its result."""
        if self._closed:
            coro.close()
            raise RuntimeError("this BlockingChannel is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def post(self, url: str, headers: Headers, body: bytes, *, timeout: float) -> Response:
        """:meth:`Channel.post <hooklab.harness.transport.base.Channel.post>`, blocking."""
        return self.run(self.channel.post(url, headers, body, timeout=timeout))

    def close(self) -> None:
        """Close the channel, then stop the loop and its thread (idempotent)."""
        if self._closed:
            return
        try:
            self.run(self.channel.aclose())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> BlockingChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BlockingChannel({self.channel!r})"
