"""How a lifecycle machine names the diagram it mirrors, and how to drive one safely.

The machines in :mod:`hooklab.model.delivery`, :mod:`~hooklab.model.reception` and
:mod:`~hooklab.model.processing` are ordinary python-statemachine classes. Two small helpers
attach the diagram to them, so fidelity can be checked by introspection:

- :class:`Node` is a ``State`` that says which diagram node (``n1``…``n21``) it stands for,
  or that it is a documented ``ADDITION`` to the diagram. A node may also *hand off* to
  another lane: an edge that crosses from this machine into another one.
- :func:`edge` marks every transition of a ``TransitionList`` with the diagram edges it
  mirrors, written ``"n5->n6 [Yes]"``, or with :data:`ADDITION`.

:func:`fire` sends one event to a machine and turns python-statemachine's
``TransitionNotAllowed`` into :class:`~hooklab.model.errors.IllegalTransition` (a SimPy
process would otherwise see it as a ``TypeError``).

Example::

    >>> from hooklab.model.delivery import Delivery
    >>> machine = Delivery()
    >>> fire(machine, "occur")
    'event_occurred'
"""

from __future__ import annotations

from typing import Any, cast

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed
from statemachine.transition_list import TransitionList

from .errors import IllegalTransition

__all__ = ["ADDITION", "Node", "edge", "fire", "state_of"]

#: Marks a state or transition the diagram leaves implicit and hooklab adds (documented in
#: the README's "What the diagram leaves implicit" section).
ADDITION = "addition"


class Node(State):
    """A state that mirrors diagram node ``node`` (or is an ``ADDITION``).

    ``handoffs`` lists the cross-lane edges that leave the diagram at this state, into the
    machine of another lane: ``("n13->n18 [Process]",)``.
    """

    def __init__(
        self, node: str, name: str, *, handoffs: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(name, **kwargs)
        self.node = node
        self.handoffs = handoffs


def edge(transitions: TransitionList, *edges: str) -> TransitionList:
    """Mark each transition in ``transitions`` as mirroring the diagram ``edges``.

    An edge is written ``"source->target"`` or ``"source->target [label]"``, or it is
    :data:`ADDITION`.
    """
    for transition in transitions.transitions:
        transition.edges = edges  # type: ignore[attr-defined]
    return transitions


def state_of(machine: StateMachine) -> str:
    """The id of the machine's (single) active state."""
    (state,) = machine.configuration
    return str(state.id)


def fire(machine: StateMachine, event: str, arg: Any = None) -> str:
    """Send ``event`` (with the machine's event argument ``arg``) and return the new state id.

    Raises :class:`IllegalTransition` when the event is not allowed in the current state.
    """
    before = state_of(machine)
    kwargs = {} if arg is None else {cast(Any, type(machine)).event_argument: arg}
    allowed = tuple(str(e.id) for e in machine.allowed_events)
    if event not in allowed:
        raise IllegalTransition(type(machine).__name__, before, event, allowed)
    try:
        machine.send(event, **kwargs)
    except TransitionNotAllowed:  # pragma: no cover - allowed_events already said no
        raise IllegalTransition(type(machine).__name__, before, event, allowed) from None
    return state_of(machine)
