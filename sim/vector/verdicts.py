"""The retry policy's verdicts on one attempt round, as arrays: :func:`verdicts`.

The same rules as :meth:`hooklab.model.retry.RetryPolicy.next_delay` (a 2xx, a 410 and
``no_retry_codes`` stop; then the attempt limit; the schedule's delay with its jitter
window; the overload penalty after a timeout or a 429; ``Retry-After`` by the policy's
mode and cap; the ``max_window`` cut), for every delivery of a round at once. Decorrelated
jitter needs each delivery's previous delay and is left to the event engine.

Outcome kinds are codes into :data:`KINDS`; failure reasons are codes into
:data:`REASONS` (0: the delivery did not fail).

Example::

    >>> import numpy as np
    >>> from hooklab.model.presets import get_policy
    >>> v = verdicts(get_policy("diagram"), 1, np.array([500, 200]), np.zeros(2, np.int8),
    ...              np.full(2, np.nan), np.zeros(2), np.random.default_rng(0))
    >>> v.delay.tolist()[0], v.success.tolist()
    (60.0, [False, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hooklab.model.outcomes import THROTTLE_CODES, OutcomeKind
from hooklab.model.records import FailureReason
from hooklab.model.retry import RetryAfterMode, RetryPolicy

__all__ = ["KINDS", "REASONS", "Verdicts", "outcome_kinds", "verdicts"]

#: Outcome kind names by code.
KINDS: tuple[str, ...] = tuple(k.value for k in OutcomeKind)
#: Failure reason names by code (0: not failed).
REASONS: tuple[str | None, ...] = (
    None, FailureReason.EXHAUSTED.value, FailureReason.RETRY_WINDOW.value,
    FailureReason.GONE.value, FailureReason.NOT_RETRIED.value)
_K = {k: i for i, k in enumerate(KINDS)}
_EXHAUSTED, _WINDOW, _GONE, _NOT_RETRIED = 1, 2, 3, 4
_THROTTLE = np.array(sorted(THROTTLE_CODES))


@dataclass(frozen=True)
class Verdicts:
    """A round's verdicts: which were a ``success``, the ``delay`` before the next attempt
    (NaN: no retry), and the failure ``reason`` code (0 when delivered or retried)."""

    success: np.ndarray
    delay: np.ndarray
    reason: np.ndarray


def outcome_kinds(status: np.ndarray, error: np.ndarray) -> np.ndarray:
    """The :class:`~hooklab.model.outcomes.OutcomeKind` code of each outcome."""
    kind = np.full(len(status), _K["server_error"], dtype=np.int8)
    kind[(status >= 400) & (status < 500)] = _K["client_error"]
    kind[_throttled(status)] = _K["throttled"]
    kind[status == 410] = _K["gone"]
    kind[(status >= 300) & (status < 400)] = _K["redirect"]
    kind[(status >= 200) & (status < 300)] = _K["success"]
    kind[error != 0] = _K["connection"]
    kind[error == 1] = _K["timeout"]
    return kind


def _throttled(status: np.ndarray) -> np.ndarray:
    hit = status == _THROTTLE[0]
    for code in _THROTTLE[1:]:
        hit |= status == code
    return hit


def verdicts(policy: RetryPolicy, attempt: int, status: np.ndarray, error: np.ndarray,
             retry_after: np.ndarray, elapsed: np.ndarray,
             rng: np.random.Generator) -> Verdicts:
    """The verdicts on attempt ``attempt`` (the same for the whole round) of deliveries
    whose outcomes are given, ``elapsed`` seconds after their first attempts."""
    n = len(status)
    success = (status >= 200) & (status < 300)  # a transport error has status 0
    gone = status == 410
    stops = success | gone
    reason = np.zeros(n, dtype=np.int8)
    reason[gone] = _GONE
    if policy.no_retry_codes:
        never = np.isin(status, np.array(sorted(policy.no_retry_codes), dtype=int))
        never &= error == 0
        stops |= never
        reason[never] = _NOT_RETRIED
    go = ~stops
    if attempt >= policy.max_attempts:
        reason[go] = _EXHAUSTED
        return Verdicts(success, np.full(n, np.nan), reason)
    low, high = policy.delay_bounds(attempt)
    d = np.full(n, low) if high == low else low + (high - low) * rng.random(n)
    penalty = policy.overload_penalty
    if penalty:
        hit = (d < penalty) & ((status == 429) | (error == 1))
        d[hit] = penalty
    mode = policy.retry_after
    if mode is not RetryAfterMode.IGNORE:
        has = ~np.isnan(retry_after)  # NaN: none, or a transport error
        if has.any():
            d = _throttle(policy, mode, d, status, retry_after, has)
    retry = go
    if policy.max_window is not None:
        cut = go & (elapsed + d > policy.max_window)
        reason[cut] = _WINDOW
        retry = go & ~cut
    delay = np.where(retry, d, np.nan)
    return Verdicts(success, delay, reason)


def _throttle(policy: RetryPolicy, mode: RetryAfterMode, d: np.ndarray, status: np.ndarray,
              retry_after: np.ndarray, has: np.ndarray) -> np.ndarray:
    cap = np.inf if policy.retry_after_cap is None else policy.retry_after_cap
    wanted = np.minimum(retry_after, cap)
    if mode is RetryAfterMode.CLAMP:
        hit = has & _throttled(status)
        return np.where(hit, np.minimum(np.maximum(wanted, d), 2 * d), d)
    hit = has & (status == 429)
    return np.where(hit, np.maximum(d, wanted), d)
