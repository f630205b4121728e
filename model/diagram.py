"""The source diagram, shipped in the package, and a small parser for its FlowZap notation.

``webhook-integration.flowzap`` is the flow diagram hooklab models, exactly as it was given.
FlowZap writes one block per swimlane::

    Lane { # Title
    n1: circle label:"Start"
    n1.handle(right) -> n2.handle(left) [label="Yes"]
    n4.handle(bottom) -> OtherLane.n8.handle(top)
    loop [retry up to 5 times] n15 n16 n17
    }

:func:`parse` turns that text into a :class:`Diagram` of nodes, edges and loops;
:func:`load` reads the shipped file. Edges are keyed ``"n5->n6 [Yes]"``, the same notation
the lifecycle machines use to name the edges they mirror (see
:mod:`hooklab.model.lifecycle`), so fidelity is a set comparison (:func:`fidelity`).

Example::

    >>> diagram = load()
    >>> diagram.nodes["n5"].label
    'Response 2xx?'
    >>> "n5->n6 [Yes]" in diagram.edge_keys()
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

from statemachine import StateMachine

from .errors import DiagramError
from .lifecycle import ADDITION

__all__ = [
    "Diagram",
    "DiagramEdge",
    "DiagramNode",
    "Fidelity",
    "Loop",
    "fidelity",
    "load",
    "machine_edges",
    "machine_nodes",
    "parse",
]

DIAGRAM_FILE = "webhook-integration.flowzap"

_LANE = re.compile(r"^(\w+)\s*\{\s*(?:#\s*(.*))?$")
_NODE = re.compile(r'^(n\d+):\s*(\w+)\s+label:"([^"]*)"$')
_ENDPOINT = r"(?:(\w+)\.)?(n\d+)\.handle\(\w+\)"
_EDGE = re.compile(rf'^{_ENDPOINT}\s*->\s*{_ENDPOINT}(?:\s*\[label="([^"]*)"\])?$')
_LOOP = re.compile(r"^loop\s*\[([^\]]*)\]\s*((?:n\d+\s*)+)$")


@dataclass(frozen=True)
class DiagramNode:
    """A node: ``id`` (``n1``…), its lane, its shape (circle, rectangle, diamond), its label."""

    id: str
    lane: str
    shape: str
    label: str


@dataclass(frozen=True)
class DiagramEdge:
    """A directed edge, with its label (``""`` when it has none)."""

    source: str
    target: str
    label: str = ""

    @property
    def key(self) -> str:
        """The edge as the machines name it: ``"n5->n6 [Yes]"`` or ``"n1->n2"``."""
        suffix = f" [{self.label}]" if self.label else ""
        return f"{self.source}->{self.target}{suffix}"


@dataclass(frozen=True)
class Loop:
    """A loop over nodes, with its text (``"retry up to 5 times"``)."""

    text: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Diagram:
    """A parsed FlowZap diagram."""

    lanes: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, DiagramNode] = field(default_factory=dict)
    edges: tuple[DiagramEdge, ...] = ()
    loops: tuple[Loop, ...] = ()

    def edge_keys(self) -> set[str]:
        """Every edge, keyed as the machines name edges."""
        return {e.key for e in self.edges}


def parse(text: str) -> Diagram:
    """Parse FlowZap text; raises :class:`DiagramError` naming the line that does not parse."""
    lanes: dict[str, str] = {}
    nodes: dict[str, DiagramNode] = {}
    edges: list[DiagramEdge] = []
    loops: list[Loop] = []
    lane: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if lane is None:
            match = _LANE.match(line)
            if not match:
                raise DiagramError(f"line {number}: expected 'Lane {{', got {line!r}")
            lane = match.group(1)
            lanes[lane] = (match.group(2) or lane).strip()
        elif line == "}":
            lane = None
        elif match := _NODE.match(line):
            node_id, shape, label = match.groups()
            if node_id in nodes:
                raise DiagramError(f"line {number}: node {node_id} declared twice")
            nodes[node_id] = DiagramNode(node_id, lane, shape, label)
        elif match := _EDGE.match(line):
            edges.append(DiagramEdge(match.group(2), match.group(4), match.group(5) or ""))
        elif match := _LOOP.match(line):
            loops.append(Loop(match.group(1).strip(), tuple(match.group(2).split())))
        else:
            raise DiagramError(f"line {number}: cannot parse {line!r}")
    if lane is not None:
        raise DiagramError(f"lane {lane!r} is not closed with '}}'")
    for e in edges:
        for end in (e.source, e.target):
            if end not in nodes:
                raise DiagramError(f"edge {e.key} names undeclared node {end}")
    return Diagram(lanes, nodes, tuple(edges), tuple(loops))


def load() -> Diagram:
    """The source diagram shipped inside the package."""
    text = resources.files(__package__).joinpath(DIAGRAM_FILE).read_text(encoding="utf-8")
    return parse(text)


def machine_nodes(machine: type[StateMachine]) -> dict[str, str]:
    """State id → the diagram node it mirrors (or ``ADDITION``)."""
    return {str(s.id): s.node for s in machine.states}


def machine_edges(machine: type[StateMachine]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """``(event, source, target, edges)`` for every transition, plus the cross-lane
    hand-offs of each state as ``("handoff", state, "", edges)``."""
    rows: list[tuple[str, str, str, tuple[str, ...]]] = []
    for state in machine.states:
        for t in state.transitions:
            (target,) = t.targets
            rows.append((str(t.event), str(state.id), str(target.id), t.edges))
        if state.handoffs:
            rows.append(("handoff", str(state.id), "", state.handoffs))
    return rows


@dataclass(frozen=True)
class Fidelity:
    """How the machines cover the diagram; every set is empty when they mirror it exactly."""

    unmapped_nodes: frozenset[str]
    unmapped_edges: frozenset[str]
    unknown_nodes: frozenset[str]
    unknown_edges: frozenset[str]
    unannotated: frozenset[str]

    @property
    def exact(self) -> bool:
        """Every diagram node and edge is mirrored, and every mirror names the diagram."""
        return not (
            self.unmapped_nodes
            or self.unmapped_edges
            or self.unknown_nodes
            or self.unknown_edges
            or self.unannotated
        )


def fidelity(diagram: Diagram, machines: list[type[StateMachine]]) -> Fidelity:
    """Compare ``machines`` with ``diagram`` both ways.

    A node is mirrored by a state, or (diamonds) by a transition whose edges pass through it.
    """
    named_nodes: set[str] = set()
    named_edges: set[str] = set()
    unannotated: set[str] = set()
    for machine in machines:
        for state, node in machine_nodes(machine).items():
            if not node:
                unannotated.add(f"{machine.__name__}.{state}")
            named_nodes.add(node)
        for event, source, target, edges in machine_edges(machine):
            if not edges:
                unannotated.add(f"{machine.__name__}.{event}:{source}->{target}")
            named_edges.update(edges)
    named_edges.discard(ADDITION)
    named_nodes.discard(ADDITION)
    through = {end for key in named_edges for end in key.split(" ")[0].split("->")}
    diagram_edges = diagram.edge_keys()
    return Fidelity(
        unmapped_nodes=frozenset(set(diagram.nodes) - named_nodes - through),
        unmapped_edges=frozenset(diagram_edges - named_edges),
        unknown_nodes=frozenset(named_nodes - set(diagram.nodes)),
        unknown_edges=frozenset(named_edges - diagram_edges),
        unannotated=frozenset(unannotated),
    )
