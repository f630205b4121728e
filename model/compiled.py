"""A compiled transition table, derived from a machine class by introspection.

python-statemachine costs about 150 µs a transition and 0.3 ms a machine. The simulator
fires millions of transitions, so its hot path runs the same lifecycle as a table instead:
:func:`compile_machine` reads a machine class (its states, events, transitions, guards and
their order) and returns a :class:`CompiledMachine`. No state or edge is written twice: the
table is built from the class, and a Hypothesis test proves both engines agree on every
event sequence.

A state is a small ``int``; :meth:`CompiledMachine.fire` takes the state, the event name and
the machine's event argument, and returns the next state::

    >>> from hooklab.model.delivery import Delivery
    >>> delivery = compile_machine(Delivery)
    >>> state = delivery.initial
    >>> state = delivery.fire(state, "occur")
    >>> delivery.name(state)
    'event_occurred'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from statemachine import StateMachine

from .errors import IllegalTransition

__all__ = ["CompiledMachine", "compile_machine"]

Guard = Callable[[Any], bool]
#: One candidate transition: the guards that must hold (each with the value it must have)
#: and the target state. Candidates are tried in declaration order, as python-statemachine
#: does.
Candidate = tuple[tuple[tuple[Guard, bool], ...], int]


@dataclass(frozen=True)
class CompiledMachine:
    """A machine class as a table: ``table[state][event]`` lists the candidates."""

    machine: str
    states: tuple[str, ...]
    initial: int
    final: frozenset[int]
    table: tuple[dict[str, tuple[Candidate, ...]], ...]

    def index(self, state: str) -> int:
        """The number of the state called ``state``."""
        return self.states.index(state)

    def name(self, state: int) -> str:
        """The id of state number ``state``."""
        return self.states[state]

    def is_final(self, state: int) -> bool:
        """Whether ``state`` is terminal."""
        return state in self.final

    def allowed(self, state: int) -> tuple[str, ...]:
        """The events state ``state`` accepts."""
        return tuple(self.table[state])

    def fire(self, state: int, event: str, arg: Any = None) -> int:
        """The state after ``event`` (with event argument ``arg``) in ``state``.

        Raises :class:`~hooklab.model.errors.IllegalTransition` when no transition applies.
        """
        candidates = self.table[state].get(event)
        if candidates is not None:
            for guards, target in candidates:
                for guard, expected in guards:
                    if bool(guard(arg)) is not expected:
                        break
                else:
                    return target
        raise IllegalTransition(
            self.machine, self.states[state], event, allowed=tuple(self.table[state])
        )


@cache
def compile_machine(machine: type[StateMachine]) -> CompiledMachine:
    """Derive the :class:`CompiledMachine` of a python-statemachine class (cached)."""
    states = tuple(str(s.id) for s in machine.states)
    index = {name: i for i, name in enumerate(states)}
    table: list[dict[str, list[Candidate]]] = [{} for _ in states]
    for state in machine.states:
        for transition in state.transitions:
            guards = tuple(_guard(machine, spec) for spec in transition.cond)
            (target,) = transition.targets
            for event in str(transition.event).split():
                table[index[str(state.id)]].setdefault(event, []).append(
                    (guards, index[str(target.id)])
                )
    initial = next(i for i, s in enumerate(machine.states) if s.initial)
    final = frozenset(i for i, s in enumerate(machine.states) if s.final)
    return CompiledMachine(
        machine=machine.__name__,
        states=states,
        initial=initial,
        final=final,
        table=tuple({e: tuple(c) for e, c in row.items()} for row in table),
    )


def _guard(machine: type[StateMachine], spec: Any) -> tuple[Guard, bool]:
    func = spec.func
    if not callable(func):
        raise TypeError(
            f"{machine.__name__}: guard {func!r} must be a module-level predicate to compile"
        )
    return func, bool(spec.expected_value)
