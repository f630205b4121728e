"""Tracking one delivery: drive the Delivery machine and write every step to a status store.

A :class:`DeliveryTracker` is what a real sender (the HTTP sender, the durable outbox) holds
for one message on its way to one endpoint. It fires the events of the **compiled**
Delivery machine (:func:`~hooklab.model.compiled.compile_machine`: the machine class is the
only description of the graph) and writes each resulting state, and each attempt, to a
:class:`~hooklab.model.status.StatusStore`:

==============  =========================================  ==============================
method          events fired                               store writes
==============  =========================================  ==============================
``start``       ``occur``, ``prepare_payload``             the delivery, two moves
``attempt``     ``post``                                   one move (to ``sending``)
``finish``      ``respond`` then ``log`` or ``backoff``    the attempt, its moves
``retry_due``   ``retry``                                  one move (to ``retrying``)
``expired``     ``expire``, if the window closed           one move (to ``failed``)
``disable``     ``disable``                                one move (to ``failed``)
==============  =========================================  ==============================

``finish`` asks the endpoint's :class:`~hooklab.model.retry.RetryPolicy` for the verdict
on the attempt's outcome. A delivery that fails records why: ``exhausted`` (no attempt
left), ``retry_window`` (the next attempt would start past the policy's ``max_window``),
``not_retried`` (a status the policy never retries, such as Azure Event Grid's 400),
``gone`` (410: the caller should disable the endpoint too) or ``disabled: <reason>``
(the simulator uses the same words).
Each step's writes are one store batch (one SQLite transaction). The tracker keeps no
state the store lacks, so :meth:`DeliveryTracker.resume` rebuilds one after a crash.

The simulator does not use this class: it fires the compiled table directly, for speed.

Example::

    >>> import random
    >>> from hooklab.model.outcomes import classify
    >>> from hooklab.model.retry import RetryPolicy
    >>> from hooklab.model.status import MemoryStatusStore
    >>> tracker = DeliveryTracker(MemoryStatusStore())
    >>> tracker.start("msg_1", "ep_1", "invoice.paid", now=0.0)
    >>> tracker.attempt(now=0.0)
    1
    >>> tracker.finish(classify(200), now=0.3, policy=RetryPolicy("p"), rng=random.Random(0))
    >>> tracker.status
    <Status.DELIVERED: 'delivered'>
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .compiled import CompiledMachine, compile_machine
from .delivery import Delivery
from .errors import IllegalTransition, StoreError
from .outcomes import Outcome, OutcomeKind
from .records import AttemptRecord, FailureReason, Status
from .status import STATUS_OF_STATE, DeliveryView, StatusStore, truncate_body

if TYPE_CHECKING:
    from .retry import RetryPolicy

__all__ = ["DeliveryTracker", "disabled_reason"]

_DELIVERY: CompiledMachine = compile_machine(Delivery)
# The Delivery machine's events this tracker fires (checked against the machine on import).
_OCCUR, _PREPARE, _POST, _RESPOND = "occur", "prepare_payload", "post", "respond"
_LOG, _BACKOFF, _RETRY, _DISABLE = "log", "backoff", "retry", "disable"
_EXPIRE = "expire"
_missing = {_OCCUR, _PREPARE, _POST, _RESPOND, _LOG, _BACKOFF, _RETRY, _DISABLE, _EXPIRE} - {
    event for row in _DELIVERY.table for event in row
}
if _missing:
    raise RuntimeError(f"DeliveryTracker fires events the Delivery machine lacks: {_missing}")


def disabled_reason(reason: str) -> str:
    """The reason recorded on a delivery failed because its endpoint was disabled.

        >>> disabled_reason("410 Gone")
        'disabled: 410 Gone'
    """
    return f"{FailureReason.DISABLED}: {reason}"


class DeliveryTracker:
    """One delivery driven through the compiled Delivery machine; see the module docstring.
    """

    def __init__(self, store: StatusStore) -> None:
        self.store = store
        self.message_id = ""
        self.endpoint_id = ""
        self._state = _DELIVERY.initial
        self._attempts = 0
        self._started: float | None = None  # when the attempt in flight started
        self._first: float | None = None  # when attempt 1 started
        self._previous_delay: float | None = None  # the wait before the latest attempt
        self._reason: str | None = None

    @classmethod
    def resume(cls, store: StatusStore, message_id: str, endpoint_id: str) -> DeliveryTracker:
        """A tracker for a delivery the store already tracks, in the state it was left in.

            >>> from hooklab.model.status import MemoryStatusStore
            >>> store = MemoryStatusStore()
            >>> DeliveryTracker(store).start("m", "e", "t", now=0.0)
            >>> DeliveryTracker.resume(store, "m", "e").state
            'payload_prepared'
        """
        view = store.get(message_id, endpoint_id)
        if view is None:
            raise StoreError(f"no delivery of message {message_id!r} to endpoint "
                             f"{endpoint_id!r} is tracked")
        return cls.from_view(store, view)

    @classmethod
    def from_view(cls, store: StatusStore, view: DeliveryView) -> DeliveryTracker:
        """:meth:`resume` from a view the caller already read from ``store`` (in the
        same transaction), e.g. one of many read at once.

            >>> from hooklab.model.status import MemoryStatusStore
            >>> store = MemoryStatusStore()
            >>> DeliveryTracker(store).start("m", "e", "t", now=0.0)
            >>> DeliveryTracker.from_view(store, store.get("m", "e")).attempts
            0
        """
        tracker = cls(store)
        tracker.message_id, tracker.endpoint_id = view.message_id, view.endpoint_id
        tracker._state = _DELIVERY.index(view.state)
        tracker._attempts = len(view.attempts)
        tracker._reason = view.reason
        if view.attempts:
            tracker._first = view.attempts[0].start
            last = view.attempts[-1]
            if last.next_attempt_at is not None:
                tracker._previous_delay = last.next_attempt_at - last.end
        if view.state == "sending":
            tracker._started = view.updated_at
            tracker._first = tracker._first if view.attempts else view.updated_at
        return tracker

    @property
    def state(self) -> str:
        """The Delivery machine state id."""
        return _DELIVERY.name(self._state)

    @property
    def status(self) -> Status:
        """The status that state projects onto."""
        return STATUS_OF_STATE[self.state]

    @property
    def attempts(self) -> int:
        """Attempts started so far (the one in flight included)."""
        return self._attempts + (self.state == "sending")

    @property
    def reason(self) -> str | None:
        """Why the delivery failed (``None`` unless it did)."""
        return self._reason

    @property
    def done(self) -> bool:
        """Whether the delivery reached a final state (``end`` or ``failed``)."""
        return _DELIVERY.is_final(self._state)

    def start(self, message_id: str, endpoint_id: str, event_type: str, *, now: float) -> None:
        """Track a new delivery and prepare its payload (n1 → n2 → n3)."""
        if self.message_id:
            raise StoreError(f"this tracker already tracks message {self.message_id!r}")
        with self._all_or_nothing():
            if not self.store.add(message_id, endpoint_id, event_type, created_at=now):
                raise StoreError(f"message {message_id!r} to endpoint {endpoint_id!r} is "
                                 "already tracked; use DeliveryTracker.resume")
            self.message_id, self.endpoint_id = message_id, endpoint_id
            self._fire(_OCCUR, now=now)
            self._fire(_PREPARE, now=now)

    def attempt(self, now: float) -> int:
        """Send the request (n3/n17 → n4); returns the attempt's number (1 for the first)."""
        self._fire(_POST, now=now)
        self._started = now
        if self._first is None:
            self._first = now
        return self._attempts + 1

    def finish(self, outcome: Outcome, *, now: float, policy: RetryPolicy,
               rng: random.Random, body: str | bytes = "") -> float | None:
        """Record the attempt's answer and follow the verdict (n5); returns the backoff
        delay in seconds when a retry is queued, else ``None`` (delivered or failed)."""
        self._check(_RESPOND)
        number = self._attempts + 1
        started = now if self._started is None else self._started
        first = started if self._first is None else self._first
        verdict = policy.verdict(number, outcome, elapsed=now - first,
                                 previous_delay=self._previous_delay, rng=rng)
        target = _DELIVERY.name(_DELIVERY.fire(self._state, _RESPOND, verdict))
        delay = verdict.next_delay if target == "retry_queued" else None
        reason = None
        if target == "failed":
            reason = (FailureReason.GONE if verdict.kind is OutcomeKind.GONE else
                      FailureReason.NOT_RETRIED if not policy.retries(outcome) else
                      FailureReason.EXHAUSTED if number >= policy.max_attempts
                      else FailureReason.RETRY_WINDOW)
        record = AttemptRecord(
            self.message_id, self.endpoint_id, number, started, now, outcome.kind.value,
            outcome.status_code, outcome.error, None if delay is None else now + delay,
            truncate_body(body),
        )
        with self._all_or_nothing():
            self.store.record_attempt(record)
            self._fire(_RESPOND, verdict, now=now, reason=reason)
            self._attempts, self._started = number, None
            if target == "delivered":
                self._fire(_LOG, now=now)
            elif target == "retry_queued":
                self._fire(_BACKOFF, now=now)
                self._previous_delay = delay
        return delay

    def retry_due(self, now: float) -> None:
        """The backoff is over: retry the delivery (n16 → n17). Call :meth:`attempt` next."""
        self._fire(_RETRY, now=now)

    def expired(self, now: float, policy: RetryPolicy) -> bool:
        """Check the retry window again as a worker takes the retry (after
        :meth:`retry_due`): past ``policy.max_window`` since the first attempt, the
        delivery fails (``retry_window``) without being sent, and this returns ``True``.
        The verdict checked the window when the retry was queued; a retry that then
        waited for a worker may be late."""
        window = policy.max_window
        if (window is None or self._first is None or now - self._first <= window
                or self.state != "retrying"):
            return False
        self._fire(_EXPIRE, now=now, reason=FailureReason.RETRY_WINDOW)
        return True

    def disable(self, reason: str, now: float) -> None:
        """The endpoint was disabled: stop, recording ``disabled: <reason>``."""
        self._fire(_DISABLE, now=now, reason=disabled_reason(reason))

    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """One store batch; if it fails, the tracker forgets what it did inside it too."""
        saved = dict(vars(self))
        try:
            with self.store.batch():
                yield
        except BaseException:
            vars(self).update(saved)
            raise

    def _check(self, event: str) -> None:
        if not self.message_id:
            raise StoreError("call DeliveryTracker.start (or resume) first")
        if event not in _DELIVERY.allowed(self._state):
            raise IllegalTransition("Delivery", self.state, event,
                                    _DELIVERY.allowed(self._state))

    def _fire(self, event: str, arg: Any = None, *, now: float,
              reason: str | None = None) -> None:
        self._check(event)
        state = _DELIVERY.fire(self._state, event, arg)
        self.store.move(self.message_id, self.endpoint_id, _DELIVERY.name(state), now=now,
                        reason=reason)
        self._state = state
        if reason is not None:
            self._reason = reason
