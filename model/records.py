"""The plain frozen records every driver writes: one per attempt, one per delivery.

A *delivery* is one message on its way to one endpoint (a message fanned out to three
endpoints makes three deliveries). The simulator, the real HTTP sender and the status
stores all describe what happened with these two records; plots, notebooks, exports and
reports read them and never a live driver. Times are seconds: simulated seconds from the
start of a run, or Unix seconds for real runs.

Example::

    >>> a = AttemptRecord("msg_1", "ep_1", 1, 0.0, 0.2, "server_error", 500, None, 5.0)
    >>> a.duration
    0.2
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "ATTEMPT_FIELDS",
    "DELIVERY_FIELDS",
    "AttemptRecord",
    "DeliveryRecord",
    "FailureReason",
    "Status",
]


class Status(StrEnum):
    """A delivery's status, derived from its Delivery machine state (see ``status.py``)."""

    PENDING = "pending"
    SENDING = "sending"
    AWAITING_RETRY = "awaiting_retry"
    DELIVERED = "delivered"
    FAILED = "failed"


class FailureReason(StrEnum):
    """Why a delivery ended ``failed`` (dead-lettered): the same words in every driver.

    A delivery failed because its endpoint was disabled records ``disabled: <why>`` in a
    status store (see :func:`hooklab.model.tracking.disabled_reason`); its kind is
    :attr:`DISABLED`.

        >>> FailureReason.of("disabled: 410 Gone") is FailureReason.DISABLED
        True
    """

    EXHAUSTED = "exhausted"  # every attempt the policy allows was used
    RETRY_WINDOW = "retry_window"  # the next attempt would start past the policy's window
    GONE = "gone"  # the receiver answered 410 Gone
    NOT_RETRIED = "not_retried"  # a status the policy never retries (its no_retry_codes)
    DISABLED = "disabled"  # the endpoint was disabled while the delivery waited

    @classmethod
    def of(cls, reason: str) -> FailureReason:
        """The kind of a recorded reason (``"disabled: why"`` is :attr:`DISABLED`)."""
        return cls(reason.partition(":")[0])


class AttemptRecord(NamedTuple):
    """One attempt: one HTTP request (real or simulated) of one delivery."""

    message_id: str
    endpoint_id: str
    attempt: int
    start: float
    end: float
    outcome: str
    status_code: int
    error: str | None
    next_attempt_at: float | None
    response_body: str = ""

    @property
    def duration(self) -> float:
        """Seconds from the request to its answer (or to the timeout)."""
        return round(self.end - self.start, 9)


class DeliveryRecord(NamedTuple):
    """One delivery's end state: its status, how many attempts it took, and when."""

    message_id: str
    endpoint_id: str
    event_type: str
    created_at: float
    status: str
    attempts: int
    finished_at: float | None
    reason: str | None = None

    @property
    def time_to_delivery(self) -> float | None:
        """Seconds from creation to the successful attempt's answer (``None`` unless
        delivered)."""
        if self.status != Status.DELIVERED or self.finished_at is None:
            return None
        return self.finished_at - self.created_at


ATTEMPT_FIELDS = AttemptRecord._fields
DELIVERY_FIELDS = DeliveryRecord._fields
