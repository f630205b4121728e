"""``hooklab diagram``: print the lifecycle machines, as Mermaid or as Markdown tables.

The rendering is :mod:`hooklab.model.render`: it reads the machine classes themselves, so
what is printed cannot drift from what runs.

Example::

    $ hooklab diagram --format md --machine delivery
"""

from __future__ import annotations

import argparse
from typing import Any

from statemachine import StateMachine

__all__ = ["MACHINES", "register"]

#: The lifecycles by CLI name, in lane order.
MACHINES = ("delivery", "reception", "processing")


def _classes(names: list[str]) -> list[type[StateMachine]]:
    from hooklab.model.delivery import Delivery
    from hooklab.model.processing import Processing
    from hooklab.model.reception import Reception

    by_name: dict[str, type[StateMachine]] = {
        "delivery": Delivery,
        "reception": Reception,
        "processing": Processing,
    }
    return [by_name[n] for n in names]


def _run(args: argparse.Namespace) -> int:
    from hooklab.model.render import render_markdown, render_mermaid

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
