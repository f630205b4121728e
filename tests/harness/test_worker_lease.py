"""A claim whose lease would end before its answer is never posted: one delivery is
attempted by one worker at a time, even when the worker falls behind its prefetched claims."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from hooklab.harness.clock import FakeClock
from hooklab.harness.outbox import Result
from hooklab.harness.outbox.worker import WorkerStats, _Pipeline
from hooklab.model.outcomes import classify


def fake_worker(clock: FakeClock, posted: list[str]) -> Any:
    async def attempt(sender: Any, claim: Any) -> Result:
        posted.append(claim.name)
        start = clock.now()
        await clock.sleep(claim.endpoint.timeout)  # the slowest answer the timeout allows
        return Result(claim, classify(200), b"", start, clock.now())

    config = SimpleNamespace(concurrency=1, batch=10, flush_interval=1.0, on_result=None)
    return SimpleNamespace(config=config, clock=clock, stats=WorkerStats(), _attempt=attempt,
                           _lease=lambda endpoint: 15.0)


def claim(name: str) -> Any:
    return SimpleNamespace(name=name, endpoint=SimpleNamespace(timeout=10.0))


def test_a_claim_whose_lease_would_run_out_is_not_posted() -> None:
    async def scenario() -> tuple[list[str], list[Result]]:
        clock, posted = FakeClock(0.0), []
        line = _Pipeline(fake_worker(clock, posted), sender=None)  # type: ignore[arg-type]
        line.start([claim("first"), claim("second")], leased_at=0.0)
        while line.busy or line.lanes:
            await asyncio.sleep(0)
        return posted, line.take()

    posted, results = asyncio.run(scenario())
    # first: posted at t=0, answered by t=10 < 15. second: at t=10, 10 + 10 > 15, not posted.
    assert posted == ["first"]
    assert [r.outcome.kind for r in results] == ["success", "timeout"]
    assert results[1].body.startswith(b"not sent: its lease would end")
