"""What every hooklab plot shares: colours, outcome classes, time units, outage windows.

Plots read :class:`~hooklab.model.records.AttemptRecord` and
:class:`~hooklab.model.records.DeliveryRecord` and nothing else. This module holds the
small vocabulary they agree on:

- the Okabe–Ito palette (safe for the common forms of colour blindness), with every
  outcome class drawn in its own colour *and* its own marker shape, so a plot still reads
  in grey print;
- :func:`outcome_class`, which sorts an attempt into one of the classes a reader cares
  about (2xx, 4xx, 5xx, 429, timeout, connection error, 3xx);
- :func:`time_unit`, which picks seconds, minutes, hours or days for a time span so an
  axis reads well at any scale;
- :func:`outage_windows`, which accepts outages in the few shapes drivers hand them over.

Example::

    >>> outcome_class(AttemptRecord("m", "e", 1, 0.0, 0.1, "throttled", 429, None, 60.0))
    '429'
    >>> time_unit(5400.0)
    TimeUnit(name='min', seconds=60.0)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.ticker import FixedLocator, NullFormatter

from hooklab.model.records import AttemptRecord

__all__ = [
    "FINAL_STYLES",
    "OKABE_ITO",
    "OUTCOME_CLASSES",
    "OUTCOME_STYLES",
    "SERIES_COLORS",
    "OutageWindow",
    "OutcomeStyle",
    "TimeUnit",
    "duration_log_axis",
    "format_duration",
    "outage_label",
    "outage_windows",
    "outcome_class",
    "time_origin",
    "time_unit",
]

#: The Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colours for one line per policy or per endpoint, in order (yellow last: it is pale).
SERIES_COLORS = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)


class OutcomeStyle(NamedTuple):
    """How one outcome class is drawn: legend label, colour and marker."""

    label: str
    color: str
    marker: str


#: Outcome classes in legend order.
OUTCOME_CLASSES = ("2xx", "3xx", "4xx", "429", "5xx", "timeout", "connection")

OUTCOME_STYLES: dict[str, OutcomeStyle] = {
    "2xx": OutcomeStyle("2xx", OKABE_ITO["bluish_green"], "o"),
    "3xx": OutcomeStyle("3xx (not followed)", OKABE_ITO["yellow"], "h"),
    "4xx": OutcomeStyle("4xx", OKABE_ITO["reddish_purple"], "s"),
    "429": OutcomeStyle("429 too many requests", OKABE_ITO["orange"], "D"),
    "5xx": OutcomeStyle("5xx", OKABE_ITO["vermillion"], "v"),
    "timeout": OutcomeStyle("timeout", OKABE_ITO["blue"], "^"),
    "connection": OutcomeStyle("connection error", OKABE_ITO["sky_blue"], "X"),
}

#: How a delivery's final state is marked at the end of its lane.
FINAL_STYLES: dict[str, OutcomeStyle] = {
    "delivered": OutcomeStyle("delivered", OKABE_ITO["black"], "o"),
    "failed": OutcomeStyle("failed (dead-lettered)", OKABE_ITO["black"], "x"),
    "pending": OutcomeStyle("pending (run ended)", OKABE_ITO["black"], ">"),
}


def outcome_class(attempt: AttemptRecord) -> str:
    """The outcome class of one attempt, one of :data:`OUTCOME_CLASSES`.

    A transport error (``error`` set, or status code 0) is ``timeout`` or ``connection``;
    otherwise the status code decides, with 429 kept apart from the other 4xx.

        >>> outcome_class(AttemptRecord("m", "e", 1, 0, 1, "timeout", 0, "timeout", None))
        'timeout'
    """
    error = attempt.error
    code = attempt.status_code
    if error or not code:
        kind = (error or attempt.outcome or "").lower()
        return "timeout" if "timeout" in kind else "connection"
    if code == 429:
        return "429"
    if 200 <= code < 300:
        return "2xx"
    if 300 <= code < 400:
        return "3xx"
    if 400 <= code < 500:
        return "4xx"
    return "5xx"


class TimeUnit(NamedTuple):
    """A unit for a time axis: its name (for the axis label) and its length in seconds."""

    name: str
    seconds: float


_UNITS = (
    TimeUnit("s", 1.0),
    TimeUnit("min", 60.0),
    TimeUnit("h", 3600.0),
    TimeUnit("days", 86400.0),
)


def time_unit(span_s: float) -> TimeUnit:
    """The unit that shows a span of ``span_s`` seconds with readable numbers.

    Seconds up to 2 minutes, minutes up to 2 hours, hours up to 2 days, then days.

        >>> time_unit(90).name, time_unit(3 * 86400).name
        ('s', 'days')
    """
    for unit, limit in zip(_UNITS, (120.0, 7200.0, 172800.0), strict=False):
        if span_s <= limit:
            return unit
    return _UNITS[-1]


def format_duration(seconds: float) -> str:
    """A duration in the unit :func:`time_unit` picks for it, for labels.

    >>> format_duration(4.25), format_duration(5400), format_duration(3 * 86400)
    ('4.25 s', '90 min', '3 days')
    """
    unit = time_unit(abs(seconds))
    return f"{seconds / unit.seconds:.3g} {unit.name}"


_DURATION_TICKS = (
    (0.001, "1 ms"), (0.01, "10 ms"), (0.1, "100 ms"), (1.0, "1 s"), (10.0, "10 s"),
    (60.0, "1 min"), (600.0, "10 min"), (3600.0, "1 h"), (6 * 3600.0, "6 h"),
    (86400.0, "1 day"), (7 * 86400.0, "1 week"), (30 * 86400.0, "30 days"),
)  # fmt: skip


def duration_log_axis(ax: Axes, which: str, low: float, high: float) -> None:
    """Put durations in seconds on a log axis of ``ax`` (``which`` is ``"x"`` or ``"y"``)
    ticked in readable units (1 s, 1 min, 1 h, 1 day...), for data from ``low`` to
    ``high`` seconds.

        >>> from matplotlib.figure import Figure
        >>> ax = Figure().add_subplot()
        >>> duration_log_axis(ax, "x", 2.0, 7200.0)
        >>> [t.get_text() for t in ax.xaxis.get_ticklabels()]
        ['1 s', '10 s', '1 min', '10 min', '1 h']
    """
    axis: Axis
    if which == "x":
        ax.set_xscale("log")
        axis = ax.xaxis
    else:
        ax.set_yscale("log")
        axis = ax.yaxis
    low, high = max(low, 1e-3), max(high, low)
    ticks = [(v, text) for v, text in _DURATION_TICKS if low / 2 <= v <= high * 2]
    if len(ticks) > 8:
        ticks = ticks[:: (len(ticks) + 7) // 8]
    axis.set_major_locator(FixedLocator([v for v, _ in ticks]))
    axis.set_ticks([v for v, _ in ticks], [text for _, text in ticks])
    axis.set_minor_formatter(NullFormatter())


#: Times below this are run-relative (simulated seconds); above it, Unix seconds.
_UNIX_THRESHOLD = 10 * 365 * 86400.0


def time_origin(times: Iterable[float]) -> float:
    """Where a time axis starts: 0 for simulated runs, the first time for Unix times.

    >>> time_origin([3.0, 10.0]), time_origin([1.7e9, 1.7e9 + 5])
    (0.0, 1700000000.0)
    """
    first = min(times, default=0.0)
    return first if first >= _UNIX_THRESHOLD else 0.0


class OutageWindow(NamedTuple):
    """A time window in which a receiver is down; ``endpoint_id`` None means all."""

    start: float
    end: float
    endpoint_id: str | None = None


def outage_windows(outages: Iterable[Any] | None) -> list[OutageWindow]:
    """Outage windows from ``(start, end)``, ``(endpoint_id, start, end)``, mappings or
    objects with ``start``/``end`` (and optionally ``endpoint_id`` or ``endpoint``); those
    whose ``kind`` is set and is not ``down`` (a 401 or 410 window) are left out.

        >>> outage_windows([(10, 20), ("ep_b", 30, 40)])
        [OutageWindow(start=10.0, end=20.0, endpoint_id=None), \
OutageWindow(start=30.0, end=40.0, endpoint_id='ep_b')]
    """
    windows: list[OutageWindow] = []
    for item in outages or ():
        kind = item.get("kind") if isinstance(item, dict) else getattr(item, "kind", None)
        if kind in (None, "down"):  # a receiver that answers 401 or 410 is not down
            windows.append(_window(item))
    return windows


def _window(item: Any) -> OutageWindow:
    if isinstance(item, OutageWindow):
        return item
    if isinstance(item, dict):
        endpoint = item.get("endpoint_id", item.get("endpoint"))
        return OutageWindow(float(item["start"]), float(item["end"]), endpoint)
    if hasattr(item, "start") and hasattr(item, "end"):
        endpoint = getattr(item, "endpoint_id", getattr(item, "endpoint", None))
        return OutageWindow(float(item.start), float(item.end), endpoint)
    values = tuple(item)
    if len(values) == 2:
        return OutageWindow(float(values[0]), float(values[1]))
    if len(values) == 3:
        return OutageWindow(float(values[1]), float(values[2]), str(values[0]))
    raise ValueError(f"cannot read an outage window from {item!r}")


def outage_label(windows: Iterable[OutageWindow]) -> str:
    """The legend label of shaded outage windows, naming the endpoints that were down.

        >>> outage_label([OutageWindow(0, 1, "ep_b"), OutageWindow(2, 3, "ep_a")])
        'outage (receiver down): ep_a, ep_b'
    """
    names = sorted({w.endpoint_id for w in windows if w.endpoint_id is not None})
    if not names or any(w.endpoint_id is None for w in windows):
        return "outage (receiver down)"
    return f"outage (receiver down): {', '.join(names)}"
