"""What every status store shares: the projection of machine states onto statuses, the
:class:`StatusStore` protocol, the views it returns and the checks both stores apply.

A delivery's *status* is a projection of its Delivery machine state
(:data:`STATUS_OF_STATE`): ``pending`` until the first request leaves, ``sending`` while an
attempt is in flight, ``awaiting_retry`` between attempts, then ``delivered`` or ``failed``
(with a :class:`~hooklab.model.records.FailureReason`). The projection is checked against
the compiled machine when this module is imported: every state has exactly one status, so
a state added to the machine cannot go untracked.

:func:`check_move` rejects a move that is not an edge of the Delivery machine;
:func:`check_attempt`, :func:`check_limit` and :func:`moved` are the bookkeeping the two
stores (:mod:`hooklab.model.status.memory`, :mod:`hooklab.model.status.sqlite`) share.

Example::

    >>> STATUS_OF_STATE["retry_queued"]
    <Status.AWAITING_RETRY: 'awaiting_retry'>
    >>> ("waiting", "sending") in LEGAL_MOVES
    False
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ..compiled import compile_machine
from ..delivery import Delivery
from ..errors import ConfigError, IllegalTransition, StoreError
from ..records import AttemptRecord, DeliveryRecord, Status

__all__ = [
    "INITIAL_STATE",
    "LEGAL_MOVES",
    "MAX_RESPONSE_BODY",
    "STATUS_OF_STATE",
    "DeliveryView",
    "StateChange",
    "StatusStore",
    "check_attempt",
    "check_limit",
    "check_move",
    "moved",
    "parse_status",
    "truncate_body",
]

#: Response bytes kept per attempt (Svix keeps up to 20 kB).
MAX_RESPONSE_BODY = 20_000

_STATES_OF_STATUS: dict[Status, tuple[str, ...]] = {
    Status.PENDING: ("start", "event_occurred", "payload_prepared"),
    Status.SENDING: ("sending",),
    Status.AWAITING_RETRY: ("retry_queued", "waiting", "retrying"),
    Status.DELIVERED: ("delivered", "end"),
    Status.FAILED: ("failed",),
}


def _project() -> Mapping[str, Status]:
    machine = compile_machine(Delivery)
    listed = [s for states in _STATES_OF_STATUS.values() for s in states]
    if sorted(listed) != sorted(machine.states):
        raise RuntimeError(
            f"STATUS_OF_STATE must map each Delivery state exactly once: it lists {listed}, "
            f"the machine has {list(machine.states)}"
        )
    return MappingProxyType({s: status for status, states in _STATES_OF_STATUS.items()
                             for s in states})


def _targets() -> Mapping[str, tuple[str, ...]]:
    machine = compile_machine(Delivery)
    return MappingProxyType({
        machine.states[i]: tuple(dict.fromkeys(
            machine.states[target] for candidates in row.values() for _, target in candidates))
        for i, row in enumerate(machine.table)
    })


#: Each Delivery machine state id, projected onto its :class:`Status`.
STATUS_OF_STATE: Mapping[str, Status] = _project()
_TARGETS = _targets()
#: Every ``(old state, new state)`` pair some event of the Delivery machine leads along.
LEGAL_MOVES: frozenset[tuple[str, str]] = frozenset(
    (source, target) for source, targets in _TARGETS.items() for target in targets
)
#: The state a delivery is tracked in when it is added (the machine's initial state).
INITIAL_STATE: str = compile_machine(Delivery).states[compile_machine(Delivery).initial]


def check_move(message_id: str, endpoint_id: str, old: str, new: str) -> None:
    """Raise IllegalTransition unless some Delivery event leads from ``old`` to ``new``.

        >>> check_move("msg_1", "ep_1", "sending", "delivered")
        >>> check_move("msg_1", "ep_1", "waiting", "sending")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.IllegalTransition: Delivery: event 'move msg_1 for ep_1 to sending' \
is not allowed in state 'waiting' (allowed: move to retrying, move to failed)
    """
    if (old, new) not in LEGAL_MOVES:
        allowed = tuple(f"move to {target}" for target in _TARGETS.get(old, ()))
        raise IllegalTransition(
            "Delivery", old, f"move {message_id} for {endpoint_id} to {new}", allowed
        )


def parse_status(value: Status | str) -> Status:
    """``value`` as a :class:`Status`; ConfigError naming the valid ones otherwise.

        >>> parse_status("awaiting_retry")
        <Status.AWAITING_RETRY: 'awaiting_retry'>
    """
    try:
        return Status(value)
    except ValueError:
        valid = ", ".join(s.value for s in Status)
        raise ConfigError(f"unknown status {value!r}; use one of {valid}") from None


def truncate_body(body: str | bytes | None, limit: int = MAX_RESPONSE_BODY) -> str:
    """A response body as text, cut to at most ``limit`` UTF-8 bytes (never mid-character).

        >>> truncate_body(b"\\xc3\\xa9t\\xc3\\xa9", limit=3)
        'ét'
    """
    if not body:
        return ""
    data = body.encode("utf-8", "replace") if isinstance(body, str) else body
    if isinstance(body, str) and len(data) <= limit:
        return body
    return data[:limit].decode("utf-8", "ignore")


class StateChange(NamedTuple):
    """One move of a delivery's machine state, at time ``at``."""

    at: float
    source: str
    target: str
    reason: str | None = None


