"""The conformance engine: runs named checks against a receiver and collects a report.

A *check* is a small function ``check(ctx: CheckContext) -> None`` whose one-line docstring
states the rule (see :mod:`hooklab.harness.checks`). It builds requests with the context,
lets Hypothesis explore examples through :meth:`CheckContext.explore`, and raises
:class:`CheckFailed` (an ``AssertionError``) when the receiver breaks the rule, or
:class:`CheckSkipped` when the rule does not apply to the signing scheme. Hypothesis
shrinks a failure to its minimal example; the failure carries it, with a ``curl`` command
signed at run time that replays it.

:func:`run_checks` is the one entry point the CLI, the pytest plugin and notebooks share.

Example::

    >>> from hooklab.harness.receiver import create_receiver          # doctest: +SKIP
    >>> report = run_checks(create_receiver(secret=SECRET), secret=SECRET)  # doctest: +SKIP
    >>> report.passed                                                   # doctest: +SKIP
    True
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

from hooklab.model.errors import ConfigError
from hooklab.model.signing import check_secret, get_scheme

from .payloads import Style, encode
from .report import FAILED, PASSED, SKIPPED, CheckResult, Finding, Report
from .schemes import SchemeRules, rules_for
from .target import Request, Response, Target, TargetUnreachable, curl_command, open_target

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_TIMEOUT",
    "CheckContext",
    "CheckFailed",
    "CheckSkipped",
    "Observer",
    "run_check",
    "run_checks",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_EXAMPLES = 100
#: Observes processing: the number of times the receiver processed a message id.
Observer = Callable[[str], int]


class CheckFailed(AssertionError):
    """A receiver broke a check's rule; carries what reproduces it."""

    def __init__(self, title: str, message: str, request: Request | None = None,
                 response: Response | None = None) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message
        self.request = request
        self.response = response
        self.example: dict[str, Any] = {}
        self.curl = ""
        self.check = ""

    def finding(self) -> Finding:
        """This failure as a plain :class:`~hooklab.harness.report.Finding` record."""
        request = {} if self.request is None else {
            "body": self.request.body.decode("utf-8", "backslashreplace"),
            "headers": [[k, v if isinstance(v, str) else v.decode("latin-1")]
                        for k, v in self.request.headers],
        }
        response = {} if self.response is None else {
            "status": self.response.status, "error": self.response.error,
            "elapsed": round(self.response.elapsed, 4),
        }
        return Finding(self.check, self.title, self.message, self.example, self.curl,
                       request, response)

    def __str__(self) -> str:
        lines = [f"{self.check}: {self.title}" if self.check else self.title, self.message]
        if self.example:
            lines.append(f"minimal example: {self.example}")
        if self.curl:
            lines.append(f"reproduce: {self.curl}")
        return "\n".join(lines)


