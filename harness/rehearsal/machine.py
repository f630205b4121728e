"""The rehearsal as a Hypothesis stateful test: trouble is drawn, and a failure shrinks.

:class:`RehearsalMachine` is a :class:`~hypothesis.stateful.RuleBasedStateMachine`. Its
rules script trouble (an outage of some minutes from some minute on, a key rotation, slow
acknowledgements); once they are drawn, ``rehearse`` (run at teardown) plays the provider
twin against a fresh receiver with that trouble and fails with a :class:`RehearsalFailure`
unless every event was processed exactly once (and every message verified after a
rotation). Hypothesis then shrinks the trace of rules to its smallest form, so the failure
reads like
"loses 4 events under the Shopify twin after an outage of 4 h 1 min".

:func:`rehearsal_test` builds the test case in one call
(``test_shopify = rehearsal_test("shopify", make_my_app)``). Or subclass the machine to
rehearse your own receiver: set ``provider`` (a fully covered twin), the
``trouble`` to draw from, and override :meth:`RehearsalMachine.receiver` to build the app
under test from the keys it must accept (and :meth:`RehearsalMachine.observer` to count
what it processed, unless it is a reference receiver)::

    class ShopifyRehearsal(RehearsalMachine):
        provider = "shopify"

        def receiver(self, secrets, clock):
            return make_my_app(secrets)       # an ASGI or WSGI app

    test_shopify = ShopifyRehearsal.TestCase
    ShopifyRehearsal.TestCase.settings = settings(
        deadline=None, database=None, phases=[Phase.explicit, Phase.generate, Phase.shrink])

Each example is one whole rehearsal; leaving out Hypothesis's explain phase (as above)
keeps a shrink to seconds.

The virtual clock is a :class:`~hooklab.harness.clock.FakeClock`; a receiver that reads it
sees signatures at virtual time, one that does not gets them signed at the wall clock.
"""

from __future__ import annotations

import random
import unittest
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from hooklab.model.providers import Twin, get_provider, signing_secret, verifying_secret
from hooklab.model.rehearsal import Plan, RehearsalReport, Trouble, check_rehearsable
from hooklab.model.signing import get_scheme

from ..clock import FakeClock
from ..receiver import ReferenceReceiver, create_receiver
from .observe import Observer
from .runner import run_rehearsal

__all__ = ["TROUBLES", "RehearsalFailure", "RehearsalMachine", "failure_text",
           "rehearsal_test"]

#: The kinds of trouble a machine can draw.
TROUBLES = ("outage", "rotation", "slow")
_MINUTE = 60.0


class RehearsalFailure(AssertionError):
    """A rehearsal in which the receiver did not end with every event exactly once."""

    def __init__(self, report: RehearsalReport, title: str) -> None:
        self.report = report
        super().__init__(failure_text(report, title))


def failure_text(report: RehearsalReport, title: str) -> str:
    """What went wrong, in one sentence, naming the twin and the trouble.

    >>> report = RehearsalReport("shopify", "an outage of 4 h 1 min", events=4, attempts=12,
    ...                          delivered=0, exhausted=1, dropped=3, unverifiable=0,
    ...                          processed=(0, 0, 0, 0))
    >>> failure_text(report, "Shopify")
    'loses 4 events under the Shopify twin after an outage of 4 h 1 min'
    """
    parts = []
    lost = report.never_processed if report.observed else report.lost
    if lost:
        parts.append(f"loses {lost} event{'s' * (lost != 1)}")
    if report.duplicates:
        parts.append(f"processes {report.duplicates} event{'s' * (report.duplicates != 1)} "
                     "more than once")
    if report.unverifiable:
        parts.append(f"cannot verify {report.unverifiable} message"
                     f"{'s' * (report.unverifiable != 1)}")
    what = ", ".join(parts) or "does not end with every event processed exactly once"
    when = "with no trouble" if report.trouble == "no trouble" else f"after {report.trouble}"
    return f"{what} under the {title} twin {when}"


