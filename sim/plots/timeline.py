"""The retry timeline: every attempt of every delivery, on one time axis.

Each delivery (one message on its way to one endpoint) gets a horizontal lane, or, with
``lanes="endpoint"``, each endpoint gets a band with its messages stacked inside it. Each
attempt is a marker at the time it was sent, coloured *and* shaped by its outcome class
(2xx, 4xx, 429, 5xx, timeout, connection error). Grey lines are the backoff waits between
attempts; the end of a lane says how the delivery ended: delivered (a check mark), failed
and dead-lettered (a cross), or still pending when the run ended (an arrow). Outage windows
are shaded. With more deliveries than ``max_messages`` the plot shows an even sample and
says so.

The plot reads records only, never a live simulator.

Example::

    >>> from hooklab.model.records import AttemptRecord
    >>> fig = plot_timeline([
    ...     AttemptRecord("msg_1", "ep", 1, 0.0, 0.1, "server_error", 500, None, 5.0),
    ...     AttemptRecord("msg_1", "ep", 2, 5.0, 5.1, "success", 200, None, None),
    ... ])
    >>> fig.axes[0].get_title()
    'Retry timeline'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from hooklab.model.errors import ConfigError
from hooklab.model.records import AttemptRecord, DeliveryRecord, Status

from .style import (
    FINAL_STYLES,
    OUTCOME_CLASSES,
    OUTCOME_STYLES,
    outage_label,
    outage_windows,
    outcome_class,
    time_origin,
    time_unit,
)

__all__ = ["Lane", "plot_timeline", "timeline_lanes"]

DeliveryKey = tuple[str, str]  # (endpoint_id, message_id)

_WAIT_COLOR = "#8C8C8C"
_OUTAGE_COLOR = "#BBBBBB"


class Lane:
    """One delivery's attempts in order, its final state and its row on the plot."""

    __slots__ = ("attempts", "endpoint_id", "final", "finished_at", "message_id", "y")

    def __init__(
        self,
        key: DeliveryKey,
        attempts: list[AttemptRecord],
        delivery: DeliveryRecord | None,
        infer_final: bool = True,
    ) -> None:
        self.endpoint_id, self.message_id = key
        self.attempts = sorted(attempts, key=lambda a: (a.attempt, a.start))
        self.final = _final_state(self.attempts, delivery, infer_final)
        last = self.attempts[-1]
        done = delivery.finished_at if delivery is not None else None
        self.finished_at = done if done is not None else last.end
        self.y = 0.0

    @property
    def first_start(self) -> float:
        """When the first attempt was sent."""
        return self.attempts[0].start


def _final_state(
    attempts: list[AttemptRecord], delivery: DeliveryRecord | None, infer: bool
) -> str:
    if delivery is not None:
        if delivery.status == Status.DELIVERED:
            return "delivered"
        return "failed" if delivery.status == Status.FAILED else "pending"
    last = attempts[-1]
    if outcome_class(last) == "2xx":
        return "delivered"
    if last.next_attempt_at is not None:
        return "pending"
    return "failed" if infer else "unknown"


def timeline_lanes(
    attempts: Iterable[AttemptRecord],
    deliveries: Iterable[DeliveryRecord] | None = None,
    *,
    endpoint: str | None = None,
    infer_final: bool = True,
) -> list[Lane]:
    """The deliveries that have attempts, grouped by endpoint, then by first attempt time.

    >>> lanes = timeline_lanes([AttemptRecord("m", "e", 1, 0, 1, "success", 200, None, None)])
    >>> lanes[0].final
    'delivered'
    """
    grouped: dict[DeliveryKey, list[AttemptRecord]] = defaultdict(list)
    for a in attempts:
        if endpoint is None or a.endpoint_id == endpoint:
            grouped[(a.endpoint_id, a.message_id)].append(a)
    by_key = {(d.endpoint_id, d.message_id): d for d in deliveries or ()}
    lanes = [Lane(key, items, by_key.get(key), infer_final) for key, items in grouped.items()]
    lanes.sort(key=lambda lane: (lane.endpoint_id, lane.first_start, lane.message_id))
    return lanes


def _even_sample(lanes: list[Lane], limit: int) -> list[Lane]:
    if len(lanes) <= limit:
        return lanes
    if limit == 1:
        return lanes[:1]
    step = (len(lanes) - 1) / (limit - 1)
    return [lanes[round(i * step)] for i in range(limit)]


