"""The summary of a run: the metrics users ask about, under stable JSON key names.

:meth:`Summary.to_dict` is what ``hooklab simulate --json`` writes and what sweeps tabulate.
Its keys never change meaning:

=========================  ==================================================================
key                        meaning
=========================  ==================================================================
``engine``                 the path that ran: ``events`` (SimPy) or ``vector`` (numpy)
``messages``               messages created
``deliveries``             message-endpoint pairs (= messages with one endpoint)
``delivered``              deliveries that got a 2xx
``failed``                 deliveries dead-lettered (see ``failed_by_reason``)
``pending``                deliveries still open when the run was cut off
``attempts``               HTTP requests sent
``amplification``          attempts per message
``attempts_per_delivery``  attempts per delivery
``time_to_delivery_s``     ``p50``, ``p95``, ``p99``, ``max`` of creation-to-2xx seconds
                           over **all** deliveries: a failed (or cut-off pending) one
                           is never delivered, so a percentile past the delivered share
                           is ``null`` ("never"), and ``max`` is ``null`` once one failed
``time_to_delivery_delivered_only_s``  the same percentiles of the delivered ones only
``peak_attempts_per_s``    most attempts started within one second (``[k, k+1)``)
``peak_backlog``           most deliveries open at once (in flight or awaiting retry)
``time_to_drain_s``        longest time, after a ``down`` window ends, until every delivery
                           pending at its end has been delivered or failed (windows with
                           explicit times; flapping is not measured)
``duplicates``             requests a receiver acknowledged for a message it had already
                           acknowledged
``out_of_order``           per endpoint: deliveries delivered after a later-created message
``failed_by_reason``       ``exhausted``, ``retry_window``, ``gone``, ``not_retried``,
                           ``disabled`` (the words of ``FailureReason``)
``processing_failures``    events the receivers' async EventProcessor lanes failed
``sim_time_s``             simulated seconds when the run ended
``endpoints``              the per-endpoint breakdown, keyed by endpoint id
=========================  ==================================================================

``delivered + failed + pending == deliveries`` always holds. Times are ``null`` when
there is nothing to measure (no delivery, no outage), and a time-to-delivery percentile
is also ``null`` when it is never reached. ``docs/semantics.md`` says when each clock
starts and stops.

Example::

    >>> percentiles([1.0, 2.0, 3.0, 4.0])
    Percentiles(p50=2.5, p95=3.85, p99=3.97, max=4.0)
    >>> percentiles([1.0, 2.0, 3.0], never=1)      # one of four never delivered
    Percentiles(p50=2.5, p95=None, p99=None, max=None)
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "EndpointSummary", "Percentiles", "Summary", "flatten_summary", "percentiles", "quantile",
]


@dataclass(frozen=True)
class Percentiles:
    """Percentiles of a sample (linear interpolation between order statistics)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0–1) of the sorted, non-empty ``ordered``, linearly interpolated
    (numpy's default), rounded to 1e-9 s so that float noise never shows.

        >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5)
        2.5
    """
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    below, above = float(ordered[low]), float(ordered[high])
    return round(below + (above - below) * (rank - low), 9)


def percentiles(values: Iterable[float], never: int = 0) -> Percentiles:
    """The p50, p95, p99 and max of ``values`` and ``never`` more that never happened
    (an infinite value each): a percentile that needs one of those is ``None``, as are
    all of them for an empty sample."""
    ordered = _sorted(values)
    if not len(ordered):
        return Percentiles()
    if not never:
        return Percentiles(quantile(ordered, 0.50), quantile(ordered, 0.95),
                           quantile(ordered, 0.99), float(ordered[-1]))
    p50, p95, p99 = (_quantile_or_never(ordered, never, q) for q in (0.50, 0.95, 0.99))
    return Percentiles(p50, p95, p99, None)


def _quantile_or_never(ordered: Any, never: int, q: float) -> float | None:
    rank = q * (len(ordered) + never - 1)
    low = int(rank)
    if low >= len(ordered) or (low + 1 >= len(ordered) and rank > low):
        return None  # interpolates with a value that never came
    high = min(low + 1, len(ordered) - 1)
    below, above = float(ordered[low]), float(ordered[high])
    return round(below + (above - below) * (rank - low), 9)


def _sorted(values: Iterable[float]) -> Any:
    """``values`` sorted as a float64 numpy array: a numpy array or an ``array('d')`` is
    sorted in place (8 bytes a sample; a sorted Python list of floats takes about 40)."""
    if isinstance(values, array):
        ordered = np.frombuffer(values, dtype=np.float64)
    elif isinstance(values, np.ndarray):
        ordered = np.ascontiguousarray(values, dtype=np.float64)
    else:
        return np.array(sorted(values), dtype=np.float64)
    ordered.sort()
    return ordered


@dataclass(frozen=True)
class EndpointSummary:
    """One endpoint's share of a run."""

    id: str
    deliveries: int
    delivered: int
    failed: int
    pending: int
    attempts: int
    peak_attempts_per_s: int
    duplicates: int
    out_of_order: int
    processed: int
    processing_failures: int
    disabled_at: float | None
    disabled_reason: str | None


