"""The engine's run-time state: one slotted object per delivery and per endpoint.

The engine (:mod:`hooklab.sim._engine`) drives these; they hold no logic beyond their
counters. Here too: the compiled lifecycles and the names of the events the engine fires
(checked against the machines at import), the targets read off their tables once (so the
hot path looks a step up instead of firing it), the random substreams of a run, and
:class:`Wake`, the bare SimPy event a future moment is scheduled as (a delivery waiting
for its answer or retry is its own event, and the next arrival is one reused
:class:`Tick`). Private to the simulator.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from typing import Any

from hooklab.model.compiled import compile_machine
from hooklab.model.delivery import Delivery, Verdict
from hooklab.model.outcomes import Outcome, OutcomeKind
from hooklab.model.processing import Processing
from hooklab.model.reception import Reception
from hooklab.model.records import FailureReason

from .scenario import Scenario
from .sharing import Sharing

__all__ = ["BACKED_OFF", "LOGGED", "POSTED", "PREPARED", "RECEIVED_TWICE", "RESPONDED", "RETRIED",
           "DeliveryState", "EndpointState", "PerSecond", "Reply", "Tick", "Wake", "Watch",
           "may_gone", "reply", "substream", "unguarded"]

#: Why a delivery failed: the words of FailureReason.
EXHAUSTED, RETRY_WINDOW, GONE, NOT_RETRIED, DISABLED = (
    FailureReason.EXHAUSTED.value, FailureReason.RETRY_WINDOW.value, FailureReason.GONE.value,
    FailureReason.NOT_RETRIED.value, FailureReason.DISABLED.value)

DELIVERY = compile_machine(Delivery)
RECEPTION = compile_machine(Reception)
PROCESSING = compile_machine(Processing)

# The events this driver sends; checked against the machines at import, so a renamed
# event fails here loudly instead of deep inside a run.
OCCUR, PREPARE, POST, RESPOND, LOG, BACKOFF, RETRY, DISABLE = (
    "occur", "prepare_payload", "post", "respond", "log", "backoff", "retry", "disable")
VERIFY, PARSE, ENQUEUE = "verify", "parse", "enqueue"
DESERIALIZE, ROUTE, EXECUTE, COMPLETE = "deserialize", "route", "execute", "complete"
EXPIRE = "expire"
for _cm, _events in ((DELIVERY, (OCCUR, PREPARE, POST, RESPOND, LOG, BACKOFF, RETRY, DISABLE,
                                 EXPIRE)),
                     (RECEPTION, (VERIFY, PARSE, ENQUEUE)),
                     (PROCESSING, (DESERIALIZE, ROUTE, EXECUTE, COMPLETE))):
    _known = {e for row in _cm.table for e in row}
    _missing = [e for e in _events if e not in _known]
    if _missing:  # pragma: no cover - guards against a renamed lifecycle event
        raise ImportError(f"hooklab.sim: {_cm.machine} has no event(s) {_missing}")

S_DELIVERED = DELIVERY.index("delivered")
S_FAILED = DELIVERY.index("failed")
S_RETRY_QUEUED = DELIVERY.index("retry_queued")
S_SENDING = DELIVERY.index("sending")
S_DUPLICATE = RECEPTION.index("duplicate")
S_PROCESSED = PROCESSING.index("completed")
FINAL = DELIVERY.final


def unguarded(cm: Any, event: str) -> dict[int, int]:
    """The states where ``event`` has one transition and no guard, mapped to its target:
    the engine looks these up instead of firing (any other state still fires, and raises)."""
    steps = {}
    for state, row in enumerate(cm.table):
        candidates = row.get(event)
        if candidates is not None and len(candidates) == 1 and not candidates[0][0]:
            steps[state] = candidates[0][1]
    return steps


# Only one Reception state is ever observed (duplicate), and which answers reach it is fixed
# by the table: read it once, not by firing the lane three times per acknowledgement.
_ACKED = RECEPTION.fire(RECEPTION.fire(RECEPTION.initial, VERIFY, True), PARSE, True)
RECEIVED_TWICE = (RECEPTION.fire(_ACKED, ENQUEUE, True) == S_DUPLICATE,   # by is_new: new,
                  RECEPTION.fire(_ACKED, ENQUEUE, False) == S_DUPLICATE)  # then seen before
RECEPTION.fire(RECEPTION.initial, VERIFY, False)  # a 401 is a legal Reception step
# respond's guards read only the verdict's kind and whether it grants a delay: its target
# from sending, per (kind, retry granted), is read off the table once.
RESPONDED = {(kind, retry): DELIVERY.fire(S_SENDING, RESPOND,
                                          Verdict(kind, 1.0 if retry else None))
             for kind in OutcomeKind for retry in (False, True)}
SUCCESS, GONE_KIND = OutcomeKind.SUCCESS, OutcomeKind.GONE  # read once: Enum lookups are slow

#: What the engine keeps of an attempt's outcome: the outcome, its kind, and respond's
#: target from sending when the verdict grants no retry and when it grants one.
Reply = tuple[Outcome, OutcomeKind, int, int]


def reply(outcome: Outcome) -> Reply:
    """The engine's :data:`Reply` for ``outcome`` (made once per distinct outcome)."""
    kind = outcome.kind
    return outcome, kind, RESPONDED[kind, False], RESPONDED[kind, True]


