"""Run a rehearsal against a real receiver: an in-process ASGI/WSGI app, or a URL.

:func:`rehearse` drives a :class:`~hooklab.model.rehearsal.Rehearsal` through a
:class:`~hooklab.harness.transport.Channel` (the one seam): each step is posted, its
answer recorded, and nothing is slept: the schedule runs on virtual time. With ``speed``
the gaps between attempts are slept, compressed by that factor (``speed=3600`` plays an
hour a second), for a receiver whose behaviour depends on real time passing.

Signatures carry one of two times. When the receiver reads a :class:`FakeClock` the
rehearsal also moves (``clock=``), they carry the virtual time, so hours of retries pass
in a moment and the receiver's timestamp tolerance sees them as the provider would. A
receiver on the wall clock (any app of yours, any URL) gets signatures made at the
moment of sending, so its tolerance never refuses them; the schedule is still virtual.

:func:`run_rehearsal` is the whole job from a target: an app object, ``"module:attr"``
or an ``http(s)://`` URL. A :class:`~hooklab.harness.receiver.ReferenceReceiver` target is
observed through its own counts; anything else needs an observer to count processing.

    >>> from hooklab.harness.clock import FakeClock
    >>> from hooklab.harness.receiver import create_receiver
    >>> from hooklab.model.rehearsal import Plan, Trouble
    >>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    >>> clock = FakeClock()
    >>> receiver = create_receiver([secret], clock=clock)
    >>> report = run_rehearsal(receiver, "standard", secret=secret, clock=clock,
    ...                        plan=Plan(events=3), trouble=Trouble(slow=20))
    >>> report.delivered, report.processed_once, report.duplicates
    (0, 3, 0)
"""

from __future__ import annotations

import asyncio
import importlib
import random
from typing import Any

from hooklab.model.errors import ConfigError
from hooklab.model.providers import Twin, get_provider, signing_secret
from hooklab.model.rehearsal import NO_TROUBLE, Plan, Rehearsal, RehearsalReport, Trouble
from hooklab.model.signing import get_scheme

from ..clock import FakeClock, WallClock
from ..receiver import ReferenceReceiver
from ..transport import AppChannel, Channel, HttpChannel
from .observe import Observer, receiver_observer

__all__ = ["DEFAULT_TIMEOUT", "IN_PROCESS_URL", "load_target", "rehearse", "run_rehearsal"]

#: How long an attempt may take when the twin states no timeout.
DEFAULT_TIMEOUT = 30.0
#: Where in-process requests are addressed (the app sees this host and the path).
IN_PROCESS_URL = "http://receiver.test"


def load_target(target: str) -> Any:
    """The object ``"module:attr"`` names (``attr`` may be dotted); a URL is returned as is.

    >>> load_target("hooklab.harness.receiver:ReferenceReceiver").__name__
    'ReferenceReceiver'
    >>> load_target("http://127.0.0.1:8000/")
    'http://127.0.0.1:8000/'
    """
    if target.startswith(("http://", "https://")):
        return target
    module_name, colon, attr = target.partition(":")
    if not colon or not module_name or not attr:
        raise ConfigError(f"target {target!r}: give module:attr (an ASGI or WSGI app) or an "
                          "http(s):// URL", field="target")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"target {target!r}: cannot import {module_name!r} ({exc})",
                          field="target") from None
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"target {target!r}: {module_name} has no {attr!r}",
                              field="target") from None
    if not callable(found):
        raise ConfigError(f"target {target!r} is not an ASGI or WSGI app", field="target")
    return found


