"""Running a scenario: :func:`simulate` and the :class:`SimulationResult` it returns.

A result holds plain frozen records (one :class:`~hooklab.model.records.AttemptRecord` per
attempt, one :class:`~hooklab.model.records.DeliveryRecord` per delivery), the
:class:`~hooklab.sim.summary.Summary`, and the receivers' :class:`Outage` windows (for
shading plots). Plots, notebooks and sweeps read these, never the live simulator. The same
scenario and seed give the same records, byte for byte.

For big runs, keep nothing in memory (``keep_records=False``) and stream the records to
disk (``records_path="run.parquet"``); the summary is computed on the fly either way.

Example::

    >>> result = simulate(Scenario.flaky(0.2, messages=200), seed=1)
    >>> s = result.summary
    >>> s.delivered + s.failed + s.pending == s.deliveries == 200
    True
    >>> result.attempts[0].attempt
    1
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklab.model.errors import ScenarioError
from hooklab.model.records import AttemptRecord, DeliveryRecord

from ._engine import Engine
from .export import RecordWriter, load_records, write_records
from .progress import RunProgress
from .scenario import Scenario
from .summary import EndpointSummary, Summary, percentiles
from .vector import VectorRun, why_not

__all__ = ["ENGINES", "MAX_FLAP_OUTAGES", "Interrupted", "Outage", "SimulationResult",
           "pick_engine", "simulate"]

#: The paths a run can take: ``auto`` picks ``vector`` when :func:`~hooklab.sim.vector.
#: why_not` finds no reason against it, else ``events`` (the SimPy engine).
ENGINES = ("auto", "events", "vector")

#: The most windows of a flapping receiver a result lists (per endpoint, the first ones):
#: ``down=flap:0.001:0.001`` over a day would otherwise be 43 million objects.
MAX_FLAP_OUTAGES = 10_000


@dataclass(frozen=True)
class Outage:
    """A window in which a receiver misbehaved on purpose: ``kind`` is ``down``,
    ``unauthorized`` or ``gone``; ``drain_s`` (``down`` windows with explicit times only)
    is how long the deliveries pending at ``end`` took to be delivered or failed."""

    endpoint_id: str
    start: float
    end: float
    kind: str = "down"
    drain_s: float | None = None


@dataclass(frozen=True)
class SimulationResult:
    """What one run produced; see the module docstring. ``outages`` lists at most
    :data:`MAX_FLAP_OUTAGES` windows of a flapping receiver per endpoint."""

    scenario: Scenario
    seed: int
    summary: Summary
    attempts: list[AttemptRecord] = field(default_factory=list, repr=False)
    deliveries: list[DeliveryRecord] = field(default_factory=list, repr=False)
    outages: tuple[Outage, ...] = ()
    records_path: Path | None = None

    def frames(self) -> tuple[Any, Any]:
        """The attempts and deliveries as pandas DataFrames (read from ``records_path``
        when the records were streamed there instead of kept)."""
        import pandas as pd

        if not self.attempts and self.records_path is not None:
            loaded = load_records(self.records_path)
            return loaded.attempts, loaded.deliveries
        return (pd.DataFrame(self.attempts, columns=AttemptRecord._fields),
                pd.DataFrame(self.deliveries, columns=DeliveryRecord._fields))

    def write(self, path: str | Path) -> Path:
        """Write the kept records (and the meta sidecar) to ``path`` (.csv/.jsonl/.parquet)."""
        return write_records(path, self.attempts, self.deliveries, self.meta())

    def meta(self) -> dict[str, Any]:
        """The run's description for the records sidecar: scenario, seed, summary, outages."""
        return {"scenario": self.scenario.to_mapping(), "seed": self.seed,
                "summary": self.summary.to_dict(),
                "outages": [o.__dict__ for o in self.outages]}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run. ``result`` is what it had done by then: the records so far
    and a summary of that moment (its meta says ``"interrupted": true``), or ``None`` when
    the run had not started or the vector path was still computing (it has no moments).
    A ``KeyboardInterrupt``, not a hooklab error: whoever ignores it still stops."""

    def __init__(self, result: SimulationResult | None) -> None:
        super().__init__("interrupted")
        self.result = result


class _Memory:
    """Keeps records in lists and/or passes them on to a writer."""

    def __init__(self, keep: bool, writer: RecordWriter | None) -> None:
        self.attempts: list[AttemptRecord] = []
        self.deliveries: list[DeliveryRecord] = []
        self.writer = writer
        self.attempt: Callable[[AttemptRecord], None]
        self.delivery: Callable[[DeliveryRecord], None]
        if writer is None:
            self.attempt, self.delivery = self.attempts.append, self.deliveries.append
        elif not keep:
            self.attempt, self.delivery = writer.attempt, writer.delivery
        else:
            self.attempt, self.delivery = self._both_attempt, self._both_delivery

    def _both_attempt(self, record: AttemptRecord) -> None:
        self.attempts.append(record)
        self.writer.attempt(record)  # type: ignore[union-attr]

    def _both_delivery(self, record: DeliveryRecord) -> None:
        self.deliveries.append(record)
        self.writer.delivery(record)  # type: ignore[union-attr]


def simulate(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    keep_records: bool = True,
    records_path: str | Path | None = None,
    progress: bool | None = False,
    engine: str = "auto",
) -> SimulationResult:
    """Run ``scenario`` (a :class:`Scenario`, a shipped name or a TOML path) once.

    ``seed`` defaults to the scenario's. ``keep_records`` keeps every record in the result;
    ``records_path`` streams them to disk as they are made. ``progress``: ``True`` shows a
    bar, ``None`` shows one on a terminal for runs longer than 2 s, ``False`` never.
    ``engine`` picks the path (:func:`pick_engine`); the summary's ``engine`` says which ran.

        >>> simulate("default", seed=3, keep_records=False).summary.messages
        3000
    """
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    seed = scenario.seed if seed is None else seed
    path = pick_engine(scenario, engine)
    writer = RecordWriter(records_path) if records_path is not None else None
    sink = _Memory(keep_records, writer) if keep_records or writer is not None else None
    run: Engine | VectorRun | None = None
    try:
        if path == "vector":
            vector = VectorRun(scenario, seed, records=sink is not None)
            vector.run()
            run = vector
            if writer is not None:  # the column arrays go to the file as they are
                writer.columns(vector.attempt_table(), vector.delivery_table())
            if keep_records and sink is not None:
                sink.attempts.extend(vector.attempt_records())
                sink.deliveries.extend(vector.delivery_records())
        else:
            engine_run = Engine(scenario, seed, sink)  # may refuse it (e.g. a bad trace)
            run = engine_run
            _run(engine_run, progress)
            if sink is not None:
                for record in run.pending_records():
                    sink.delivery(record)
    except KeyboardInterrupt:
        partial = None
        if run is not None:
            try:  # the state of the moment Ctrl-C came; if it cannot be summed up, none
                partial = _result(run, path, sink, records_path)
            except Exception:
                partial = None
        if writer is not None:  # what finished stays: flushed, closed, described
            writer.close(None if partial is None else _interrupted(partial.meta()))
        raise Interrupted(partial) from None
    except BaseException:
        if writer is not None:
            writer.close()
        raise
    result = _result(run, path, sink, records_path)
    if writer is not None:
        writer.close(result.meta())
    return result


def _result(run: Engine | VectorRun, path: str, sink: _Memory | None,
            records_path: str | Path | None) -> SimulationResult:
    outages = _outages(run)
    return SimulationResult(
        scenario=run.scenario, seed=run.seed, summary=_summary(run, outages, path),
        attempts=sink.attempts if sink is not None else [],
        deliveries=sink.deliveries if sink is not None else [],
        outages=outages,
        records_path=Path(records_path) if records_path is not None else None)


def _interrupted(meta: dict[str, Any]) -> dict[str, Any]:
    meta["interrupted"] = meta["summary"]["interrupted"] = True
    return meta


def pick_engine(scenario: Scenario, engine: str = "auto") -> str:
    """The path ``simulate(scenario, engine=engine)`` takes: ``events`` or ``vector``.

    ``auto`` takes ``vector`` when it can run the scenario; ``vector`` on a scenario it
    cannot run is a :class:`~hooklab.model.errors.ScenarioError` naming the reason.

        >>> pick_engine(Scenario.load("outage-storm"))
        'events'
        >>> pick_engine(Scenario.load("outage-storm"), "vector")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: engine vector cannot run this scenario: \
