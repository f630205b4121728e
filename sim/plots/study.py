"""Comparing policies: time to delivery, and what a receiver's failure rate costs.

- :func:`plot_latency` draws, for each policy on one axis, the share of deliveries
  delivered within a time ``t`` (an empirical CDF over *all* deliveries, so a curve levels
  off at the delivered fraction), with p50 and p99 over all deliveries marked (a failed
  delivery never arrives, so a percentile above the curve's level is "never").
- :func:`plot_study` draws a failure-rate study: delivered fraction, attempts per delivery
  and p99 time to delivery *of the delivered ones* against the receiver's failure rate,
  one line per policy. For
  independent failures with probability ``p`` and ``K`` attempts, the closed forms are
  overlaid: delivered ``1 − p^K`` and mean attempts ``(1 − p^K)/(1 − p)``.

A study's points come from records (:func:`study_point`, one run's deliveries) or from a
sweep's results table (:func:`study_points_from_table`, the rows of ``hooklab sweep``).
Both plots read records or tables only, never a live simulator.

Example::

    >>> from hooklab.model.records import DeliveryRecord
    >>> run = [DeliveryRecord("m", "e", "t", 0.0, "delivered", 2, 65.0)]
    >>> study_point("diagram", 0.5, run).mean_attempts
    2.0
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hooklab.model.errors import ConfigError
from hooklab.model.records import DeliveryRecord, Status

from ..summary import percentiles, quantile
from .style import (
    OKABE_ITO,
    SERIES_COLORS,
    TimeUnit,
    duration_log_axis,
    format_duration,
    time_unit,
)

__all__ = [
    "StudyPoint",
    "closed_form_delivered",
    "closed_form_mean_attempts",
    "percentile",
    "plot_latency",
    "plot_study",
    "study_point",
    "study_points_from_table",
]


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values``, as the simulator's summary computes
    it (:func:`hooklab.sim.summary.quantile`); NaN if empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    if not len(values):
        return math.nan
    return quantile(sorted(float(v) for v in values), q / 100.0)


def _delivery_times(deliveries: Iterable[DeliveryRecord]) -> tuple[np.ndarray, int]:
    """Sorted times to delivery of the delivered ones, and the count of all deliveries."""
    total = 0
    times = []
    for d in deliveries:
        total += 1
        ttd = d.time_to_delivery
        if ttd is not None:
            times.append(ttd)
    return np.sort(np.asarray(times, dtype=float)), total


def plot_latency(
    runs: Mapping[str, Iterable[DeliveryRecord]] | Iterable[DeliveryRecord],
    *,
    title: str | None = None,
    log: bool | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot the time-to-delivery CDF of each run (``{policy: deliveries}``); returns the
    Figure.

    The y axis is the share of *all* deliveries delivered within ``t``; p50 (circle) and
    p99 (diamond) over all deliveries are marked on each curve and given in the legend,
    as "never" when the curve levels off below them (failed deliveries).
    ``log`` (default: when the times span more than two decades) puts ``t`` on a log axis.

        >>> run = [DeliveryRecord("m", "e", "t", 0.0, "delivered", 1, 0.2)]
        >>> plot_latency({"svix": run}).axes[0].get_ylabel()
        'deliveries delivered within t (%)'
    """
    if not isinstance(runs, Mapping):
        runs = {"run": runs}
    series = {label: _delivery_times(ds) for label, ds in runs.items()}
    every = np.concatenate([t for t, _ in series.values()] + [np.zeros(0)])
    positive = every[every > 0]
    top = float(every.max()) if len(every) else 1.0
    if log is None:
        log = bool(len(positive)) and top / float(positive.min()) > 100
    floor = float(positive.min()) if len(positive) else 1.0
    zeros = bool(len(every)) and bool((every <= 0).any())
    if log and zeros:
        floor /= 10.0  # instant deliveries sit one decade left of the quickest other one
    unit = TimeUnit("s", 1.0) if log else time_unit(top)  # a log axis is ticked 1 s, 1 min...

    if ax is None:
        new_fig = Figure(figsize=(9.0, 5.0), layout="constrained")
        ax = new_fig.add_subplot()
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    for i, (label, (times, total)) in enumerate(series.items()):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        if not total or not len(times):
            ax.plot([], [], color=color, label=f"{label}: nothing delivered")
            continue
        shown = np.maximum(times, floor) if log else times
        xs = np.concatenate([[shown[0]], shown]) / unit.seconds
        ys = 100.0 * np.arange(len(times) + 1) / total
        everything = percentiles(times.tolist(), never=total - len(times))
        p50, p99 = everything.p50, everything.p99
        name = f"{label}: p50 {_duration_or_never(p50)}, p99 {_duration_or_never(p99)}"
        ax.step(xs, ys, where="post", color=color, linewidth=1.6, label=name, gid=f"cdf-{label}")
        for q, value, marker in ((50, p50, "o"), (99, p99, "D")):
            if value is None:  # never reached: nothing to mark
                continue
            height = float(q)
            ax.plot([max(value, floor) / unit.seconds if log else value / unit.seconds],
                    [height], marker=marker, color=color, markeredgecolor="black",
                    markersize=7, linestyle="none", zorder=4, gid=f"p{q}-{label}")  # fmt: skip
    if log:
        duration_log_axis(ax, "x", floor, top)
        ax.set_xlim(left=floor / 1.5)
        if zeros:
            ax.annotate("t = 0 is drawn at the left edge", (0.0, 1.0), xytext=(6, -6),
                        xycoords="axes fraction", textcoords="offset points", fontsize=8,
                        style="italic", va="top", gid="zero-note")  # fmt: skip
    ax.set_ylim(0, 102)
    ax.set_xlabel("time to delivery t (log scale)" if log else f"time to delivery t ({unit.name})")
    ax.set_ylabel("deliveries delivered within t (%)")
    ax.set_title(title or "Time to delivery")
    ax.grid(color="#E5E5E5", linewidth=0.8)
    ax.set_axisbelow(True)
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], marker="o", color="white", markeredgecolor="black",
               label="p50 of all deliveries"),
        Line2D([], [], marker="D", color="white", markeredgecolor="black",
               label="p99 of all deliveries"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=True, framealpha=0.9)
    return fig


