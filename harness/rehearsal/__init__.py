"""hooklab.harness.rehearsal: a provider twin's deliveries played against a real receiver.

The pure rehearsal (:mod:`hooklab.model.rehearsal`) says what a provider sends and when;
this package sends it:

- ``runner``: :func:`run_rehearsal` (an app, ``module:attr`` or a URL) and
  :func:`rehearse` (any :class:`~hooklab.harness.transport.Channel`), on virtual time or
  compressed real time;
- ``observe``: what the receiver processed, through a callback, the reference receiver's
  counts or its ``/_hooklab/state`` view over HTTP;
- ``machine``: :class:`RehearsalMachine`, the rehearsal as a Hypothesis stateful test, so a
  failing trace of trouble shrinks to its smallest form.
"""

from __future__ import annotations

from .machine import (
    TROUBLES,
    RehearsalFailure,
    RehearsalMachine,
    failure_text,
    rehearsal_test,
)
from .observe import (
    CallbackObserver,
    Observer,
    ObserverFailed,
    StateObserver,
    receiver_observer,
)
from .runner import DEFAULT_TIMEOUT, IN_PROCESS_URL, load_target, rehearse, run_rehearsal

__all__ = [
    "DEFAULT_TIMEOUT",
    "IN_PROCESS_URL",
    "TROUBLES",
    "CallbackObserver",
    "Observer",
    "ObserverFailed",
    "RehearsalFailure",
    "RehearsalMachine",
    "StateObserver",
    "failure_text",
    "load_target",
    "receiver_observer",
    "rehearsal_test",
    "rehearse",
    "run_rehearsal",
]
