"""Delivery status: what became of each message sent to each endpoint, attempt by attempt.

A delivery's *status* is a projection of its Delivery machine state
(:data:`STATUS_OF_STATE`): ``pending``, ``sending``, ``awaiting_retry``, then ``delivered``
or ``failed``. A :class:`StatusStore` keeps deliveries, their attempts (response bodies cut
to :data:`MAX_RESPONSE_BODY` bytes) and every state change, and **rejects a move that is
not an edge of the Delivery machine**, so a status only moves forward along the diagram,
whoever drives it. :class:`~hooklab.model.tracking.DeliveryTracker` drives the machine and
writes to a store.

This package is the one public face; each part lives in its own module:

- :mod:`~hooklab.model.status.base`: the projection, the :class:`StatusStore` protocol,
  :class:`DeliveryView`, :class:`StateChange` and the checks both stores apply;
- :mod:`~hooklab.model.status.memory`: :class:`MemoryStatusStore`, in dicts and lists;
- :mod:`~hooklab.model.status.sqlite`: :class:`SqliteStatusStore`, in a SQLite file.

Example::

    >>> from hooklab.model.records import Status
    >>> store = MemoryStatusStore()
    >>> store.add("msg_1", "ep_1", "invoice.paid", created_at=0.0)
    True
    >>> store.move("msg_1", "ep_1", "event_occurred", now=0.0)
    >>> store.counts()[Status.PENDING]
    1
"""

from .base import (
    INITIAL_STATE,
    LEGAL_MOVES,
    MAX_RESPONSE_BODY,
    STATUS_OF_STATE,
    DeliveryView,
    StateChange,
    StatusStore,
    check_attempt,
    check_limit,
    check_move,
    moved,
    parse_status,
    truncate_body,
)
from .memory import MemoryStatusStore
from .sqlite import SqliteStatusStore

__all__ = [
    "INITIAL_STATE",
    "LEGAL_MOVES",
    "MAX_RESPONSE_BODY",
    "STATUS_OF_STATE",
    "DeliveryView",
    "MemoryStatusStore",
    "SqliteStatusStore",
    "StateChange",
    "StatusStore",
    "check_attempt",
    "check_limit",
    "check_move",
    "moved",
    "parse_status",
    "truncate_body",
]
