"""Which scenarios the vectorized path can run, and why the others need the event engine.

The vectorized path advances every open delivery one attempt round at a time, so it holds
only for deliveries that share nothing: no resource whose state one delivery changes for
another (a bounded worker pool, a receiver's capacity, an endpoint that auto-disables), no
receiver lane whose time adds to an answer (the processing lane), and no jitter that needs
the delivery's own previous delay (decorrelated jitter). :func:`why_not` names the first
of these a scenario has, or returns ``None`` when the vectorized path can run it.

Example::

    >>> from hooklab.sim.scenario import Scenario
    >>> why_not(Scenario.load("flaky-receiver")) is None
    True
    >>> why_not(Scenario.load("outage-storm"))
    'a bounded worker pool (workers = 500)'
"""

from __future__ import annotations

from hooklab.model.backoff import DecorrelatedJitter
from hooklab.model.faults import ReceiverModel

from ..scenario import Scenario

__all__ = ["may_answer_gone", "why_not"]


def may_answer_gone(model: ReceiverModel) -> bool:
    """Whether ``model`` can answer 410 Gone (a ``gone`` time, a script step or a status).

        >>> may_answer_gone(ReceiverModel.parse("gone=60"))
        True
    """
    return (model.gone is not None or 410 in model.script
            or any(s.code == 410 for s in model.status))


def why_not(scenario: Scenario) -> str | None:
    """The reason ``scenario`` needs the event engine, or ``None`` if the vectorized path
    runs it (see the module docstring)."""
    if scenario.workers is not None:
        return f"a bounded worker pool (workers = {scenario.workers})"
    for spec in scenario.endpoints:
        model = scenario.receiver_for(spec)
        where = f"endpoint {spec.id!r}"
        if model.capacity is not None:
            return f"{where} has a receiver capacity (capacity = {model.capacity.limit})"
        if model.processing is not None:
            return f"{where} has a processing lane"
        auto = spec.auto_disable
        if auto.consecutive is not None:
            return f"{where} auto-disables after {auto.consecutive} consecutive failures"
        if auto.window is not None:
            return f"{where} auto-disables after failing for {auto.window:g} s"
        if auto.gone and may_answer_gone(model):
            return f"{where} auto-disables on 410 Gone"
        policy = scenario.policy_for(spec)
        if isinstance(policy.jitter, DecorrelatedJitter):
            return (f"{where}'s policy {policy.name!r} has a jitter that depends on the "
                    "previous delay (decorrelated)")
    return None
