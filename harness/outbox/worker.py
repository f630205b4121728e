"""The outbox worker: deliver queued messages over HTTP, by the policy, crash-safe.

A :class:`Worker` runs one asyncio loop around a durable
:class:`~hooklab.harness.outbox.Outbox`. It claims due deliveries with a lease, posts each
one (signed by :class:`~hooklab.harness.sender.Sender`, sent through an
:class:`~hooklab.harness.transport.HttpChannel` whose connections go through the
:mod:`~hooklab.harness.transport.ssrf` guard), and records the answers. Deliveries run concurrently
across endpoints, up to ``concurrency`` requests at a time; one message to one endpoint is
attempted by one worker at a time (its lease), and several workers may share a database.

Speed with durability: every database step is one transaction, and one step does a whole
batch (it records the results that came back since the last step, then claims as many due
deliveries as there are free slots). A result is durable when its step commits; until then
its lease holds. A step runs on the event loop itself (about a millisecond for a batch:
handing it to a thread costs more, as the two threads then fight for the GIL at every
SQLite call), but never waits there for a lock: when another process holds the database's
write lock, the step waits for it on a dedicated thread instead.

Database faults: when a step fails (another process holds the lock past the busy timeout,
the disk is full), the worker keeps the step's results in memory and tries again after a
capped backoff, saying so on the console (:mod:`~hooklab.harness.outbox.outage`); it never
gives up on its own, and drops no result it could still record.

Leases: a claim is posted only if its answer can come before its lease ends, checked
again right before the request is written (:mod:`~hooklab.harness.outbox.leases`).

Stopping: :meth:`Worker.stop` (SIGINT or SIGTERM from ``hooklab worker``) stops claiming,
lets the attempts in flight finish for up to ``grace`` seconds, records them and returns.
A second stop, or the end of the grace, cancels what is left: those attempts are recorded
as timeouts, retried by the policy. A SIGKILL leaves leases that expire and are retried
by the next worker (see :mod:`~hooklab.harness.outbox.outbox`).

Example::

    >>> config = WorkerConfig(concurrency=20, until_idle=True)
    >>> config.lease_for(15.0)
    45.0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hooklab.model.auto_disable import RECOMMENDED
from hooklab.model.endpoints import Endpoint
from hooklab.model.errors import ConfigError, InvalidURL, StoreError
from hooklab.model.outcomes import Outcome
from hooklab.model.retry import RetryPolicy

from ..clock import Clock, WallClock
from ..sender import Sender
from ..transport import MAX_RESPONSE_BYTES, Channel, HttpChannel
from ..transport.ssrf import SsrfBlocked, SsrfGuard, guarded_transport
from .health import AutoDisable
from .leases import LEASE_RAN_OUT, LeaseCheck, LeaseRanOut, posting, time_left
from .outage import Outage
from .outbox import Outbox
from .step import Claim, Result

__all__ = ["Worker", "WorkerConfig", "WorkerStats", "run_worker"]

_log = logging.getLogger("hooklab.worker")


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker runs. ``policy`` overrides every endpoint's retry policy (tests use
    a fast one). A lease lasts ``lease`` seconds, and always 1 s longer than the
    endpoint's request timeout; ``lease=None`` means the timeout plus 30 s. ``endpoints``
    limits the worker to deliveries to those endpoints (isolate a slow one).
    ``synchronous`` is the SQLite setting of the worker's commits (see
    :meth:`~hooklab.harness.outbox.Outbox.durability`): ``NORMAL`` survives a crash of the
    process, and a power cut can only make it redo attempts."""

    concurrency: int = 10
    until_idle: bool = False
    max_wait: float | None = None
    lease: float | None = None
    batch: int = 200
    flush_interval: float = 0.01
    poll_interval: float = 0.5
    grace: float = 30.0
    policy: RetryPolicy | None = None
    endpoints: tuple[str, ...] | None = None
    synchronous: str = "NORMAL"
    auto_disable: AutoDisable = RECOMMENDED  # 410, 100 failed in a row, or 5 days
    connect_timeout: float = 5.0
    max_response_bytes: int = MAX_RESPONSE_BYTES
    guard: SsrfGuard = field(default_factory=SsrfGuard)
    #: Told of every attempt's result as it comes back (the CLI's console).
    on_result: Callable[[Result], None] | None = None
    #: Told, while nothing is in flight, when the next delivery is due (or None) and how
    #: many are unfinished: ``on_idle(due, unfinished, now)``.
    on_idle: Callable[[float | None, int, float], None] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int) or (
            self.concurrency < 1
        ):
            raise ConfigError(f"concurrency must be at least 1, not {self.concurrency!r}",
                              field="concurrency")
        for name in ("lease", "max_wait", "connect_timeout"):
            value = getattr(self, name)
            if name == "max_wait" and value == 0:  # until idle, waiting for no retry
                continue
            if value is not None and not (0 < value < float("inf")):
                raise ConfigError(f"{name} must be a positive number of seconds, not "
                                  f"{value!r}", field=name)
        if self.batch < 1 or self.max_response_bytes < 0 or self.grace < 0:
            raise ConfigError("batch must be >= 1, max_response_bytes and grace >= 0")

    def lease_for(self, timeout: float) -> float:
        """The lease of a claim on an endpoint whose request timeout is ``timeout``."""
        if self.lease is None:
            return timeout + 30.0
        return max(self.lease, timeout + 1.0)


