"""Replications into estimates: the mean of each metric per cell, with a confidence interval.

A sweep runs each cell of its grid ``R`` times with independent seeds. :func:`aggregate`
groups the results table by cell (the scenario and the grid parameters) and gives, for
every numeric metric, the number of runs, the mean, the sample standard deviation and a
two-sided Student-t confidence interval ``mean ± t(1 − α/2, n − 1) · sd / √n``. The
result is tidy too: one row per cell and metric.

The t quantile is computed here (no SciPy): the CDF of Student's t with an integer number
of degrees of freedom has a closed form in ``θ = atan(t/√ν)`` (Abramowitz & Stegun 26.7.3
and 26.7.4), which this module inverts by bisection on ``θ``.

Example::

    >>> rows = [{"run_id": "a", "scenario": "s", "p": 1, "replication": 0, "seed": 1, "m": 2.0},
    ...         {"run_id": "b", "scenario": "s", "p": 1, "replication": 1, "seed": 2, "m": 4.0}]
    >>> est = aggregate_rows(rows)[0]
    >>> est["metric"], est["runs"], est["mean"], round(est["ci_high"], 3)
    ('m', 2, 3.0, 15.706)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hooklab.model.errors import ConfigError

from .table import FIXED_COLUMNS, RUN_COLUMNS, read_table

__all__ = ["aggregate", "aggregate_rows", "t_quantile"]


def _abs_t_cdf(theta: float, df: int) -> float:
    """P(|T| <= t) for ``t = √df · tan(theta)`` (A&S 26.7.3/26.7.4)."""
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2 == 1:
        if df == 1:
            return 2.0 * theta / math.pi
        term, total = c, c
        for k in range(3, df - 1, 2):  # cos, (2/3)cos^3, (2·4)/(3·5)cos^5, ...
            term *= c2 * (k - 1) / k
            total += term
        return 2.0 / math.pi * (theta + s * total)
    term, total = 1.0, 1.0
    for k in range(2, df - 1, 2):  # 1, (1/2)cos^2, (1·3)/(2·4)cos^4, ...
        term *= c2 * (k - 1) / k
        total += term
    return s * total


def t_quantile(confidence: float, df: int) -> float:
    """The ``t`` with ``P(|T| <= t) = confidence`` for Student's t with ``df`` degrees of
    freedom: the half-width factor of a two-sided confidence interval.

        >>> round(t_quantile(0.95, 1), 3), round(t_quantile(0.95, 9), 3)
        (12.706, 2.262)
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence!r}")
    if df < 1:
        raise ConfigError(f"degrees of freedom must be at least 1, got {df!r}")
    low, high = 0.0, math.pi / 2
    for _ in range(80):
        mid = (low + high) / 2
        if _abs_t_cdf(mid, df) < confidence:
            low = mid
        else:
            high = mid
    return math.sqrt(df) * math.tan((low + high) / 2)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _cell_key(value: Any) -> Any:
    # A missing parameter read by pandas is a NaN, and NaN != NaN: as a key it would put
    # each run in a cell of its own. Every missing value is one key, None.
    return None if isinstance(value, float) and math.isnan(value) else value


def _layout(row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    keys = list(row)
    try:
        start, stop = keys.index(FIXED_COLUMNS[-1]), keys.index(RUN_COLUMNS[0])
    except ValueError:
        raise ConfigError("not a sweep results table (no scenario/replication columns)") from None
    after = keys.index(RUN_COLUMNS[-1]) + 1
    return keys[start:stop], keys[after:]


def aggregate_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """One estimate per cell and metric: ``runs``, ``mean``, ``std``, ``ci_low``, ``ci_high``.

    ``by`` defaults to the scenario and the grid parameters (the columns between
    ``scenario`` and ``replication``), ``metrics`` to every column after ``seed`` that
    holds numbers. With one run in a cell, ``std`` and the interval are NaN.
    """
    rows = list(rows)
    if not rows:
        return []
    default_by, default_metrics = _layout(rows[0])
    by = list(by if by is not None else default_by)
    metrics = list(metrics if metrics is not None else default_metrics)
    cells: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        cells.setdefault(tuple(_cell_key(row.get(name)) for name in by), []).append(row)
    out: list[dict[str, Any]] = []
    for key, members in cells.items():
        for metric in metrics:
            values = [v for v in (_number(r.get(metric)) for r in members) if v is not None]
            if not values:
                continue
            out.append({**dict(zip(by, key, strict=True)), "metric": metric,
                        **_estimate(values, confidence)})  # fmt: skip
    return out


def _estimate(values: list[float], confidence: float) -> dict[str, Any]:
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return {"runs": n, "mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(confidence, n - 1) * std / math.sqrt(n)
    return {"runs": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def aggregate(
    table: Any,
    *,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> Any:
    """:func:`aggregate_rows` as a pandas DataFrame, from a DataFrame, rows or a file path.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"run_id": ["a", "b"], "scenario": "s", "policy": "svix",
    ...                    "replication": [0, 1], "seed": [1, 2], "failed": [3, 5]})
    >>> aggregate(df)[["policy", "metric", "mean"]].to_dict("records")
    [{'policy': 'svix', 'metric': 'failed', 'mean': 4.0}]
    """
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        rows: Sequence[Mapping[str, Any]] = table.to_dict("records")
    elif isinstance(table, str) or hasattr(table, "__fspath__"):
        rows = read_table(table)
    else:
        rows = list(table)
    estimates = aggregate_rows(rows, by=by, metrics=metrics, confidence=confidence)
    columns = [*(by if by is not None else (_layout(rows[0])[0] if rows else []))]
    columns += ["metric", "runs", "mean", "std", "ci_low", "ci_high"]
    return pd.DataFrame(estimates, columns=columns)
