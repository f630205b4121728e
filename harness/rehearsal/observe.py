"""Observers: how a rehearsal learns what the receiver processed, and nothing more.

A rehearsal sees every answer the receiver gave, but an answer is not processing: a 200
may come before a message is lost, and a timed-out attempt may have been processed.
Only an observer says how often the receiver processed each message:

- :class:`CallbackObserver`: a function ``message_id -> count`` in the same process
  (and an optional coroutine that waits until queued messages are processed);
- :func:`receiver_observer`: the reference receiver's own counts, after it drained;
- :class:`StateObserver`: ``GET URL?message_id=ID`` over HTTP, as the reference
  receiver's ``/_hooklab/state`` (with its state token) or any route that answers
  ``{"processed": n}``, ``{"count": n}`` or a bare number.

Without an observer a rehearsal reports "processed: not observed".

    >>> import asyncio
    >>> counts = asyncio.run(CallbackObserver({"m1": 1}.get).processed(["m1", "m2"]))
    >>> counts
    {'m1': 1, 'm2': 0}
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hooklab.model.errors import ConfigError, HooklabError

if TYPE_CHECKING:
    from ..receiver import ReferenceReceiver

__all__ = ["CallbackObserver", "Observer", "ObserverFailed", "StateObserver",
           "receiver_observer"]


class ObserverFailed(HooklabError):
    """The observer could not say what the receiver processed."""


@runtime_checkable
class Observer(Protocol):
    """Tells how often the receiver processed each message."""

    async def processed(self, message_ids: Sequence[str]) -> dict[str, int]:
        """Message id → times processed, for each of ``message_ids``."""
        ...


class CallbackObserver:
    """Counts from ``count(message_id)`` (None counts as 0), after ``settle()`` if given."""

    def __init__(self, count: Callable[[str], int | None],
                 settle: Callable[[], Awaitable[None]] | None = None) -> None:
        if not callable(count):
            raise ConfigError(f"an observer needs a function message_id -> count, not "
                              f"{count!r}", field="observe")
        self._count, self._settle = count, settle

    async def processed(self, message_ids: Sequence[str]) -> dict[str, int]:
        """Settle, then ask the callback for each id."""
        if self._settle is not None:
            await self._settle()
        return {m: int(self._count(m) or 0) for m in message_ids}


def receiver_observer(receiver: ReferenceReceiver, *, settle_timeout: float = 30.0
                      ) -> CallbackObserver:
    """The reference receiver's own processing counts, once its queue is drained."""

    async def settle() -> None:
        try:
            await asyncio.wait_for(receiver.drain(), settle_timeout)
        except TimeoutError:
            raise ObserverFailed(f"the receiver did not finish processing within "
                                 f"{settle_timeout:g} s") from None

    return CallbackObserver(receiver.processed_count, settle)


class StateObserver:
    """``GET url?message_id=ID`` for each message, with ``token`` as a bearer token.

    Before counting, it waits (up to ``settle_timeout`` seconds) while ``GET url`` shows
    messages ``queued``, as the reference receiver's state view does.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0,
                 settle_timeout: float = 30.0) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"observe {url!r}: give an http:// or https:// URL",
                              field="observe")
        self.url, self.timeout, self.settle_timeout = url, timeout, settle_timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def processed(self, message_ids: Sequence[str]) -> dict[str, int]:
        """Wait for the queue to empty, then read each message's count."""
        import httpx

        async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
            await self._settle(client)
            return {m: await self._count(client, m) for m in message_ids}

    async def _get(self, client: Any, params: dict[str, str] | None = None) -> Any:
        import httpx

        try:
            answer = await client.get(self.url, params=params, headers=self._headers)
            return answer.raise_for_status().json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ObserverFailed(f"observer GET {self.url}: {exc}") from None

    async def _settle(self, client: Any) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_timeout
        while True:
            state = await self._get(client)
            queued = state.get("queued") if isinstance(state, dict) else None
            if not isinstance(queued, int) or queued <= 0:
                return
            if loop.time() > deadline:
                raise ObserverFailed(f"the receiver still had {queued} messages queued "
                                     f"after {self.settle_timeout:g} s")
            await asyncio.sleep(0.05)

    async def _count(self, client: Any, message_id: str) -> int:
        value = await self._get(client, {"message_id": message_id})
        if isinstance(value, dict):
            value = value.get("count", value.get("processed"))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ObserverFailed(f"observer GET {self.url}: no count for {message_id!r} "
                                 f"in {value!r}")
        return value
