"""What the plots read: records, as a :class:`PlotSource` per input.

A :class:`PlotSource` holds attempt records, delivery records when the input has them,
outage windows when it knows them, and whether the final state of a delivery without a
2xx is known. Any driver's records make one (``PlotSource(label, attempts, ...)``); this
module reads the inputs the simulator side owns, with their owners' own readers: a
simulator run (:func:`read_records`, the record export), a status store
(:func:`read_status_store`, :class:`~hooklab.model.status.SqliteStatusStore`) and a
sweep's results table (:func:`read_study_table`). Their complaints become one
:class:`~hooklab.model.errors.ConfigError` naming the file (so the CLI exits 2). Only
``down`` windows are shaded as outages.

A source whose ``final_known`` is false (the flaky receiver's request log, which
``hooklab plot --db`` reads through :mod:`hooklab.harness.request_log` and hands over as
attempt records) sees a sender from the receiver's side: it knows each attempt, not what
the sender decided after the last one. Its lanes end "delivered" on a 2xx and unmarked
otherwise.

Example::

    >>> from hooklab.model.records import AttemptRecord
    >>> src = PlotSource("run", [AttemptRecord("m", "e", 1, 0, 1, "success", 200, None, None)])
    >>> src.deliveries_for(None)[0].status
    'delivered'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklab.model.errors import ConfigError, HooklabError
from hooklab.model.records import AttemptRecord, DeliveryRecord, Status

from ..export import load_records
from ..sweep.table import read_table
from .study import study_points_from_table
from .style import OutageWindow, outage_windows, outcome_class

__all__ = [
    "PlotSource",
    "check_sources",
    "deliveries_from_attempts",
    "existing_file",
    "read_records",
    "read_status_store",
    "read_study_table",
]


@dataclass
class PlotSource:
    """The records of one input, ready to plot."""

    label: str
    attempts: list[AttemptRecord]
    deliveries: list[DeliveryRecord] | None = None
    outages: list[OutageWindow] = field(default_factory=list)
    final_known: bool = True

    def endpoints(self) -> set[str]:
        """The endpoint ids present."""
        found = {a.endpoint_id for a in self.attempts}
        return found | {d.endpoint_id for d in self.deliveries or ()}

    def deliveries_for(self, endpoint: str | None) -> list[DeliveryRecord]:
        """Delivery records (derived from the attempts when the input has none)."""
        items = self.deliveries
        if items is None:
            items = deliveries_from_attempts(self.attempts, final_known=self.final_known)
        return [d for d in items if endpoint is None or d.endpoint_id == endpoint]

    def merge(self, others: Sequence[PlotSource]) -> PlotSource:
        """One source holding this one's records and ``others``'."""
        if not others:
            return self
        every = [self, *others]
        known = all(s.deliveries is not None for s in every)
        deliveries = [d for s in every for d in s.deliveries or ()] if known else None
        return PlotSource(
            " + ".join(s.label for s in every),
            [a for s in every for a in s.attempts],
            deliveries,
            [w for s in every for w in s.outages],
            all(s.final_known for s in every),
        )


def deliveries_from_attempts(
    attempts: Iterable[AttemptRecord], *, final_known: bool = True
) -> list[DeliveryRecord]:
    """One delivery record per (message, endpoint), read off its attempts: delivered at a
    2xx answer; otherwise failed when no retry was scheduled and ``final_known``, else
    pending. ``created_at`` is the first attempt's start.

        >>> a = AttemptRecord("m", "e", 1, 3.0, 3.5, "server_error", 500, None, None)
        >>> deliveries_from_attempts([a])[0][4:7]
        ('failed', 1, 3.5)
    """
    grouped: dict[tuple[str, str], list[AttemptRecord]] = defaultdict(list)
    for a in attempts:
        grouped[(a.message_id, a.endpoint_id)].append(a)
    out = []
    for (message_id, endpoint_id), items in grouped.items():
        items.sort(key=lambda a: (a.attempt, a.start))
        last = items[-1]
        if outcome_class(last) == "2xx":
            status, finished = Status.DELIVERED, last.end
        elif final_known and last.next_attempt_at is None:
            status, finished = Status.FAILED, last.end
        else:
            status, finished = Status.PENDING, None
        out.append(DeliveryRecord(message_id, endpoint_id, "", items[0].start, str(status),
                                  len(items), finished))  # fmt: skip
    return out


def existing_file(path: str | Path, what: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, if it names a file; otherwise a
    :class:`ConfigError` that calls it ``what``.

        >>> existing_file("/no/such.csv", "results table")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ConfigError: results table '/no/such.csv' does not exist
    """
    where = Path(path)
    if not where.exists():
        raise ConfigError(f"{what} {str(where)!r} does not exist")
    if not where.is_file():
        raise ConfigError(f"{what} {str(where)!r} is not a file")
    return where


