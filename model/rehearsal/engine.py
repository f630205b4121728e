"""The rehearsal engine: a provider twin's deliveries and retry schedule on a virtual clock.

A :class:`Rehearsal` plays one provider delivering ``plan.events`` events, one every
``plan.interval`` seconds, to one receiver, as the twin says it would: each event is one
:class:`~hooklab.model.providers.Message`; each attempt is that message signed at the
attempt's time (with the attempt's retry headers); the twin's retry policy decides the
next attempt; its disable rule stops delivery, and every event still pending, or arriving
later, is *dropped*. The scripted :class:`~hooklab.model.rehearsal.trouble.Trouble` applies
on the way: in an outage nothing is sent; after a rotation the new key signs; a slow
acknowledgement past the twin's timeout counts as a timeout.

The engine does no I/O and reads no clock: it is a loop the caller drives. Ask
:meth:`Rehearsal.next_step` for the next attempt (its virtual time, its request, or None
when the receiver is down), deliver it however you like (in-process app, HTTP, a plain
function), and give the answer to :meth:`Rehearsal.record`. :meth:`Rehearsal.run` does
that with a function. Virtual time means delays are never slept.

    >>> from hooklab.model.outcomes import classify
    >>> from hooklab.model.providers import get_provider
    >>> twin = get_provider("shopify")
    >>> keys = {"old": "hush", "new": "hush-2"}
    >>> rehearsal = Rehearsal(twin, keys, plan=Plan(events=2),
    ...                       trouble=Trouble(outages=((0.0, 14460.0),)))
    >>> rehearsal.run(lambda step: classify(200))
    >>> rehearsal.fates, rehearsal.disabled_at
    (('exhausted', 'dropped'), 14400.0)
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ConfigError
from ..outcomes import Outcome
from ..providers import EXAMPLE_NOW, EXAMPLE_URL, PROVIDERS, Message, Request, Twin
from ..providers.wire import Headers
from ..retry import RetryPolicy
from .trouble import NO_TROUBLE, Trouble

__all__ = ["FATES", "Plan", "Rehearsal", "RehearsedAttempt", "Step", "check_rehearsable"]

#: How an event's delivery ended, as the provider sees it.
FATES = ("pending", "delivered", "exhausted", "dropped")
#: Statuses that say the receiver could not verify the signature (401 is the rule; many
#: SDKs' documented receivers answer 400 or 403).
_REFUSED = frozenset({400, 401, 403})


@dataclass(frozen=True)
class Plan:
    """What the provider sends: ``events`` events, one every ``interval`` seconds from
    virtual time 0, drawn from ``seed``; virtual time 0 is Unix time ``start``."""

    events: int = 24
    interval: float = 900.0
    seed: int = 0
    start: float = EXAMPLE_NOW

    def __post_init__(self) -> None:
        n = self.events
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
            raise ConfigError(f"events must be a whole number in 1..100000, not {n!r}",
                              field="events")
        if not math.isfinite(self.interval) or self.interval < 0:
            raise ConfigError(f"interval must be a finite number of seconds >= 0, not "
                              f"{self.interval!r}", field="interval")


class Step(NamedTuple):
    """One attempt to make: at virtual time ``at``, attempt ``attempt`` of event ``event``.
    ``request`` is None when the receiver is down (nothing is sent)."""

    at: float
    event: int
    attempt: int
    request: Request | None
    keys: tuple[str, ...]


@dataclass(frozen=True)
class RehearsedAttempt:
    """What one attempt did: when, for which event, what came back as the provider saw it
    (``outcome``) and as the receiver answered (``answer``, None when nothing was sent)."""

    event: int
    message_id: str
    attempt: int
    at: float
    outcome: str
    answer: str | None
    keys: tuple[str, ...]


@dataclass
class _Delivery:
    message: Message
    first_at: float
    fate: str = "pending"
    previous: Outcome | None = None
    previous_delay: float | None = None


def check_rehearsable(twin: Twin) -> Twin:
    """``twin`` if a rehearsal can play it (a fully covered twin), else a ConfigError.

    >>> from hooklab.model.providers import get_provider
    >>> check_rehearsable(get_provider("paddle"))
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ConfigError: provider 'paddle' is a scheme-only twin: a rehearsal \
needs a fully covered one (standard, stripe, github, shopify, slack, twilio, sendgrid, discord)
    """
    if twin.coverage != "full":
        full = ", ".join(n for n, t in PROVIDERS.items() if t.coverage == "full")
        raise ConfigError(f"provider {twin.name!r} is a {twin.coverage} twin: a rehearsal "
                          f"needs a fully covered one ({full})", field="provider")
    return twin


class Rehearsal:
    """One twin delivering to one receiver on a virtual clock; see the module docstring.

    ``keys`` maps ``"old"`` (and ``"new"``, needed for a rotation) to the key the provider
    signs with. ``sign_time`` turns a virtual time into the Unix time signatures carry
    (default: ``plan.start`` plus the virtual time; give the wall clock when the receiver
    checks timestamps against its own clock).
    """

    def __init__(
        self,
        twin: Twin,
        keys: Mapping[str, str],
        *,
        plan: Plan | None = None,
        trouble: Trouble = NO_TROUBLE,
        url: str = EXAMPLE_URL,
        sign_time: Callable[[float], float] | None = None,
    ) -> None:
        check_rehearsable(twin)
        if "old" not in keys or (trouble.rotate_at is not None and "new" not in keys):
            raise ConfigError("keys needs the key before a rotation ('old') and, to rotate, "
                              "the key after it ('new')", field="secret")
        self.twin = twin
        #: The twin's retry policy; one attempt per event when the twin states none.
        self.policy = twin.policy or RetryPolicy(f"{twin.name} (no retries stated)",
                                                 max_attempts=1)
        self.keys = dict(keys)
        self.plan = plan or Plan()
        self.trouble = trouble
        self.url = url
        self._sign_time = sign_time or (lambda t: self.plan.start + t)
        rng = random.Random(self.plan.seed)
        self._rng = random.Random(f"{self.plan.seed}:retries")
        self.deliveries = [
            _Delivery(twin.message(rng, self.plan.start + i * self.plan.interval),
                      i * self.plan.interval)
            for i in range(self.plan.events)]
        self._queue: list[tuple[float, int, int, int]] = [
            (d.first_at, i, i, 1) for i, d in enumerate(self.deliveries)]
        heapq.heapify(self._queue)
        self._seq = len(self._queue)
        self._waiting: Step | None = None
        self.attempts: list[RehearsedAttempt] = []
        self.disabled_at: float | None = None
        self.disable_reason: str | None = None
        self._exhausted_in_a_row = 0
        self._failing_since: float | None = None
        rule = twin.disable
        self._disable = rule.auto_disable() if rule is not None else None
        #: Whether the twin's disable rule is played (None: the twin has none).
        self.disable_modelled: bool | None = None if rule is None else self._disable is not None
        timeout = twin.timeout
        self.timeout: float | None = None if timeout is None else timeout.total

    # ------------------------------------------------------------------ the loop

    def next_step(self) -> Step | None:
        """The next attempt to make, or None when every event's delivery has ended."""
        if self._waiting is not None:
            raise ConfigError("record the answer to the last step before asking the next")
        while self._queue:
            at, _, index, attempt = heapq.heappop(self._queue)
            delivery = self.deliveries[index]
            if self.disabled_at is not None:
                delivery.fate = "dropped"
                continue
            keys = self.trouble.keys_at(at)
            request = None
            if not self.trouble.down(at):
                request = self.twin.request(
                    delivery.message, secrets=[self.keys[k] for k in keys],
                    now=self._sign_time(at), url=self.url, attempt=attempt,
                    previous=delivery.previous)
            self._waiting = Step(at, index, attempt, request, keys)
            return self._waiting
        return None

    def record(self, step: Step, answer: Outcome | None,
               headers: Mapping[str, str] | Headers = ()) -> None:
        """What the receiver answered to ``step`` (None: nothing was sent, it was down),
        with the answer's ``headers`` (a failure asking for no retry, Slack's
        ``X-Slack-No-Retry: 1``, gets none where the twin honours it)."""
        if step != self._waiting:
            raise ConfigError("record answers the step next_step gave, once")
        self._waiting = None
        outcome = self._as_provider_sees(answer)
        delivery = self.deliveries[step.event]
        self.attempts.append(RehearsedAttempt(
            step.event, delivery.message.id, step.attempt, step.at, outcome.label,
            None if answer is None else answer.label, step.keys))
        if outcome.error is None and 200 <= outcome.status_code < 300:
            delivery.fate = "delivered"
            self._exhausted_in_a_row, self._failing_since = 0, None
            return
        if self._failing_since is None:
            self._failing_since = step.at
        opted_out = (answer is not None and outcome is answer and self.twin.retry_headers
                     is not None and self.twin.retry_headers.opts_out(headers))
        delay = None if opted_out else self.policy.next_delay(
            step.attempt, outcome, elapsed=step.at - delivery.first_at,
            previous_delay=delivery.previous_delay, rng=self._rng)
        delivery.previous, delivery.previous_delay = outcome, delay
        if delay is None:
            delivery.fate = "exhausted"
            self._exhausted_in_a_row += 1
        else:
            heapq.heappush(self._queue, (step.at + delay, self._seq, step.event,
                                         step.attempt + 1))
            self._seq += 1
        self._maybe_disable(step.at, outcome)

    def run(self, send: Callable[[Step], Outcome]) -> None:
        """Drive the loop to its end, answering each sent step with ``send(step)``."""
        while (step := self.next_step()) is not None:
            self.record(step, None if step.request is None else send(step))

    # ------------------------------------------------------------------ what happened

    @property
    def fates(self) -> tuple[str, ...]:
        """Each event's fate (one of :data:`FATES`), in event order."""
        return tuple(d.fate for d in self.deliveries)

    @property
    def message_ids(self) -> tuple[str, ...]:
        """Each event's message id, in event order."""
        return tuple(d.message.id for d in self.deliveries)

    def unverifiable(self) -> tuple[int, ...]:
        """Events refused with 400, 401 or 403 at or after the rotation (none without one)."""
        at = self.trouble.rotate_at
        if at is None:
            return ()
        return tuple(sorted({a.event for a in self.attempts if a.at >= at and a.answer
                             is not None and a.answer.isdigit() and int(a.answer) in _REFUSED}))

    # ------------------------------------------------------------------ helpers

    def _as_provider_sees(self, answer: Outcome | None) -> Outcome:
        if answer is None:
            return Outcome.transport("connection_refused")
        slow = self.trouble.slow
        if slow is not None and self.timeout is not None and slow > self.timeout:
            return Outcome.transport("timeout")
        return answer

    def _maybe_disable(self, at: float, outcome: Outcome) -> None:
        rule = self._disable
        if rule is None or self.disabled_at is not None:
            return
        if rule["gone"] and outcome.error is None and outcome.status_code == 410:
            reason = "410 Gone"
        elif rule["consecutive"] and self._exhausted_in_a_row >= rule["consecutive"]:
            reason = f"{self._exhausted_in_a_row} exhausted message(s) in a row"
        elif rule["window"] and self._failing_since is not None and (
                at - self._failing_since >= rule["window"]):
            reason = "failing with no success for the disable window"
        else:
            return
        self.disabled_at, self.disable_reason = at, reason
