"""The shipped diagram parses, and the three machines mirror it exactly, both ways."""

from __future__ import annotations

import re

import pytest

from hooklab.model import DEFAULT_MAX_ATTEMPTS, Delivery, Processing, Reception
from hooklab.model.diagram import fidelity, load, parse
from hooklab.model.errors import DiagramError
from hooklab.model.lifecycle import ADDITION

MACHINES = [Delivery, Reception, Processing]


def test_shipped_diagram_has_the_four_lanes_and_21_nodes() -> None:
    diagram = load()
    assert list(diagram.lanes) == [
        "ExternalService",
        "WebhookReceiver",
        "RetryQueue",
        "EventProcessor",
    ]
    assert sorted(diagram.nodes, key=lambda n: int(n[1:])) == [f"n{i}" for i in range(1, 22)]
    assert diagram.nodes["n9"].shape == "diamond"
    assert "n17->n4 [Retry]" in diagram.edge_keys()


def test_every_node_and_edge_maps_to_a_state_or_transition_and_back() -> None:
    report = fidelity(load(), MACHINES)
    assert report.unmapped_nodes == frozenset()
    assert report.unmapped_edges == frozenset()
    assert report.unknown_nodes == frozenset()
    assert report.unknown_edges == frozenset()
    assert report.unannotated == frozenset()
    assert report.exact


def test_fidelity_notices_a_missing_edge() -> None:
    text = (
        load_text() + '\nExtra {\nn99: rectangle label:"Not modelled"\n'
        "n99.handle(right) -> ExternalService.n1.handle(left)\n}\n"
    )
    report = fidelity(parse(text), MACHINES)
    assert report.unmapped_nodes == {"n99"}
    assert report.unmapped_edges == {"n99->n1"}
    assert not report.exact


def test_retry_loop_bound_matches_default_max_attempts() -> None:
    (loop,) = load().loops
    assert loop.nodes == ("n15", "n16", "n17")
    retries = int(re.search(r"up to (\d+) times", loop.text).group(1))  # type: ignore[union-attr]
    assert retries + 1 == DEFAULT_MAX_ATTEMPTS


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_every_addition_is_documented_in_its_machine_module(machine: type) -> None:
    import sys

    doc = sys.modules[machine.__module__].__doc__ or ""
    for state in machine.states:
        if state.node == ADDITION:
            assert f"``{state.id}``" in doc, f"{machine.__name__}.{state.id} is not documented"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('Lane {\nn1: circle label:"Start"\n', "not closed"),
        ("Lane {\nn1 circle\n}", "line 2"),
        ("Lane {\nn1.handle(right) -> n2.handle(left)\n}", "undeclared node"),
        ('n1: circle label:"x"', "line 1"),
        ('Lane {\nn1: circle label:"a"\nn1: circle label:"b"\n}', "declared twice"),
    ],
)
def test_corrupt_diagram_gets_an_error_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(DiagramError, match=problem):
        parse(text)


def load_text() -> str:
    from importlib import resources

    return resources.files("hooklab.model").joinpath("webhook-integration.flowzap").read_text()


def test_diagram_command_help_explains_every_option() -> None:
    import argparse

    from hooklab.harness.cli import diagram as commands

    parser = argparse.ArgumentParser(prog="hooklab")
    commands.register(parser.add_subparsers(dest="command"))
    diagram = parser._subparsers._group_actions[0].choices["diagram"]
    options = [a for a in diagram._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"format", "machine"}
    assert all(a.help for a in options), [a.dest for a in options if not a.help]
