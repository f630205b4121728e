"""Sender behaviours in sequence against a receiver (Hypothesis stateful testing): the
reference receiver keeps its invariants after every step; broken receivers do not."""

from __future__ import annotations

import pytest
from broken_receivers import MiniReceiver
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from hooklab.harness.conformance import CheckFailed
from hooklab.harness.conformance.stateful import receiver_machine
from hooklab.harness.receiver import STATE_PATH, create_receiver
from hooklab.harness.server import LiveServer

SECRETS = {
    "standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "stripe": "whsec_stripe_test_secret_0123",
    "github": "It's a Secret to Everybody",
}
SECRET = SECRETS["standard"]
QUICK = settings(max_examples=15, stateful_step_count=12, deadline=None, database=None,
                 derandomize=True)
SEARCH = settings(QUICK, max_examples=60)


def run(machine, config=QUICK):
    run_state_machine_as_test(machine, settings=config)


@pytest.mark.parametrize("scheme", sorted(SECRETS))
def test_reference_receiver_keeps_its_invariants_through_any_sender_sequence(scheme):
    receiver = create_receiver(SECRETS[scheme], scheme=scheme)
    # settle only bounds the wait for a first processing; on a loaded machine the background
    # task can take longer than half a second to run (a flaky "processed 0 times")
    run(receiver_machine(receiver, secret=SECRETS[scheme], scheme=scheme,
                         observe=receiver.processed_count, settle=5.0))


def test_reference_receiver_keeps_its_invariants_across_real_key_rotations():
    receiver = create_receiver(SECRET)

    def rotate(secrets):
        receiver.secrets = tuple(secrets)

    run(receiver_machine(receiver, secret=SECRET, observe=receiver.processed_count,
                         rotate=rotate))


@pytest.mark.network
def test_reference_receiver_keeps_its_invariants_over_http():
    from hooklab.harness.conformance import http_observer

    receiver = create_receiver(SECRET, expose_state=True)
    with LiveServer(receiver) as server:
        observe = http_observer(server.url + STATE_PATH, 5.0)
        run(receiver_machine(server.url, secret=SECRET, observe=observe),
            settings(QUICK, max_examples=4, stateful_step_count=8))


@pytest.mark.parametrize("bug, symptom", [
    ("no_dedupe", "processed"),
    ("no_verification", "forged delivery accepted"),
    ("accepts_stale", "replayed old delivery accepted"),
    ("first_signature_only", "valid delivery rejected|redelivery rejected"),
])
def test_state_machine_finds_each_broken_receiver(bug, symptom):
    receiver = MiniReceiver(SECRET, bug=bug)
    machine = receiver_machine(receiver, secret=SECRET, observe=receiver.processed_count,
                               settle=0.2)
    with pytest.raises(CheckFailed, match=symptom):
        run(machine, SEARCH)


def test_machine_runs_as_a_unittest_testcase():
    receiver = create_receiver(SECRET)
    machine = receiver_machine(receiver, secret=SECRET, observe=receiver.processed_count)
    machine.TestCase.settings = settings(QUICK, max_examples=3)
    result = machine.TestCase("runTest").run()
    assert result.wasSuccessful(), result.failures + result.errors


@pytest.mark.network
@pytest.mark.parametrize("answer", [b'{"count": "many"}', b"null", b'"x"', b'{"processed": {}}'])
def test_observer_answer_that_is_not_a_count_is_a_check_failure_not_a_traceback(answer):
    from hooklab.harness.conformance import http_observer

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})

    with LiveServer(app) as server:
        observe = http_observer(server.url + STATE_PATH, 5.0)
        with pytest.raises(CheckFailed, match="processing observer failed"):
            observe("msg_1")