@dataclass(frozen=True)
class DeliveryView:
    """One delivery as a store knows it: its state, its attempts and why it ended."""

    message_id: str
    endpoint_id: str
    event_type: str
    created_at: float
    state: str
    updated_at: float
    next_attempt_at: float | None = None
    finished_at: float | None = None
    reason: str | None = None
    attempts: tuple[AttemptRecord, ...] = field(default=())

    @property
    def status(self) -> Status:
        """The status the machine state projects onto."""
        return STATUS_OF_STATE[self.state]

    def record(self) -> DeliveryRecord:
        """The plain :class:`~hooklab.model.records.DeliveryRecord` of this delivery."""
        return DeliveryRecord(self.message_id, self.endpoint_id, self.event_type,
                              self.created_at, self.status, len(self.attempts),
                              self.finished_at, self.reason)


@runtime_checkable
class StatusStore(Protocol):
    """Deliveries, attempts and state changes, queryable by endpoint, status and time."""

    def add(self, message_id: str, endpoint_id: str, event_type: str, *,
            created_at: float) -> bool:
        """Track a new delivery in state ``start``; ``False`` (and no change) if that
        message is already tracked for that endpoint (the message id is an idempotency
        key)."""
        ...

    def record_attempt(self, attempt: AttemptRecord) -> None:
        """Store an attempt (numbers run 1, 2, 3...; the body is truncated)."""
        ...

    def move(self, message_id: str, endpoint_id: str, state: str, *, now: float,
             reason: str | None = None) -> None:
        """Move the delivery to machine state ``state``; IllegalTransition unless an event
        of the Delivery machine leads there from its current state."""
        ...

    def get(self, message_id: str, endpoint_id: str) -> DeliveryView | None:
        """The delivery with its attempts, or ``None`` if it is not tracked."""
        ...

    def query(self, *, message_id: str | None = None, endpoint_id: str | None = None,
              status: Status | str | None = None, since: float | None = None,
              until: float | None = None, limit: int | None = None
              ) -> builtins.list[DeliveryRecord]:
        """Deliveries matching every filter given, oldest first (``since <= created_at
        < until``)."""
        ...

    def counts(self, *, endpoint_id: str | None = None, since: float | None = None,
               until: float | None = None) -> dict[Status, int]:
        """How many deliveries have each status (every status present, zeros included)."""
        ...

    def attempts(self, *, message_id: str | None = None, endpoint_id: str | None = None
                 ) -> builtins.list[AttemptRecord]:
        """Attempt records, in the order they were recorded."""
        ...

    def history(self, message_id: str, endpoint_id: str) -> builtins.list[StateChange]:
        """Every state change of the delivery, in order."""
        ...

    def due(self, now: float, *, limit: int | None = None) -> builtins.list[DeliveryRecord]:
        """Deliveries waiting with backoff whose next attempt is due at ``now``."""
        ...

    def batch(self) -> AbstractContextManager[Any]:
        """A block whose writes are atomic (one transaction for SQLite)."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


def check_attempt(attempt: AttemptRecord, recorded: int) -> AttemptRecord:
    """``attempt`` ready to store: numbered right after the ``recorded`` ones (else
    StoreError), times as floats, response body truncated."""
    if attempt.attempt != recorded + 1:
        raise StoreError(
            f"attempt {attempt.attempt} of message {attempt.message_id!r} to endpoint "
            f"{attempt.endpoint_id!r} is out of order: {recorded} recorded so far"
        )
    next_at = attempt.next_attempt_at
    return attempt._replace(
        start=float(attempt.start), end=float(attempt.end),
        next_attempt_at=None if next_at is None else float(next_at),
        response_body=truncate_body(attempt.response_body),
    )


def check_limit(limit: int | None) -> None:
    """ConfigError unless ``limit`` is ``None`` or a count (0 or more)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise ConfigError(f"limit {limit!r} must be a whole number of rows, 0 or more")


def moved(state: str, now: float, reason: str | None, next_attempt_at: float | None,
          finished_at: float | None, old_reason: str | None
          ) -> tuple[float | None, float | None, str | None]:
    """A delivery's ``(next_attempt_at, finished_at, reason)`` after a move into ``state``
    at ``now`` (the bookkeeping both stores share)."""
    if state == "sending" or STATUS_OF_STATE[state] in (Status.DELIVERED, Status.FAILED):
        next_attempt_at = None
    if finished_at is None and STATUS_OF_STATE[state] in (Status.DELIVERED, Status.FAILED):
        finished_at = now
    return next_attempt_at, finished_at, old_reason if reason is None else reason

