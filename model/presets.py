"""Named retry policies: the source diagram's and those of real webhook senders.

Each preset matches ``docs/reference.md``: the "Retry schedules" table for the senders,
the "Delivery behaviour of other providers" table for the providers (delays are seconds
between consecutive attempts; the first attempt is at t = 0):

=====================  ====================================================  ========  ==========
preset                 delays                                                attempts  last at
=====================  ====================================================  ========  ==========
``diagram`` (default)  60, 120, 240, 480, 960 (hooklab's choice, see below)         6   0:31:00
``standard-webhooks``  5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400       10   75:35:05
``svix``               5, 300, 1800, 7200, 18000, 36000, 36000                      8   27:35:05
``hook0``              3, 10, 180, 1800, 3600, 10800, 18000, 36000 × 17            25   179:33:13
``convoy``             min(10 · 2^n, 7200), n = 0, 1, ...                          20   20:50:30
``convoy-linear``      100 × 9                                                     10   0:15:00
``outpost``            30 · 2^(n−1): 30 … 15360                                    11   8:31:30
``stripe``             60 · 2^n: 60 … 122880 (approximate, see below)              13   68:15:00
``github``             none: no automatic retries                                   1   0:00:00
``shopify``            56, 113, 226, 452, 904, 1807, 3614, 7228 (approximate)       9   4:00:00
``slack``              1 (approximate), 60, 300                                     4   0:06:01
``azure-event-grid``   10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200  30 (11)  22:46:40
``sns``                20, 20, 20                                                   4   0:01:00
``paypal``             10368 × 25 (approximate)                                    26   72:00:00
=====================  ====================================================  ========  ==========

The presets a provider twin holds (:mod:`hooklab.model.providers`) are defined in the twin
and taken from it here, so no number is written twice: ``svix`` is the ``standard`` twin's;
``stripe``, ``github``, ``shopify``, ``slack``, ``azure-event-grid``, ``sns`` and
``paypal`` are the twins of those names. Notes on the choices the
facts leave open:

- ``diagram``: the diagram says "retry up to 5 times" (6 attempts) and "wait with backoff"
  but gives no delays. hooklab chooses exponential backoff from 60 s, doubling, no jitter.
- ``standard-webhooks``: the spec recommends jitter without saying which; the preset has
  none, so its schedule is exactly the spec's example.
- ``stripe``: Stripe publishes no per-attempt list, only "up to three days with an
  exponential back off". The preset is an APPROXIMATION: doubling from one minute inside
  a 3-day window, so the last attempt falls at 68:15:00 and the next (136:30:00) would be
  past the window.
- ``convoy``: ``n`` counts retries from 0, so the first retry waits 10 s; 20 attempts as
  in Convoy's examples (it is configurable there).
- ``shopify``: "8 retries over 4 hours, exponential", intervals unpublished. The preset is
  an APPROXIMATION: doubling waits scaled so the eighth retry falls at 4:00:00.
- ``slack``: "nearly at once, after 1 minute, after 5 minutes"; "nearly at once" is
  APPROXIMATED as 1 s, and each wait counts from the previous attempt.
- ``azure-event-grid``: the published list, then every 12 h, within a 24 h time to live
  and 30 attempts: the time to live ends it after 11 attempts. 400, 401, 403 and 413 are
  never retried (``no_retry_codes``).
- ``paypal``: "25 retries over 3 days", intervals unpublished. The preset is an
  APPROXIMATION: evenly spread, 2:52:48 apart.

Example::

    >>> get_policy("svix").attempt_times()[-1]
    99305.0
    >>> format_hms(99305)
    '27:35:05'
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from types import MappingProxyType

from .backoff import (
    AdditiveJitter,
    DecorrelatedJitter,
    ExponentialSchedule,
    FixedSchedule,
    Jitter,
    LinearSchedule,
    NoJitter,
    ProportionalJitter,
)
from .errors import ConfigError, UnknownPolicy
from .outcomes import classify
from .providers import PROVIDERS
from .retry import RetryAfterMode, RetryPolicy

__all__ = [
    "DEFAULT_POLICY",
    "PRESETS",
    "describe_jitter",
    "format_hms",
    "get_policy",
    "jittered_run",
]

#: The preset a policy defaults to: the source diagram's.
DEFAULT_POLICY = "diagram"

_HOUR = 3600.0
_DAY = 24 * _HOUR


def _presets() -> dict[str, RetryPolicy]:
    twins = {twin.policy.name: twin.policy for twin in PROVIDERS.values()
             if twin.policy is not None}
    svix = twins.pop("svix")  # the Standard Webhooks twin delivers as Svix does
    presets = [
        RetryPolicy(
            "diagram",
            max_attempts=6,
            backoff=ExponentialSchedule(60.0, 2.0),
            jitter=NoJitter(),
            description="the source diagram: first attempt + retry up to 5 times; "
            "backoff unspecified there, hooklab's choice is 60 s doubling, no jitter",
        ),
        RetryPolicy(
            "standard-webhooks",
            max_attempts=10,
            backoff=FixedSchedule((5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)),
            description="Standard Webhooks spec example; jitter recommended but "
            "unspecified, so none",
        ),
        svix,
        RetryPolicy(
            "hook0",
            max_attempts=25,
            max_window=8 * _DAY,
            backoff=FixedSchedule((3, 10, 180, 1800, 3600, 10800, 18000) + (36000,) * 17),
            jitter=AdditiveJitter(bound=900.0, fraction=0.1, floor=2.0),
            retry_after=RetryAfterMode.MAX,
            retry_after_cap=10 * _HOUR,
            description="Hook0: jitter + uniform(0, clamp(0.1 d, 2 s, 900 s)), "
            "Retry-After max(d, ra) capped at 10 h on 429 only, window 8 days",
        ),
        RetryPolicy(
            "convoy",
            max_attempts=20,
            backoff=ExponentialSchedule(10.0, 2.0, cap=7200.0),
            jitter=AdditiveJitter(bound=5.0),
            description="Convoy exponential: min(10 · 2^n, 7200) + uniform(0, 5 s); "
            "20 attempts as in its examples",
        ),
        RetryPolicy(
            "convoy-linear",
            max_attempts=10,
            backoff=LinearSchedule(100.0),
            description="Convoy linear default: 100 s between attempts, 10 attempts",
        ),
        RetryPolicy(
            "outpost",
            max_attempts=11,
            backoff=ExponentialSchedule(30.0, 2.0),
            description="Hookdeck Outpost: 30 · 2^(n-1) s, no jitter",
        ),
        *twins.values(),  # stripe, github, then the other providers' twins
    ]
    return {p.name: p for p in presets}


#: Every named preset, by name (read-only).
PRESETS: Mapping[str, RetryPolicy] = MappingProxyType(_presets())


def get_policy(name: str) -> RetryPolicy:
    """The preset called ``name``; :class:`UnknownPolicy` if there is none.

        >>> get_policy("outpost").schedule()[-1]
        15360.0
    """
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        known = ", ".join(PRESETS)
        raise UnknownPolicy(f"unknown retry policy {name!r}; known: {known}") from None


def format_hms(seconds: float) -> str:
    """``seconds`` as ``h:mm:ss`` (hours unbounded, rounded to the second).

        >>> format_hms(272105)
        '75:35:05'
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"cannot format {seconds!r} as h:mm:ss")
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def describe_jitter(jitter: Jitter) -> str:
    """A short human description of a jitter.

        >>> describe_jitter(ProportionalJitter(0.2))
        'proportional ±20%'
    """
    if isinstance(jitter, ProportionalJitter):
        return f"proportional ±{jitter.fraction * 100:g}%"
    if isinstance(jitter, AdditiveJitter):
        if jitter.fraction is None:
            return f"additive [0, {jitter.bound:g} s)"
        return (f"additive [0, clamp({jitter.fraction:g} d, {jitter.floor:g} s, "
                f"{jitter.bound:g} s))")
    if isinstance(jitter, DecorrelatedJitter):
        return "decorrelated"
    return jitter.kind


def jittered_run(policy: RetryPolicy, seed: int) -> tuple[float, ...]:
    """The delays of one run where every attempt fails with a 500, drawn with ``seed``.

        >>> jittered_run(get_policy("diagram"), seed=1)
        (60.0, 120.0, 240.0, 480.0, 960.0)
    """
    rng = random.Random(seed)
    delays: list[float] = []
    elapsed, previous = 0.0, None
    for attempt in range(1, policy.max_attempts):
        delay = policy.next_delay(attempt, classify(500), elapsed=elapsed,
                                  previous_delay=previous, rng=rng)
        if delay is None:
            break
        delays.append(delay)
        elapsed += delay
        previous = delay
    return tuple(delays)
