"""A receiver's answers to one attempt round, as arrays: :func:`answer_round`.

The same decisions as :meth:`hooklab.model.faults.ReceiverModel.answer`, in its order
(``down``, ``gone``, ``unauthorized``, ``script``, then one draw over the rates of
``timeout``, ``reset``, ``truncated`` and ``status``, else 200) and with the same latency
distributions, for every request of a round at once; then the sender's request timeout
turns each answer into an outcome (:class:`Round`). ``capacity`` and ``processing`` are not
here: they make deliveries share state, and :func:`~hooklab.sim.vector.why_not` sends
such scenarios to the event engine.

Error codes (``Round.error``): 0 none, 1 timeout, 2 reset, 3 connection refused.

Example::

    >>> import numpy as np
    >>> from hooklab.model.faults import ReceiverModel
    >>> r = answer_round(ReceiverModel.parse("script=503,200"), np.zeros(2), attempt=1,
    ...                  timeout=15.0, rng=np.random.default_rng(0))
    >>> r.status.tolist(), r.took.tolist()
    ([503, 503], [0.0, 0.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from hooklab.model.faults import Down, Latency, ReceiverModel

__all__ = ["ERRORS", "Round", "answer_round", "is_down"]

#: The outcome error names by code (0 is no error).
ERRORS: tuple[str | None, ...] = (None, "timeout", "reset", "connection_refused")
_NONE, _TIMEOUT, _RESET, _REFUSED, _TRUNCATED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Round:
    """The outcomes of one round: ``status`` (0 with an error), ``error`` code,
    ``retry_after`` (NaN for none), seconds ``took`` until the sender had the outcome,
    and whether the receiver ``accepted`` the message (sent a 2xx, seen or not)."""

    status: np.ndarray
    error: np.ndarray
    retry_after: np.ndarray
    took: np.ndarray
    accepted: np.ndarray


def is_down(down: Down, t: np.ndarray) -> np.ndarray:
    """Whether the receiver is down at each time of ``t`` (:meth:`Down.is_down`)."""
    mask = np.zeros(len(t), dtype=bool)
    for start, end in down.windows:
        mask |= (t >= start) & (t < end)
    if down.flap_down > 0:
        phase = np.mod(t - down.flap_offset, down.flap_up + down.flap_down)
        mask |= (t >= down.flap_offset) & (phase >= down.flap_up)
    return mask


def _latency(latency: Latency, rng: np.random.Generator, n: int) -> np.ndarray:
    mean, jitter, dist = latency.mean, latency.jitter, latency.distribution
    if dist == "exponential":
        return mean * rng.exponential(1.0, n)
    if mean == 0.0 or jitter == 0.0:
        return np.full(n, float(mean))
    if dist == "uniform":  # the jitter capped at the mean, as Latency.draw
        return mean + min(jitter, mean) * (2.0 * rng.random(n) - 1.0)
    if dist == "normal":
        truncation = latency.truncation
        if truncation is None:
            return np.maximum(0.0, rng.normal(mean, jitter, n))
        return _truncated_normal(mean, jitter, truncation, rng, n)
    if jitter <= mean:
        sigma2 = math.log1p((jitter / mean) ** 2)
    else:
        sigma2 = 2.0 * (math.log(jitter) - math.log(mean)) + math.log1p((mean / jitter) ** 2)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)


def _truncated_normal(mean: float, sd: float, truncation: tuple[float, float],
                      rng: np.random.Generator, n: int) -> np.ndarray:
    """Draws of the normal truncated at 0 that keeps ``mean`` (Latency.truncation)."""
    mu, upper = truncation
    if upper < 1e-300:  # far in the tail, as Latency.draw: an exponential
        return mean * rng.exponential(1.0, n)
    if upper < 0.05:  # rejection would waste most draws: the inverse CDF, one by one
        inverse = np.vectorize(NormalDist().inv_cdf, otypes=[float])
        return np.maximum(0.0, mu - sd * inverse((1.0 - rng.random(n)) * upper))
    out = np.empty(n)
    filled = 0
    while filled < n:  # rejection: keep the draws above 0
        draws = rng.normal(mu, sd, int((n - filled) / upper * 1.2) + 16)
        draws = draws[draws >= 0.0][: n - filled]
        out[filled:filled + len(draws)] = draws
        filled += len(draws)
    return out


def _scripted(step: int | str) -> tuple[int, int]:
    if isinstance(step, int):
        return step, _NONE
    return (200, _TRUNCATED) if step == "truncated" else (0, {
        "timeout": _TIMEOUT, "reset": _RESET, "connection_refused": _REFUSED}[step])


def _rates(model: ReceiverModel) -> list[tuple[float, int, int, float | None]]:
    """The cumulative rates of the drawn faults, in the model's order."""
    kinds: list[tuple[float, int, int, float | None]] = [
        (model.timeout, 0, _TIMEOUT, None), (model.reset, 0, _RESET, None),
        (model.truncated, 200, _TRUNCATED, None)]
    kinds += [(s.rate, s.code, _NONE, s.retry_after) for s in model.status]
    rates, edge = [], 0.0
    for rate, code, err, after in kinds:
        if rate > 0:
            edge += rate
            rates.append((edge, code, err, after))
    return rates


