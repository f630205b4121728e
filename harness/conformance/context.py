"""What a check works with: the :class:`CheckContext`, and how a check ends when it does not
pass (:class:`CheckFailed`, :class:`CheckInconclusive`, :class:`CheckSkipped`).

A check builds provider-realistic signed deliveries with :meth:`CheckContext.delivery`
(the provider twin's payload, headers and User-Agent, see :mod:`hooklab.model.providers`),
runs its explicit adversarial examples and then the ones Hypothesis draws through
:meth:`CheckContext.explore`, sends them with :meth:`CheckContext.expect` or
:meth:`CheckContext.rejects`, and asks :meth:`CheckContext.processed` how often the
receiver processed a message. A rejection is any 4xx (a 5xx is a crash, a 2xx to a
forgery the failure); one other than the rule's status leaves a note, unless
``reject_status`` makes that status strict. A failure is data: :class:`CheckFailed` is an
``AssertionError`` carrying a title, a message, the request and response, the minimal
example and a ``curl`` command that replays it.

Example::

    >>> failure = CheckFailed("stale timestamp accepted", "expected a 4xx, got 200 after 0.010 s")
    >>> isinstance(failure, AssertionError), failure.finding().title
    (True, 'stale timestamp accepted')
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure, UnsatisfiedAssumption

from hooklab.model.providers import Twin, get_provider
from hooklab.model.signing import check_secret, get_scheme

from ..transport import Request, Response, curl_command
from .hypothesis_env import hypothesis_quiet
from .payloads import Style, encode
from .report import Finding
from .schemes import SchemeRules, rules_for
from .target import Target, TargetUnreachable

__all__ = [
    "DEFAULT_LARGE_BODY",
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_TIMEOUT",
    "CheckContext",
    "CheckFailed",
    "CheckInconclusive",
    "CheckSkipped",
    "Observer",
    "is_rejection",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_EXAMPLES = 100
#: The size of the large valid delivery (``accepts_large_delivery``): 1 MiB.
DEFAULT_LARGE_BODY = 1024 * 1024
#: Observes processing: the number of times the receiver processed a message id.
Observer = Callable[[str], int]
#: Fresh replays of a failing example before it may be called intermittent.
REPLAYS = 3


def is_rejection(status: int | None) -> bool:
    """Whether ``status`` rejects a request: any 4xx (a 5xx is a crash, not a rejection).

    >>> is_rejection(400), is_rejection(401), is_rejection(500), is_rejection(None)
    (True, True, False, False)
    """
    return status is not None and 400 <= status < 500


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
        self.raw_example: dict[str, Any] | None = None
        self.curl = ""
        self.check = ""
        self.expires: int | None = None
        self.resign_offset: int | None = None

    def finding(self) -> Finding:
        """This failure as a plain :class:`~hooklab.harness.conformance.report.Finding`."""
        request = {} if self.request is None else {
            "body": self.request.body.decode("utf-8", "backslashreplace"),
            "body_base64": base64.b64encode(self.request.body).decode("ascii"),
            "headers": [[k, v if isinstance(v, str) else v.decode("latin-1")]
                        for k, v in self.request.headers],
        }
        response = {} if self.response is None else {
            "status": self.response.status, "error": self.response.detail or None,
            "elapsed": round(self.response.elapsed, 4),
        }
        return Finding(self.check, self.title, self.message, self.example, self.curl,
                       request, response, self.expires, self.resign_offset)

    def __str__(self) -> str:
        lines = [f"{self.check}: {self.title}" if self.check else self.title, self.message]
        if self.example:
            lines.append(f"minimal example: {self.example}")
        if self.curl:
            expiry = "" if self.expires is None else f" (valid until Unix time {self.expires})"
            lines.append(f"reproduce{expiry}: {self.curl}")
        return "\n".join(lines)


class CheckSkipped(Exception):
    """The check's rule does not apply here (for example, GitHub signs no timestamp)."""


class CheckInconclusive(Exception):
    """The receiver's answers cannot show whether it keeps the rule; says why."""


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


