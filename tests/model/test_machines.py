"""The lifecycle machines walk the diagram's paths, and their module examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

from hooklab.model import Delivery, IllegalTransition, Processing, Reception, Verdict, fire
from hooklab.model.outcomes import OutcomeKind


def walk(machine: object, *steps: tuple[str, object]) -> list[str]:
    return [fire(machine, event, arg) for event, arg in steps]  # type: ignore[arg-type]


FAIL_RETRY = Verdict(OutcomeKind.SERVER_ERROR, next_delay=60.0)
FAIL_FINAL = Verdict(OutcomeKind.SERVER_ERROR, next_delay=None)


def test_delivery_happy_path_ends_logged() -> None:
    states = walk(
        Delivery(),
        ("occur", None),
        ("prepare_payload", None),
        ("post", None),
        ("respond", Verdict(OutcomeKind.SUCCESS, None)),
        ("log", None),
    )
    assert states == ["event_occurred", "payload_prepared", "sending", "delivered", "end"]


def test_delivery_retries_through_the_retry_queue_then_dead_letters() -> None:
    machine = Delivery()
    walk(machine, ("occur", None), ("prepare_payload", None), ("post", None))
    assert walk(
        machine, ("respond", FAIL_RETRY), ("backoff", None), ("retry", None), ("post", None)
    ) == ["retry_queued", "waiting", "retrying", "sending"]
    assert fire(machine, "respond", FAIL_FINAL) == "failed"
    with pytest.raises(IllegalTransition, match="not allowed in state 'failed'"):
        fire(machine, "post")


def test_gone_stops_even_when_retries_are_left() -> None:
    machine = Delivery()
    walk(machine, ("occur", None), ("prepare_payload", None), ("post", None))
    assert fire(machine, "respond", Verdict(OutcomeKind.GONE, next_delay=5.0)) == "failed"


def test_disabled_endpoint_fails_a_waiting_delivery() -> None:
    machine = Delivery()
    walk(
        machine,
        ("occur", None),
        ("prepare_payload", None),
        ("post", None),
        ("respond", FAIL_RETRY),
        ("backoff", None),
    )
    assert fire(machine, "disable") == "failed"


def test_reception_verifies_before_parsing() -> None:
    assert walk(Reception(), ("verify", False)) == ["unauthorized"]
    with pytest.raises(IllegalTransition):
        fire(Reception(), "parse", True)
    assert walk(Reception(), ("verify", True), ("parse", False)) == ["parsing", "bad_request"]
    assert walk(Reception(), ("verify", True), ("parse", True), ("enqueue", False)) == [
        "parsing",
        "acknowledged",
        "duplicate",
    ]


def test_processing_handler_error_is_recorded_as_failed() -> None:
    assert walk(Processing(), ("deserialize", True), ("route", True), ("execute", False)) == [
        "routing",
        "executing",
        "failed",
    ]
    assert (
        walk(
            Processing(),
            ("deserialize", True),
            ("route", True),
            ("execute", True),
            ("complete", None),
        )[-1]
        == "completed"
    )


@pytest.mark.parametrize(
    "module",
    [
        "lifecycle",
        "delivery",
        "reception",
        "processing",
        "compiled",
        "outcomes",
        "records",
        "diagram",
        "render",
    ],
)
def test_module_examples_run(module: str) -> None:
    mod = importlib.import_module(f"hooklab.model.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no example"
    assert result.failed == 0