class CheckSkipped(Exception):
    """The check's rule does not apply here (for example, GitHub signs no timestamp)."""


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Style):
        return {k: v for k, v in value._asdict().items() if v != Style._field_defaults[k]}
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class CheckContext:
    """What a check works with: the target, the scheme, the secret and Hypothesis settings."""

    def __init__(self, target: Target, *, secret: str, scheme: str = "standard",
                 timeout: float = DEFAULT_TIMEOUT, tolerance: float = 300.0,
                 max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None,
                 observe: Observer | None = None, settle: float = 2.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self.scheme = get_scheme(scheme)
        self.rules: SchemeRules = rules_for(self.scheme.name)
        self.secret = check_secret(secret, self.scheme.name)
        self.timeout = timeout
        self.tolerance = tolerance
        self.max_examples = max_examples
        self.seed = seed
        self.observe = observe
        self.settle = settle
        self.clock = clock
        self.check = ""
        self.last_message_id = ""
        self._ids = itertools.count(1)
        self._nonce = os.urandom(4).hex()
        self._stuck: CheckFailed | None = None

    def now(self) -> int:
        """The current Unix time in whole seconds, as a sender would sign it."""
        return int(self.clock())

    def new_message_id(self) -> str:
        """A message id never used before in this run."""
        return f"msg_hooklab{self._nonce}{next(self._ids):06d}"

    def delivery(self, data: Any = None, style: Style | None = None, *,
                 message_id: str | None = None, timestamp: int | None = None,
                 secrets: Sequence[str] | None = None, body: bytes | None = None,
                 event_type: str = "hooklab.test") -> Request:
        """A signed delivery: ``body`` (or an event envelope around ``data``) and headers."""
        message_id = message_id or self.new_message_id()
        self.last_message_id = message_id
        if body is None:
            body = encode({"id": message_id, "type": event_type, "data": data}, style)
        headers = self.scheme.sign(
            message_id=message_id, timestamp=self.now() if timestamp is None else timestamp,
            body=body, secrets=list(secrets or [self.secret]))
        pairs = tuple(headers.items()) + (("content-type", "application/json"),)
        return Request(body, pairs)

    def send(self, request: Request, *, timeout: float | None = None) -> Response:
        """POST ``request``; a receiver that stopped answering fails the check."""
        if self._stuck is not None:  # the receiver hangs: do not wait again while shrinking
            raise self._stuck
        try:
            return self.target.send(request, timeout=timeout or self.timeout)
        except TargetUnreachable as exc:
            raise CheckFailed("receiver stopped accepting connections", str(exc), request
                              ) from None

    def expect(self, request: Request, accept: Callable[[int], bool], want: str, title: str,
               ) -> Response:
        """Send ``request`` and fail with ``title`` unless its status satisfies ``accept``."""
        response = self.send(request)
        if response.status is None:
            failure = CheckFailed(f"no answer: {response.error}",
                                  f"expected {want}, got {response.describe()}",
                                  request, response)
            if response.error and response.error.startswith("no answer within"):
                self._stuck = failure
            raise failure
        if not accept(response.status):
            raise CheckFailed(title, f"expected {want}, got {response.describe()}",
                              request, response)
        return response

    def explore(self, probe: Callable[..., None], *, max_examples: int | None = None,
                **strategies: st.SearchStrategy[Any]) -> None:
        """Run ``probe(**example)`` on examples Hypothesis draws; raise the minimal failure."""
        limit = self.max_examples if max_examples is None else min(max_examples,
                                                                    self.max_examples)
        last: dict[str, Any] = {}

        def attempt(example: dict[str, Any]) -> None:
            last.clear()
            last.update(example)
            try:
                probe(**example)
            except CheckFailed as failure:
                if not failure.example:  # a hanging receiver re-raises its first failure
                    failure.example = _jsonable(example)
                raise

        test = settings(
            max_examples=max(limit, 1), deadline=None, database=None,
            derandomize=self.seed is None, report_multiple_bugs=False, print_blob=False,
            phases=(Phase.explicit, Phase.generate, Phase.shrink), verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )(given(st.fixed_dictionaries(strategies))(attempt))
        if self.seed is not None:
            test = hypothesis_seed(self.seed)(test)
        try:
            test()
        except FlakyFailure as group:
            failure = next((e for e in group.exceptions if isinstance(e, CheckFailed)), None)
            if failure is None:
                raise
            failure.message += " (intermittent: the minimal example passed when replayed)"
            raise failure from None
        finally:
            self._stuck = None

    def processed(self, message_id: str) -> int | None:
        """How often the receiver processed ``message_id``, once processing settles.

        ``None`` when no observer was given. Waits up to ``settle`` seconds for a first
        processing, then a tenth of that (at most 50 ms) for a duplicate one.
        """
        counts = self.processed_counts([message_id])
        return None if counts is None else counts[message_id]

    def processed_counts(self, message_ids: Sequence[str]) -> dict[str, int] | None:
        """:meth:`processed` for several messages at once (one settling wait for all)."""
        observe = self.observe
        if observe is None:
            return None
        if not message_ids:
            return {}
        deadline = time.monotonic() + self.settle
        waiting = list(message_ids)
        while waiting and time.monotonic() < deadline:
            waiting = [m for m in waiting if observe(m) < 1]
            if waiting:
                time.sleep(0.01)
        time.sleep(min(0.05, self.settle / 10))  # room for a duplicate processing to show
        return {message_id: observe(message_id) for message_id in message_ids}

    def _finish(self, failure: CheckFailed) -> CheckFailed:
        failure.check = self.check
        if failure.request is not None:
            failure.curl = curl_command(self.target.url, failure.request, timeout=self.timeout)
        return failure


def run_check(check: Callable[[CheckContext], None], ctx: CheckContext) -> CheckResult:
    """Run one check; its failure, skip or pass becomes a :class:`CheckResult`."""
    name = check.__name__
    rule = (check.__doc__ or "").strip().splitlines()[0] if check.__doc__ else ""
    ctx.check = name
    start = time.perf_counter()
    try:
        check(ctx)
    except CheckSkipped as skip:
        return CheckResult(name, rule, SKIPPED, (), str(skip), time.perf_counter() - start)
    except CheckFailed as failure:
        finding = ctx._finish(failure).finding()
        return CheckResult(name, rule, FAILED, (finding,), None, time.perf_counter() - start)
    return CheckResult(name, rule, PASSED, (), None, time.perf_counter() - start)


def _http_observer(url: str, timeout: float) -> Observer:
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
    URL raises :class:`~hooklab.harness.target.TargetUnreachable` before any check runs.

    >>> run_checks("http://127.0.0.1:9/", secret="whsec_x", checks=["nope"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    hooklab.model.errors.ConfigError: unknown check 'nope'; choose from accepts_valid_delivery, ...
    """
    from .checks import CHECKS

    names = list(CHECKS) if checks is None else list(checks)
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        raise ConfigError(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
    if not (timeout > 0 and max_examples >= 1 and tolerance > 0):
        raise ConfigError("timeout and tolerance must be > 0 seconds, max_examples >= 1")
    start = time.perf_counter()
    with open_target(app_or_url, path=path) as target:
        if isinstance(observe, str):
            observe = _http_observer(observe, timeout)
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
