"""Scripted trouble for a rehearsal: outages, a key rotation, slow acknowledgements.

A :class:`Trouble` says what goes wrong while a provider twin delivers, on the rehearsal's
virtual clock (seconds after the first event):

- ``outages``: windows ``[start, start + length)`` in which the receiver is down (every
  attempt is refused without reaching it);
- ``rotate_at``: the provider signs with the new key from then on; for ``grace`` seconds
  after it, a scheme whose header holds several signatures carries the old key's too (the
  twins state no grace period, so the default is 0: a hard switch);
- ``slow``: the receiver takes that long to acknowledge every request. Slower than the
  provider's timeout, the provider counts the attempt as timed out, although the receiver
  got the request (and may have processed it).

Durations are written as people write them (:func:`parse_span`): ``4h``, ``4h1m``,
``90s``, ``1.5h``, ``2d``, or a plain number of seconds.

    >>> trouble = Trouble(outages=((0.0, parse_span("4h1m")),), slow=parse_span("6s"))
    >>> trouble.down(14400.0), trouble.down(14460.0)
    (True, False)
    >>> trouble.describe()
    'an outage of 4 h 1 min, acks taking 6 s'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["NO_TROUBLE", "Trouble", "parse_outage", "parse_span", "words"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86_400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|s|m|h|d)")


def parse_span(text: str, *, field: str = "duration") -> float:
    """Seconds from ``4h``, ``4h1m``, ``90s``, ``1.5h``, ``250ms``, ``2d`` or ``30``.

    A ConfigError naming ``field`` for anything else (negative, empty, unknown unit).

    >>> parse_span("4h1m"), parse_span("250ms"), parse_span("30")
    (14460.0, 0.25, 30.0)
    """
    raw = text.strip().lower().replace(" ", "") if isinstance(text, str) else ""
    try:
        seconds = float(raw)
    except ValueError:
        parts = _PART.findall(raw)
        if not raw or "".join(n + u for n, u in parts) != raw:
            raise ConfigError(f"{field} {text!r}: write a duration such as 4h, 4h1m, 90s or "
                              "a number of seconds", field=field) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{field} {text!r}: a duration is a finite number of seconds >= 0",
                          field=field)
    return seconds


def parse_outage(text: str) -> tuple[float, float]:
    """An outage as ``LENGTH`` (from the first event on) or ``LENGTH@START``.

    >>> parse_outage("4h"), parse_outage("30m@2h")
    ((0.0, 14400.0), (7200.0, 1800.0))
    """
    length, _, start = text.partition("@")
    span = parse_span(length, field="outage")
    if span <= 0:
        raise ConfigError(f"outage {text!r}: an outage lasts longer than 0 s", field="outage")
    return (parse_span(start, field="outage") if start else 0.0), span


def words(seconds: float) -> str:
    """A duration in words, largest units first: ``4 h 1 min``, ``6 s``, ``0 s``.

    >>> words(14460), words(90061.5), words(0)
    ('4 h 1 min', '1 day 1 h 1 min 1.5 s', '0 s')
    """
    parts = []
    rest = float(seconds)
    for size, unit in ((86_400, "day"), (3600, "h"), (60, "min")):
        count, rest = divmod(rest, size)
        if count:
            plural = "s" if unit == "day" and count > 1 else ""
            parts.append(f"{int(count)} {unit}{plural}")
    if rest or not parts:
        parts.append(f"{round(rest, 3):g} s")
    return " ".join(parts)


@dataclass(frozen=True)
class Trouble:
    """What goes wrong during a rehearsal; see the module docstring."""

    outages: tuple[tuple[float, float], ...] = ()
    rotate_at: float | None = None
    grace: float = 0.0
    slow: float | None = None

    def __post_init__(self) -> None:
        outages = tuple((float(s), float(n)) for s, n in self.outages)
        for start, length in outages:
            if not (math.isfinite(start) and math.isfinite(length)) or start < 0 or length <= 0:
                raise ConfigError(f"outage {length:g} s at {start:g} s: a window starts at "
                                  ">= 0 s and lasts longer than 0 s", field="outage")
        object.__setattr__(self, "outages", tuple(sorted(outages)))
        for name in ("rotate_at", "slow"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ConfigError(f"{name} must be a finite number of seconds >= 0, not "
                                  f"{value!r}", field=name)
        if not math.isfinite(self.grace) or self.grace < 0:
            raise ConfigError(f"grace must be a finite number of seconds >= 0, not "
                              f"{self.grace!r}", field="grace")

    def down(self, t: float) -> bool:
        """Whether the receiver is down at virtual time ``t``."""
        return any(start <= t < start + length for start, length in self.outages)

    def keys_at(self, t: float) -> tuple[str, ...]:
        """Which keys the provider signs with at ``t``: ``("old",)``, ``("new",)``, or
        ``("new", "old")`` inside the grace period."""
        if self.rotate_at is None or t < self.rotate_at:
            return ("old",)
        if t < self.rotate_at + self.grace:
            return ("new", "old")
        return ("new",)

    def describe(self) -> str:
        """The trouble in words (``no trouble`` when there is none)."""
        parts = []
        for start, length in self.outages:
            parts.append(f"an outage of {words(length)}"
                         + (f" from {words(start)} on" if start else ""))
        if self.rotate_at is not None:
            grace = f" with {words(self.grace)} of grace" if self.grace else ""
            parts.append(f"a key rotation at {words(self.rotate_at)}{grace}")
        if self.slow is not None:
            parts.append(f"acks taking {words(self.slow)}")
        return ", ".join(parts) or "no trouble"


#: A rehearsal with nothing going wrong.
NO_TROUBLE = Trouble()