@dataclass(frozen=True)
class Summary:
    """A run's metrics; :meth:`to_dict` gives the stable JSON keys (module docstring)."""

    scenario: str
    seed: int
    messages: int
    deliveries: int
    delivered: int
    failed: int
    pending: int
    attempts: int
    time_to_delivery_s: Percentiles
    peak_attempts_per_s: int
    peak_backlog: int
    time_to_drain_s: float | None
    duplicates: int
    failed_by_reason: tuple[tuple[str, int], ...]
    processing_failures: int
    sim_time_s: float
    endpoints: tuple[EndpointSummary, ...] = field(default=())
    engine: str = "events"
    time_to_delivery_delivered_only_s: Percentiles = field(default_factory=Percentiles)

    @property
    def amplification(self) -> float:
        """Attempts per message (0 with no message)."""
        return round(self.attempts / self.messages, 9) if self.messages else 0.0

    @property
    def attempts_per_delivery(self) -> float:
        """Attempts per delivery (0 with no delivery)."""
        return round(self.attempts / self.deliveries, 9) if self.deliveries else 0.0

    @property
    def out_of_order(self) -> dict[str, int]:
        """Out-of-order deliveries per endpoint id."""
        return {e.id: e.out_of_order for e in self.endpoints}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the stable key names of the module docstring.

            >>> s = Summary("x", 0, 2, 2, 1, 1, 0, 3, Percentiles(1.0, 1.0, 1.0, 1.0),
            ...             2, 2, None, 0, (("exhausted", 1),), 0, 10.0)
            >>> s.to_dict()["amplification"], s.to_dict()["time_to_delivery_s"]["p99"]
            (1.5, 1.0)
        """
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "engine": self.engine,
            "messages": self.messages,
            "deliveries": self.deliveries,
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending,
            "attempts": self.attempts,
            "amplification": self.amplification,
            "attempts_per_delivery": self.attempts_per_delivery,
            "time_to_delivery_s": asdict(self.time_to_delivery_s),
            "time_to_delivery_delivered_only_s": asdict(self.time_to_delivery_delivered_only_s),
            "peak_attempts_per_s": self.peak_attempts_per_s,
            "peak_backlog": self.peak_backlog,
            "time_to_drain_s": self.time_to_drain_s,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "failed_by_reason": dict(self.failed_by_reason),
            "processing_failures": self.processing_failures,
            "sim_time_s": self.sim_time_s,
            "endpoints": {e.id: {k: v for k, v in asdict(e).items() if k != "id"}
                          for e in self.endpoints},
        }

    def flat(self) -> dict[str, Any]:
        """The scalar metrics as one flat row with the sweep table's column names
        (``time_to_delivery_s_p50``, see :func:`flatten_summary`); per-endpoint values are
        left out."""
        return flatten_summary({k: v for k, v in self.to_dict().items() if k != "endpoints"})


def flatten_summary(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested summary as flat columns, nested keys joined by ``_``.

    >>> flatten_summary({"attempts": 3, "time_to_delivery_s": {"p50": 1.5, "max": 9.0}})
    {'attempts': 3, 'time_to_delivery_s_p50': 1.5, 'time_to_delivery_s_max': 9.0}
    """
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_summary(value, prefix=f"{name}_"))
        elif isinstance(value, list | tuple):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat
