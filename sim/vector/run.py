"""The vectorized run: every open delivery advanced one attempt round at a time.

:class:`VectorRun` runs a scenario that :func:`~hooklab.sim.vector.why_not` accepts.
Messages come in chunks (:mod:`.arrivals`); for each chunk and endpoint, round ``k`` sends
attempt ``k`` of every delivery still open, draws the receiver's answers
(:mod:`.answers`) and the policy's verdicts (:mod:`.verdicts`) as arrays, and moves each
delivery to delivered, failed, or its next attempt. Chunks and endpoints are independent
because deliveries share nothing here, so memory is bounded by a chunk plus the tallies
of :mod:`.tallies`.

Afterwards a run carries the same counters under the same names as the event engine
(``messages``, ``attempts``, ``peak_backlog``, ``endpoints[i].delivered``...), so the
runner builds its :class:`~hooklab.sim.summary.Summary` from either the same way, and its
records as column arrays in the engine's record schema (:meth:`VectorRun.attempt_columns`,
:meth:`VectorRun.delivery_columns`), also as records
(:meth:`VectorRun.attempt_records`, :meth:`VectorRun.delivery_records`).

Example::

    >>> from hooklab.sim.scenario import Scenario
    >>> run = VectorRun(Scenario.flaky(0.2, messages=1000), seed=1)
    >>> run.run()
    >>> run.deliveries == 1000 == run.endpoints[0].delivered + run.endpoints[0].failed
    True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from hooklab.model.endpoints import matches
from hooklab.model.records import AttemptRecord, DeliveryRecord

from ..scenario import Scenario
from .answers import ERRORS, answer_round
from .arrivals import arrival_chunks
from .tallies import Backlog, Buckets, Order, Samples
from .verdicts import KINDS, REASONS, outcome_kinds, verdicts

__all__ = ["CHUNK", "VectorRun"]

#: Messages per chunk: big enough for numpy to pay off, small enough to stay in cache.
CHUNK = 1 << 17
_OPEN, _DELIVERED, _FAILED = 0, 1, 2
_CUT_OFF = len(REASONS)


class EndpointRun:
    """One endpoint's parameters and counters (the names of the event engine's)."""

    def __init__(self, index: int, spec: Any, scenario: Scenario) -> None:
        self.index = index
        self.id = spec.id
        self.events = tuple(spec.events)
        self.policy = scenario.policy_for(spec)
        self.model = scenario.receiver_for(spec)
        self.timeout = float(spec.timeout)
        self.deliveries = self.delivered = self.failed = self.attempts = 0
        self.duplicates = self.out_of_order = self.processed = self.processing_failures = 0
        self.disabled_at: float | None = None
        self.disabled_reason: str | None = None
        self.buckets = Buckets()
        self.order = Order()

    @property
    def peak_per_s(self) -> int:
        """The most attempts started within one second."""
        return self.buckets.peak


class Watch:
    """A ``down`` window's drain: ``left`` deliveries pending at its end never finished,
    the last of the others finished at ``last``."""

    def __init__(self, endpoint: str, start: float, end: float) -> None:
        self.endpoint, self.start, self.end = endpoint, start, end
        self.left = 0
        self.last = end


def _stream(base: bytes, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int.from_bytes(base[:8], "big"), *keys])


class VectorRun:
    """Runs one scenario once, vectorized; read the counters and columns afterwards."""

    def __init__(self, scenario: Scenario, seed: int, *, records: bool = False,
                 chunk: int = CHUNK) -> None:
        self.scenario = scenario
        self.seed = seed
        self.base = hashlib.sha256(f"{seed}/vector".encode()).digest()
        self.endpoints = [EndpointRun(i, s, scenario) for i, s in enumerate(scenario.endpoints)]
        self.keep = records
        self.chunk = chunk
        self.messages = self.deliveries = self.attempts = self.pending = 0
        self.peak_per_s = 0
        self.reasons: dict[str, int] = {}
        self.samples = Samples(_deliveries_bound(scenario))
        self.watches: list[Watch] = []
        self.last_activity = 0.0
        self.types: list[str] = []
        self.message_ids: list[str | None] | None = None
        self.buckets = Buckets()
        self.backlog = Backlog()
        self._attempts: list[dict[str, np.ndarray]] = []
        self._deliveries: list[dict[str, np.ndarray]] = []

    @property
    def time_to_delivery(self) -> np.ndarray:
        """Creation-to-2xx seconds of every delivered delivery (a view)."""
        return self.samples.values()

    @property
    def peak_backlog(self) -> int:
        """The most deliveries open at once."""
        return self.backlog.peak

    def run(self) -> None:
        """Run the scenario to its end (or to ``until``)."""
        s = self.scenario
        until = math.inf if s.until is None else s.until
        if until <= 0:
            return
        for ep in self.endpoints:
            down = ep.model.down
            for start, end in (down.windows if down is not None else ()):
                if end <= until:
                    self.watches.append(Watch(ep.id, start, end))
        self.types, chunks = arrival_chunks(
            s.arrivals, messages=s.messages, duration=s.duration, until=s.until,
            rng=_stream(self.base, 1 << 30), size=self.chunk)
        ids: list[str | None] = []
        for number, chunk in enumerate(chunks):
            self.messages += len(chunk.times)
            self.last_activity = max(self.last_activity, float(chunk.times[-1]))
            if chunk.ids is not None:
                ids.extend(chunk.ids)
            self._chunk(number, chunk.first, chunk.times, chunk.kinds, until)
        self.message_ids = ids or None
        self.peak_per_s = self.buckets.peak

    def _chunk(self, number: int, first: int, times: np.ndarray, kinds: np.ndarray,
               until: float) -> None:
        fanout = np.zeros(len(times), dtype=np.int64)
        ends: list[np.ndarray] = []
        for ep in self.endpoints:
            wanted = np.array([matches(ep.events, name) for name in self.types])
            sel = np.flatnonzero(wanted[kinds]) if not wanted.all() else None
            created = times if sel is None else times[sel]
            msgs = first + (np.arange(len(times)) if sel is None else sel)
            fanout += wanted[kinds]
            finish = self._deliver(ep, created, msgs, kinds if sel is None else kinds[sel],
                                   until, _stream(self.base, ep.index, number))
            ends.append(np.where(np.isnan(finish), np.inf, finish))
        self.backlog.add(times, fanout, np.concatenate(ends))

    def _deliver(self, ep: EndpointRun, created: np.ndarray, msgs: np.ndarray,
                 kinds: np.ndarray, until: float, rng: np.random.Generator) -> np.ndarray:
        n = len(created)
        ep.deliveries += n
        self.deliveries += n
        finish = np.full(n, np.nan)
        state = np.zeros(n, dtype=np.int8)
        reason = np.zeros(n, dtype=np.int8)
        used = np.zeros(n, dtype=np.int32)
        accepted = np.zeros(n, dtype=bool)
        live = np.arange(n)
        t = created
        attempt = 1
        retried_accepted = False  # a delivery acknowledged, then retried: duplicates ahead
        while len(live):
            self.buckets.add(t)
            ep.buckets.add(t)
            got = answer_round(ep.model, t, attempt=attempt, timeout=ep.timeout, rng=rng)
            if retried_accepted:
                ep.duplicates += int((got.accepted & accepted[live]).sum())
            end = t + got.took
            answered = end < until if until < math.inf else None
            if answered is not None and not answered.all():
                used[live[~answered]] = attempt - 1  # still in flight when cut off
                accepted[live[got.accepted & ~answered]] = True
                live, t, end = live[answered], t[answered], end[answered]
                got = _take(got, answered)
            if not len(live):
                break
            self.last_activity = max(self.last_activity, float(end.max()))
            ep.attempts += len(live)
            self.attempts += len(live)
            v = verdicts(ep.policy, attempt, got.status, got.error, got.retry_after,
                         end - created[live], rng)
            retry = ~np.isnan(v.delay)
            again = got.accepted & retry
            if again.any():
                accepted[live[again]] = True
                retried_accepted = True
            ended = ~retry
            gone = live[ended]
            finish[gone] = end[ended]
            state[gone] = np.where(v.success[ended], _DELIVERED, _FAILED)
            reason[gone] = v.reason[ended]
            used[gone] = attempt
            nxt = end + np.where(retry, v.delay, 0.0)
            if self.keep:
                self._attempts.append({
                    "msg": msgs[live], "endpoint": np.full(len(live), ep.index),
                    "attempt": np.full(len(live), attempt), "start": t, "end": end,
                    "kind": outcome_kinds(got.status, got.error), "status": got.status,
                    "error": got.error, "next": np.where(retry, nxt, np.nan)})
            go = retry & (nxt < until)
            if not go.all():
                used[live[retry & ~go]] = attempt  # awaiting a retry past the cut-off
            live, t = live[go], nxt[go]
            attempt += 1
        self._tally(ep, created, msgs, kinds, finish, state, reason, used)
        return finish

    def _tally(self, ep: EndpointRun, created: np.ndarray, msgs: np.ndarray,
               kinds: np.ndarray, finish: np.ndarray, state: np.ndarray,
               reason: np.ndarray, used: np.ndarray) -> None:
        done = state == _DELIVERED
        ep.delivered += int(done.sum())
        self.samples.add(finish[done] - created[done])
        ep.order.add(finish[done], float(created[-1]) if len(created) else 0.0)
        ep.out_of_order = ep.order.count
        failed = state == _FAILED
        ep.failed += int(failed.sum())
        self.pending += int((state == _OPEN).sum())
        for code, count in enumerate(np.bincount(reason[failed], minlength=len(REASONS))):
            if count:
                name = REASONS[code]
                assert name is not None
                self.reasons[name] = self.reasons.get(name, 0) + int(count)
        for w in self.watches:
            if w.endpoint == ep.id:
                live = created < w.end
                w.left += int((live & (state == _OPEN)).sum())
                later = finish[live & (finish > w.end)]
                if len(later):
                    w.last = max(w.last, float(later.max()))
        if self.keep:
            self._deliveries.append({
                "msg": msgs, "endpoint": np.full(len(msgs), ep.index), "kind": kinds,
                "created": created, "state": state, "attempts": used, "finished": finish,
                "reason": np.where(state == _OPEN, _CUT_OFF, reason)})

    # -- records -----------------------------------------------------------------------

    def attempt_columns(self) -> dict[str, np.ndarray]:
        """The attempts as columns (codes for ``outcome`` and ``error``), in answer order."""
        return _joined(self._attempts, "end")

    def delivery_columns(self) -> dict[str, np.ndarray]:
        """The deliveries as columns (codes for ``status`` and ``reason``), finished ones
        in finishing order, then the pending ones."""
        cols = _joined(self._deliveries, None)
        if cols:
            key = np.where(np.isnan(cols["finished"]), np.inf, cols["finished"])
            order = np.lexsort((cols["endpoint"], cols["msg"], cols["created"], key))
            cols = {k: v[order] for k, v in cols.items()}
        return cols

    def attempt_table(self) -> dict[str, np.ndarray]:
        """The attempts as whole columns named and typed as the records' fields (strings
        as object arrays, ``NaN`` where a record has ``None``): what a records file takes
        without a record object per row. Empty when there were no attempts."""
        c = self.attempt_columns()
        if not c:
            return {}
        msgs = c["msg"]
        return {"message_id": self._message_ids(msgs),
                "endpoint_id": np.array([e.id for e in self.endpoints], dtype=object)[
                    c["endpoint"]],
                "attempt": c["attempt"].astype(np.int64), "start": c["start"],
                "end": c["end"], "outcome": np.array(KINDS, dtype=object)[c["kind"]],
                "status_code": c["status"].astype(np.int64),
                "error": np.array(ERRORS, dtype=object)[c["error"]],
                "next_attempt_at": c["next"],
                "response_body": np.full(len(msgs), "", dtype=object)}

    def delivery_table(self) -> dict[str, np.ndarray]:
        """The deliveries as whole columns, as :meth:`attempt_table` gives the attempts."""
        c = self.delivery_columns()
        if not c:
            return {}
        return {"message_id": self._message_ids(c["msg"]),
                "endpoint_id": np.array([e.id for e in self.endpoints], dtype=object)[
                    c["endpoint"]],
                "event_type": np.array(self.types, dtype=object)[c["kind"]],
                "created_at": c["created"],
                "status": np.array(("pending", "delivered", "failed"), dtype=object)[
                    c["state"]],
                "attempts": c["attempts"].astype(np.int64), "finished_at": c["finished"],
                "reason": np.array((*REASONS, "cut_off"), dtype=object)[c["reason"]]}

    def _message_ids(self, msgs: np.ndarray) -> np.ndarray:
        return np.array([self._message_id(m) for m in msgs.tolist()], dtype=object)

    def _message_id(self, msg: int) -> str:
        given = self.message_ids[msg] if self.message_ids else None
        return given if given is not None else f"msg_{msg:07d}"

    def attempt_records(self) -> Iterator[AttemptRecord]:
        """The attempts as :class:`~hooklab.model.records.AttemptRecord`."""
        c = self.attempt_columns()
        if not c:
            return
        ids = [e.id for e in self.endpoints]
        for m, e, a, s, end, k, st, err, nxt in zip(
                c["msg"].tolist(), c["endpoint"].tolist(), c["attempt"].tolist(),
                c["start"].tolist(), c["end"].tolist(), c["kind"].tolist(),
                c["status"].tolist(), c["error"].tolist(), c["next"].tolist(), strict=True):
            yield AttemptRecord(self._message_id(m), ids[e], a, s, end, KINDS[k], st,
                                ERRORS[err], None if math.isnan(nxt) else nxt)

    def delivery_records(self) -> Iterator[DeliveryRecord]:
        """The deliveries as :class:`~hooklab.model.records.DeliveryRecord`."""
        c = self.delivery_columns()
        if not c:
            return
        ids = [e.id for e in self.endpoints]
        names = ("pending", "delivered", "failed")
        for m, e, k, cr, st, a, f, r in zip(
                c["msg"].tolist(), c["endpoint"].tolist(), c["kind"].tolist(),
                c["created"].tolist(), c["state"].tolist(), c["attempts"].tolist(),
                c["finished"].tolist(), c["reason"].tolist(), strict=True):
            yield DeliveryRecord(self._message_id(m), ids[e], self.types[k], cr, names[st], a,
                                 None if math.isnan(f) else f,
                                 "cut_off" if r == _CUT_OFF else REASONS[r])


def _deliveries_bound(scenario: Scenario) -> int:
    """At most how many deliveries ``scenario`` makes, as far as it says (pages of an
    array that are never written cost no memory, so a generous bound is free)."""
    a = scenario.arrivals
    extra = sum(b.count for b in a.bursts)
    if scenario.messages is not None:
        count = scenario.messages + extra
    elif a.process in ("poisson", "uniform") and scenario.duration is not None:
        count = int(a.rate * scenario.duration * 1.1) + 1000 + extra
    else:
        count = CHUNK
    return count * len(scenario.endpoints)


def _take(got: Any, mask: np.ndarray) -> Any:
    return type(got)(**{k: getattr(got, k)[mask] for k in
                        ("status", "error", "retry_after", "took", "accepted")})


def _joined(parts: list[dict[str, np.ndarray]], key: str | None) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if key is not None:
        order = np.argsort(cols[key], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
    return cols
