"""What a check works with: the :class:`CheckContext`, and how a check ends when it does not
pass (:class:`CheckFailed`, :class:`CheckSkipped`).

A check builds signed deliveries with :meth:`CheckContext.delivery`, lets Hypothesis draw
examples through :meth:`CheckContext.explore`, sends them with :meth:`CheckContext.expect`,
and asks :meth:`CheckContext.processed` how often the receiver processed a message. A
failure is data: :class:`CheckFailed` is an ``AssertionError`` carrying a title, a message,
the request and response, the minimal example Hypothesis shrank to and a ``curl`` command
that replays it. :class:`CheckSkipped` says the rule does not apply to the signing scheme.

Example::

    >>> failure = CheckFailed("stale timestamp accepted", "expected 401, got 200 after 0.010 s")
    >>> isinstance(failure, AssertionError), failure.finding().title
    (True, 'stale timestamp accepted')
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

from hooklab.model.signing import check_secret, get_scheme

from ..transport import Request, Response, curl_command
from .payloads import Style, encode
from .report import Finding
from .schemes import SchemeRules, rules_for
from .target import Target, TargetUnreachable

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_TIMEOUT",
    "CheckContext",
    "CheckFailed",
    "CheckSkipped",
    "Observer",
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
        """This failure as a plain :class:`~hooklab.harness.conformance.report.Finding`."""
        request = {} if self.request is None else {
            "body": self.request.body.decode("utf-8", "backslashreplace"),
            "headers": [[k, v if isinstance(v, str) else v.decode("latin-1")]
                        for k, v in self.request.headers],
        }
        response = {} if self.response is None else {
            "status": self.response.status, "error": self.response.detail or None,
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
            failure = CheckFailed(f"no answer: {response.detail}",
                                  f"expected {want}, got {response.describe()}",
                                  request, response)
            if response.outcome.error == "timeout":
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

    def finalize(self, failure: CheckFailed) -> CheckFailed:
        """``failure``, named after the running check, with a ``curl`` command that
        replays its request."""
        failure.check = self.check
        if failure.request is not None:
            failure.curl = curl_command(self.target.url, failure.request, timeout=self.timeout)
        return failure
