"""``hooklab diagram``: print the lifecycle machines, as Mermaid or as Markdown tables.

Both forms come from the machine classes themselves (python-statemachine renders Mermaid
without Graphviz), annotated with the diagram nodes and edges each state and transition
mirrors, so what is printed cannot drift from what runs.

Example::

    $ hooklab diagram --format md --machine delivery
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from statemachine import StateMachine

__all__ = ["MACHINES", "register", "render_markdown", "render_mermaid"]

#: The lifecycles by CLI name, in lane order.
MACHINES = ("delivery", "reception", "processing")


def _classes(names: list[str]) -> list[type[StateMachine]]:
    from .delivery import Delivery
    from .processing import Processing
    from .reception import Reception

    by_name: dict[str, type[StateMachine]] = {
        "delivery": Delivery,
        "reception": Reception,
        "processing": Processing,
    }
    return [by_name[n] for n in names]


def render_mermaid(machine: type[StateMachine]) -> str:
    """Mermaid ``stateDiagram-v2`` source; each state label ends with its diagram node.

    >>> from hooklab.model.delivery import Delivery
    >>> "Start (n1)" in render_mermaid(Delivery)
    True
    """
    from statemachine.contrib.diagram import formatter

    from .diagram import machine_nodes

    nodes = machine_nodes(machine)
    source = formatter.render(machine, "mermaid")

    def label(match: re.Match[str]) -> str:
        return f'state "{match.group(1)} ({nodes[match.group(2)]})" as {match.group(2)}'

    return re.sub(r'state "([^"]*)" as (\w+)', label, source)


def render_markdown(machine: type[StateMachine]) -> str:
    """Two Markdown tables: states with their diagram nodes; transitions with guards and
    the diagram edges they mirror."""
    from .diagram import load

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


def _run(args: argparse.Namespace) -> int:
    names = list(MACHINES) if args.machine == "all" else [args.machine]
    render = render_mermaid if args.format == "mermaid" else render_markdown
    parts = []
    for machine in _classes(names):
        body = render(machine)
        if args.format == "mermaid":
            body = f"%% {machine.__name__}\n{body}"
        parts.append(body.rstrip("\n"))
    print("\n\n".join(parts))
    return 0


def register(subparsers: Any) -> None:
    """Add ``hooklab diagram``."""
    parser = subparsers.add_parser(
        "diagram",
        help="print the lifecycle machines (Mermaid or Markdown)",
        description="Print the Delivery, Reception and Processing machines, annotated with "
        "the source diagram's nodes (n1..n21) and edges.",
    )
    parser.add_argument("--format", choices=("mermaid", "md"), default="mermaid",
                        help="Mermaid state diagrams, or Markdown tables (default: mermaid)")
    parser.add_argument("--machine", choices=(*MACHINES, "all"), default="all",
                        help="print only this machine (default: all)")
    parser.set_defaults(handler=_run)