def _duration_or_never(seconds: float | None) -> str:
    return "never" if seconds is None else format_duration(seconds)


class StudyPoint(NamedTuple):
    """One policy at one failure rate: what happened to its deliveries."""

    policy: str
    failure_rate: float
    delivered_fraction: float
    mean_attempts: float
    p99_s: float
    max_attempts: int | None = None


def study_point(
    policy: str,
    failure_rate: float,
    deliveries: Iterable[DeliveryRecord],
    *,
    max_attempts: int | None = None,
) -> StudyPoint:
    """The study point of one run's deliveries.

    >>> run = [DeliveryRecord("m", "e", "t", 0.0, "failed", 6, 1900.0)]
    >>> study_point("diagram", 0.9, run, max_attempts=6).delivered_fraction
    0.0
    """
    items = list(deliveries)
    if not items:
        raise ConfigError(f"study point {policy!r} at {failure_rate}: no deliveries")
    times, _ = _delivery_times(items)
    delivered = sum(1 for d in items if d.status == Status.DELIVERED)
    return StudyPoint(
        policy=policy,
        failure_rate=float(failure_rate),
        delivered_fraction=delivered / len(items),
        mean_attempts=sum(d.attempts for d in items) / len(items),
        p99_s=percentile(times, 99),
        max_attempts=max_attempts,
    )


