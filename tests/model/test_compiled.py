"""The compiled table and python-statemachine are one lifecycle: they agree on everything."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statemachine import StateMachine

from hooklab.model import (
    Delivery,
    IllegalTransition,
    Processing,
    Reception,
    Verdict,
    compile_machine,
    fire,
)
from hooklab.model.outcomes import OutcomeKind

verdicts = st.builds(
    Verdict,
    st.sampled_from(list(OutcomeKind)),
    st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
)


def steps(machine: type[StateMachine], arg: st.SearchStrategy[Any]) -> st.SearchStrategy:
    events = sorted({str(e.id) for e in machine.events} | {"bogus"})
    return st.lists(st.tuples(st.sampled_from(events), arg), max_size=25)


def run_both(machine_cls: type[StateMachine], sequence: list[tuple[str, Any]]) -> None:
    machine = machine_cls()
    table = compile_machine(machine_cls)
    state = table.initial
    for event, arg in sequence:
        try:
            expected = fire(machine, event, arg)
        except IllegalTransition:
            expected = None
        try:
            state = table.fire(state, event, arg)
            got = table.name(state)
        except IllegalTransition:
            got = None
        assert got == expected, f"{event}({arg!r}): compiled {got}, python-statemachine {expected}"
        assert table.name(state) == str(next(iter(machine.configuration)).id)
        assert table.is_final(state) == next(iter(machine.configuration)).final


@settings(max_examples=300, deadline=None)
@given(steps(Delivery, verdicts))
def test_compiled_delivery_agrees_with_statemachine_on_every_event_sequence(sequence: list) -> None:
    run_both(Delivery, sequence)


@settings(max_examples=150, deadline=None)
@given(steps(Reception, st.booleans()))
def test_compiled_reception_agrees_with_statemachine_on_every_event_sequence(
    sequence: list,
) -> None:
    run_both(Reception, sequence)


@settings(max_examples=150, deadline=None)
@given(steps(Processing, st.booleans()))
def test_compiled_processing_agrees_with_statemachine_on_every_event_sequence(
    sequence: list,
) -> None:
    run_both(Processing, sequence)


def test_compiled_table_lists_guards_in_declaration_order() -> None:
    table = compile_machine(Delivery)
    candidates = table.table[table.index("sending")]["respond"]
    names = [(g[0][0].__name__ if g else None, table.name(t)) for g, t in candidates]
    assert names == [
        ("succeeded", "delivered"),
        ("gone", "failed"),
        ("will_retry", "retry_queued"),
        (None, "failed"),
    ]


def test_string_guards_cannot_be_compiled() -> None:
    from statemachine import State

    class Stringly(StateMachine):
        a = State(initial=True)
        b = State(final=True)
        go = a.to(b, cond="ready")

        def ready(self) -> bool:
            return True

    with pytest.raises(TypeError, match="module-level predicate"):
        compile_machine(Stringly)