def answer_round(model: ReceiverModel, t: np.ndarray, *, attempt: int, timeout: float,
                 rng: np.random.Generator) -> Round:
    """The outcomes of attempt number ``attempt`` of deliveries sent at times ``t``."""
    n = len(t)
    status = np.full(n, 200, dtype=np.int32)
    error = np.zeros(n, dtype=np.int8)
    retry_after = np.full(n, np.nan)
    free: np.ndarray | None = None  # not decided by a window (None: all of them)
    if model.down is not None:
        down = is_down(model.down, t)
        status[down], error[down] = 0, _REFUSED
        free = ~down
    if model.gone is not None:
        gone = t >= model.gone
        if free is not None:
            gone &= free
        status[gone] = 410
        free = ~gone if free is None else free & ~gone
    for start, end in model.unauthorized:
        hit = (t >= start) & (t < end)
        if free is not None:
            hit &= free
        status[hit] = 401
        free = ~hit if free is None else free & ~hit
    where = np.flatnonzero(free) if free is not None else None
    if model.script:
        code, err = _scripted(model.script[min(attempt, len(model.script)) - 1])
        if where is None:
            status[:], error[:] = code, err
        else:
            status[where], error[where] = code, err
    else:
        _draw(model, rng, status, error, retry_after, where)
    timed = (error == _TIMEOUT) | (error == _REFUSED)
    total = np.zeros(n)
    if model.latency.mean or model.latency.distribution == "exponential":
        if timed.any():
            served = np.flatnonzero(~timed)
            total[served] = _latency(model.latency, rng, len(served))
        else:
            total = _latency(model.latency, rng, n)
    if model.bandwidth is not None:
        total += np.where(error == _NONE, model.bandwidth.transfer, 0.0)
    total[error == _TIMEOUT] = np.inf
    return _outcomes(status, error, retry_after, total, timeout)


def _draw(model: ReceiverModel, rng: np.random.Generator, status: np.ndarray,
          error: np.ndarray, retry_after: np.ndarray, where: np.ndarray | None) -> None:
    rates = _rates(model)
    if not rates:
        return
    edges = np.array([r[0] for r in rates])
    codes = np.array([r[1] for r in rates] + [200], dtype=np.int32)
    errs = np.array([r[2] for r in rates] + [_NONE], dtype=np.int8)
    afters = np.array([np.nan if r[3] is None else r[3] for r in rates] + [np.nan])
    n = len(status) if where is None else len(where)
    pick = np.searchsorted(edges, rng.random(n), side="right")
    if where is None:
        status[:], error[:] = codes[pick], errs[pick]
        if not np.isnan(afters).all():
            retry_after[:] = afters[pick]
    else:
        status[where], error[where] = codes[pick], errs[pick]
        if not np.isnan(afters).all():
            retry_after[where] = afters[pick]


def _outcomes(status: np.ndarray, error: np.ndarray, retry_after: np.ndarray,
              total: np.ndarray, timeout: float) -> Round:
    accepted = (status >= 200) & (status < 300)
    late = total > timeout
    took = np.where(late, timeout, total)
    error = np.where(error == _TRUNCATED, _RESET, error).astype(np.int8)
    error[late] = _TIMEOUT
    failed_transport = error != _NONE
    status = np.where(failed_transport, 0, status).astype(np.int32)
    retry_after = np.where(failed_transport, np.nan, retry_after)
    return Round(status, error, retry_after, took, accepted)
