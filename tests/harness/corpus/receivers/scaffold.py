"""Test scaffolding shared by the corpus receivers: a count of processed messages.

None of the documented patterns count anything; the corpus records, at the point where a
doc says "do something with the event", that the handler processed a message id. The
``/_corpus/processed`` route of every receiver reads this count. It is not part of any
documented pattern.

Example::

    >>> processed = Processed()
    >>> processed.record("msg_1"); processed.record("msg_1")
    >>> processed.count("msg_1"), processed.count("msg_2")
    (2, 0)
"""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["OBSERVE_PATH", "Processed"]

#: The scaffolding route every corpus receiver serves: ``GET OBSERVE_PATH?message_id=ID``.
OBSERVE_PATH = "/_corpus/processed"


class Processed:
    """How often each message id was processed; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, message_id: str | None) -> None:
        """Count one processing of ``message_id`` (``None``: the id header was absent)."""
        with self._lock:
            self._counts[message_id or ""] += 1

    def count(self, message_id: str) -> int:
        """How often ``message_id`` was processed so far."""
        with self._lock:
            return self._counts[message_id]

    def total(self) -> int:
        """How many processings were recorded, over all message ids."""
        with self._lock:
            return sum(self._counts.values())