def _sample(lanes: list[Lane], limit: int) -> list[Lane]:
    """An even sample of ``limit`` lanes that keeps every final state present: rare
    dead letters get at least an eighth of the rows (when there are that many)."""
    if len(lanes) <= limit:
        return lanes
    groups: dict[str, list[Lane]] = defaultdict(list)
    for lane in lanes:
        groups[lane.final].append(lane)
    floor = max(1, limit // 8)
    quota = {state: min(len(members), floor) for state, members in groups.items()}
    spare = limit - sum(quota.values())
    for state, members in groups.items():
        share = round(spare * len(members) / len(lanes))
        quota[state] = min(len(members), quota[state] + share)
    chosen = [lane for s, members in groups.items() for lane in _even_sample(members, quota[s])]
    order = {id(lane): i for i, lane in enumerate(lanes)}
    return sorted(chosen, key=lambda lane: order[id(lane)])[:limit]


def _place(lanes: list[Lane], mode: str, limit: int) -> tuple[list[Lane], list[str], int]:
    """Sample the lanes, set their rows; returns (lanes, band labels, lanes available)."""
    if mode == "delivery":
        shown = _sample(lanes, limit)
        for i, lane in enumerate(shown):
            lane.y = float(i)
        return shown, [], len(lanes)
    endpoints = sorted({lane.endpoint_id for lane in lanes})
    shown = []
    for band, ep in enumerate(endpoints):
        members = _sample([lane for lane in lanes if lane.endpoint_id == ep], limit)
        for k, lane in enumerate(members):
            lane.y = band + (0.0 if len(members) == 1 else 0.8 * k / (len(members) - 1) - 0.4)
        shown.extend(members)
    return shown, endpoints, len(lanes)


def plot_timeline(
    attempts: Iterable[AttemptRecord],
    *,
    deliveries: Iterable[DeliveryRecord] | None = None,
    outages: Iterable[Any] | None = None,
    endpoint: str | None = None,
    max_messages: int = 40,
    lanes: Literal["delivery", "endpoint"] = "delivery",
    title: str | None = None,
    infer_final: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Plot the retry timeline of ``attempts``; returns the Figure (never shows it).

    ``deliveries`` (optional) give each lane its final state; without them it is read from
    the last attempt. ``outages`` are windows to shade: ``(start, end)``,
    ``(endpoint_id, start, end)`` or objects with ``start``/``end``. ``endpoint`` keeps
    one endpoint's deliveries. ``infer_final=False`` (records seen by a receiver, which
    cannot know what the sender decided) leaves lanes without a 2xx or a delivery record
    unmarked instead of calling them failed. ``max_messages`` caps the lanes (per endpoint band with
    ``lanes="endpoint"``); past it, an even sample is drawn and a note says so.

        >>> fig = plot_timeline([AttemptRecord("m", "e", 1, 0, 1, "success", 200, None, None)])
        >>> fig.axes[0].get_xlabel()
        'time since start (s)'
    """
    if lanes not in ("delivery", "endpoint"):
        raise ConfigError(f"lanes must be 'delivery' or 'endpoint', not {lanes!r}")
    if max_messages < 1:
        raise ConfigError(f"max_messages must be at least 1, not {max_messages}")
    all_lanes = timeline_lanes(attempts, deliveries, endpoint=endpoint, infer_final=infer_final)
    shown, bands, total = _place(all_lanes, lanes, max_messages)
    windows = [
        w for w in outage_windows(outages) if endpoint is None or w.endpoint_id in (None, endpoint)
    ]
    if ax is None:
        rows = len(bands) * 3 if bands else len(shown)
        new_fig = Figure(figsize=(10.0, min(2.2 + 0.26 * rows, 11.0)), layout="constrained")
        ax = new_fig.add_subplot()
    fig = ax.get_figure()
    assert isinstance(fig, Figure)

    times = [a.start for lane in shown for a in lane.attempts]
    times += [lane.finished_at for lane in shown]
    times += [w.start for w in windows] + [w.end for w in windows]
    origin = time_origin(times)
    unit = time_unit(max(times, default=1.0) - origin)

    def x(t: float) -> float:
        return (t - origin) / unit.seconds

    outage_handles = _shade_outages(ax, windows, shown, bands, x)
    wait_handles = _draw_waits(ax, shown, x)
    handles = _draw_attempts(ax, shown, x) + _draw_finals(ax, fig, shown, x)
    handles += wait_handles + outage_handles
    _label_rows(ax, shown, bands, total)

    since = "start" if origin == 0.0 else "first attempt"
    ax.set_xlabel(f"time since {since} ({unit.name})")
    ax.grid(axis="x", color="#E5E5E5", linewidth=0.8)
    ax.set_axisbelow(True)
    sampled = len(shown) < total
    ax.set_title(title or "Retry timeline", pad=20 if sampled else 6)
    if sampled:
        per = " per endpoint" if bands else ""
        note = (
            f"sampled: {len(shown):,} of {total:,} deliveries shown "
            f"(evenly spaced{per}, every final state kept)"
        )
        ax.text(0.0, 1.01, note, transform=ax.transAxes, fontsize=8, style="italic",
                va="bottom", ha="left", gid="sampling-note")  # fmt: skip
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False)  # fmt: skip
    return fig


def _shade_outages(
    ax: Axes, windows: Sequence[Any], shown: list[Lane], bands: list[str], x: Any
) -> list[Any]:
    if not windows:
        return []
    endpoints = sorted({lane.endpoint_id for lane in shown})
    for w in windows:
        left, right = x(w.start), x(w.end)
        if w.endpoint_id is None or endpoints == [w.endpoint_id]:
            ax.axvspan(left, right, color=_OUTAGE_COLOR, alpha=0.35, lw=0, gid="outage")
            continue
        rows = [lane.y for lane in shown if lane.endpoint_id == w.endpoint_id]
        if bands and w.endpoint_id in bands:
            rows = [float(bands.index(w.endpoint_id))]
        if rows:
            pad = 0.5
            ax.fill_betweenx(
                [min(rows) - pad, max(rows) + pad],
                left,
                right,
                color=_OUTAGE_COLOR,
                alpha=0.35,
                lw=0,
                gid="outage",
            )
    return [Patch(facecolor=_OUTAGE_COLOR, alpha=0.35, label=outage_label(windows))]


def _draw_waits(ax: Axes, shown: list[Lane], x: Any) -> list[Any]:
    segments = []
    pending = []
    for lane in shown:
        for prev, nxt in zip(lane.attempts, lane.attempts[1:], strict=False):
            segments.append([(x(prev.end), lane.y), (x(nxt.start), lane.y)])
        last = lane.attempts[-1]
        if lane.final == "pending" and last.next_attempt_at is not None:
            pending.append([(x(last.end), lane.y), (x(last.next_attempt_at), lane.y)])
    handles: list[Any] = []
    if segments:
        ax.add_collection(
            LineCollection(segments, colors=_WAIT_COLOR, linewidths=1.2, gid="backoff-waits"),
            autolim=True,
        )
        handles.append(Line2D([], [], color=_WAIT_COLOR, lw=1.2, label="backoff wait"))
    if pending:
        ax.add_collection(
            LineCollection(
                pending,
                colors=_WAIT_COLOR,
                linewidths=1.2,
                linestyles="dotted",
                gid="scheduled-waits",
            ),
            autolim=True,
        )
        handles.append(
            Line2D([], [], color=_WAIT_COLOR, lw=1.2, ls="dotted", label="next retry scheduled")
        )
    ax.autoscale_view()
    return handles


def _draw_attempts(ax: Axes, shown: list[Lane], x: Any) -> list[Any]:
    points: dict[str, tuple[list[float], list[float]]] = {c: ([], []) for c in OUTCOME_CLASSES}
    for lane in shown:
        for a in lane.attempts:
            xs, ys = points[outcome_class(a)]
            xs.append(x(a.start))
            ys.append(lane.y)
    size = 7.0 if len(shown) <= 40 and not _stacked(shown) else 4.5
    handles = []
    for cls in OUTCOME_CLASSES:
        xs, ys = points[cls]
        if not xs:
            continue
        style = OUTCOME_STYLES[cls]
        (line,) = ax.plot(
            xs,
            ys,
            linestyle="none",
            marker=style.marker,
            markersize=size,
            color=style.color,
            markeredgecolor="black",
            markeredgewidth=0.4,
            label=style.label,
            gid=f"attempts-{cls}",
            zorder=3,
        )
        handles.append(line)
    return handles


def _draw_finals(ax: Axes, fig: Figure, shown: list[Lane], x: Any) -> list[Any]:
    """End-of-lane markers, nudged right of the last attempt so both stay visible."""
    nudged = offset_copy(ax.transData, fig=fig, x=9, y=0, units="points")
    markers = {"delivered": r"$\checkmark$", "failed": "X", "pending": ">"}
    handles = []
    for state in ("delivered", "failed", "pending"):
        xs = [x(lane.finished_at) for lane in shown if lane.final == state]
        ys = [lane.y for lane in shown if lane.final == state]
        if not xs:
            continue
        style = FINAL_STYLES[state]
        (line,) = ax.plot(
            xs,
            ys,
            linestyle="none",
            marker=markers[state],
            markersize=4.5 if _stacked(shown) else 7.0,
            color=style.color,
            label=style.label,
            transform=nudged,
            gid=f"final-{state}",
            zorder=4,
        )
        handles.append(line)
    return handles


def _stacked(shown: list[Lane]) -> bool:
    """Whether lanes sit closer than one row apart (messages stacked in endpoint bands)."""
    ys = sorted({lane.y for lane in shown})
    return any(b - a < 0.5 for a, b in zip(ys, ys[1:], strict=False))


def _label_rows(ax: Axes, shown: list[Lane], bands: list[str], total: int) -> None:
    if bands:
        ax.set_yticks(range(len(bands)), bands)
        ax.set_ylim(len(bands) - 0.5, -0.5)
        ax.set_ylabel("endpoint (messages stacked)")
        return
    ax.set_ylim(len(shown) - 0.5, -0.5)
    if len(shown) > 40:
        ax.set_yticks([])
        ax.set_ylabel("deliveries (one lane each)")
        return
    many = len({lane.endpoint_id for lane in shown}) > 1
    labels = [
        f"{lane.message_id} → {lane.endpoint_id}" if many else lane.message_id for lane in shown
    ]
    ax.set_yticks([lane.y for lane in shown], labels, fontsize=8)
    ax.set_ylabel("delivery (message → endpoint)" if many else "message")
