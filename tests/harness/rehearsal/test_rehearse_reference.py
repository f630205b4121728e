"""Every fully covered twin rehearsed against the reference receiver, in-process.

The receiver reads the rehearsal's FakeClock, so signatures carry virtual time and its
timestamp tolerance judges retries hours later as it would for the real provider.
"""

from __future__ import annotations

import random

import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.receiver import create_receiver
from hooklab.harness.rehearsal import CallbackObserver, run_rehearsal
from hooklab.model.errors import ConfigError
from hooklab.model.providers import get_provider, signing_secret, verifying_secret
from hooklab.model.rehearsal import Plan, RehearsalReport, Trouble
from hooklab.model.signing import get_scheme

FULL = ("standard", "stripe", "github", "shopify", "slack", "twilio", "sendgrid", "discord")


def _rehearse(name: str, trouble: Trouble, *, knows_new_key: bool = True,
              events: int = 12) -> RehearsalReport:
    twin = get_provider(name)
    scheme = get_scheme(twin.scheme or "")
    rng = random.Random(name)
    old, new = scheme.generate_keys(rng), scheme.generate_keys(rng)
    clock = FakeClock()
    known = [verifying_secret(old)] + ([verifying_secret(new)] if knows_new_key else [])
    receiver = create_receiver(known, scheme=scheme.name, clock=clock)
    return run_rehearsal(receiver, twin, secret=signing_secret(old),
                         new_secret=signing_secret(new), clock=clock, trouble=trouble,
                         plan=Plan(events=events, seed=5))


@pytest.mark.parametrize("name", FULL)
def test_with_no_trouble_every_event_is_processed_exactly_once(name: str) -> None:
    report = _rehearse(name, Trouble())
    assert report.delivered == report.events == report.processed_once
    assert report.ok


@pytest.mark.parametrize("name", FULL)
def test_after_an_outage_what_the_provider_delivered_is_processed_once_and_the_rest_never(
        name: str) -> None:
    report = _rehearse(name, Trouble(outages=((0.0, 4 * 3600.0),)))
    assert report.delivered + report.lost == report.events
    assert report.processed_once == report.delivered
    assert report.never_processed == report.lost and report.duplicates == 0


@pytest.mark.parametrize("name", [n for n in FULL if get_provider(n).timeout is not None])
def test_acks_past_the_timeout_deliver_nothing_yet_the_receiver_processes_each_once(
        name: str) -> None:
    timeout = get_provider(name).timeout
    assert timeout is not None
    report = _rehearse(name, Trouble(slow=timeout.total + 1))
    assert report.delivered == 0 and report.duplicates == 0
    assert report.processed_once is not None and report.processed_once >= 1
    assert report.lost_but_processed == report.processed_once  # all of them, in effect


@pytest.mark.parametrize("name", FULL)
def test_a_receiver_that_knows_the_new_key_loses_nothing_to_a_rotation(name: str) -> None:
    report = _rehearse(name, Trouble(rotate_at=2 * 3600.0))
    assert report.unverifiable == 0 and report.processed_once == report.events


@pytest.mark.parametrize("name", FULL)
def test_a_receiver_left_on_the_old_key_cannot_verify_what_follows_a_rotation(
        name: str) -> None:
    report = _rehearse(name, Trouble(rotate_at=2 * 3600.0), knows_new_key=False)
    after = sum(1 for i in range(report.events) if i * 900.0 >= 2 * 3600.0)
    assert report.unverifiable == after > 0
    assert report.never_processed == after and not report.ok


def test_a_receiver_of_another_scheme_is_refused_before_anything_is_sent() -> None:
    receiver = create_receiver(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    with pytest.raises(ConfigError, match="verifies 'standard'"):
        run_rehearsal(receiver, "stripe")


def test_an_app_without_an_observer_reports_processing_not_observed() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    receiver = create_receiver([secret])

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        await receiver(scope, receive, send)  # type: ignore[arg-type]

    report = run_rehearsal(app, "standard", secret=secret, plan=Plan(events=3))
    assert report.delivered == 3 and report.processed is None
    assert "processed: not observed" in "\n".join(report.lines())
    observed = run_rehearsal(app, "standard", secret=secret, plan=Plan(events=3, seed=1),
                             observer=CallbackObserver(receiver.processed_count,
                                                             receiver.drain))
    assert observed.processed_once == 3