# The unguarded steps, looked up instead of fired (a state missing here still fires, and so
# raises IllegalTransition as before); a delivery is created prepared.
POSTED, LOGGED, BACKED_OFF, RETRIED = (unguarded(DELIVERY, e) for e in (POST, LOG, BACKOFF,
                                                                        RETRY))
PREPARED = DELIVERY.fire(DELIVERY.fire(DELIVERY.initial, OCCUR), PREPARE)


def substream(base: int, name: str) -> random.Random:
    """The random stream called ``name`` of a run whose root stream gave ``base``."""
    digest = hashlib.sha256(f"{base}/{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def may_gone(ep: EndpointState) -> bool:
    model = ep.model
    return (model.gone is not None or 410 in model.script
            or any(s.code == 410 for s in model.status))


class Wake:
    """A bare SimPy event: scheduled with ``env.schedule``, it calls ``fn(value)``.

    SimPy's ``step`` only reads ``callbacks`` (then sets it to ``None``) and ``_ok``, so a
    slotted object with one shared callback tuple costs less than a ``Timeout``.
    """

    __slots__ = ("_ok", "_value", "callbacks", "fn")

    def __init__(self, fn: Callable[[Any], None], value: Any) -> None:
        self.callbacks = CALL
        self._ok = True
        self.fn = fn
        self._value = value


class Tick:
    """A bare SimPy event scheduled again and again (the next arrival): SimPy clears
    ``callbacks`` when it processes the event, and the engine sets it each time it
    schedules it, so no event object is made per arrival."""

    __slots__ = ("_ok", "callbacks")

    def __init__(self) -> None:
        self._ok = True
        self.callbacks: Any = None


def call_back(event: Wake) -> None:
    event.fn(event._value)


CALL = (call_back,)


class DeliveryState:
    """One message on its way to one endpoint (the engine's private state).

    It is also its own SimPy event, as :class:`Wake` is: a delivery waits for one thing at
    a time (its answer, or its retry coming due), so the engine schedules the delivery
    itself with ``callbacks`` set to the handler, and no event object is made per attempt.
    """

    __slots__ = ("_ok", "accepted", "attempt", "callbacks", "created", "due", "ep", "first",
                 "kind", "msg", "prev", "reply", "start", "state", "watch")

    def __init__(self, msg: int, kind: int, ep: EndpointState, created: float,
                 state: int = DELIVERY.initial) -> None:
        self.msg = msg
        self.kind = kind
        self.ep = ep
        self.created = created
        self.state = state
        self.attempt = 0
        self.first = 0.0
        self.prev: float | None = None
        self.accepted = False
        self.watch: list[Watch] | None = None
        self.callbacks: Any = None
        self._ok = True
        self.reply: Any = None  # the outcome of the attempt in flight, and when it started
        self.start = 0.0
        self.due = 0.0  # when the event it is scheduled as comes due (SimPy's time for it)


class PerSecond:
    """Attempts begun per second of simulated time: the current second's end, its count,
    and the most any second has seen. Attempts begin in time order, so one before the
    current second's end counts in it, and a later one starts the next second."""

    __slots__ = ("count", "ends", "peak")

    def __init__(self) -> None:
        self.ends, self.count, self.peak = -math.inf, 0, 0


class Watch:
    """How long deliveries that were pending when an outage ended take to leave."""

    __slots__ = ("end", "endpoint", "last", "left", "start")

    def __init__(self, endpoint: str, start: float, end: float) -> None:
        self.endpoint, self.start, self.end = endpoint, start, end
        self.left = 0
        self.last = end


class EndpointState:
    """An endpoint at run time: its policy, receiver, streams and counters."""

    def __init__(self, index: int, spec: Any, scenario: Scenario, base: int) -> None:
        self.index = index
        self.id = spec.id
        self.events = tuple(spec.events)
        self.policy = scenario.policy_for(spec)
        self.model = scenario.receiver_for(spec)
        self.timeout = float(spec.timeout)
        self.auto = spec.auto_disable
        self.verdict = self.policy.verdict
        self.next_delay = self.policy.next_delay
        self.answer = self.model.answer
        self.rng = substream(base, f"receiver/{spec.id}")
        self.policy_rng = substream(base, f"policy/{spec.id}")
        # a receiver of independent draws only: its answers drawn without building them
        self.sample = self.model.sampler(self.rng)
        self.processing = self.model.processing
        self.processing_rng = substream(base, f"processing/{spec.id}")
        capacity = self.model.capacity
        # overflow "503" counts requests to refuse past the limit; "slow" shares the limit
        # between the requests in service (sim/sharing.py), so the model is asked for the
        # unshared latency (in_flight stays 0) and the engine stretches it exactly
        self.track_in_flight = capacity is not None and capacity.overflow == "503"
        self.sharing = (Sharing(capacity.limit)
                        if capacity is not None and capacity.overflow == "slow" else None)
        self.disabled_at: float | None = None
        self.disabled_reason: str | None = None
        self.in_flight = self.consecutive = 0
        self.failing_since: float | None = None
        self.deliveries = self.delivered = self.failed = self.attempts = 0
        self.duplicates = self.out_of_order = self.processed = self.processing_failures = 0
        self.newest_delivered = -1
        # attempts begun per second: this endpoint's count, and the run's when the engine
        # adds it (several endpoints)
        self.per_second = PerSecond()
        self.counters: tuple[PerSecond, ...] = (self.per_second,)

    @property
    def peak_per_s(self) -> int:
        """The most attempts begun at this endpoint in one second of simulated time."""
        return self.per_second.peak

    def process(self, answer: Any) -> Any:
        """A new message through the EventProcessor lane (``processing`` is set): counts it,
        and for a synchronous lane returns the answer it makes (slower; a 500 on failure)."""
        lane = self.processing
        rng = self.processing_rng
        took = rng.expovariate(1.0 / lane.time) if lane.time > 0 else 0.0
        ok = lane.failure_rate == 0.0 or rng.random() >= lane.failure_rate
        step = PROCESSING.fire
        state = step(step(step(PROCESSING.initial, DESERIALIZE, True), ROUTE, True), EXECUTE, ok)
        if ok:
            step(state, COMPLETE)
            self.processed += 1
        else:
            self.processing_failures += 1
        if lane.synchronous:
            answer = answer._replace(latency=answer.latency + took)
            if not ok:
                return answer._replace(status=500, error=None, fault="processing")
        return answer
