"""The hooklab pytest plugin: the receiver conformance checks as tests of your own suite.

Installing hooklab registers this plugin (entry point ``hooklab``). It is a thin entry
point over :func:`hooklab.harness.conformance.run_checks`, like ``hooklab check``, and it
needs no network: the checks call your ASGI or WSGI app in-process.

Turn every check into its own test, named after the check::

    from hooklab.harness.pytest_plugin import hooklab_checks
    from myapp import app, processed_count

    test_webhook_receiver = hooklab_checks(app, secret=SECRET, path="/webhooks",
                                           observe=processed_count)

or run them from a test with the ``hooklab_conformance`` fixture::

    def test_receiver_conforms(hooklab_conformance):
        report = hooklab_conformance(app, secret=SECRET)
        assert report.passed, report.failed

``--hooklab-max-examples N`` and ``--hooklab-seed S`` set the Hypothesis budget and seed
for every check. This module imports only pytest until a check runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .conformance import Report

__all__ = ["hooklab_checks", "hooklab_conformance", "pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--hooklab-max-examples`` and ``--hooklab-seed``."""
    group = parser.getgroup("hooklab", "webhook receiver conformance checks")
    group.addoption("--hooklab-max-examples", type=int, default=None, metavar="N",
                    help="examples Hypothesis tries per conformance check (default: 100)")
    group.addoption("--hooklab-seed", type=int, default=None, metavar="S",
                    help="Hypothesis seed for the conformance checks (default: derandomized)")


def _options(config: pytest.Config, options: dict[str, Any]) -> dict[str, Any]:
    merged = dict(options)
    for name in ("max_examples", "seed"):
        value = config.getoption(f"hooklab_{name}", None)
        if value is not None:
            merged[name] = value
    return merged


def hooklab_checks(app_or_url: Any, *, secret: str, scheme: str = "standard",
                   checks: Iterable[str] | None = None, **options: Any) -> Callable[..., None]:
    """A test function parametrized by check name: one test per conformance check.

    Assign it to a ``test_`` name in a test module. ``options`` go to
    :func:`~hooklab.harness.conformance.run_checks` (``path``, ``timeout``,
    ``max_examples``, ``seed``, ``tolerance``, ``observe``, ``provider``,
    ``reject_status``...). A failing check raises its
    :class:`~hooklab.harness.conformance.CheckFailed` (an ``AssertionError``) with the
    minimal example and a ``curl`` command; a check that does not apply to the scheme, or
    is inconclusive, is skipped with the reason.
    """
    from .conformance.registry import select

    names = select(checks)

    @pytest.mark.parametrize("hooklab_check", names)
    def test_conformance(hooklab_check: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        from .conformance import run_checks

        report = run_checks(app_or_url, secret=secret, scheme=scheme, checks=[hooklab_check],
                            **_options(request.config, options))
        _raise_for(report)

    return test_conformance


def _raise_for(report: Report) -> None:
    """Turn a one-check report into a pytest outcome."""
    __tracebackhide__ = True
    from .conformance import BLOCKED, INCONCLUSIVE, SKIPPED, CheckFailed

    (result,) = report.results
    if result.status == SKIPPED:
        pytest.skip(result.reason or "not applicable")
    if result.status == INCONCLUSIVE:
        pytest.skip(f"inconclusive: {result.reason}")
    if result.status == BLOCKED:
        pytest.fail(result.reason or "blocked", pytrace=False)
    for finding in result.findings:
        failure = CheckFailed(finding.title, finding.message)
        failure.check, failure.example, failure.curl = result.name, finding.example, finding.curl
        failure.expires = finding.expires
        raise failure


@pytest.fixture
def hooklab_conformance(request: pytest.FixtureRequest) -> Callable[..., Report]:
    """Run conformance checks from a test: ``hooklab_conformance(app, secret=S) -> Report``.

    Command-line ``--hooklab-max-examples`` and ``--hooklab-seed`` apply unless given.
    """

    def run(app_or_url: Any, **options: Any) -> Report:
        from .conformance import run_checks

        merged = _options(request.config, {})
        merged.update(options)
        return run_checks(app_or_url, **merged)

    return run
