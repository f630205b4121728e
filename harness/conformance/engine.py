"""The conformance engine: runs the registered checks against a receiver, collects a report.

:func:`run_checks` is the one entry point the CLI (``hooklab check``), the pytest plugin and
notebooks share. It opens the :class:`~hooklab.harness.conformance.target.Target` (a URL,
or an ASGI or WSGI app in-process), makes one
:class:`~hooklab.harness.conformance.context.CheckContext`, sends one plain request first
(so an unreachable URL fails before any check), then runs each check of the registry
(:mod:`~hooklab.harness.conformance.registry`, filled by
:mod:`~hooklab.harness.conformance.checks`) in report order; :func:`run_check` turns a
check's pass, failure, inconclusive end or skip into a plain
:class:`~hooklab.harness.conformance.report.CheckResult`. When
``accepts_valid_delivery`` fails, the checks that need a valid delivery are *blocked* by
it instead of failing for the same reason. With ``provider`` the deliveries, handshake,
timeout and strict rejection status are that provider twin's.

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
from .checks import CHECKS, NEEDS_VALID_DELIVERY  # the registry, filled on import
from .context import (
    DEFAULT_LARGE_BODY,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_TIMEOUT,
    CheckContext,
    CheckFailed,
    CheckInconclusive,
    CheckSkipped,
    Observer,
)
from .registry import Check, rule_of, select
from .report import BLOCKED, FAILED, INCONCLUSIVE, PASSED, SKIPPED, CheckResult, Report
from .target import open_target

__all__ = ["http_observer", "run_check", "run_checks"]


def run_check(check: Check, ctx: CheckContext) -> CheckResult:
    """Run one check; its failure, inconclusive end, skip or pass becomes a
    :class:`~hooklab.harness.conformance.report.CheckResult`."""
    name = check.__name__
    rule = rule_of(check)
    ctx.begin(name)
    start = time.perf_counter()

    def result(status: str, reason: str | None = None, findings: tuple = ()) -> CheckResult:
        return CheckResult(name, rule, status, findings, reason, time.perf_counter() - start,
                           tuple(ctx.notes))

    try:
        check(ctx)
    except CheckSkipped as skip:
        return result(SKIPPED, str(skip))
    except CheckInconclusive as unknown:
        return result(INCONCLUSIVE, str(unknown))
    except CheckFailed as failure:
        return result(FAILED, None, (ctx.finalize(failure).finding(),))
    if ctx.inconclusive_reasons and not ctx.conclusive:
        return result(INCONCLUSIVE, "; ".join(ctx.inconclusive_reasons))
    return result(PASSED)


def blocked(name: str, rule: str, by: str) -> CheckResult:
    """The result of a check that cannot run because check ``by`` failed."""
    return CheckResult(name, rule, BLOCKED, (), f"blocked by {by}: fix it first", 0.0)


def http_observer(url: str, timeout: float, *, token: str | None = None) -> Observer:
    """An observer that asks ``GET url?message_id=ID`` (see :func:`run_checks`), with
    ``Authorization: Bearer TOKEN`` when a state token is given."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def observe(message_id: str) -> int:
        try:
            answer = httpx.get(url, params={"message_id": message_id}, headers=headers,
                               timeout=timeout)
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
               checks: Iterable[str] | None = None, timeout: float | None = None,
               max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None,
               tolerance: float = 300.0, observe: Observer | str | None = None,
               path: str = "/", settle: float = 2.0, provider: str | None = None,
               reject_status: int | None = None, large_body: int = DEFAULT_LARGE_BODY,
               on_result: Callable[[CheckResult], None] | None = None) -> Report:
    """Run the named checks (default: all) against a URL, an ASGI app or a WSGI app.

    ``observe`` lets ``idempotent_redelivery`` see processing: a callable
    ``message_id -> times processed``, or a URL answering ``GET URL?message_id=ID`` with a
    JSON count (an integer, ``{"count": n}``, or a list of processed ids). ``provider``
    (a twin name, see ``hooklab providers``) sends that provider's requests and handshake,
    waits its timeout (unless ``timeout`` is given) and demands its bad-signature status;
    ``reject_status`` demands one status for every rejection (else any 4xx). An
    unreachable URL raises
    :class:`~hooklab.harness.conformance.target.TargetUnreachable` before any check runs.

    >>> run_checks("http://127.0.0.1:9/", secret="whsec_x", checks=["nope"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    hooklab.model.errors.ConfigError: unknown check 'nope'; choose from accepts_valid_delivery, ...
    """
    names = select(checks)
    if provider is not None:
        scheme, timeout = _provider_settings(provider, timeout)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if not (timeout > 0 and max_examples >= 1 and tolerance > 0 and large_body >= 1):
        raise ConfigError("timeout and tolerance must be > 0 seconds, max_examples and "
                          "large_body >= 1")
    if reject_status is not None and not 400 <= reject_status < 500:
        raise ConfigError(f"reject_status must be a 4xx, not {reject_status}",
                          field="reject_status")
    start = time.perf_counter()
    with open_target(app_or_url, path=path) as target:
        if isinstance(observe, str):
            observe = http_observer(observe, timeout)
        ctx = CheckContext(target, secret=secret, scheme=scheme, timeout=timeout,
                           tolerance=tolerance, max_examples=max_examples, seed=seed,
                           observe=observe, settle=settle, provider=provider,
                           reject_status=reject_status, large_body=large_body)
        target.send(Request(b"{}", (("content-type", "application/json"),)), timeout=timeout)
        results: list[CheckResult] = []
        valid_failed = False
        for name in names:
            if valid_failed and name in NEEDS_VALID_DELIVERY:
                result = blocked(name, rule_of(CHECKS[name]), "accepts_valid_delivery")
            else:
                result = run_check(CHECKS[name], ctx)
            valid_failed |= name == "accepts_valid_delivery" and result.status == FAILED
            results.append(result)
            if on_result is not None:
                on_result(result)
    return Report(target.url, ctx.scheme.name, seed, max_examples, timeout, tuple(results),
                  time.perf_counter() - start, provider)


def _provider_settings(provider: str, timeout: float | None) -> tuple[str, float | None]:
    """The scheme and timeout of provider twin ``provider`` (ConfigError naming the field
    when hooklab cannot check receivers of it)."""
    from hooklab.model.providers import get_provider

    from .schemes import SCHEME_RULES

    twin = get_provider(provider)
    if twin.scheme not in SCHEME_RULES:
        known = ", ".join(sorted(SCHEME_RULES))
        raise ConfigError(f"provider {provider!r} signs with {twin.scheme or 'no scheme'}; "
                          f"hooklab check knows the rules of {known}", field="provider")
    if timeout is None and twin.timeout is not None:
        timeout = twin.timeout.total
    return twin.scheme, timeout
