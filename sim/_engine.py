"""The engine: one SimPy environment that delivers every message of a scenario.

No SimPy process per message: each future moment is one SimPy event with a callback (an
arrival, an answer, a retry coming due, a receiver freeing a slot), and the callbacks drive
each delivery's state, an ``int`` of ``compile_machine(Delivery)`` moved only by firing the
table (``occur``, ``prepare_payload``, ``post``, ``respond(verdict)``, ``log``,
``backoff``, ``retry``, ``disable``). The retry policy turns each outcome into the verdict,
the receiver model decides each answer, the sender's worker pool and request timeout sit
between them; a wrong event raises :class:`~hooklab.model.errors.IllegalTransition`.

Per delivery the engine keeps a small slotted object (:mod:`hooklab.sim._state`), dropped
when it ends (unless watched for an outage's drain time); records go to a sink only when
one is given, and the summary is counted as the run goes, so memory stays flat. Private:
only the runner (:func:`hooklab.sim.simulate`) uses it.

Its hot path does only what a run observes: a delivery is its own event and keeps the time
it comes due, one reused event carries the arrivals, a receiver of independent draws is
asked through :meth:`~hooklab.model.faults.ReceiverModel.sampler`, each distinct outcome's
kind and ``respond`` targets are read once (:data:`~hooklab.sim._state.Reply`), and the
unguarded steps are looked up in the table rather than fired. The records of the shipped
scenarios are pinned byte for byte (``tests/sim/test_engine_pins.py``), and
``python -m hooklab.sim.bench`` times it against a bare SimPy model of the same process.
"""

from __future__ import annotations

import math
import random
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

import simpy
from simpy.core import NORMAL

from hooklab.model.delivery import Verdict
from hooklab.model.endpoints import matches
from hooklab.model.outcomes import Outcome
from hooklab.model.records import AttemptRecord, DeliveryRecord

from ._state import (
    BACKED_OFF,
    BACKOFF,
    DELIVERY,
    DISABLE,
    DISABLED,
    EXHAUSTED,
    EXPIRE,
    FINAL,
    GONE,
    GONE_KIND,
    LOG,
    LOGGED,
    NOT_RETRIED,
    POST,
    POSTED,
    PREPARED,
    RECEIVED_TWICE,
    RESPOND,
    RETRIED,
    RETRY,
    RETRY_WINDOW,
    S_DELIVERED,
    S_FAILED,
    S_RETRY_QUEUED,
    S_SENDING,
    SUCCESS,
    DeliveryState,
    EndpointState,
    PerSecond,
    Reply,
    Tick,
    Wake,
    Watch,
    may_gone,
    reply,
    substream,
)
from .arrivals import arrival_plan
from .scenario import Scenario
from .sharing import Job, Sharing

__all__ = ["DELIVERY", "DISABLED", "Engine", "substream"]



