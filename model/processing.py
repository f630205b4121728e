"""The Processing lifecycle: the EventProcessor lane (n18–n21).

After the receiver acknowledges a message (n13), its event is processed asynchronously::

    Deserialize event data(n18) → Route to handler(n19) → Execute business logic(n20)
      → Update local state(n21) ─Complete→ End(n7)

Each step's event carries a ``bool``: did the step succeed? Addition the diagram leaves
implicit: ``failed``, reached when the data does not deserialize, no handler exists for the
event type, or the handler raises. A failure is recorded, never silently dropped.

Example::

    >>> from hooklab.model.lifecycle import fire
    >>> machine = Processing()
    >>> fire(machine, "deserialize", True)
    'routing'
    >>> fire(machine, "route", False)
    'failed'
"""

from __future__ import annotations

from statemachine import StateMachine

from .lifecycle import ADDITION, Node, edge

__all__ = ["Processing", "step_ok"]


def step_ok(ok: bool) -> bool:
    """The step succeeded."""
    return ok


class Processing(StateMachine):
    """One acknowledged message's processing, from deserialization to completion."""

    event_argument = "ok"

    deserializing = Node("n18", "Deserialize event data", initial=True)
    routing = Node("n19", "Route to handler")
    executing = Node("n20", "Execute business logic")
    updating = Node("n21", "Update local state")
    completed = Node("n7", "Complete", final=True)
    failed = Node(ADDITION, "Processing failed", final=True)

    deserialize = edge(deserializing.to(routing, cond=step_ok), "n18->n19") | edge(
        deserializing.to(failed), ADDITION
    )
    route = edge(routing.to(executing, cond=step_ok), "n19->n20") | edge(
        routing.to(failed), ADDITION
    )
    execute = edge(executing.to(updating, cond=step_ok), "n20->n21") | edge(
        executing.to(failed), ADDITION
    )
    complete = edge(updating.to(completed), "n21->n7 [Complete]")
