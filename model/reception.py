"""The Reception lifecycle: the WebhookReceiver lane (n8–n14).

One Reception is one HTTP request arriving at a receiver. It mirrors the diagram::

    Validate signature header(n8) → Signature valid?(n9) ─No→ Return 401(n12)
                                                        └Yes→ Parse JSON payload(n10)
      → Acknowledge with 200 OK(n11) → Queue for async processing(n13) ─Process→ n18

The diamond n9 is the guarded event ``verify``. Additions the diagram leaves implicit:

- n14 "Return 400 Bad Request" has no incoming edge in the diagram; hooklab makes it the
  failure branch of n10 (``parse`` with malformed JSON).
- ``duplicate``: a redelivered message id is acknowledged (200) but not queued again, so it
  is processed once.

The event argument is a plain ``bool``: did the check of this step pass?

Example::

    >>> from hooklab.model.lifecycle import fire
    >>> machine = Reception()
    >>> fire(machine, "verify", False)
    'unauthorized'
"""

from __future__ import annotations

from statemachine import StateMachine

from .lifecycle import ADDITION, Node, edge

__all__ = ["Reception", "STATUS_CODES", "is_new", "json_ok", "signature_valid"]


def signature_valid(ok: bool) -> bool:
    """n9 "Signature valid?" answered Yes."""
    return ok


def json_ok(ok: bool) -> bool:
    """n10 parsed the body as JSON."""
    return ok


def is_new(ok: bool) -> bool:
    """The message id was not seen before (not a redelivery)."""
    return ok


class Reception(StateMachine):
    """One request at the receiver, from signature check to 200, 400 or 401."""

    event_argument = "ok"

    validating = Node("n8", "Validate signature header", initial=True)
    parsing = Node("n10", "Parse JSON payload")
    unauthorized = Node("n12", "Return 401 Unauthorized", final=True, handoffs=("n12->n5 [401]",))
    bad_request = Node("n14", "Return 400 Bad Request", final=True, handoffs=("n14->n5 [400]",))
    acknowledged = Node("n11", "Acknowledge with 200 OK")
    queued = Node("n13", "Queue for async processing", final=True, handoffs=("n13->n18 [Process]",))
    duplicate = Node(ADDITION, "Acknowledged duplicate", final=True)

    verify = edge(validating.to(parsing, cond=signature_valid), "n8->n9", "n9->n10 [Yes]") | edge(
        validating.to(unauthorized), "n8->n9", "n9->n12 [No]"
    )
    parse = edge(parsing.to(acknowledged, cond=json_ok), "n10->n11") | edge(
        parsing.to(bad_request), ADDITION
    )
    enqueue = edge(acknowledged.to(queued, cond=is_new), "n11->n13") | edge(
        acknowledged.to(duplicate), ADDITION
    )


#: The HTTP status each final state answers with.
STATUS_CODES = {"unauthorized": 401, "bad_request": 400, "queued": 200, "duplicate": 200}
