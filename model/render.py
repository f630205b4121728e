"""Rendering the lifecycle machines: Mermaid state diagrams and Markdown tables.

Both forms come from the machine classes themselves (python-statemachine renders Mermaid
without Graphviz), annotated with the diagram nodes and edges each state and transition
mirrors, so what is printed cannot drift from what runs.

Example::

    >>> from hooklab.model.reception import Reception
    >>> render_markdown(Reception).splitlines()[0]
    '### Reception'
"""

from __future__ import annotations

import re
from typing import Any

from statemachine import StateMachine

from .diagram import load, machine_nodes

__all__ = ["render_markdown", "render_mermaid"]


def render_mermaid(machine: type[StateMachine]) -> str:
    """Mermaid ``stateDiagram-v2`` source; each state label ends with its diagram node.

    >>> from hooklab.model.delivery import Delivery
    >>> "Start (n1)" in render_mermaid(Delivery)
    True
    """
    from statemachine.contrib.diagram import formatter

    nodes = machine_nodes(machine)
    source = formatter.render(machine, "mermaid")

    def label(match: re.Match[str]) -> str:
        return f'state "{match.group(1)} ({nodes[match.group(2)]})" as {match.group(2)}'

    return re.sub(r'state "([^"]*)" as (\w+)', label, source)


def render_markdown(machine: type[StateMachine]) -> str:
    """Two Markdown tables: states with their diagram nodes; transitions with guards and
    the diagram edges they mirror."""
    diagram = load()
    lines = [f"### {machine.__name__}", "", "| state | diagram node | label | final |"]
    lines.append("| --- | --- | --- | --- |")
    for state in machine.states:
        node = diagram.nodes.get(state.node)
        label = node.label if node else state.name
        lines.append(f"| `{state.id}` | {state.node} | {label} | {'yes' if state.final else ''} |")
    lines += ["", "| event | source | target | guard | diagram edges |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for state in machine.states:
        for t in state.transitions:
            (target,) = t.targets
            lines.append(
                f"| {t.event} | `{state.id}` | `{target.id}` | {_guard_text(state, t)} "
                f"| {', '.join(t.edges)} |"
            )
        if state.handoffs:
            lines.append(
                f"| (hand-off) | `{state.id}` | other lane |  | {', '.join(state.handoffs)} |"
            )
    return "\n".join(lines) + "\n"


def _guard_text(state: Any, transition: Any) -> str:
    """``succeeded``, ``not will_retry``, ``otherwise`` (unguarded fallback) or ``""``."""
    specs = list(transition.cond)
    if specs:
        return " and ".join(
            ("" if spec.expected_value else "not ") + getattr(spec.func, "__name__", str(spec.func))
            for spec in specs
        )
    guarded_sibling = any(
        other is not transition and other.event == transition.event and list(other.cond)
        for other in state.transitions
    )
    return "otherwise" if guarded_sibling else ""
