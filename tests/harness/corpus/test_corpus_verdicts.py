"""hooklab's verdicts on the real-library corpus equal the expected ones (issue 11).

For every corpus receiver and check, ``run_checks`` must give the status of
:func:`corpus.expected.expected`, with its note where a passing verdict must carry one
("rejects with 400, not 401"). In-process with fewer examples (quick); over HTTP with the
defaults, as ``hooklab check`` runs (slow). ``python tests/harness/corpus/today.py --runs 3``
prints the same comparison as a table, three consecutive times.
"""

from __future__ import annotations

import logging

import pytest

from hooklab.harness.conformance import run_checks

from .expected import CHECKS, expected
from .serve import RECEIVERS, create_app, node_missing, serving

IN_PROCESS = [name for name, receiver in RECEIVERS.items() if receiver.in_process]
_NOTES = ("rejects with", "refuses")  # the notes hooklab words exactly as expected.py


def _wrong(report, name: str, observed: bool = True) -> list[str]:
    wrong = []
    for check in CHECKS:
        truth = expected(name, check, observed=observed)
        result = report.result(check)
        if result.status != truth.status:
            why = result.reason or (result.findings[0].title if result.findings else "")
            wrong.append(f"{check}: {result.status} ({why}), expected {truth.status}")
        elif truth.status == "passed" and truth.note.startswith(_NOTES) and (
                truth.note not in result.notes):
            wrong.append(f"{check}: passed without the note {truth.note!r}: {result.notes}")
    return wrong


@pytest.fixture(autouse=True)
def _quiet_receivers():
    logging.disable(logging.CRITICAL)  # the receivers log their own 500s
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("name", IN_PROCESS)
def test_every_verdict_in_process_is_the_expected_one(name: str) -> None:
    receiver = RECEIVERS[name]
    app, processed = create_app(name)
    report = run_checks(app, secret=receiver.secret, scheme=receiver.scheme,
                        path=receiver.path, observe=processed.count, max_examples=25)
    assert _wrong(report, name) == []


@pytest.mark.parametrize("name", IN_PROCESS[:2])
def test_without_an_observer_processing_checks_are_skipped(name: str) -> None:
    receiver = RECEIVERS[name]
    app, _ = create_app(name)
    report = run_checks(app, secret=receiver.secret, scheme=receiver.scheme,
                        path=receiver.path, max_examples=10)
    assert _wrong(report, name, observed=False) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECEIVERS))
def test_every_verdict_over_http_with_the_defaults_is_the_expected_one(name: str) -> None:
    receiver = RECEIVERS[name]
    if receiver.kind == "node" and (reason := node_missing()):
        pytest.skip(f"the Express receivers need node and npm: {reason}")
    with serving(name) as served:
        report = run_checks(served.webhook_url, secret=receiver.secret,
                            scheme=receiver.scheme, observe=served.observe_url)
    assert _wrong(report, name) == []
