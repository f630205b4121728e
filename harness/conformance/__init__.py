"""hooklab.harness.conformance: property-test a webhook receiver against the rules it must keep.

:func:`run_checks` runs the named checks against a URL, an ASGI app or a WSGI app and
returns a :class:`Report` of plain records; ``hooklab check``, the pytest plugin
(:mod:`hooklab.harness.pytest_plugin`) and notebooks are thin entry points over it. One
module per idea, each importing only those above it in this list:

- ``payloads.py``: Hypothesis strategies for bodies whose exact bytes matter;
- ``schemes.py``: what each signing scheme means for the rules, and how a forger edits
  headers;
- ``adversarial.py``: the explicit examples every run sends before the drawn ones;
- ``report.py``: :class:`Report`, :class:`CheckResult`, :class:`Finding`, the terminal
  view and JSON;
- ``target.py``: the receiver under test, through the one transport seam
  (:mod:`hooklab.harness.transport`);
- ``context.py``: :class:`CheckContext`, :class:`CheckFailed`, :class:`CheckSkipped`;
- ``hypothesis_env.py``: the same examples from every entry point, nothing in the cwd;
- ``registry.py``: the registry of named checks and its ``@check`` decorator;
- ``checks.py``: the checks, one small function per rule;
- ``engine.py``: :func:`run_check` and :func:`run_checks`;
- ``stateful.py``: :func:`receiver_machine`, a sender played against a receiver step
  after step.

Example::

    >>> CHECK_NAMES[:3]
    ('accepts_valid_delivery', 'rejects_missing_signature', 'rejects_invalid_signature')
    >>> Report("http://127.0.0.1:8000/", "standard", None, 100, 10.0, (), 0.0).passed
    True
"""

from __future__ import annotations

from .checks import CHECK_NAMES
from .context import (
    DEFAULT_LARGE_BODY,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_TIMEOUT,
    CheckContext,
    CheckFailed,
    CheckInconclusive,
    CheckSkipped,
    Observer,
    is_rejection,
)
from .engine import http_observer, run_check, run_checks
from .registry import CHECKS, check
from .report import (
    BLOCKED,
    FAILED,
    INCONCLUSIVE,
    PASSED,
    SKIPPED,
    STATES,
    CheckResult,
    Finding,
    Report,
    render,
)
from .stateful import receiver_machine
from .target import Target, TargetUnreachable, open_target

__all__ = [
    "BLOCKED",
    "CHECKS",
    "CHECK_NAMES",
    "DEFAULT_LARGE_BODY",
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_TIMEOUT",
    "FAILED",
    "INCONCLUSIVE",
    "PASSED",
    "SKIPPED",
    "STATES",
    "CheckContext",
    "CheckFailed",
    "CheckInconclusive",
    "CheckResult",
    "CheckSkipped",
    "Finding",
    "Observer",
    "Report",
    "Target",
    "TargetUnreachable",
    "check",
    "http_observer",
    "is_rejection",
    "open_target",
    "receiver_machine",
    "render",
    "run_check",
    "run_checks",
]