class Engine:
    """Runs one scenario once; read the counters and the sink afterwards."""

    def __init__(self, scenario: Scenario, seed: int, sink: Any = None) -> None:
        self.scenario = scenario
        self.seed = seed
        root = random.Random(seed)
        base = root.getrandbits(64)
        self.env = simpy.Environment()
        self._schedule = self.env.schedule
        self.endpoints = [EndpointState(i, s, scenario, base)
                          for i, s in enumerate(scenario.endpoints)]
        self.sink = sink
        self.workers = scenario.workers
        self.busy = 0
        self.queue: deque[DeliveryState] = deque()
        self.types, self.stream = arrival_plan(
            scenario.arrivals, messages=scenario.messages, duration=scenario.duration,
            rng=substream(base, "arrivals"))
        self.targets: dict[int, tuple[EndpointState, ...]] = {}
        self.message_ids: dict[int, str] = {}
        self.outcomes: dict[tuple[int, str | None, float | None], Reply] = {}
        self.by_status: dict[int, Reply] = {}  # the plain answers' outcomes, by status
        self.track_live = sink is not None or any(
            e.auto.consecutive or e.auto.window is not None or (e.auto.gone and may_gone(e))
            or (e.model.down is not None and e.model.down.windows) for e in self.endpoints)
        self.reasons: dict[str, int] = {}
        self.draining = False
        self.live: dict[int, DeliveryState] = {}
        self.messages = self.attempts = 0
        self.pending = self.peak_backlog = 0
        # attempts begun per second over the endpoints: with one endpoint, its own count
        self.per_second = PerSecond()
        if len(self.endpoints) > 1:
            for ep in self.endpoints:
                ep.counters = (ep.per_second, self.per_second)
        elif self.endpoints:
            self.per_second = self.endpoints[0].per_second
        self.time_to_delivery = array("d")
        self.watches: list[Watch] = []
        self.last_activity = 0.0
        self.on_progress: Callable[[], None] | None = None
        # a delivery is its own SimPy event: these are its callbacks while it waits
        self.on_answer = (self._answered,)
        self.on_retry = (self._retry,)
        # the next arrival: one event, scheduled again for each arrival
        self.tick, self.on_arrival = Tick(), (self._arrive,)
        self.upcoming: tuple[float, int, str | None] | None = None

    @property
    def deliveries(self) -> int:
        """Deliveries made so far (one per message and endpoint it is sent to)."""
        return sum(ep.deliveries for ep in self.endpoints)

    @property
    def peak_per_s(self) -> int:
        """The most attempts begun in one second of simulated time, over all endpoints."""
        return self.per_second.peak

    # -- scheduling ------------------------------------------------------------------------

    def at(self, delay: float, fn: Callable[[Any], None], value: Any) -> None:
        """Call ``fn(value)`` ``delay`` simulated seconds from now."""
        self._schedule(Wake(fn, value), NORMAL, delay)  # type: ignore[arg-type]

    def start(self) -> None:
        """Schedule the first arrival and the outage watches."""
        first = self.upcoming = next(self.stream, None)
        if first is not None:
            self.tick.callbacks = self.on_arrival
            self._schedule(self.tick, NORMAL, first[0])  # type: ignore[arg-type]
        for ep in self.endpoints:
            down = ep.model.down
            for start, end in (down.windows if down is not None else ()):
                if self.scenario.until is None or end <= self.scenario.until:
                    self.at(end, self._outage_ended, (ep, start, end))

    # -- arrivals and fan-out ----------------------------------------------------------------

    def _arrive(self, tick: Tick) -> None:
        """The arrivals due now (``self.upcoming`` and any at the same moment)."""
        now = self.env.now
        stream = self.stream
        arrival = self.upcoming
        assert arrival is not None
        track_live = self.track_live
        while True:
            t, kind, message_id = arrival
            msg = self.messages
            self.messages = msg + 1
            if message_id is not None:
                self.message_ids[msg] = message_id
            targets = self.targets.get(kind)
            if targets is None:
                name = self.types[kind]
                targets = self.targets[kind] = tuple(
                    e for e in self.endpoints if matches(e.events, name))
            for ep in targets:  # one delivery per endpoint whose filter takes the type
                d = DeliveryState(msg, kind, ep, now, PREPARED)
                ep.deliveries += 1
                pending = self.pending = self.pending + 1
                if pending > self.peak_backlog:
                    self.peak_backlog = pending
                if track_live:
                    self.live[id(d)] = d
                if ep.disabled_at is not None:
                    d.state = DELIVERY.fire(d.state, DISABLE)
                    self._finish(d, now, DISABLED)
                elif self.workers is None:
                    self._attempt(d, now)
                else:
                    self._submit(d, now)
            upcoming = next(stream, None)
            if upcoming is None:
                self.last_activity = max(self.last_activity, now)
                return
            if upcoming[0] > now:
                self.upcoming = upcoming
                tick.callbacks = self.on_arrival
                self._schedule(tick, NORMAL, upcoming[0] - now)  # type: ignore[arg-type]
                return
            arrival = upcoming

    # -- the sender's worker pool ------------------------------------------------------------

    def _submit(self, d: DeliveryState, now: float) -> None:
        workers = self.workers
        if workers is None:
            self._attempt(d, now)
        elif self.busy < workers:
            self.busy += 1
            self._attempt(d, now)
        else:
            self.queue.append(d)

    def _release_worker(self) -> None:
        self.busy -= 1
        if self.draining:  # an outer call is already handing out free workers
            return
        self.draining = True
        queue, workers, now = self.queue, self.workers, self.env.now
        while queue and self.busy < workers:  # type: ignore[operator]
            d = queue.popleft()
            if d.state not in FINAL and not self._expired(d):
                self.busy += 1
                self._attempt(d, now)
        self.draining = False

    def _expired(self, d: DeliveryState) -> bool:
        """A retry taken from the queue past the window since its first attempt fails
        unsent (the verdict checked the window when the retry was queued; a retry taken
        at once starts when the verdict said, so only the queue can make it late)."""
        window = d.ep.policy.max_window
        if window is None or not d.attempt:
            return False
        now = self.env.now
        if now - d.first <= window:
            return False
        d.state = DELIVERY.fire(d.state, EXPIRE)
        self._finish(d, now, RETRY_WINDOW)
        return True

    # -- one attempt -------------------------------------------------------------------------

    def _attempt(self, d: DeliveryState, now: float) -> None:
        """``d``'s next attempt, begun ``now`` (the current simulated time)."""
        ep = d.ep
        state = d.state
        posted = POSTED.get(state)
        d.state = posted if posted is not None else DELIVERY.fire(state, POST)
        attempt = d.attempt = d.attempt + 1
        if attempt == 1:
            d.first = now
        for counter in ep.counters:  # attempts per second: the endpoint's, the run's
            if now < counter.ends:
                count = counter.count = counter.count + 1
            else:
                counter.ends, counter.count = int(now) + 1.0, 1
                count = 1
            if count > counter.peak:
                counter.peak = count
        sample = ep.sample
        if sample is not None:  # independent draws: no window, capacity nor lane to apply
            answer, total = sample()
            status = answer.status
            if status is not None and 200 <= status < 300:  # acknowledged: Reception's ack
                if RECEIVED_TWICE[d.accepted]:
                    ep.duplicates += 1
                d.accepted = True
        else:
            answer = ep.answer(now=now, attempt=attempt, in_flight=ep.in_flight, rng=ep.rng)
            status = answer.status
            if status is not None and (200 <= status < 300 or answer.fault == "unauthorized"):
                answer = self._receive(ep, d, answer)
            sharing = ep.sharing
            if (sharing is not None and answer.latency > 0
                    and answer.error != "connection_refused"):
                self._share(ep, sharing, Job((d, answer, now)), now, answer.latency)
                return
            total = answer.latency + answer.transfer
        timeout = ep.timeout
        if total <= timeout and answer.error is None and answer.retry_after is None:
            status = answer.status  # _receive may have changed the answer
            seen = self.by_status.get(status)
            if seen is None:
                seen = self.by_status[status] = self._reply(answer, total, timeout)
            took = total
        else:
            seen = self._reply(answer, total, timeout)
            took = timeout if total > timeout else total
        if ep.track_in_flight and answer.error != "connection_refused":
            busy = total + answer.slow_close if total < math.inf else timeout
            if busy > 0:
                ep.in_flight += 1
                self.at(busy, self._receiver_free, ep)
        self._answer_in(d, seen, now, took, now)

    def _answer_in(self, d: Any, seen: Reply, start: float, took: float, now: float) -> None:
        """The sender sees ``seen`` of the attempt begun at ``start``, ``took`` s after
        ``now`` (the current simulated time)."""
        d.reply = seen
        d.start = start
        if took > 0:
            d.due = now + took  # the moment SimPy will process it, to the bit
            d.callbacks = self.on_answer
            self._schedule(d, NORMAL, took)  # type: ignore[arg-type]
        else:
            d.due = now
            self._answered(d)

    def _reply(self, answer: Any, total: float, timeout: float) -> Reply:
        """What the sender sees of ``answer`` when it takes ``total`` s in all."""
        if total > timeout:
            key: tuple[int, str | None, float | None] = (0, "timeout", None)
        elif answer.error is not None:
            key = (0, "reset" if answer.error == "truncated" else answer.error, None)
        else:
            key = (answer.status, None, answer.retry_after)
        seen = self.outcomes.get(key)
        if seen is None:
            seen = self.outcomes[key] = reply(Outcome(*key))
        return seen

    def _receiver_free(self, ep: EndpointState) -> None:
        ep.in_flight -= 1

    # -- processor sharing (capacity=N:slow) -------------------------------------------------

    def _share(self, ep: EndpointState, sharing: Sharing, job: Job, now: float,
               work: float) -> None:
        sharing.admit(now, work, job)
        self._next_done(ep, sharing, now)
        self.at(ep.timeout, self._gave_up, (ep, job))

    def _next_done(self, ep: EndpointState, sharing: Sharing, now: float) -> None:
        delay = sharing.next_done(now)
        if delay is not None:
            self.at(delay, self._work_done, (ep, sharing.generation))

    def _work_done(self, args: tuple[EndpointState, int]) -> None:
        ep, generation = args
        sharing = ep.sharing
        if sharing is None or generation != sharing.generation:  # the finish moved since
            return
        now = self.env.now
        job = sharing.finish(now)
        self._next_done(ep, sharing, now)
        if job.abandoned:  # the sender has had its timeout already
            return
        d, answer, start = job.payload
        total = now - start + answer.transfer
        seen = self._reply(answer, total, ep.timeout)
        self._answer_in(d, seen, start, min(total, ep.timeout) - (now - start), now)

    def _gave_up(self, args: tuple[EndpointState, Job]) -> None:
        ep, job = args
        if not job.live:  # answered in time
            return
        job.abandoned = True
        d, answer, start = job.payload
        if answer.latency == math.inf:  # a hang holds its share until the sender closes
            sharing = ep.sharing
            assert sharing is not None
            now = self.env.now
            sharing.leave(now, job)
            self._next_done(ep, sharing, now)
        d.reply = self._reply(answer, math.inf, ep.timeout)
        d.start = start
        d.due = self.env.now
        self._answered(d)

    def _receive(self, ep: EndpointState, d: DeliveryState, answer: Any) -> Any:
        """The receiver's lanes: Reception (401 / ack / duplicate) and EventProcessor."""
        if answer.fault == "unauthorized":  # Reception's verify: False (a 401)
            return answer
        if not answer.accepted:
            return answer
        is_new = not d.accepted
        if is_new and ep.processing is not None:
            answer = ep.process(answer)
            if answer.fault == "processing":  # failed in a synchronous lane: a 500
                return answer
        if RECEIVED_TWICE[not is_new]:
            ep.duplicates += 1
        d.accepted = True
        return answer

    def _answered(self, d: DeliveryState) -> None:
        """The answer to ``d``'s attempt in flight (``d.reply``, sent at ``d.start``),
        now (``d.due``)."""
        outcome, kind, final, again = d.reply
        now = self.last_activity = d.due
        ep = d.ep
        # the policy's verdict, unpacked: the outcome's kind and the next delay (no policy
        # retries a success, so it is not asked)
        delay = None if kind is SUCCESS else ep.next_delay(
            d.attempt, outcome, elapsed=now - d.first, previous_delay=d.prev, rng=ep.policy_rng)
        fire = DELIVERY.fire
        if d.state == S_SENDING:
            state = d.state = final if delay is None else again
        else:
            state = d.state = fire(d.state, RESPOND, Verdict(kind, delay))
        attempts = self.attempts = self.attempts + 1
        if not attempts & 0x3FFF and self.on_progress is not None:
            self.on_progress()
        ep.attempts += 1
        if self.sink is not None:
            self.sink.attempt(AttemptRecord(
                self._message_id(d.msg), ep.id, d.attempt, d.start, now, kind.value,
                outcome.status_code, outcome.error,
                None if delay is None or state != S_RETRY_QUEUED else now + delay))
        if state != S_DELIVERED and ep.failing_since is None:
            ep.failing_since = now  # the auto-disable window starts at a failed attempt
        if state == S_DELIVERED:
            logged = LOGGED.get(state)
            d.state = logged if logged is not None else fire(state, LOG)
            self._finish(d, now, None, True)
        elif state == S_FAILED:
            gone = kind is GONE_KIND
            self._finish(d, now, GONE if gone else self._why_failed(d, ep, outcome))
        else:
            backed_off = BACKED_OFF.get(state)
            d.state = backed_off if backed_off is not None else fire(state, BACKOFF)
            if ep.disabled_at is not None:
                d.state = fire(d.state, DISABLE)
                self._finish(d, now, DISABLED)
            else:
                assert delay is not None  # retry_queued: the verdict granted a delay
                d.prev = delay
                d.due = now + delay
                d.callbacks = self.on_retry
                self._schedule(d, NORMAL, delay)  # type: ignore[arg-type]
        if self.workers is not None:  # only once this delivery is settled
            self._release_worker()

    def _why_failed(self, d: DeliveryState, ep: EndpointState, outcome: Outcome) -> str:
        if not ep.policy.retries(outcome):
            return NOT_RETRIED
        return EXHAUSTED if d.attempt >= ep.policy.max_attempts else RETRY_WINDOW

    def _retry(self, d: DeliveryState) -> None:
        if d.state in FINAL:  # disabled while it waited
            return
        state = d.state
        retried = RETRIED.get(state)
        d.state = retried if retried is not None else DELIVERY.fire(state, RETRY)
        self._submit(d, d.due)

    # -- endings -----------------------------------------------------------------------------

    def _finish(self, d: DeliveryState, now: float, reason: str | None,
                delivered: bool = False) -> None:
        ep = d.ep
        self.pending -= 1
        if self.track_live:
            self.live.pop(id(d), None)
        if delivered:
            ep.delivered += 1
            self.time_to_delivery.append(now - d.created)
            if d.msg < ep.newest_delivered:
                ep.out_of_order += 1
            else:
                ep.newest_delivered = d.msg
            ep.consecutive = 0
            ep.failing_since = None
        else:
            ep.failed += 1
            self.reasons[reason or "failed"] = self.reasons.get(reason or "failed", 0) + 1
            if reason != DISABLED:
                self._count_failure(ep, now, reason == GONE)
        if d.watch is not None:
            for watch in d.watch:
                watch.left -= 1
                watch.last = now
        if self.sink is not None:
            self.sink.delivery(DeliveryRecord(
                self._message_id(d.msg), ep.id, self.types[d.kind], d.created,
                "delivered" if delivered else "failed", d.attempt, now, reason))

    def _count_failure(self, ep: EndpointState, now: float, gone: bool) -> None:
        ep.consecutive += 1
        if ep.disabled_at is not None:
            return
        why = ep.auto.reason(in_a_row=ep.consecutive, failing_since=ep.failing_since, now=now,
                             gone=gone)
        if why is not None:
            self._disable(ep, now, why)

    def _disable(self, ep: EndpointState, now: float, reason: str) -> None:
        if ep.disabled_at is not None:
            return
        ep.disabled_at = now
        ep.disabled_reason = reason
        for d in list(self.live.values()):
            if d.ep is ep and DISABLE in DELIVERY.table[d.state]:
                d.state = DELIVERY.fire(d.state, DISABLE)
                self._finish(d, now, DISABLED)

    def _outage_ended(self, args: tuple[EndpointState, float, float]) -> None:
        ep, start, end = args
        watch = Watch(ep.id, start, end)
        for d in self.live.values():
            if d.ep is ep:
                watch.left += 1
                if d.watch is None:
                    d.watch = [watch]
                else:
                    d.watch.append(watch)
        self.watches.append(watch)

    # -- records -----------------------------------------------------------------------------

    def _message_id(self, msg: int) -> str:
        given = self.message_ids.get(msg) if self.message_ids else None
        return given if given is not None else f"msg_{msg:07d}"  # sorts as it counts

    def pending_records(self) -> list[DeliveryRecord]:
        """Delivery records of the deliveries still pending when the run was cut off
        (an attempt still in flight is not counted: it has no answer yet)."""
        return [DeliveryRecord(self._message_id(d.msg), d.ep.id, self.types[d.kind], d.created,
                               "pending", d.attempt - (d.state == S_SENDING), None, "cut_off")
                for d in sorted(self.live.values(), key=lambda d: (d.created, d.msg, d.ep.index))]