def _signed_timestamp(rules: SchemeRules, request: Request) -> int | None:
    """The Unix time ``request`` says it was signed at (None: undated, or unreadable)."""
    if not rules.dated:
        return None
    if rules.timestamp_header:
        raw = request.header(rules.timestamp_header)
    else:  # stripe: t= inside the signature header
        value = request.header(rules.signature_header) or ""
        text = value if isinstance(value, str) else value.decode("latin-1")
        raw = next((part[2:] for part in text.split(",") if part.startswith("t=")), None)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


_NO_DATA = object()
#: What the HTTP client says of a request it refuses to send (the receiver never saw it).
_UNSENDABLE = ("LocalProtocolError",)
#: The twin that delivers each scheme when no provider is named.
_SCHEME_TWINS = {"standard": "standard", "stripe": "stripe", "github": "github"}


class CheckContext:
    """What a check works with: the target, the provider twin, the scheme, the secret and
    Hypothesis settings."""

    def __init__(self, target: Target, *, secret: str, scheme: str = "standard",
                 timeout: float = DEFAULT_TIMEOUT, tolerance: float = 300.0,
                 max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int | None = None,
                 observe: Observer | None = None, settle: float = 2.0,
                 clock: Callable[[], float] = time.time, provider: str | None = None,
                 reject_status: int | None = None,
                 large_body: int = DEFAULT_LARGE_BODY) -> None:
        self.target = target
        twin: Twin = get_provider(provider or _SCHEME_TWINS.get(scheme, scheme))
        self.twin = twin
        self.provider = provider
        self.scheme = get_scheme(twin.scheme if provider else scheme)
        self.rules: SchemeRules = rules_for(self.scheme.name)
        self.secret = check_secret(secret, self.scheme.name, use="sign")
        self.timeout = timeout
        self.tolerance = tolerance
        self.max_examples = max_examples
        self.seed = seed
        self.observe = observe
        self.settle = settle
        self.clock = clock
        self.reject_status = reject_status or (twin.bad_signature_status if provider
                                               else None)
        self.large_body = large_body
        self.check = ""
        self.last_message_id = ""
        self.notes: list[str] = []
        self.conclusive = 0
        self.inconclusive_reasons: list[str] = []
        self._ids = itertools.count(1)
        self._nonce = os.urandom(4).hex()
        self.last_response: Response | None = None
        self._stuck: CheckFailed | None = None
        self._signed_at: dict[Request, tuple[int, int, bool]] = {}

    # ------------------------------------------------------------------ per check

    def begin(self, name: str) -> None:
        """Start check ``name``: no notes, no conclusive examples yet."""
        self.check = name
        self.notes = []
        self.conclusive = 0
        self.inconclusive_reasons = []
        self._signed_at.clear()

    def note(self, text: str) -> None:
        """Remember ``text`` for the check's result (once)."""
        if text not in self.notes:
            self.notes.append(text)

    def undecided(self, reason: str) -> None:
        """This example could not tell whether the rule holds (see :meth:`decided`)."""
        if reason not in self.inconclusive_reasons:
            self.inconclusive_reasons.append(reason)

    def decided(self) -> None:
        """This example showed the rule kept; a check with none ends inconclusive."""
        self.conclusive += 1

    # ------------------------------------------------------------------ deliveries

    def now(self) -> int:
        """The current Unix time in whole seconds, as a sender would sign it."""
        return int(self.clock())

    def new_message_id(self) -> str:
        """A message id never used before in this run, in the provider's format."""
        n = next(self._ids)
        if self.twin.name == "stripe":
            return f"evt_hooklab{self._nonce}{n:08d}"
        if self.twin.name == "github":
            return f"{self._nonce}-0000-4000-8000-{n:012d}"
        return f"msg_hooklab{self._nonce}{n:06d}"

    def delivery(self, data: Any = _NO_DATA, style: Style | None = None, *,
                 message_id: str | None = None, timestamp: int | None = None,
                 secrets: Sequence[str] | None = None, body: bytes | None = None,
                 event_type: str | None = None) -> Request:
        """A signed delivery as the provider sends it: its headers and User-Agent, and
        ``body`` or the provider's event (with ``data`` under ``"hooklab"``)."""
        message_id = message_id or self.new_message_id()
        self.last_message_id = message_id
        now = self.now()
        kind = event_type or (self.twin.event_types[0] if self.twin.event_types else "")
        # drawn from the id: a new message never repeats an earlier one's body (receivers
        # of unsigned-id schemes deduplicate on the body)
        message = self.twin.payload(random.Random(message_id), now, kind)
        if body is None:
            value = message.json()
            if isinstance(value, dict):
                if self.twin.dedupe is not None and self.twin.dedupe.where == "body":
                    value[self.twin.dedupe.name] = message_id
                if data is not _NO_DATA:
                    value["hooklab"] = data
            body = encode(value, style)
        message = dataclasses.replace(message, id=message_id, body=body)
        signed_at = now if timestamp is None else timestamp
        keys = list(secrets or [self.secret])
        wire = self.twin.request(message, secrets=keys, now=signed_at, url=self.target.url)
        request = Request(body, tuple(wire.headers))
        self._signed_at[request] = (signed_at, now, self.secret in keys)
        return request

    # ------------------------------------------------------------------ sending

    def send(self, request: Request, *, timeout: float | None = None) -> Response:
        """POST ``request`` on a fresh connection; a reset or close is retried once on
        another before it counts. A receiver that stopped answering fails the check."""
        if self._stuck is not None:  # the receiver hangs: do not wait again while shrinking
            raise self._stuck
        wait = timeout or self.timeout
        try:
            response = self.target.send(request, timeout=wait)
            if (response.status is None and response.outcome.error != "timeout"
                    and not self.target.in_process):
                response = self.target.send(request, timeout=wait)
        except TargetUnreachable as exc:
            raise CheckFailed("receiver stopped accepting connections", str(exc), request
                              ) from None
        if response.detail.startswith(_UNSENDABLE):  # refused by our own HTTP client
            self.note("some examples were not sent: the HTTP client refuses their headers")
            raise UnsatisfiedAssumption
        return response

    def answer(self, request: Request, want: str) -> Response:
        """Send ``request``; fail unless some status comes back (``want`` says what)."""
        return self.answered(request, self.send(request), want)

    def answered(self, request: Request, response: Response, want: str) -> Response:
        """``response`` to ``request``, or a failure when no status came back."""
        self.last_response = response
        if response.status is None:
            failure = CheckFailed(f"no answer: {response.detail}",
                                  f"expected {want}, got {response.describe()}",
                                  request, response)
            if response.outcome.error == "timeout":
                self._stuck = failure
            raise failure
        return response

    def expect(self, request: Request, accept: Callable[[int], bool], want: str, title: str,
               ) -> Response:
        """Send ``request`` and fail with ``title`` unless its status satisfies ``accept``."""
        return self.expect_answered(request, self.send(request), accept, want, title)

    def expect_answered(self, request: Request, response: Response,
                        accept: Callable[[int], bool], want: str, title: str) -> Response:
        """:meth:`expect` for a ``response`` already received."""
        self.answered(request, response, want)
        assert response.status is not None
        if not accept(response.status):
            raise CheckFailed(title, f"expected {want}, got {response.describe()}",
                              request, response)
        return response

    def rejects(self, request: Request, title: str, *, rule: int = 401) -> Response:
        """Send ``request`` and fail with ``title`` unless it is rejected.

        A rejection is any 4xx (``reject_status``, when set, exactly that for the
        forgeries, whose ``rule`` is 401); a 4xx other than ``rule`` (the diagram's
        answer) leaves a note. A 5xx is a crash and a 2xx an
        acceptance: both fail.
        """
        strict = self.reject_status if rule == 401 else None  # strict for forgeries only
        want = f"{strict}" if strict else f"a 4xx rejection (the diagram answers {rule})"
        response = self.answer(request, want)
        status = response.status
        assert status is not None
        if (strict and status != strict) or not is_rejection(status):
            crash = " (a 5xx is a crash, not a rejection: the sender retries)" if (
                status >= 500) else ""
            raise CheckFailed(title, f"expected {want}, got {response.describe()}{crash}",
                              request, response)
        if status != rule:
            self.note(f"rejects with {status}, not {rule}")
        return response

    # ------------------------------------------------------------------ exploring

    def explore(self, probe: Callable[..., None], *, max_examples: int | None = None,
                explicit: Iterable[dict[str, Any]] = (),
                **strategies: st.SearchStrategy[Any]) -> None:
        """Run ``probe(**example)`` on each ``explicit`` example, then on examples
        Hypothesis draws; raise the first failure (a drawn one shrunk to its minimum)."""
        limit = self.max_examples if max_examples is None else min(max_examples,
                                                                    self.max_examples)

        def attempt(example: dict[str, Any]) -> None:
            try:
                probe(**example)
            except CheckFailed as failure:
                if not failure.example:  # a hanging receiver re-raises its first failure
                    failure.example = _jsonable(example)
                    failure.raw_example = dict(example)
                raise

        try:
            for example in explicit:
                try:
                    attempt(example)
                except UnsatisfiedAssumption:  # the example does not fit this receiver
                    continue
                except CheckFailed as failure:
                    raise self._replayed(attempt, failure) from None
            self._generate(attempt, limit, strategies)
        finally:
            self._stuck = None

    def _generate(self, attempt: Callable[[dict[str, Any]], None], limit: int,
                  strategies: dict[str, st.SearchStrategy[Any]]) -> None:
        test = settings(
            max_examples=max(limit, 1), deadline=None, database=None,
            derandomize=self.seed is None, report_multiple_bugs=False, print_blob=False,
            phases=(Phase.explicit, Phase.generate, Phase.shrink), verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )(given(st.fixed_dictionaries(strategies))(attempt))
        if self.seed is not None:
            test = hypothesis_seed(self.seed)(test)
        try:
            with hypothesis_quiet():
                test()
        except FlakyFailure as group:
            failure = next((e for e in group.exceptions if isinstance(e, CheckFailed)), None)
            if failure is None:
                raise
            raise self._replayed(attempt, failure) from None

    def _replayed(self, attempt: Callable[[dict[str, Any]], None], failure: CheckFailed,
                  ) -> CheckFailed:
        """``failure`` after :data:`REPLAYS` fresh replays of its example: labelled
        intermittent only when they disagree."""
        self._stuck = None
        if failure.raw_example is None:
            return failure
        failed = 0
        for _ in range(REPLAYS):
            try:
                attempt(failure.raw_example)
            except CheckFailed:
                failed += 1
        if failed < REPLAYS:
            failure.message += (f" (intermittent: the example failed {failed + 1} of "
                                f"{REPLAYS + 1} runs on fresh connections)")
        return failure

    # ------------------------------------------------------------------ observing

    def processed(self, message_id: str) -> int | None:
        """How often the receiver processed ``message_id``, once processing settles.

        ``None`` when no observer was given. Waits up to ``settle`` seconds for a first
        processing, then a tenth of that (at most 50 ms) for a duplicate one.
        """
        counts = self.processed_counts([message_id])
        return None if counts is None else counts[message_id]

    def processed_counts(self, message_ids: Sequence[str], *, first: bool = True,
                         ) -> dict[str, int] | None:
        """:meth:`processed` for several messages at once (one settling wait for all);
        ``first=False`` does not wait for a first processing (it may never come)."""
        observe = self.observe
        if observe is None:
            return None
        if not message_ids:
            return {}
        deadline = time.monotonic() + (self.settle if first else 0.0)
        waiting = list(message_ids)
        while waiting and time.monotonic() < deadline:
            waiting = [m for m in waiting if observe(m) < 1]
            if waiting:
                time.sleep(0.01)
        time.sleep(min(0.05, self.settle / 10))  # room for a duplicate processing to show
        return {message_id: observe(message_id) for message_id in message_ids}

    def finalize(self, failure: CheckFailed) -> CheckFailed:
        """``failure``, named after the running check, with a ``curl`` command that
        replays its request and when that command's signature expires."""
        failure.check = self.check
        if failure.request is not None:
            failure.curl = curl_command(self.target.url, failure.request, timeout=self.timeout)
            stamp = _signed_timestamp(self.rules, failure.request)
            if stamp is not None:
                failure.expires = stamp + int(self.tolerance)
            signed = self._signed_at.get(failure.request)
            if signed is not None and signed[2]:  # signed with the secret: re-signable
                failure.resign_offset = signed[0] - signed[1]
        return failure
