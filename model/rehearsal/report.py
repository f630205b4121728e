"""What a receiver ended up with after a rehearsal, claiming no more than was observed.

The provider's side is always known: how many events were ``delivered`` (acknowledged in
time), ``exhausted`` (retries used up) or ``dropped`` (the twin's disable rule stopped
delivery), and how many were ``unverifiable`` (refused with 400, 401 or 403 after the key
rotated). What the receiver *processed* is known only through an observer (the
reference receiver's state view, or a callback): then ``processed_once``,
``duplicates`` (events processed more than once), ``extra_processings`` and
``never_processed`` are counts; without one they are None, and the text says
"processed: not observed".

A rehearsal is ``ok`` when every event was processed exactly once (observed), or, without
an observer, when the provider delivered every event.

    >>> report = RehearsalReport("shopify", "no trouble", events=2, attempts=2,
    ...                          delivered=2, exhausted=0, dropped=0, unverifiable=0,
    ...                          processed=(1, 1))
    >>> report.ok, report.duplicates
    (True, 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import Rehearsal
from .trouble import words

__all__ = ["RehearsalReport"]


@dataclass(frozen=True)
class RehearsalReport:
    """One rehearsal's outcome; see the module docstring. ``processed`` holds how often
    the receiver processed each event, in event order (None: not observed)."""

    provider: str
    trouble: str
    events: int
    attempts: int
    delivered: int
    exhausted: int
    dropped: int
    unverifiable: int
    processed: tuple[int, ...] | None = None
    disabled_at: float | None = None
    disable_reason: str | None = None
    notes: tuple[str, ...] = field(default=())
    #: Events the provider gave up on that the receiver did process (acknowledged too
    #: late, or processed before a failing answer); None: not observed.
    lost_but_processed: int | None = None
    #: Each event's message id and fate, in event order.
    messages: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, rehearsal: Rehearsal,
           processed: Mapping[str, int] | Sequence[int] | None) -> RehearsalReport:
        """The report of a finished ``rehearsal``; ``processed`` maps message ids (or
        lists, in event order) to how often the receiver processed them."""
        fates = rehearsal.fates
        counts: tuple[int, ...] | None = None
        if isinstance(processed, Mapping):
            counts = tuple(int(processed.get(m, 0)) for m in rehearsal.message_ids)
        elif processed is not None:
            counts = tuple(int(n) for n in processed)
        notes = []
        if rehearsal.disable_modelled is False:
            assert rehearsal.twin.disable is not None
            notes.append(f"disable rule not played: {rehearsal.twin.name} "
                         f"{rehearsal.twin.disable.describe()}")
        if rehearsal.twin.policy is None:
            notes.append(f"retries not played: {rehearsal.twin.name}'s twin states none, so "
                         "each event gets one attempt")
        slow = rehearsal.trouble.slow
        if slow is not None and rehearsal.timeout is None:
            notes.append(f"slow acks not judged: {rehearsal.twin.name} states no timeout")
        late = None if counts is None else sum(
            1 for fate, n in zip(fates, counts, strict=True)
            if fate in ("exhausted", "dropped") and n > 0)
        return cls(
            rehearsal.twin.name, rehearsal.trouble.describe(), len(fates),
            len(rehearsal.attempts), fates.count("delivered"), fates.count("exhausted"),
            fates.count("dropped"), len(rehearsal.unverifiable()), counts,
            rehearsal.disabled_at, rehearsal.disable_reason, tuple(notes), late,
            tuple(zip(rehearsal.message_ids, fates, strict=True)))

    # ------------------------------------------------------------------ derived counts

    @property
    def observed(self) -> bool:
        """Whether the receiver's processing was observed."""
        return self.processed is not None

    @property
    def lost(self) -> int:
        """Events the provider gave up on: exhausted plus dropped."""
        return self.exhausted + self.dropped

    @property
    def processed_once(self) -> int | None:
        """Events processed exactly once (None: not observed)."""
        return None if self.processed is None else sum(n == 1 for n in self.processed)

    @property
    def duplicates(self) -> int | None:
        """Events processed more than once (None: not observed)."""
        return None if self.processed is None else sum(n > 1 for n in self.processed)

    @property
    def extra_processings(self) -> int | None:
        """Processings beyond the first, over every event (None: not observed)."""
        return None if self.processed is None else sum(max(n - 1, 0) for n in self.processed)

    @property
    def never_processed(self) -> int | None:
        """Events the receiver never processed (None: not observed)."""
        return None if self.processed is None else sum(n == 0 for n in self.processed)

    @property
    def ok(self) -> bool:
        """Every event processed exactly once (observed), or delivered (not observed)."""
        if self.processed is not None:
            return self.processed_once == self.events
        return self.delivered == self.events

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the keys of ``hooklab rehearse --json``)."""
        return {
            "provider": self.provider, "trouble": self.trouble, "events": self.events,
            "attempts": self.attempts, "delivered": self.delivered,
            "lost": {"exhausted": self.exhausted, "dropped": self.dropped,
                     "total": self.lost},
            "unverifiable": self.unverifiable,
            "observed": self.observed, "processed_once": self.processed_once,
            "duplicates": self.duplicates, "extra_processings": self.extra_processings,
            "never_processed": self.never_processed,
            "lost_but_processed": self.lost_but_processed,
            "disabled_at": self.disabled_at, "disable_reason": self.disable_reason,
            "notes": list(self.notes), "ok": self.ok,
            "messages": [
                {"id": message_id, "fate": fate,
                 "processed": None if self.processed is None else self.processed[i]}
                for i, (message_id, fate) in enumerate(self.messages)],
        }

    def lines(self) -> list[str]:
        """The report as text, one fact a line."""
        out = [f"rehearsal: {self.provider} twin, {self.events} events, {self.trouble}",
               f"attempts: {self.attempts}",
               f"delivered (acknowledged in time): {self.delivered}",
               f"lost by the provider: {self.lost} ({self.exhausted} exhausted, "
               f"{self.dropped} dropped by disabling)",
               f"unverifiable after the rotation: {self.unverifiable}"]
        if self.disabled_at is not None:
            out.append(f"disabled at {words(self.disabled_at)}: {self.disable_reason}")
        if self.processed is None:
            out.append("processed: not observed (give an observer to count it)")
        else:
            out.append(f"processed exactly once: {self.processed_once} of {self.events}")
            out.append(f"duplicates processed: {self.duplicates} events "
                       f"({self.extra_processings} extra processings)")
            out.append(f"never processed: {self.never_processed}")
            if self.lost_but_processed:
                out.append(f"lost by the provider yet processed: {self.lost_but_processed} "
                           "(the provider shows them failed)")
        out.extend(f"note: {n}" for n in self.notes)
        out.append("verdict: " + ("ok" if self.ok else "FAILED"))
        return out
