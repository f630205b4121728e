"""RehearsalMachine: Hypothesis finds a failing trace of trouble and shrinks it."""

from __future__ import annotations

import unittest
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from hooklab.harness.clock import FakeClock
from hooklab.harness.rehearsal import (
    CallbackObserver,
    RehearsalFailure,
    RehearsalMachine,
    rehearsal_test,
)
from hooklab.model.errors import VerificationError
from hooklab.model.providers import get_provider
from hooklab.model.signing import get_scheme

SETTINGS = settings(max_examples=60, database=None, derandomize=True, deadline=None,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink],
                    stateful_step_count=6, suppress_health_check=list(HealthCheck))


def _shrunk(machine: type[RehearsalMachine]) -> str:
    with pytest.raises(RehearsalFailure) as info:
        run_state_machine_as_test(machine, settings=SETTINGS)
    return str(info.value)


class ShopifyOutages(RehearsalMachine):
    provider = "shopify"
    trouble = ("outage",)


def test_an_outage_one_minute_past_shopifys_retry_window_shrinks_to_exactly_that() -> None:
    twin = get_provider("shopify")
    assert twin.policy is not None and twin.policy.attempt_times()[-1] == 4 * 3600
    assert _shrunk(ShopifyOutages) == (
        "loses 4 events under the Shopify twin after an outage of 4 h 1 min")


class NoDedupe(RehearsalMachine):
    """A planted bug: the receiver verifies, then processes every delivery it accepts,
    redeliveries included (no deduplication on the message id)."""

    provider = "standard"
    trouble = ("slow", "rotation")
    virtual_signatures = True

    def receiver(self, secrets: Sequence[str], clock: FakeClock) -> Any:
        scheme = get_scheme("standard")
        processed: Counter[str] = Counter()

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                message_id = scheme.verify(headers, body, secrets=secrets, now=clock.now())
                status = 200
                processed[message_id or ""] += 1
            except VerificationError:
                status = 401
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        app.processed = processed  # type: ignore[attr-defined]
        return app

    def observer(self, app: Any) -> CallbackObserver:
        return CallbackObserver(app.processed.get)


def test_a_planted_short_dedupe_window_is_found_and_shrinks_to_the_slowest_timely_ack_plus_1(
        ) -> None:
    timeout = get_provider("standard").timeout
    assert timeout is not None
    assert _shrunk(NoDedupe) == (
        "processes 4 events more than once under the Standard Webhooks (Svix) twin after "
        f"acks taking {timeout.total + 1:g} s")


class OldKeyOnly(RehearsalMachine):
    provider = "stripe"
    trouble = ("rotation",)
    receiver_knows_new_key = False


def test_a_receiver_left_on_the_old_key_fails_at_the_first_rotation_it_can_see() -> None:
    text = _shrunk(OldKeyOnly)
    assert text.startswith("loses 4 events, cannot verify 4 messages under the Stripe twin")
    assert text.endswith("after a key rotation at 0 s")


class HealthyStandard(RehearsalMachine):
    provider = "standard"
    trouble = ("slow", "rotation")


def test_the_reference_receiver_passes_rotations_and_slow_acks_under_standard() -> None:
    run_state_machine_as_test(HealthyStandard, settings=settings(SETTINGS, max_examples=15))


def test_unknown_trouble_and_partial_twins_are_refused() -> None:
    class Typo(RehearsalMachine):
        trouble = ("outages",)

    class Partial(RehearsalMachine):
        provider = "paddle"

    with pytest.raises(ValueError, match="trouble must be among"):
        Typo()
    with pytest.raises(ValueError, match="fully covered"):
        Partial()


def test_rehearsal_test_gives_a_test_case_whose_failure_is_the_shrunk_sentence() -> None:
    case = rehearsal_test("shopify", trouble=("outage",), max_examples=60)
    result = unittest.TestResult()
    case("runTest").run(result)
    assert len(result.failures) == 1
    text = result.failures[0][1]
    assert ("RehearsalFailure: loses 4 events under the Shopify twin after an outage of "
            "4 h 1 min\n") in text
    assert "state.outage(minutes=241, start=0)" in text


def test_rehearsal_test_of_a_healthy_receiver_passes_and_bad_arguments_fail_at_once() -> None:
    result = unittest.TestResult()
    rehearsal_test("standard", trouble=("rotation", "slow"), max_examples=10)("runTest").run(
        result)
    assert result.wasSuccessful(), result.failures + result.errors
    with pytest.raises(ValueError, match="trouble must be among"):
        rehearsal_test("standard", trouble=("outages",))
    with pytest.raises(ValueError, match="fully covered"):
        rehearsal_test("paddle")
