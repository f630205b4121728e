"""One auto-disable rule: the simulator and the durable outbox disable at the same moment.

Both are driven on the same trace (an always-failing receiver, a message every 1.37 s,
3 attempts 10 s apart, answered at once) with the same :class:`AutoDisable`; the outbox
by hand through :meth:`Outbox.cycle`, as the worker would, with no HTTP.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hooklab.harness.outbox import Message, Outbox, Result
from hooklab.model.auto_disable import AutoDisable
from hooklab.model.backoff import ConstantSchedule
from hooklab.model.endpoints import Endpoint
from hooklab.model.faults import ReceiverModel
from hooklab.model.outcomes import classify
from hooklab.model.retry import RetryPolicy
from hooklab.sim import Arrivals, EndpointSpec, Scenario, simulate

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GAP, DELAY, ATTEMPTS, MESSAGES = 1.37, 10.0, 3, 40


def _outbox_disabled_at(path: Path, auto: AutoDisable, code: int) -> float:
    policy = RetryPolicy("p", max_attempts=ATTEMPTS, backoff=ConstantSchedule(DELAY))
    arrivals = [round(k * GAP, 9) for k in range(MESSAGES)]
    with Outbox(path) as box:
        box.registry.register(Endpoint("ep", "https://ep.example.com/hooks", (SECRET,)))

        def cycle(now: float, results: list[Result], claim: int) -> list:  # type: ignore[type-arg]
            return box.cycle("w", results, claim=claim, now=now, lease=lambda e: 30.0,
                             policy_for=lambda e: policy, rng=random.Random(0), auto=auto)

        while box.registry.get("ep").enabled:
            (due,) = box.db.conn.execute(
                "SELECT min(due_at) FROM outbox_deliveries WHERE due_at IS NOT NULL").fetchone()
            now = min(t for t in (due, arrivals[0] if arrivals else None) if t is not None)
            while arrivals and arrivals[0] <= now:
                box.send(Message(f"m{arrivals[0]}", "t", b"{}"), now=arrivals.pop(0))
            claims = cycle(now, [], 100)
            cycle(now, [Result(c, classify(code), b"", now, now) for c in claims], 0)
        rows = box.db.conn.execute(
            "SELECT at FROM outbox_events WHERE kind = 'endpoint_disabled'").fetchall()
    return float(rows[0][0])


def _sim_disabled_at(auto: AutoDisable, code: int) -> float | None:
    scenario = Scenario(
        messages=MESSAGES, arrivals=Arrivals("uniform", rate=1 / GAP),
        endpoints=(EndpointSpec("ep", receiver=ReceiverModel.parse(f"status={code}:1"),
                                auto_disable=auto),),
        policy={"schedule": "constant", "delay": DELAY, "max_attempts": ATTEMPTS})
    return simulate(scenario, seed=0).summary.endpoints[0].disabled_at


@pytest.mark.parametrize(("auto", "code", "expected"), [
    (AutoDisable(window=30.0), 500, 20 + 8 * GAP),  # the clock starts at the first attempt
    (AutoDisable(consecutive=3, gone=False), 410, 2 * GAP),  # a 410 counts like a failure
    (AutoDisable(), 410, 0.0),
    (AutoDisable(consecutive=5, window=1e6), 500, 20 + 4 * GAP),
])
def test_simulator_and_outbox_disable_at_the_same_moment(
    tmp_path: Path, auto: AutoDisable, code: int, expected: float
) -> None:
    outbox = _outbox_disabled_at(tmp_path / "o.db", auto, code)
    sim = _sim_disabled_at(auto, code)
    assert outbox == pytest.approx(expected, abs=1e-9)
    assert sim == pytest.approx(outbox, abs=1e-9)


def test_the_outbox_fails_a_retry_claimed_past_the_window_unsent(tmp_path: Path) -> None:
    # the verdict queued the retry for 90 s (within 100 s); the worker claims it at 150 s
    policy = RetryPolicy("w", max_attempts=50, backoff=ConstantSchedule(90), max_window=100)
    with Outbox(tmp_path / "o.db") as box:
        box.registry.register(Endpoint("ep", "https://ep.example.com/hooks", (SECRET,)))

        def cycle(now: float, results: list[Result], claim: int) -> list:  # type: ignore[type-arg]
            return box.cycle("w", results, claim=claim, now=now, lease=lambda e: 30.0,
                             policy_for=lambda e: policy, rng=random.Random(0))

        box.send(Message("m", "t", b"{}"), now=0.0)
        (claim,) = cycle(0.0, [], 10)
        cycle(0.0, [Result(claim, classify(500), b"", 0.0, 0.0)], 0)
        assert cycle(150.0, [], 10) == []
        view = box.store.get("m", "ep")
        assert view is not None and (view.reason, len(view.attempts)) == ("retry_window", 1)