def read_records(path: str | Path) -> PlotSource:
    """The records a simulator run wrote (``hooklab simulate --records PATH``), with the
    outage windows of its sidecar.

    Raises :class:`ConfigError` naming the file when it is missing or not readable as
    records.
    """
    where = existing_file(path, "records file")
    try:
        loaded = load_records(where)
        attempts = _rows(loaded.attempts, AttemptRecord, where)
        deliveries = None
        if loaded.deliveries is not None:
            deliveries = _rows(loaded.deliveries, DeliveryRecord, where)
        outages = outage_windows((loaded.meta or {}).get("outages"))
    except ConfigError:
        raise
    except (HooklabError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"records file {str(where)!r} is not hooklab records ({exc})") from None
    return PlotSource(where.stem, attempts, deliveries, outages)


def _rows(frame: Any, record: Any, where: Path) -> list[Any]:
    """Records from a DataFrame of their fields (missing values become ``None``)."""
    fields = record._fields
    missing = [f for f in fields if f not in frame.columns and f not in record._field_defaults]
    if missing:
        raise ConfigError(f"records file {str(where)!r} lacks column(s) {', '.join(missing)}")
    present = [f for f in fields if f in frame.columns]
    columns = []
    for name in present:
        column = frame[name].astype(object)
        columns.append(column.where(column.notna(), None).tolist())
    return [record(*values) for values in zip(*columns, strict=True)]


def read_status_store(path: str | Path) -> PlotSource:
    """The attempts and deliveries of a status store (SQLite), whose final states are known.

    The store raises :class:`~hooklab.model.errors.StoreError` (a
    :class:`~hooklab.model.errors.HooklabError`) for a file it cannot read.

        >>> import tempfile
        >>> from hooklab.model.status import SqliteStatusStore
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     SqliteStatusStore(Path(tmp, "s.sqlite")).close()
        ...     read_status_store(Path(tmp, "s.sqlite")).attempts
        []
    """
    from hooklab.model.status import SqliteStatusStore

    where = Path(path)
    store = SqliteStatusStore(where)
    try:
        return PlotSource(where.stem, store.attempts(), store.query())
    finally:
        store.close()


def check_sources(sources: Sequence[PlotSource]) -> list[PlotSource]:
    """``sources``, unless none of them holds an attempt (a :class:`ConfigError`).

        >>> check_sources([PlotSource("empty", [])])
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ConfigError: the records hold no attempts: nothing to plot
    """
    if not any(s.attempts for s in sources):
        raise ConfigError("the records hold no attempts: nothing to plot")
    return list(sources)


def read_study_table(path: str | Path) -> list[Any]:
    """The study points of a sweep's results table (``hooklab sweep --out``)."""
    where = existing_file(path, "results table")
    try:
        rows = read_table(where)
        points = study_points_from_table(rows)
    except ConfigError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"results table {str(where)!r}: {exc}") from None
    if not points:
        raise ConfigError(f"results table {str(where)!r} has no rows")
    return points
