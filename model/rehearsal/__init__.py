"""Rehearsals: a provider twin's real delivery behaviour played against one receiver.

A rehearsal asks what a receiver ends up with when a provider delivers to it as that
provider really does (its payloads, signatures, timeout, retry schedule and disable rule)
while things go wrong: the receiver is down for a while, the signing key rotates, or the
receiver acknowledges too slowly. Everything here is pure and runs on a virtual clock:

- ``trouble``: :class:`Trouble`, the scripted trouble, and :func:`parse_span` for
  durations (``4h1m``);
- ``engine``: :class:`Rehearsal`, the loop a caller drives, one attempt at a time;
- ``report``: :class:`RehearsalReport`, what the receiver ended up with, counting only
  what was observed.

:mod:`hooklab.harness.rehearsal` drives it against an in-process app or over HTTP.

    >>> from hooklab.model.outcomes import classify
    >>> from hooklab.model.providers import get_provider
    >>> rehearsal = Rehearsal(get_provider("stripe"), {"old": "whsec_test"},
    ...                       plan=Plan(events=3))
    >>> rehearsal.run(lambda step: classify(200))
    >>> report = RehearsalReport.of(rehearsal, processed=None)
    >>> report.delivered, report.processed_once
    (3, None)
"""

from __future__ import annotations

from .engine import FATES, Plan, Rehearsal, RehearsedAttempt, Step, check_rehearsable
from .report import RehearsalReport
from .trouble import NO_TROUBLE, Trouble, parse_outage, parse_span, words

__all__ = [
    "FATES",
    "NO_TROUBLE",
    "Plan",
    "Rehearsal",
    "RehearsalReport",
    "RehearsedAttempt",
    "Step",
    "check_rehearsable",
    "Trouble",
    "parse_outage",
    "parse_span",
    "words",
]
