"""Auto-disable: when a sender stops delivering to an endpoint by itself.

One rule for every sender (the simulator and the durable outbox alike). An endpoint is
disabled when one of its deliveries fails (dead-lettered: ``exhausted``,
``retry_window``, ``not_retried`` or ``gone``, see
:class:`~hooklab.model.records.FailureReason`) and

- ``gone`` is true and the delivery failed on a 410 Gone (the Standard Webhooks advice);
- or ``consecutive`` deliveries have now failed in a row, a 410 among them counted like
  any failure (Outpost: 100);
- or the endpoint has been failing for ``window`` seconds with no success: the clock
  starts at the **first failed attempt** after the last delivered message, as Svix's
  "failing for 5 days" does, and is read when a delivery fails.

A delivered message resets both the count and the clock. Deliveries failed *because* the
endpoint was disabled (``disabled``) count for nothing. ``None`` turns the two counting
rules off; the defaults are: off, except 410 Gone. :data:`RECOMMENDED` is the rule the
outbox's worker uses unless told otherwise (100 in a row, or 5 days).

The senders keep the two numbers (failures in a row, failing since) where they keep their
state, and ask :meth:`AutoDisable.reason` when a delivery fails.

Example::

    >>> rule = AutoDisable(consecutive=3, window=30.0)
    >>> rule.reason(in_a_row=3, failing_since=0.0, now=12.0)
    '3 consecutive failed deliveries'
    >>> rule.reason(in_a_row=1, failing_since=0.0, now=30.96)
    'failing for 30.96 s with no success'
    >>> print(rule.reason(in_a_row=1, failing_since=0.0, now=20.0))
    None
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["GONE_REASON", "RECOMMENDED", "AutoDisable", "span"]

#: Why an endpoint disabled on a 410 Gone was disabled.
GONE_REASON = "410 Gone"


@dataclass(frozen=True)
class AutoDisable:
    """When an endpoint is disabled by itself; see the module docstring.

        >>> AutoDisable(consecutive=100, window=432000).describe()
        'on 410 Gone; after 100 consecutive failed deliveries; after 5 days failing with no success'
    """  # noqa: E501

    consecutive: int | None = None
    window: float | None = None
    gone: bool = True

    def __post_init__(self) -> None:
        n = self.consecutive
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError(f"consecutive must be a whole number >= 1 (or none), not {n!r}",
                              field="consecutive")
        w = self.window
        if w is not None and (isinstance(w, bool) or not isinstance(w, int | float)
                              or not math.isfinite(w) or w < 0):
            raise ConfigError(f"window must be a number of seconds >= 0 (or none), not {w!r}",
                              field="window")
        if not isinstance(self.gone, bool):
            raise ConfigError(f"gone must be true or false, not {self.gone!r}", field="gone")

    @property
    def counts(self) -> bool:
        """Whether a counting rule (``consecutive`` or ``window``) is on."""
        return self.consecutive is not None or self.window is not None

    def reason(self, *, in_a_row: int, failing_since: float | None, now: float,
               gone: bool = False) -> str | None:
        """Why the endpoint must be disabled now that a delivery failed at ``now``
        (``in_a_row`` failed deliveries, this one included; ``failing_since`` the first
        failed attempt since the last success; ``gone``: it failed on a 410), or ``None``.
        """
        if gone and self.gone:
            return GONE_REASON
        if self.consecutive is not None and in_a_row >= self.consecutive:
            return f"{in_a_row} consecutive failed deliveries"
        if (self.window is not None and failing_since is not None
                and now - failing_since >= self.window):
            return f"failing for {span(now - failing_since)} with no success"
        return None

    def describe(self) -> str:
        """The rules in words."""
        rules = ["on 410 Gone"] if self.gone else []
        if self.consecutive is not None:
            rules.append(f"after {self.consecutive} consecutive failed deliveries")
        if self.window is not None:
            rules.append(f"after {span(self.window)} failing with no success")
        return "; ".join(rules) or "never"


#: The outbox worker's rule unless told otherwise: 410 Gone, 100 in a row, or 5 days.
RECOMMENDED = AutoDisable(consecutive=100, window=5 * 24 * 3600.0)


def span(seconds: float) -> str:
    """A duration in the largest unit it fills.

        >>> span(90), span(7200), span(30.96)
        ('1.5 minutes', '2 hours', '30.96 s')
    """
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