a bounded worker pool (workers = 500)
    """
    if engine not in ENGINES:
        raise ScenarioError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}",
                            field="engine")
    if engine == "events":
        return engine
    reason = why_not(scenario)
    if reason is None:
        return "vector"
    if engine == "vector":
        raise ScenarioError(f"engine vector cannot run this scenario: {reason}",
                            field="engine")
    return "events"


def _run(engine: Engine, progress: bool | None) -> None:
    until = engine.scenario.until
    estimate = _estimated_end(engine)
    engine.start()
    with RunProgress(enabled=progress) as bar:
        def tick() -> None:
            bar.update(engine.env.now / estimate if estimate else 0.0,
                       f"{engine.messages:,} messages, {engine.pending:,} pending")

        engine.on_progress = tick
        if until is None:
            engine.env.run()
        elif until > 0:
            engine.env.run(until=until)


def _estimated_end(engine: Engine | VectorRun) -> float:
    s = engine.scenario
    a = s.arrivals
    if a.process in ("poisson", "uniform"):
        spans = [s.messages / a.rate if s.messages is not None else math.inf,
                 s.duration if s.duration is not None else math.inf]
        last = a.at + min(spans)
    else:
        last = a.at
    last = max([last, *(b.at for b in a.bursts)])
    tail = max(e.policy.attempt_times()[-1] + e.timeout * e.policy.max_attempts
               for e in engine.endpoints)
    end = last + tail
    return min(end, s.until) if s.until is not None else end


def _end(engine: Engine | VectorRun) -> float:
    until = engine.scenario.until
    if until is not None and engine.pending:
        return until
    return engine.last_activity


def _outages(engine: Engine | VectorRun) -> tuple[Outage, ...]:
    horizon = _end(engine)
    drains = {(w.endpoint, w.start, w.end): (w.last - w.end if w.left == 0 else None)
              for w in engine.watches}
    out: list[Outage] = []
    for ep in engine.endpoints:
        model = ep.model
        down = model.down
        if down is not None:
            for start, end in down.windows:
                out.append(Outage(ep.id, start, end, "down", drains.get((ep.id, start, end))))
            if down.flap_down > 0:
                period = down.flap_up + down.flap_down
                t = down.flap_offset + down.flap_up
                for _ in range(MAX_FLAP_OUTAGES):
                    if t >= horizon:
                        break
                    out.append(Outage(ep.id, t, t + down.flap_down, "down"))
                    t += period
        for start, end in model.unauthorized:
            out.append(Outage(ep.id, start, end, "unauthorized"))
        if model.gone is not None:
            out.append(Outage(ep.id, model.gone, max(horizon, model.gone), "gone"))
    out.sort(key=lambda o: (o.start, o.endpoint_id, o.end))
    return tuple(out)


def _summary(engine: Engine | VectorRun, outages: tuple[Outage, ...], path: str) -> Summary:
    drains = [o.drain_s for o in outages if o.drain_s is not None]
    endpoints = tuple(
        EndpointSummary(
            id=e.id, deliveries=e.deliveries, delivered=e.delivered, failed=e.failed,
            pending=e.deliveries - e.delivered - e.failed, attempts=e.attempts,
            peak_attempts_per_s=e.peak_per_s, duplicates=e.duplicates,
            out_of_order=e.out_of_order, processed=e.processed,
            processing_failures=e.processing_failures, disabled_at=e.disabled_at,
            disabled_reason=e.disabled_reason)
        for e in engine.endpoints)
    times = engine.time_to_delivery  # sorted in place by the first percentiles
    return Summary(
        scenario=engine.scenario.name, seed=engine.seed, messages=engine.messages,
        deliveries=engine.deliveries, delivered=sum(e.delivered for e in endpoints),
        failed=sum(e.failed for e in endpoints), pending=engine.pending,
        attempts=engine.attempts,
        time_to_delivery_s=percentiles(times, never=engine.deliveries - len(times)),
        time_to_delivery_delivered_only_s=percentiles(times),
        peak_attempts_per_s=engine.peak_per_s, peak_backlog=engine.peak_backlog,
        time_to_drain_s=max(drains) if drains else None,
        duplicates=sum(e.duplicates for e in endpoints),
        failed_by_reason=tuple(sorted(engine.reasons.items())),
        processing_failures=sum(e.processing_failures for e in endpoints),
        sim_time_s=_end(engine), endpoints=endpoints, engine=path)
