"""Load over time: how hard the sender's attempts hit each receiver, and how much waits.

The upper panel counts attempts per second reaching each receiver (endpoint), in time bins
fine enough to show the synchronized waves of un-jittered retries after an outage, and the
way jitter spreads them. The lower panel is the sender's backlog: deliveries created and
not yet finished (in flight or awaiting a retry). Outage windows are shaded on both.

The plot reads records only, never a live simulator.

Example::

    >>> from hooklab.model.records import AttemptRecord
    >>> fig = plot_load([AttemptRecord("m", "ep", 1, 0.0, 0.1, "success", 200, None, None)])
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['attempts per second', 'deliveries waiting']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hooklab.model.errors import ConfigError
from hooklab.model.records import AttemptRecord, DeliveryRecord, Status

from .style import (
    OKABE_ITO,
    SERIES_COLORS,
    outage_label,
    outage_windows,
    time_origin,
    time_unit,
)

__all__ = ["backlog_steps", "load_bin_width", "plot_load", "plot_load_comparison"]

#: Bin widths (seconds) the load plot picks from: round numbers on a clock.
_NICE_BINS = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400,
    21600, 43200, 86400,
)  # fmt: skip

_OUTAGE_COLOR = "#BBBBBB"


def load_bin_width(span_s: float, *, max_bins: int = 600) -> float:
    """The smallest round bin width (seconds) that cuts ``span_s`` into at most
    ``max_bins`` bins.

        >>> load_bin_width(3600), load_bin_width(7 * 86400)
        (10, 1800)
    """
    for width in _NICE_BINS:
        if span_s / width <= max_bins:
            return width
    return _NICE_BINS[-1]


def backlog_steps(
    deliveries: Iterable[DeliveryRecord] | None, attempts: Sequence[AttemptRecord]
) -> tuple[np.ndarray, np.ndarray]:
    """Times and backlog sizes just after each change: deliveries created, not finished.

    From ``deliveries`` when given (created at ``created_at``, done at ``finished_at``
    unless still pending); otherwise each delivery spans its first attempt to its last
    answer (or stays open if a retry was scheduled).

        >>> backlog_steps([DeliveryRecord("m", "e", "t", 0.0, "delivered", 1, 5.0)], [])
        (array([0., 5.]), array([1, 0]))
    """
    opens: list[float] = []
    closes: list[float] = []
    if deliveries is not None:
        for d in deliveries:
            opens.append(d.created_at)
            if d.status in (Status.DELIVERED, Status.FAILED) and d.finished_at is not None:
                closes.append(d.finished_at)
    else:
        spans: dict[tuple[str, str], list[AttemptRecord]] = defaultdict(list)
        for a in attempts:
            spans[(a.endpoint_id, a.message_id)].append(a)
        for items in spans.values():
            opens.append(min(a.start for a in items))
            last = max(items, key=lambda a: (a.attempt, a.start))
            if last.next_attempt_at is None:
                closes.append(last.end)
    times = np.array(opens + closes, dtype=float)
    change = np.concatenate([np.ones(len(opens), int), -np.ones(len(closes), int)])
    order = np.lexsort((-change, times))  # at equal times, count arrivals first
    times, level = times[order], np.cumsum(change[order])
    if len(times):
        keep = np.append(times[1:] != times[:-1], True)  # the level after each instant
        times, level = times[keep], level[keep]
    return times, level


def plot_load(
    attempts: Iterable[AttemptRecord],
    *,
    deliveries: Iterable[DeliveryRecord] | None = None,
    outages: Iterable[Any] | None = None,
    endpoint: str | None = None,
    bin_s: float | None = None,
    until: float | None = None,
    title: str | None = None,
) -> Figure:
    """Plot attempts per second per receiver, and the sender's backlog; returns the Figure.

    ``bin_s`` is the width of the counting bins (default: a round width giving at most
    600 bins). ``endpoint`` keeps one endpoint; ``until`` (seconds from the start) cuts
    the time axis, to look at the first hours of a run that retries for days. The backlog
    panel plots, per bin, the largest backlog reached in it, so short peaks (a burst) stay
    visible.

        >>> fig = plot_load([AttemptRecord("m", "e", 1, 0, 0.1, "success", 200, None, None)])
        >>> fig.axes[0].get_title()
        'Load on receivers'
    """
    rows = [a for a in attempts if endpoint is None or a.endpoint_id == endpoint]
    dels = None
    if deliveries is not None:
        dels = [d for d in deliveries if endpoint is None or d.endpoint_id == endpoint]
    windows = [
        w for w in outage_windows(outages) if endpoint is None or w.endpoint_id in (None, endpoint)
    ]
    starts = np.array([a.start for a in rows], dtype=float)
    b_times, b_level = backlog_steps(dels, rows)
    every = np.concatenate(
        [starts, [a.end for a in rows], b_times, [t for w in windows for t in (w.start, w.end)]]
    )
    origin = time_origin(every.tolist()) if len(every) else 0.0
    edges, width = _edges(origin, float(every.max()) if len(every) else 1.0, bin_s, until)
    unit = time_unit(edges[-1] - origin)

    fig = Figure(figsize=(10.0, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    x_edges = (edges - origin) / unit.seconds
    for w in windows:
        for ax in (top, bottom):
            ax.axvspan((w.start - origin) / unit.seconds, (w.end - origin) / unit.seconds,
                       color=_OUTAGE_COLOR, alpha=0.35, lw=0, gid="outage")  # fmt: skip

    endpoints = sorted({a.endpoint_id for a in rows})
    for i, ep in enumerate(endpoints):
        mine = np.array([a.start for a in rows if a.endpoint_id == ep], dtype=float)
        counts, _ = np.histogram(mine, bins=edges)
        top.stairs(counts / width, x_edges, color=SERIES_COLORS[i % len(SERIES_COLORS)],
                   baseline=None, linewidth=1.3, label=ep, gid=f"load-{ep}")  # fmt: skip
    handles, _labels = top.get_legend_handles_labels()
    if windows:
        handles.append(Patch(facecolor=_OUTAGE_COLOR, alpha=0.35, label=outage_label(windows)))
    top.legend(handles=handles, title="endpoint", loc="upper right", fontsize=8,
               title_fontsize=8, frameon=False)  # fmt: skip
    top.set_ylabel("attempts per second")
    top.set_title(title or "Load on receivers")
    top.text(0.0, 1.01, f"mean over {_bin_text(width)} bins", transform=top.transAxes,
             fontsize=8, style="italic", va="bottom", ha="left")  # fmt: skip
    top.set_ylim(bottom=0)

    peaks = _bin_peaks(b_times, b_level, edges)
    bottom.stairs(peaks, x_edges, color=OKABE_ITO["sky_blue"], fill=True, alpha=0.35,
                  gid="backlog-fill")  # fmt: skip
    bottom.stairs(peaks, x_edges, color=OKABE_ITO["blue"], linewidth=1.2, baseline=None,
                  label="sender backlog (peak per bin)", gid="backlog")  # fmt: skip
    bottom.set_ylabel("deliveries waiting")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper right", fontsize=8, frameon=False)
    since = "start" if origin == 0.0 else "first attempt"
    bottom.set_xlabel(f"time since {since} ({unit.name})")
    for ax in (top, bottom):
        ax.grid(color="#E5E5E5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_xlim(0, x_edges[-1])
    return fig


def plot_load_comparison(
    runs: Mapping[str, Iterable[AttemptRecord]],
    *,
    outages: Iterable[Any] | None = None,
    endpoint: str | None = None,
    bin_s: float | None = None,
    until: float | None = None,
    title: str | None = None,
) -> Figure:
    """Attempts per second of several runs (``{label: attempts}``), one panel each on
    the same axes, so retry waves compare at a glance (jitter against none, say). Each
    legend gives the run's peak and, with ``outages``, its peak after the last outage
    ended: how hard the retries hit the receiver when it comes back.

        >>> a = [AttemptRecord("m", "e", 1, 0, 0.1, "success", 200, None, None)]
        >>> len(plot_load_comparison({"one": a, "two": a}).axes)
        2
    """
    rows = {
        label: np.array([a.start for a in items if endpoint in (None, a.endpoint_id)], dtype=float)
        for label, items in runs.items()
    }
    if not rows:
        raise ConfigError("plot_load_comparison needs at least one run")
    windows = [
        w for w in outage_windows(outages) if endpoint is None or w.endpoint_id in (None, endpoint)
    ]
    every = np.concatenate([*rows.values(), [t for w in windows for t in (w.start, w.end)]])
    origin = time_origin(every.tolist()) if len(every) else 0.0
    edges, width = _edges(origin, float(every.max()) if len(every) else 1.0, bin_s, until)
    unit = time_unit(edges[-1] - origin)
    x_edges = (edges - origin) / unit.seconds
    fig = Figure(figsize=(10.0, 1.2 + 2.0 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for i, (ax, (label, starts)) in enumerate(zip(axes, rows.items(), strict=True)):
        for w in windows:
            ax.axvspan((w.start - origin) / unit.seconds, (w.end - origin) / unit.seconds,
                       color=_OUTAGE_COLOR, alpha=0.35, lw=0, gid="outage")  # fmt: skip
        rate = np.histogram(starts, bins=edges)[0] / width
        name = f"{label}: peak {rate.max():,.0f}/s"
        if windows:
            after = rate[edges[:-1] >= max(w.end for w in windows)]
            name += f", after the outage {after.max() if len(after) else 0:,.0f}/s"
        ax.stairs(rate, x_edges, color=SERIES_COLORS[i % len(SERIES_COLORS)], linewidth=1.3,
                  fill=True, alpha=0.8, label=name, gid=f"load-{label}")  # fmt: skip
        handles, _ = ax.get_legend_handles_labels()
        if windows and i == 0:
            handles.append(Patch(facecolor=_OUTAGE_COLOR, alpha=0.35, label=outage_label(windows)))
        ax.legend(handles=handles, loc="upper right", fontsize=8, frameon=False)
        ax.set_ylabel("attempts per second")
        ax.set_ylim(bottom=0)
        ax.grid(color="#E5E5E5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_xlim(0, x_edges[-1])
    since = "start" if origin == 0.0 else "first attempt"
    axes[-1].set_xlabel(f"time since {since} ({unit.name})")
    axes[0].set_title(title or "Load on the receiver, run by run")
    axes[0].text(0.0, 1.01, f"mean over {_bin_text(width)} bins", transform=axes[0].transAxes,
                 fontsize=8, style="italic", va="bottom", ha="left")  # fmt: skip
    return fig


#: The most bins a load plot draws (a too narrow ``bin_s`` would otherwise exhaust memory).
_MAX_BINS = 1_000_000


def _edges(
    origin: float, last: float, bin_s: float | None, until: float | None
) -> tuple[np.ndarray, float]:
    """Bin edges from ``origin`` past ``last`` (or to ``origin + until``), and the width."""
    if until is not None:
        if not 0 < until < np.inf:
            raise ConfigError(f"until must be a positive number of seconds, not {until}")
        last = origin + until
    span = max(last - origin, 1e-9)
    if bin_s is not None and not 0 < bin_s < np.inf:
        raise ConfigError(f"bin_s must be positive, not {bin_s}")
    width = float(bin_s) if bin_s else float(load_bin_width(span))
    bins = span / width
    if bins > _MAX_BINS:
        raise ConfigError(f"{span:g} s in bins of {width:g} s is {bins:.3g} bins, more than "
                          f"{_MAX_BINS:,} can be drawn; give a wider bin or a shorter until")
    count = int(np.ceil(bins)) if until is not None else int(np.floor(bins)) + 1
    return origin + width * np.arange(max(count, 1) + 1), width


def _bin_peaks(times: np.ndarray, level: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The largest backlog in each bin: the level entering it, or any level inside it."""
    nbins = len(edges) - 1
    inside_run = times < edges[-1]
    times, level = times[inside_run], level[inside_run]
    if not len(times):
        return np.zeros(nbins)
    entering_idx = np.searchsorted(times, edges[:-1], side="right") - 1
    peaks = np.where(entering_idx >= 0, level[np.clip(entering_idx, 0, None)], 0).astype(float)
    inside = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, nbins - 1)
    np.maximum.at(peaks, inside, level.astype(float))
    return peaks


def _bin_text(width: float) -> str:
    if width < 60:
        return f"{width:g} s"
    if width < 3600:
        return f"{width / 60:g} min"
    if width < 86400:
        return f"{width / 3600:g} h"
    return f"{width / 86400:g} day"
