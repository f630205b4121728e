"""hooklab's plots, in one place: retry timelines, load, time to delivery, failure rates.

Every plot reads :class:`~hooklab.model.records.AttemptRecord` /
:class:`~hooklab.model.records.DeliveryRecord` records (or a sweep's results table),
never a live simulator; returns a matplotlib :class:`~matplotlib.figure.Figure` so
notebooks can compose or save it; never calls ``plt.show``; and draws with the Okabe–Ito
colour-blind-safe palette, every outcome in its own colour and marker shape. This package
is the face; one module per plot:

- :func:`plot_timeline` (:mod:`.timeline`): one lane per delivery (or per endpoint),
  every attempt;
- :func:`plot_load` (:mod:`.load`): attempts per second per receiver, and the sender's
  backlog; :func:`plot_load_comparison`: the load of several runs, one panel each;
- :func:`plot_latency` (:mod:`.study`): the time-to-delivery CDF per policy, p50 and p99
  marked;
- :func:`plot_study` (:mod:`.study`): delivered, mean attempts and p99 against the
  failure rate, with the closed forms for independent failures;
- :mod:`.style`: what they share (palette, outcome classes, time units, outage windows);
- :mod:`.sources`: the inputs as records (:class:`~.sources.PlotSource`: a simulator
  run, a status store, a sweep table; ``hooklab plot`` hands request logs over too);
- :func:`save_figure`: writes a figure, the same figure giving the same bytes.

Example::

    >>> from hooklab.model.records import AttemptRecord
    >>> fig = plot_timeline([AttemptRecord("m", "ep", 1, 0.0, 0.1, "success", 200, None, None)])
    >>> save_figure(fig, "/tmp/doctest-timeline.svg")
    PosixPath('/tmp/doctest-timeline.svg')
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from hooklab.model.errors import ConfigError

from .load import backlog_steps, load_bin_width, plot_load, plot_load_comparison
from .study import (
    StudyPoint,
    closed_form_delivered,
    closed_form_mean_attempts,
    percentile,
    plot_latency,
    plot_study,
    study_point,
    study_points_from_table,
)
from .style import OKABE_ITO, OUTCOME_STYLES, outcome_class, time_unit
from .timeline import plot_timeline, timeline_lanes

__all__ = [
    "FIGURE_FORMATS",
    "OKABE_ITO",
    "OUTCOME_STYLES",
    "StudyPoint",
    "backlog_steps",
    "closed_form_delivered",
    "closed_form_mean_attempts",
    "load_bin_width",
    "outcome_class",
    "percentile",
    "plot_latency",
    "plot_load",
    "plot_load_comparison",
    "plot_study",
    "plot_timeline",
    "save_figure",
    "study_point",
    "study_points_from_table",
    "time_unit",
    "timeline_lanes",
]

#: File types :func:`save_figure` writes.
FIGURE_FORMATS = (".png", ".svg", ".pdf")


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (``.png``, ``.svg`` or ``.pdf``, by its suffix).

    Raises :class:`~hooklab.model.errors.ConfigError` for another suffix or a folder
    that does not exist. SVG output carries no date, so the same figure gives the same
    bytes.
    """
    target = Path(path)
    if target.suffix.lower() not in FIGURE_FORMATS:
        raise ConfigError(
            f"cannot write a figure to {str(target)!r}: use one of {', '.join(FIGURE_FORMATS)}"
        )
    if not target.parent.is_dir():
        raise ConfigError(f"cannot write {str(target)!r}: folder {str(target.parent)!r} missing")
    metadata = {"Date": None} if target.suffix.lower() in (".svg", ".pdf") else {}
    if target.suffix.lower() == ".png":
        metadata = {"Software": None}
    try:
        fig.savefig(target, dpi=dpi, metadata=metadata)
    except OSError as exc:
        raise ConfigError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return target