async def rehearse(
    rehearsal: Rehearsal,
    channel: Channel,
    *,
    observer: Observer | None = None,
    clock: FakeClock | None = None,
    speed: float | None = None,
) -> RehearsalReport:
    """Play ``rehearsal`` through ``channel``; see the module docstring. ``clock`` is
    moved to each attempt's virtual time (``rehearsal.plan.start`` plus it)."""
    if speed is not None and not speed > 0:
        raise ConfigError(f"speed must be a factor > 0, not {speed!r}", field="speed")
    timeout = rehearsal.timeout or DEFAULT_TIMEOUT
    last = 0.0
    sent = connected = 0
    reason = ""
    while (step := rehearsal.next_step()) is not None:
        if clock is not None:
            clock.advance(max(0.0, rehearsal.plan.start + step.at - clock.now()))
        if speed is not None and step.at > last:
            await asyncio.sleep((step.at - last) / speed)
        last = max(last, step.at)
        if step.request is None:
            rehearsal.record(step, None)
            continue
        request = step.request
        response = await channel.post(request.url, request.headers, request.body,
                                      timeout=timeout)
        sent += 1
        connected += response.connected
        reason = reason or response.detail
        rehearsal.record(step, response.outcome, response.headers)
    if sent and not connected:
        raise ConfigError(f"target {rehearsal.url}: no attempt could connect ({reason})",
                          field="target")
    counts = None if observer is None else await observer.processed(rehearsal.message_ids)
    return RehearsalReport.of(rehearsal, counts)


def run_rehearsal(
    target: Any,
    provider: str | Twin,
    *,
    secret: str | None = None,
    new_secret: str | None = None,
    trouble: Trouble = NO_TROUBLE,
    plan: Plan | None = None,
    observer: Observer | None = None,
    clock: FakeClock | None = None,
    speed: float | None = None,
    path: str = "/",
) -> RehearsalReport:
    """Rehearse ``provider`` delivering to ``target`` (an app, ``"module:attr"`` or a URL).

    ``secret`` is the key the provider signs with before a rotation (for a reference
    receiver with a shared secret it defaults to the receiver's first); ``new_secret`` the
    key after it (default: one drawn from the plan's seed, which no receiver knows).
    ``path`` is where in-process requests go.
    """
    twin = provider if isinstance(provider, Twin) else get_provider(provider)
    plan = plan or Plan()
    app = load_target(target) if isinstance(target, str) else target
    if isinstance(app, ReferenceReceiver):
        if app.scheme.name != twin.scheme:
            raise ConfigError(f"the receiver verifies {app.scheme.name!r} signatures; the "
                              f"{twin.name} twin signs {twin.scheme!r}", field="provider")
        if observer is None:
            observer = receiver_observer(app)
        if secret is None and _shared_secret(twin):
            secret = app.secrets[0]
    if secret is None:
        raise ConfigError("secret: give the key the provider signs with", field="secret")
    keys = {"old": secret, "new": new_secret or _drawn_key(twin, plan.seed)}
    url = app if isinstance(app, str) else IN_PROCESS_URL + (path if path.startswith("/")
                                                               else "/" + path)
    wall = WallClock()
    rehearsal = Rehearsal(twin, keys, plan=plan, trouble=trouble, url=url,
                          sign_time=None if clock is not None else lambda _t: wall.now())
    return asyncio.run(_run(rehearsal, app, observer, clock, speed))


async def _run(rehearsal: Rehearsal, app: Any, observer: Observer | None,
               clock: FakeClock | None, speed: float | None) -> RehearsalReport:
    channel: Channel
    if isinstance(app, str):
        channel = HttpChannel()
    else:
        in_process = AppChannel(app)
        await in_process.start()
        channel = in_process
    try:
        return await rehearse(rehearsal, channel, observer=observer, clock=clock,
                              speed=speed)
    finally:
        await channel.aclose()


def _shared_secret(twin: Twin) -> bool:
    return "secret" in get_scheme(twin.scheme or "").generate_keys(random.Random(0))


def _drawn_key(twin: Twin, seed: int) -> str:
    keys = get_scheme(twin.scheme or "").generate_keys(random.Random(f"{seed}:new key"))
    return signing_secret(keys)
