"""The conformance engine: runs the registered checks against a receiver, collects a report.

:func:`run_checks` is the one entry point the CLI (``hooklab check``), the pytest plugin and
notebooks share. It opens the :class:`~hooklab.harness.conformance.target.Target` (a URL,
or an ASGI or WSGI app in-process), makes one
:class:`~hooklab.harness.conformance.context.CheckContext`, sends one plain request first
(so an unreachable URL fails before any check), then runs each check of the registry
(:mod:`~hooklab.harness.conformance.registry`, filled by
:mod:`~hooklab.harness.conformance.checks`) in report order; :func:`run_check` turns a
check's pass, skip or failure into a plain
:class:`~hooklab.harness.conformance.report.CheckResult`.

Example::

    >>> from hooklab.harness.receiver import create_receiver
    >>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    >>> report = run_checks(create_receiver(secret), secret=secret, max_examples=2,
    ...                     checks=["accepts_valid_delivery", "rejects_missing_signature"])
    >>> report.passed, [r.status for r in report.results]
    (True, ['passed', 'passed'])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from hooklab.model.errors import ConfigError

from ..transport import Request
from .checks import CHECKS  # the registry, filled as the checks module is imported
from .context import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_TIMEOUT,
    CheckContext,
    CheckFailed,
    CheckSkipped,
    Observer,
)
from .registry import Check, rule_of, select
from .report import FAILED, PASSED, SKIPPED, CheckResult, Report
from .target import open_target

__all__ = ["http_observer", "run_check", "run_checks"]


def run_check(check: Check, ctx: CheckContext) -> CheckResult:
    """Run one check; its failure, skip or pass becomes a
    :class:`~hooklab.harness.conformance.report.CheckResult`."""
    name = check.__name__
    rule = rule_of(check)
    ctx.check = name
    start = time.perf_counter()
    try:
        check(ctx)
    except CheckSkipped as skip:
        return CheckResult(name, rule, SKIPPED, (), str(skip), time.perf_counter() - start)
    except CheckFailed as failure:
        finding = ctx.finalize(failure).finding()
        return CheckResult(name, rule, FAILED, (finding,), None, time.perf_counter() - start)
    return CheckResult(name, rule, PASSED, (), None, time.perf_counter() - start)


def http_observer(url: str, timeout: float) -> Observer:
    """An observer that asks ``GET url?message_id=ID`` (see :func:`run_checks`)."""
    import httpx

    def observe(message_id: str) -> int:
        try:
            answer = httpx.get(url, params={"message_id": message_id}, timeout=timeout)
            value = answer.raise_for_status().json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CheckFailed("processing observer failed", f"GET {url}: {exc}") from None
        if isinstance(value, dict):
            value = value.get("count", value.get("processed", 0))
        if isinstance(value, list):
            return sum(item == message_id for item in value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise CheckFailed("processing observer failed",
                              f"GET {url}: not a count: {value!r}") from None

    return observe


def run_checks(app_or_url: Any, *, secret: str, scheme: str = "standard",
               checks: Iterable[str] | None = None, timeout: float = DEFAULT_TIMEOUT,
               max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None,
               tolerance: float = 300.0, observe: Observer | str | None = None,
               path: str = "/", settle: float = 2.0,
               on_result: Callable[[CheckResult], None] | None = None) -> Report:
    """Run the named checks (default: all) against a URL, an ASGI app or a WSGI app.

    ``observe`` lets ``idempotent_redelivery`` see processing: a callable
    ``message_id -> times processed``, or a URL answering ``GET URL?message_id=ID`` with a
    JSON count (an integer, ``{"count": n}``, or a list of processed ids). An unreachable
    URL raises :class:`~hooklab.harness.conformance.target.TargetUnreachable` before any
    check runs.

    >>> run_checks("http://127.0.0.1:9/", secret="whsec_x", checks=["nope"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    hooklab.model.errors.ConfigError: unknown check 'nope'; choose from accepts_valid_delivery, ...
    """
    names = select(checks)
    if not (timeout > 0 and max_examples >= 1 and tolerance > 0):
        raise ConfigError("timeout and tolerance must be > 0 seconds, max_examples >= 1")
    start = time.perf_counter()
    with open_target(app_or_url, path=path) as target:
        if isinstance(observe, str):
            observe = http_observer(observe, timeout)
        ctx = CheckContext(target, secret=secret, scheme=scheme, timeout=timeout,
                           tolerance=tolerance, max_examples=max_examples, seed=seed,
                           observe=observe, settle=settle)
        target.send(Request(b"{}", (("content-type", "application/json"),)), timeout=timeout)
        results = []
        for name in names:
            result = run_check(CHECKS[name], ctx)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return Report(target.url, ctx.scheme.name, seed, max_examples, timeout, tuple(results),
                  time.perf_counter() - start)
