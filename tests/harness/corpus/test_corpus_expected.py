"""The expected verdict table is complete, well-formed and cites ground truth that exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .expected import CHECKS, EXPECTED, VERDICTS, WITHOUT_OBSERVER, expected
from .serve import RECEIVERS

HERE = Path(__file__).resolve().parent


def _tests_in(module: str) -> set[str]:
    tree = ast.parse((HERE / f"{module}.py").read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_receiver_has_a_verdict_for_every_check() -> None:
    assert sorted(EXPECTED) == sorted(RECEIVERS)
    for verdicts in EXPECTED.values():
        assert sorted(verdicts) == sorted(CHECKS)


@pytest.mark.parametrize("receiver", list(EXPECTED))
def test_every_verdict_has_a_known_status_a_reason_and_existing_evidence(receiver: str) -> None:
    for check, verdict in EXPECTED[receiver].items():
        assert verdict.status in VERDICTS, (check, verdict.status)
        assert verdict.reason and "\n" not in verdict.reason, check
        for cited in verdict.evidence:
            module, _, test = cited.partition("::")
            assert test in _tests_in(module), f"{receiver}/{check} cites missing {cited}"
        # a verdict that is not skipped must rest on a ground-truth test
        assert verdict.status == "skipped" or verdict.evidence, (receiver, check)


def test_without_an_observer_processing_checks_are_skipped_not_passed() -> None:
    for receiver in EXPECTED:
        for check in WITHOUT_OBSERVER:
            assert expected(receiver, check, observed=False).status == "skipped"
    assert expected("svix_flask", "rejects_invalid_signature", observed=False).status == (
        "passed")


def test_a_rejection_other_than_401_that_passes_carries_a_note() -> None:
    for receiver, verdicts in EXPECTED.items():
        for check, verdict in verdicts.items():
            if verdict.status == "passed" and check.startswith("rejects_"):
                assert verdict.note, (receiver, check)