class RehearsalMachine(RuleBasedStateMachine):
    """Draws trouble, rehearses, fails on anything but exactly once; see the module
    docstring. Class attributes say what to rehearse."""

    #: The twin that delivers (a fully covered one).
    provider: ClassVar[str] = "standard"
    #: The trouble drawn, some of :data:`TROUBLES`.
    trouble: ClassVar[tuple[str, ...]] = TROUBLES
    #: Events per rehearsal, one every ``interval`` seconds.
    events: ClassVar[int] = 4
    interval: ClassVar[float] = 900.0
    #: Where in-process requests go.
    path: ClassVar[str] = "/"
    #: Whether the receiver is given the key after a rotation as well as the one before.
    receiver_knows_new_key: ClassVar[bool] = True
    #: Whether signatures carry virtual time (the receiver reads the FakeClock it is
    #: given); None: only for a reference receiver.
    virtual_signatures: ClassVar[bool | None] = None
    #: The shared secret the provider signs with before a rotation, for a receiver with a
    #: fixed one; None: drawn (the key after a rotation is always drawn).
    secret: ClassVar[str | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.twin: Twin = check_rehearsable(get_provider(self.provider))
        unknown = set(self.trouble) - set(TROUBLES)
        if unknown:
            raise ValueError(f"trouble must be among {', '.join(TROUBLES)}, not "
                             f"{', '.join(sorted(unknown))}")
        scheme = get_scheme(self.twin.scheme or "")
        rng = random.Random(f"rehearsal:{self.provider}")
        self.keys = [scheme.generate_keys(rng), scheme.generate_keys(rng)]
        if self.secret is not None:
            self.keys[0] = {"secret": self.secret}
        self.outages: list[tuple[float, float]] = []
        self.rotate_at: float | None = None
        self.slow: float | None = None

    # ------------------------------------------------------------------ to override

    def receiver(self, secrets: Sequence[str], clock: FakeClock) -> Any:
        """A fresh receiver (an ASGI or WSGI app) accepting ``secrets``; by default the
        reference receiver on ``clock``."""
        return create_receiver(list(secrets), scheme=self.twin.scheme or "", clock=clock)

    def observer(self, app: Any) -> Observer | None:
        """How to count what ``app`` processed (None: a reference receiver counts itself,
        anything else goes unobserved)."""
        return None

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: "outage" in self.trouble)
    @rule(start=st.integers(0, 12 * 60), minutes=st.integers(1, 3 * 24 * 60))
    def outage(self, start: int, minutes: int) -> None:
        """The receiver is down for ``minutes`` from minute ``start`` on (one outage per
        rehearsal, the last drawn: traces of one window shrink to their smallest form)."""
        self.outages = [(start * _MINUTE, minutes * _MINUTE)]

    @precondition(lambda self: "rotation" in self.trouble)
    @rule(minute=st.integers(0, 12 * 60))
    def rotate_key(self, minute: int) -> None:
        """The provider signs with the new key from minute ``minute`` on."""
        self.rotate_at = minute * _MINUTE

    @precondition(lambda self: "slow" in self.trouble)
    @rule(seconds=st.integers(0, 120))
    def slow_acks(self, seconds: int) -> None:
        """Every acknowledgement takes ``seconds``."""
        self.slow = float(seconds)

    def teardown(self) -> None:
        """Once the trouble is drawn: :meth:`rehearse` (a failure here shrinks as well)."""
        self.rehearse()

    def rehearse(self) -> None:
        """Play the twin with the trouble so far; fail unless every event ends exactly once."""
        trouble = Trouble(outages=tuple(self.outages), rotate_at=self.rotate_at,
                          slow=self.slow)
        old, new = self.keys
        secrets = [verifying_secret(old)] + (
            [verifying_secret(new)] if self.receiver_knows_new_key else [])
        clock = FakeClock()
        app = self.receiver(secrets, clock)
        observer = self.observer(app)
        report = run_rehearsal(
            app, self.twin, secret=signing_secret(old), new_secret=signing_secret(new),
            trouble=trouble, plan=Plan(events=self.events, interval=self.interval),
            observer=observer, path=self.path,
            clock=clock if self._virtual(app) else None)
        if not report.ok or report.unverifiable:
            raise RehearsalFailure(report, self.twin.title)

    def _virtual(self, app: Any) -> bool:
        if self.virtual_signatures is None:
            return isinstance(app, ReferenceReceiver)
        return self.virtual_signatures


def rehearsal_test(
    provider: str,
    receiver: Callable[[Sequence[str], FakeClock], Any] | None = None,
    *,
    trouble: Sequence[str] = TROUBLES,
    observer: Callable[[Any], Observer | None] | None = None,
    path: str = "/",
    secret: str | None = None,
    max_examples: int = 50,
    derandomize: bool = True,
) -> type[unittest.TestCase]:
    """A test case rehearsing ``provider`` against the app ``receiver(secrets, clock)``
    builds (default: the reference receiver), for a pytest or unittest module:
    ``test_shopify = rehearsal_test("shopify", make_app)``. Its settings leave out the
    explain phase and the example database, so a shrink takes seconds and writes nothing,
    and derandomize (the same examples every run) unless told otherwise.
    """
    attributes: dict[str, Any] = {"provider": provider, "trouble": tuple(trouble),
                                  "path": path, "secret": secret}
    if receiver is not None:
        attributes["receiver"] = lambda self, secrets, clock: receiver(secrets, clock)
    if observer is not None:
        attributes["observer"] = lambda self, app: observer(app)
    check_rehearsable(get_provider(provider))
    unknown = set(trouble) - set(TROUBLES)
    if unknown:
        raise ValueError(f"trouble must be among {', '.join(TROUBLES)}, not "
                         f"{', '.join(sorted(unknown))}")
    machine: type[RehearsalMachine] = type(f"{provider.title()}Rehearsal",
                                           (RehearsalMachine,), attributes)
    case: type[unittest.TestCase] = machine.TestCase
    case.settings = settings(  # type: ignore[attr-defined]
        max_examples=max_examples, deadline=None, database=None, stateful_step_count=6,
        derandomize=derandomize,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow])
    return case
