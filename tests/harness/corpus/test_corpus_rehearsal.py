"""Rehearsals against the corpus: receivers built on each provider's own SDK, as its docs show.

The corpus holds receivers for the ``standard`` (standardwebhooks, svix), ``stripe`` and
``github`` twins; the slack, twilio, sendgrid and discord SDK receivers are Flask apps in
``tests/harness/rehearsal/sdk_receivers.py``, and shopify has none yet (its webhook docs
show a hand-written HMAC check; ``@shopify/shopify-api`` is not in the corpus). Their
SDKs check timestamps on the wall clock, so these rehearsals sign at the moment of
sending while the schedule runs on virtual time. What the documented patterns do with
redeliveries is ground truth here: none of those docs deduplicates, so a twin that retries
after a late acknowledgement has its events processed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from hooklab.harness.clock import FakeClock
from hooklab.harness.rehearsal import (
    CallbackObserver,
    Observer,
    RehearsalFailure,
    RehearsalMachine,
    StateObserver,
    run_rehearsal,
)
from hooklab.model.providers import get_provider
from hooklab.model.rehearsal import Plan, RehearsalReport, Trouble

from .serve import RECEIVERS, create_app, serving

IN_PROCESS = [r.name for r in RECEIVERS.values() if r.in_process]
#: Corpus receivers exist for these twins only.
COVERED = sorted({r.scheme for r in RECEIVERS.values()})


def _rehearse(name: str, trouble: Trouble, events: int = 6) -> RehearsalReport:
    receiver = RECEIVERS[name]
    app, processed = create_app(name)
    return run_rehearsal(app, receiver.scheme, secret=receiver.secret, trouble=trouble,
                         plan=Plan(events=events, seed=2), path=receiver.path,
                         observer=CallbackObserver(processed.count))


def test_the_corpus_covers_the_standard_stripe_and_github_twins() -> None:
    assert COVERED == ["github", "standard", "stripe"]


@pytest.mark.parametrize("name", IN_PROCESS)
def test_with_no_trouble_each_sdk_receiver_processes_every_event_once(name: str) -> None:
    report = _rehearse(name, Trouble())
    assert report.delivered == report.processed_once == report.events


@pytest.mark.parametrize("name", IN_PROCESS)
def test_after_an_outage_an_sdk_receiver_has_what_was_delivered_once_and_nothing_else(
        name: str) -> None:
    report = _rehearse(name, Trouble(outages=((0.0, 4 * 3600.0),)))
    assert report.delivered + report.lost == report.events
    assert report.processed_once == report.delivered and report.duplicates == 0


@pytest.mark.parametrize("name", IN_PROCESS)
def test_acks_past_the_timeout_make_a_retrying_twin_redeliver_to_receivers_without_dedupe(
        name: str) -> None:
    twin = get_provider(RECEIVERS[name].scheme)
    assert twin.timeout is not None and twin.policy is not None
    report = _rehearse(name, Trouble(slow=twin.timeout.total + 1), events=3)
    assert report.delivered == 0
    if twin.policy.max_attempts > 1:
        assert report.duplicates == report.events  # every retry was processed again
        assert report.extra_processings == report.attempts - report.events
    else:  # GitHub does not retry: one attempt, processed once
        assert report.processed_once == report.events


@pytest.mark.network
def test_a_rehearsal_over_http_counts_through_the_receivers_observe_route() -> None:
    receiver = RECEIVERS["stripe_flask"]
    with serving("stripe_flask") as served:
        report = run_rehearsal(served.webhook_url, "stripe", secret=receiver.secret,
                               plan=Plan(events=4, seed=3),
                               trouble=Trouble(outages=((0.0, 3600.0),)),
                               observer=StateObserver(served.observe_url))
    assert report.delivered == report.processed_once == 4
    assert report.attempts > 4


@pytest.mark.parametrize("name", IN_PROCESS)
def test_a_rotation_an_sdk_receiver_was_not_given_leaves_later_messages_unverifiable(
        name: str) -> None:
    report = _rehearse(name, Trouble(rotate_at=3600.0), events=8)
    assert report.unverifiable == report.never_processed == 4  # events at 1 h and later


class StripeFlaskRehearsal(RehearsalMachine):
    """The stateful rehearsal against the Stripe SDK's documented Flask receiver."""

    provider = "stripe"
    trouble = ("slow",)
    path = RECEIVERS["stripe_flask"].path
    secret = RECEIVERS["stripe_flask"].secret  # the app's own

    def receiver(self, secrets: Sequence[str], clock: FakeClock) -> Any:
        app, processed = create_app("stripe_flask")
        app.processed = processed
        return app

    def observer(self, app: Any) -> Observer:
        return CallbackObserver(app.processed.count)



@pytest.mark.slow
def test_the_stateful_rehearsal_shrinks_the_stripe_docs_missing_dedupe_to_one_late_ack(
        ) -> None:
    timeout = get_provider("stripe").timeout
    assert timeout is not None
    with pytest.raises(RehearsalFailure) as info:
        run_state_machine_as_test(StripeFlaskRehearsal, settings=settings(
            max_examples=30, database=None, derandomize=True, deadline=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck)))
    assert str(info.value) == ("processes 4 events more than once under the Stripe twin "
                               f"after acks taking {timeout.total + 1:g} s")
