"""The runner's own rules: compressed time, unreachable targets, loading module:attr."""

from __future__ import annotations

import time

import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.receiver import create_receiver
from hooklab.harness.rehearsal import StateObserver, load_target, run_rehearsal
from hooklab.model.errors import ConfigError
from hooklab.model.rehearsal import Plan, Trouble

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_speed_sleeps_the_schedule_compressed_and_virtual_time_sleeps_nothing() -> None:
    plan = Plan(events=3, interval=3600.0)  # the last event 2 h after the first
    started = time.perf_counter()
    run_rehearsal(create_receiver([SECRET]), "standard", plan=plan)
    virtual = time.perf_counter() - started
    started = time.perf_counter()
    run_rehearsal(create_receiver([SECRET]), "standard", plan=plan, speed=7200 / 0.5)
    compressed = time.perf_counter() - started
    assert compressed >= 0.5 > virtual / 2


@pytest.mark.parametrize("speed", [0, -1.0])
def test_speed_must_be_a_positive_factor(speed: float) -> None:
    with pytest.raises(ConfigError, match="speed") as info:
        run_rehearsal(create_receiver([SECRET]), "standard", plan=Plan(events=1),
                      speed=speed)
    assert info.value.field == "speed"


def test_a_secret_is_needed_unless_a_reference_receiver_shares_one() -> None:
    async def app(scope: object, receive: object, send: object) -> None: ...

    with pytest.raises(ConfigError, match="secret") as info:
        run_rehearsal(app, "standard")
    assert info.value.field == "secret"


def test_virtual_signatures_pass_a_receivers_tolerance_days_later() -> None:
    clock = FakeClock()
    receiver = create_receiver([SECRET], clock=clock)
    report = run_rehearsal(receiver, "standard", clock=clock, plan=Plan(events=2),
                           trouble=Trouble(outages=((0.0, 26 * 3600.0),)))
    assert report.delivered == report.processed_once == 2
    assert clock.now() >= Plan().start + 26 * 3600


@pytest.mark.parametrize("target", ["nocolon", ":app", "json:", "json:nope",
                                    "no_such_module_xyz:app", "json:__doc__"])
def test_bad_targets_are_config_errors_naming_the_target(target: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_target(target)
    assert info.value.field == "target" and target in str(info.value)


def test_a_state_observer_needs_an_http_url() -> None:
    with pytest.raises(ConfigError) as info:
        StateObserver("file:///etc/passwd")
    assert info.value.field == "observe"
