"""Rehearsals of the slack, twilio, sendgrid and discord twins against receivers built on
their SDKs.

The standard, stripe and github twins are rehearsed against the corpus
(``tests/harness/corpus/test_corpus_rehearsal.py``); shopify has no SDK receiver (see
:mod:`sdk_receivers`).
"""

from __future__ import annotations

import random

import pytest
from sdk_receivers import PATHS, SDK_RECEIVERS

from hooklab.harness.rehearsal import CallbackObserver, run_rehearsal
from hooklab.model.providers import get_provider, signing_secret, verifying_secret
from hooklab.model.rehearsal import Plan, RehearsalReport, Trouble
from hooklab.model.signing import get_scheme


def _rehearse(name: str, trouble: Trouble, *, events: int = 6) -> RehearsalReport:
    twin = get_provider(name)
    keys = get_scheme(twin.scheme or "").generate_keys(random.Random(name))
    app = SDK_RECEIVERS[name](verifying_secret(keys))
    return run_rehearsal(app, twin, secret=signing_secret(keys), trouble=trouble,
                         plan=Plan(events=events, seed=4), path=PATHS[name],
                         observer=CallbackObserver(app.processed.get))


@pytest.mark.parametrize("name", sorted(SDK_RECEIVERS))
def test_with_no_trouble_each_sdk_receiver_processes_every_event_once(name: str) -> None:
    report = _rehearse(name, Trouble())
    assert report.delivered == report.processed_once == report.events


@pytest.mark.parametrize("name", sorted(SDK_RECEIVERS))
def test_after_an_outage_an_sdk_receiver_has_what_was_delivered_once_and_nothing_else(
        name: str) -> None:
    report = _rehearse(name, Trouble(outages=((0.0, 2 * 3600.0),)))
    assert report.delivered + report.lost == report.events
    assert report.processed_once == report.delivered and report.duplicates == 0


@pytest.mark.parametrize("name", sorted(SDK_RECEIVERS))
def test_a_rotation_the_sdk_receiver_was_not_given_leaves_every_later_message_unverifiable(
        name: str) -> None:
    report = _rehearse(name, Trouble(rotate_at=3600.0), events=8)
    assert report.unverifiable == report.never_processed == 4


def test_slacks_retries_after_slow_acks_are_processed_again_by_the_documented_pattern(
        ) -> None:
    slack = get_provider("slack")
    assert slack.timeout is not None and slack.policy is not None
    report = _rehearse("slack", Trouble(slow=slack.timeout.total + 1), events=3)
    assert report.delivered == 0
    assert report.duplicates == 3
    assert report.extra_processings == 3 * (slack.policy.max_attempts - 1)