def study_points_from_table(
    rows: Iterable[Mapping[str, Any]], *, policy_column: str = "policy"
) -> list[StudyPoint]:
    """Study points from a sweep's results rows (``hooklab sweep --out``), one per
    (policy, failure rate, max attempts) cell, policies in the order they first appear;
    replications are pooled.

    Each row needs ``failure_rate``, ``deliveries``, ``delivered`` and ``attempts``, and
    ``time_to_delivery_delivered_only_s_p99`` (averaged over replications); ``policy`` and
    ``max_attempts`` are used when present.

        >>> rows = [{"policy": "svix", "failure_rate": 0.5, "deliveries": 10, "delivered": 9,
        ...          "attempts": 18, "time_to_delivery_delivered_only_s_p99": 300.0}]
        >>> study_points_from_table(rows)[0].mean_attempts
        1.8
    """
    cells: dict[tuple[str, float, int | None], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        try:
            rate = float(row["failure_rate"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("a study needs a 'failure_rate' column in every row") from None
        k = row.get("max_attempts")
        k = int(k) if k not in (None, "") else None
        cells[(str(row.get(policy_column) or "run"), rate, k)].append(row)
    points = []
    for (policy, rate, k), members in cells.items():
        try:
            deliveries = sum(float(r["deliveries"]) for r in members)
            delivered = sum(float(r["delivered"]) for r in members)
            attempts = sum(float(r["attempts"]) for r in members)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a study row lacks a number for {exc}") from None
        p99s = [_number(r.get("time_to_delivery_delivered_only_s_p99")) for r in members]
        p99s = [v for v in p99s if not math.isnan(v)]
        points.append(StudyPoint(
            policy, rate, delivered / deliveries if deliveries else math.nan,
            attempts / deliveries if deliveries else math.nan,
            sum(p99s) / len(p99s) if p99s else math.nan, k,
        ))  # fmt: skip
    first_seen = {policy: i for i, policy in reversed(list(enumerate(p.policy for p in points)))}
    points.sort(key=lambda p: (first_seen[p.policy], p.max_attempts or 0, p.failure_rate))
    return points


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def closed_form_delivered(p: np.ndarray | float, k: int) -> np.ndarray:
    """Delivered fraction with independent failures of probability ``p`` and ``k``
    attempts: ``1 − p^k``.

        >>> float(closed_form_delivered(0.5, 3))
        0.875
    """
    return 1.0 - np.asarray(p, dtype=float) ** k


def closed_form_mean_attempts(p: np.ndarray | float, k: int) -> np.ndarray:
    """Mean attempts per delivery under the same model: ``(1 − p^k)/(1 − p)`` (``k`` at
    ``p = 1``).

        >>> float(closed_form_mean_attempts(0.5, 3))
        1.75
    """
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (1.0 - p**k) / (1.0 - p)
    return np.where(p >= 1.0, float(k), value)


def _policy_attempts(point: StudyPoint) -> int | None:
    if point.max_attempts is not None:
        return point.max_attempts
    from hooklab.model.errors import UnknownPolicy
    from hooklab.model.presets import get_policy

    try:
        return get_policy(point.policy).max_attempts
    except UnknownPolicy:
        return None


def plot_study(
    points: Iterable[StudyPoint],
    *,
    closed_form: bool = True,
    title: str | None = None,
) -> Figure:
    """Plot a failure-rate study, one line per policy; returns the Figure.

    Three panels share the failure-rate axis: delivered fraction, attempts per delivery
    and p99 time to delivery of the delivered ones. With ``closed_form``, dashed lines give the
    independent-failure closed forms for each policy whose attempt limit ``K`` is known
    (from the point, or from the preset of that name).

        >>> pts = [StudyPoint("diagram", p, 1 - p**6, (1 - p**6) / (1 - p), 60.0) for p in (0, .5)]
        >>> [ax.get_xlabel() for ax in plot_study(pts).axes][0]
        'receiver failure rate p'
    """
    groups: dict[str, list[StudyPoint]] = defaultdict(list)
    for point in points:
        k = _policy_attempts(point)
        label = point.policy if k is None else f"{point.policy} (K={k})"
        groups[label].append(point)
    if not groups:
        raise ConfigError("a failure-rate study needs at least one point")
    fig = Figure(figsize=(13.0, 4.4), layout="constrained")
    delivered_ax, attempts_ax, p99_ax = fig.subplots(1, 3, sharex=True)
    p99_values = [p.p99_s for g in groups.values() for p in g if p.p99_s > 0]
    overlaid = False
    for i, (label, members) in enumerate(groups.items()):
        members.sort(key=lambda p: p.failure_rate)
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        rates = np.array([p.failure_rate for p in members])
        style = dict(color=color, marker="o", markersize=4.5, linewidth=1.5, label=label)
        delivered_ax.plot(
            rates, [p.delivered_fraction for p in members], gid=f"delivered-{label}", **style
        )  # noqa: E501
        attempts_ax.plot(
            rates, [p.mean_attempts for p in members], gid=f"attempts-{label}", **style
        )  # noqa: E501
        p99 = [p.p99_s if p.p99_s > 0 else math.nan for p in members]
        p99_ax.plot(rates, p99, gid=f"p99-{label}", **style)
        k = _policy_attempts(members[0])
        if closed_form and k is not None:
            grid = np.linspace(0.0, max(float(rates.max()), 0.0), 200)
            dashed = dict(color=color, linestyle="--", linewidth=1.0, alpha=0.9)
            delivered_ax.plot(
                grid, closed_form_delivered(grid, k), gid=f"closed-delivered-{label}", **dashed
            )  # noqa: E501
            attempts_ax.plot(
                grid, closed_form_mean_attempts(grid, k), gid=f"closed-attempts-{label}", **dashed
            )  # noqa: E501
            overlaid = True
    delivered_ax.set_ylabel("delivered fraction")
    delivered_ax.set_ylim(-0.02, 1.02)
    delivered_ax.set_title("Delivered")
    attempts_ax.set_ylabel("mean attempts per delivery")
    attempts_ax.set_title("Attempts per delivery")
    p99_ax.set_ylabel("p99 time to delivery of the delivered (log scale)")
    p99_ax.set_title("Time to delivery (p99, delivered only)")
    if p99_values:
        duration_log_axis(p99_ax, "y", min(p99_values), max(p99_values))
    for ax in (delivered_ax, attempts_ax, p99_ax):
        ax.set_xlabel("receiver failure rate p")
        ax.grid(color="#E5E5E5", linewidth=0.8)
        ax.set_axisbelow(True)
    handles, _ = delivered_ax.get_legend_handles_labels()
    if overlaid:
        handles.append(Line2D([], [], color=OKABE_ITO["black"], linestyle="--", linewidth=1.0,
                              label="closed form, independent failures:\n"
                              r"$1 - p^K$ and $(1 - p^K)/(1 - p)$"))  # fmt: skip
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False,
               title="retry policy", title_fontsize=9)  # fmt: skip
    fig.suptitle(title or "Failure-rate study: independent failures")
    return fig