@dataclass
class WorkerStats:
    """What one run of a worker did."""

    attempts: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    cycles: int = 0
    started: float = field(default_factory=time.monotonic)
    stopped_by: str | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def summary(self) -> str:
        """One line for the terminal."""
        rate = self.attempts / self.elapsed if self.elapsed > 0 else 0.0
        end = f", stopped by {self.stopped_by}" if self.stopped_by else ""
        return (f"{self.attempts} attempts ({self.delivered} delivered, "
                f"{self.failed_attempts} failed attempts) in {self.elapsed:.1f} s, "
                f"{rate:.0f} attempts/s{end}")


class Worker:
    """Delivers an outbox's messages; see the module docstring.

    ``outbox`` is an :class:`~hooklab.harness.outbox.Outbox` (or a database path);
    ``channel`` defaults to real HTTP through the SSRF guard of ``config``.
    """

    def __init__(self, outbox: Outbox | str | os.PathLike[str],
                 config: WorkerConfig | None = None, *, channel: Channel | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 owner: str | None = None) -> None:
        self.config = config or WorkerConfig()
        self.outbox = outbox if isinstance(outbox, Outbox) else Outbox(outbox)
        self._owns_outbox = not isinstance(outbox, Outbox)
        try:
            self.outbox.durability(self.config.synchronous)
        except BaseException:
            if self._owns_outbox:
                self.outbox.close()
            raise
        self.clock = clock or WallClock()
        self.rng = rng or random.Random()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = WorkerStats()
        self._channel = channel
        self._stopping = 0
        self._leased_at = 0.0
        self._wake: asyncio.Event | None = None
        self._db = ThreadPoolExecutor(1, thread_name_prefix="hooklab-outbox")

    def stop(self, why: str = "stop") -> None:
        """Stop claiming and finish the attempts in flight; a second call cancels them."""
        self._stopping += 1
        self.stats.stopped_by = self.stats.stopped_by or why
        if self._wake is not None:
            self._wake.set()

    def install_signal_handlers(self) -> None:
        """Make SIGINT and SIGTERM call :meth:`stop` (call inside the running loop)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop, signal.Signals(signum).name)

    def _policy(self, endpoint: Endpoint) -> RetryPolicy:
        return self.config.policy or endpoint.retry_policy()

    def _lease(self, endpoint: Endpoint) -> float:
        return self.config.lease_for(endpoint.timeout)

    def _build_channel(self) -> Channel:
        import httpx

        cfg = self.config
        client = httpx.AsyncClient(
            transport=guarded_transport(cfg.guard, max_connections=cfg.concurrency),
            follow_redirects=False, trust_env=False,
            event_hooks={"request": [LeaseCheck(self.clock)]})
        return HttpChannel(client, max_body=cfg.max_response_bytes,
                           connect_timeout=cfg.connect_timeout, clock=self.clock)

    async def _step(self, results: list[Result], claim: int) -> list[Claim]:
        cfg = self.config
        now = self.clock.now()
        self.stats.cycles += 1

        def cycle(wait: bool) -> list[Claim] | None:
            return self.outbox.cycle(self.owner, results, claim=claim, now=now,
                                     lease=self._lease, policy_for=self._policy, rng=self.rng,
                                     auto=cfg.auto_disable, only=cfg.endpoints, wait=wait)

        self._leased_at = now  # the leases of these claims run from here
        claims = cycle(False)
        if claims is None:  # another process holds the write lock: wait off the loop
            claims = await asyncio.get_running_loop().run_in_executor(self._db, cycle, True)
        assert claims is not None
        return claims

    async def _next_due(self) -> tuple[float | None, int]:
        return await asyncio.get_running_loop().run_in_executor(
            self._db, self.outbox.work_left, self.config.endpoints)

    async def run(self) -> WorkerStats:
        """Deliver until stopped (or, with ``until_idle``, until no work is left)."""
        cfg = self.config
        channel = self._channel or self._build_channel()
        line = _Pipeline(self, Sender(channel, clock=self.clock, rng=self.rng))
        self._wake = wake = line.wake
        grace_end: float | None = None
        idle_checks = 0
        outage = Outage(say=_log.warning)
        try:
            while True:
                wake.clear()  # before looking: a wake from now on is not missed
                stopping = self._stopping > 0
                if stopping and grace_end is None:
                    grace_end = time.monotonic() + cfg.grace
                if line.busy and (self._stopping > 1 or (
                        grace_end is not None and time.monotonic() >= grace_end)):
                    await line.cancel()
                want = 0 if stopping else line.room()
                if not outage.ready(time.monotonic()):
                    if stopping and grace_end is not None and time.monotonic() >= grace_end:
                        _log.warning("outbox worker stopping with %d results unrecorded: "
                                     "their deliveries are attempted again (at least once)",
                                     len(line.results))
                        line.results.clear()
                        break
                    await self._wait(wake, outage.wait(time.monotonic()))
                    continue
                if line.flush_due(stopping) or want >= line.threshold:
                    batch = line.take()
                    try:
                        claims = await self._step(batch, min(want, cfg.batch))
                    except StoreError as exc:  # locked too long, disk full: ride it out,
                        line.keep(batch)       # the results kept for the next step
                        outage.failed(exc, held=len(line.results), now=time.monotonic())
                        continue
                    outage.recovered(recorded=len(batch), now=time.monotonic())
                    line.drop(self.outbox.db.disabled(line.endpoints_waiting()))
                    line.start(claims, leased_at=self._leased_at)
                    if claims or batch:
                        idle_checks = 0
                        continue
                if stopping and not line.busy and not line.results:
                    break
                timeout = line.flush_wait() if line.results else cfg.poll_interval
                if not line.busy and not line.results:
                    try:
                        due, open_ = await self._next_due()
                    except StoreError as exc:
                        outage.failed(exc, held=0, now=time.monotonic())
                        continue
                    now = self.clock.now()
                    if cfg.on_idle is not None:
                        cfg.on_idle(due, open_, now)
                    if cfg.until_idle and (open_ == 0 or (
                            cfg.max_wait is not None and due is not None
                            and due - now > cfg.max_wait)):
                        idle_checks += 1
                        if idle_checks >= 2:  # twice: a send may have landed in between
                            break
                        timeout = 0.0
                    elif due is not None:
                        timeout = min(timeout, max(0.0, due - now))
                await self._wait(wake, timeout)
        finally:
            await line.cancel()
            if line.results:
                with contextlib.suppress(Exception):
                    await self._step(line.take(), 0)
            if self._channel is None:
                await channel.aclose()
        return self.stats

    async def _wait(self, wake: asyncio.Event, timeout: float) -> None:
        # Wait on the worker's clock (a FakeClock makes backoffs instant in tests), or
        # until a result, a stop or a new slot wakes the loop.
        woken = asyncio.ensure_future(wake.wait())
        slept = asyncio.ensure_future(self.clock.sleep(timeout))
        await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
        for task in (woken, slept):
            task.cancel()
        await asyncio.gather(woken, slept, return_exceptions=True)

    async def _attempt(self, sender: Sender, claim: Claim) -> Result:
        start = self.clock.now()
        try:
            endpoint, message = claim.endpoint, claim.message
            headers = sender.sign(endpoint, message, now=start)
            answer = await sender.channel.post(endpoint.url, headers, message.body,
                                               timeout=endpoint.timeout)
            return Result(claim, answer.outcome, answer.body, start, self.clock.now())
        except asyncio.CancelledError:
            body = b"the worker stopped before the answer came"
            return Result(claim, Outcome.transport("timeout"), body, start, self.clock.now())
        except LeaseRanOut:
            return Result(claim, Outcome.transport("timeout"), LEASE_RAN_OUT, start,
                          self.clock.now())
        except SsrfBlocked as exc:  # the guard's refusal, named as such
            return Result(claim, Outcome.transport("blocked"), str(exc).encode(), start,
                          self.clock.now())
        except InvalidURL as exc:
            body = str(exc).encode()
        except Exception as exc:  # a bug or an odd failure must not lose the claim
            body = f"{type(exc).__name__}: {exc}".encode()
        return Result(claim, Outcome.transport("connection_refused"), body, start,
                      self.clock.now())

    def close(self) -> None:
        """Release the database thread (and the outbox, if this worker opened it)."""
        self._db.shutdown(wait=True)
        if self._owns_outbox:
            self.outbox.close()


_DISABLED = b"not sent: the endpoint was disabled after this attempt was claimed"


class _Pipeline:
    """One run's moving parts: claims waiting to be posted, attempts in flight, results
    waiting to be recorded. Claims are fetched ahead (up to three times ``concurrency``),
    so a lane that finishes an attempt starts the next one at once, while the database
    step runs."""

    def __init__(self, worker: Worker, sender: Sender) -> None:
        self.worker = worker
        self.sender = sender
        self.concurrency = worker.config.concurrency
        self.batch = worker.config.batch
        self.flush_interval = worker.config.flush_interval
        self.threshold = max(1, min(self.batch, self.concurrency))
        self.waiting: deque[tuple[Claim, float]] = deque()  # (claim, when its lease ends)
        self.lanes: set[asyncio.Task[None]] = set()
        self.posting = 0
        self.results: list[Result] = []
        self.first_result = 0.0
        self.wake = asyncio.Event()

    @property
    def busy(self) -> bool:
        """Whether some claim is not yet answered."""
        return bool(self.posting or self.waiting)

    def room(self) -> int:
        """How many more claims to fetch."""
        return 3 * self.concurrency - self.posting - len(self.waiting)

    def flush_due(self, stopping: bool) -> bool:
        """Whether the results should be recorded now."""
        return bool(self.results) and (
            stopping or len(self.results) >= self.batch
            or time.monotonic() - self.first_result >= self.flush_interval)

    def flush_wait(self) -> float:
        """Seconds until the results are due to be recorded."""
        return max(0.0, self.first_result + self.flush_interval - time.monotonic())

    def take(self) -> list[Result]:
        """The results to record now (and forget them here)."""
        taken, self.results = self.results, []
        return taken

    def keep(self, batch: list[Result]) -> None:
        """Put back results a step could not record (first in line for the next one)."""
        if batch:
            if not self.results:
                self.first_result = time.monotonic()
            self.results[:0] = batch

    def start(self, claims: list[Claim], *, leased_at: float) -> None:
        """Queue new claims, leased at ``leased_at``; lanes (up to ``concurrency``) post
        them one after another."""
        self.waiting.extend((c, leased_at + self.worker._lease(c.endpoint)) for c in claims)
        while len(self.lanes) < min(self.concurrency, len(self.waiting) + self.posting):
            lane = asyncio.create_task(self._lane())
            self.lanes.add(lane)
            lane.add_done_callback(self.lanes.discard)

    async def _lane(self) -> None:
        while self.waiting:
            claim, lease_end = self.waiting.popleft()
            now = self.worker.clock.now()
            if not time_left(lease_end, claim.endpoint.timeout, now):
                # Its answer could come after the lease ends, when another worker may
                # already have taken the delivery over: never post it, so one delivery is
                # attempted by one worker at a time. Recorded as a timeout, retried later.
                self._done(Result(claim, Outcome.transport("timeout"), LEASE_RAN_OUT, now, now))
                continue
            self.posting += 1
            posting(lease_end, claim.endpoint.timeout)
            try:
                result = await self.worker._attempt(self.sender, claim)
            finally:
                self.posting -= 1
            self._done(result)
            if len(self.results) == 1 or len(self.results) >= self.batch or (
                    self.room() >= self.threshold):
                self.wake.set()

    def _done(self, result: Result, attempted: bool = True) -> None:
        if not self.results:
            self.first_result = time.monotonic()
        self.results.append(result)
        if not attempted:
            return
        stats = self.worker.stats
        stats.attempts += 1
        if result.outcome.kind == "success":
            stats.delivered += 1
        else:
            stats.failed_attempts += 1
        if self.worker.config.on_result is not None:
            self.worker.config.on_result(result)

    def endpoints_waiting(self) -> set[str]:
        """The endpoints of the claims not yet posted."""
        return {claim.endpoint.id for claim, _ in self.waiting}

    def drop(self, endpoints: set[str]) -> None:
        """Never post the waiting claims to ``endpoints`` (disabled since they were
        claimed): each becomes a dropped result."""
        if not endpoints:
            return
        now, kept = self.worker.clock.now(), deque[tuple[Claim, float]]()
        for claim, lease_end in self.waiting:
            if claim.endpoint.id in endpoints:
                self._done(Result(claim, Outcome.transport("timeout"), _DISABLED, now, now,
                                  dropped=True), attempted=False)
            else:
                kept.append((claim, lease_end))
        self.waiting = kept

    async def cancel(self) -> None:
        """Stop every attempt now: each in flight, or claimed and not yet posted, is
        recorded as a timeout (its answer never came), and retried by the policy."""
        now = self.worker.clock.now()
        while self.waiting:
            claim, _ = self.waiting.popleft()
            self._done(Result(claim, Outcome.transport("timeout"),
                              b"not sent: the worker stopped first", now, now))
        for lane in list(self.lanes):
            lane.cancel()
        await asyncio.gather(*self.lanes, return_exceptions=True)


def run_worker(outbox: Outbox | str | os.PathLike[str], config: WorkerConfig | None = None,
               *, signals: bool = True, **kwargs: Any) -> WorkerStats:
    """Run a :class:`Worker` on a new event loop until it stops; returns its stats.

        >>> # run_worker("hooklab.db", WorkerConfig(until_idle=True))
    """
    async def main() -> WorkerStats:
        worker = Worker(outbox, config, **kwargs)
        try:
            if signals:
                worker.install_signal_handlers()
            return await worker.run()
        finally:
            worker.close()

    return asyncio.run(main())
