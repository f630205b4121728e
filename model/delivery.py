"""The Delivery lifecycle: the ExternalService and RetryQueue lanes (n1–n7, n15–n17).

One Delivery is one message on its way to one endpoint. It mirrors the diagram::

    Start(n1) → Event occurs(n2) → Prepare webhook payload(n3) → Send HTTP POST(n4)
      → Response 2xx?(n5) ─Yes→ Log successful delivery(n6) → End(n7)
                           └No→ Add to retry queue(n15) → Wait with backoff(n16)
                                → Retry delivery(n17) ─Retry→ Send HTTP POST(n4)

The diamond n5 is the guarded event ``respond``; its argument is a :class:`Verdict`, built
by the retry policy from the attempt's outcome. Additions the diagram leaves implicit:

- ``failed`` (dead-lettered), a terminal state reached when no retry is left
  ("retry up to 5 times" has run out, or the retry window is over), when the endpoint
  answers 410 Gone, or when the endpoint is disabled while the message waits;
- ``expire``: a retry whose worker took it only after the policy's ``max_window`` had
  closed fails without being sent (``retrying → failed``, reason ``retry_window``).

Example::

    >>> from hooklab.model.lifecycle import fire
    >>> from hooklab.model.outcomes import OutcomeKind
    >>> machine = Delivery()
    >>> for event in ("occur", "prepare_payload", "post"):
    ...     _ = fire(machine, event)
    >>> fire(machine, "respond", Verdict(OutcomeKind.SUCCESS, next_delay=None))
    'delivered'
"""

from __future__ import annotations

from typing import NamedTuple

from statemachine import StateMachine

from .lifecycle import ADDITION, Node, edge
from .outcomes import OutcomeKind

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "Delivery",
    "Verdict",
    "gone",
    "succeeded",
    "will_retry",
]

#: The diagram's "retry up to 5 times": the first attempt plus five retries.
DEFAULT_MAX_ATTEMPTS = 6


class Verdict(NamedTuple):
    """What the sender concluded from one attempt: the outcome class and, if the retry
    policy grants one, the delay before the next attempt (``None``: no retry left)."""

    kind: OutcomeKind
    next_delay: float | None


def succeeded(verdict: Verdict) -> bool:
    """n5 "Response 2xx?" answered Yes."""
    return verdict.kind is OutcomeKind.SUCCESS


def gone(verdict: Verdict) -> bool:
    """The endpoint answered 410 Gone: stop and disable it."""
    return verdict.kind is OutcomeKind.GONE


def will_retry(verdict: Verdict) -> bool:
    """The retry policy grants another attempt ("retry up to 5 times")."""
    return verdict.next_delay is not None


class Delivery(StateMachine):
    """One message's delivery to one endpoint, from the event to delivered or failed."""

    event_argument = "verdict"

    start = Node("n1", "Start", initial=True)
    event_occurred = Node("n2", "Event occurs")
    payload_prepared = Node("n3", "Prepare webhook payload")
    sending = Node("n4", "Send HTTP POST request", handoffs=("n4->n8 [POST /webhook]",))
    delivered = Node("n6", "Log successful delivery")
    end = Node("n7", "End", final=True)
    retry_queued = Node("n15", "Add to retry queue")
    waiting = Node("n16", "Wait with backoff")
    retrying = Node("n17", "Retry delivery")
    failed = Node(ADDITION, "Failed (dead-lettered)", final=True)

    occur = edge(start.to(event_occurred), "n1->n2")
    prepare_payload = edge(event_occurred.to(payload_prepared), "n2->n3")
    post = edge(payload_prepared.to(sending), "n3->n4") | edge(
        retrying.to(sending), "n17->n4 [Retry]"
    )
    respond = (
        edge(sending.to(delivered, cond=succeeded), "n5->n6 [Yes]")
        | edge(sending.to(failed, cond=gone), ADDITION)
        | edge(
            sending.to(retry_queued, cond=will_retry),
            "n5->n15 [No]",
            "n12->n5 [401]",
            "n14->n5 [400]",
        )
        | edge(sending.to(failed), ADDITION)
    )
    log = edge(delivered.to(end), "n6->n7")
    backoff = edge(retry_queued.to(waiting), "n15->n16")
    retry = edge(waiting.to(retrying), "n16->n17")
    disable = edge(
        payload_prepared.to(failed)
        | retry_queued.to(failed)
        | waiting.to(failed)
        | retrying.to(failed),
        ADDITION,
    )
    expire = edge(retrying.to(failed), ADDITION)
