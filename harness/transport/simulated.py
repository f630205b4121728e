"""A simulated receiver: the channel whose answers come from the simulator's fault model.

:class:`SimulatedChannel` asks a :class:`~hooklab.model.faults.ReceiverModel` (the same
model the SimPy simulator uses) how to answer each attempt, and takes as long as the model
says on an injected :class:`~hooklab.harness.clock.Clock`: with a
:class:`~hooklab.harness.clock.FakeClock`, hours of outage pass in microseconds. No
socket, no app: only the outcomes a sender would see.

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
import random
from typing import TYPE_CHECKING

from hooklab.model.errors import ConfigError
from hooklab.model.outcomes import Outcome, classify

from ..clock import Clock, WallClock
from .base import Headers, Response, check_timeout, message_id_of, no_answer

if TYPE_CHECKING:
    from hooklab.model.faults import ReceiverModel

__all__ = ["SimulatedChannel"]


class SimulatedChannel:
    """A :class:`~hooklab.model.faults.ReceiverModel` as a receiver, on ``clock``.

    Time in the model's windows counts from ``origin`` (default: the clock's time when the
    channel is made). Attempts are counted per message (see
    :func:`~hooklab.harness.transport.base.message_id_of`), so scripted sequences apply to
    each message's attempts. ``rng`` (or ``seed``) makes the faults reproducible.
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
        self, url: str, headers: Headers, body: bytes, *, timeout: float
    ) -> Response:
        """Ask the model for an answer and take as long as it says, up to ``timeout``."""
        timeout = check_timeout(timeout)
        key = message_id_of(headers, body)
        attempt = self.attempts.get(key, 0) + 1
        self.attempts[key] = attempt
        start = self.clock.now()
        answer = self.model.answer(
            now=start - self.origin,
            attempt=attempt,
            in_flight=self.in_flight,
            rng=self.rng,
        )
        if answer.error == "connection_refused":
            return Response(Outcome.transport("connection_refused"),
                            detail="connection refused", connected=False)
        self.in_flight += 1
        try:
            if answer.error == "timeout" or answer.total > timeout:
                await self.clock.sleep(timeout)
                return Response(Outcome.transport("timeout"), elapsed=timeout,
                                detail=no_answer(timeout))
            if answer.total > 0:
                await self.clock.sleep(answer.total)
            else:
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
        elapsed = self.clock.now() - start
        if answer.error in ("reset", "truncated") or answer.status is None:
            return Response(Outcome.transport("reset"), elapsed=elapsed,
                            detail="connection reset")
        return Response(classify(answer.status, answer.retry_after), elapsed=elapsed)

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"SimulatedChannel({self.model!r})"
