"""The parts a scenario is built of: arrivals, bursts, endpoints and their auto-disable rule
(:class:`~hooklab.model.auto_disable.AutoDisable`, the one rule the outbox uses too).

Each part is a frozen dataclass checked when it is built: a bad value raises
:class:`~hooklab.model.errors.ScenarioError` naming it. :class:`~hooklab.sim.Scenario`
(:mod:`hooklab.sim.scenario`) puts them together, and the TOML codec
(:mod:`hooklab.sim.scenario_toml`) reads and writes them; both import this module, which
imports neither.

Example::

    >>> EndpointSpec("flaky", events="invoice.*", timeout=5).events
    ('invoice.*',)
    >>> Burst(at=60.0, count=-1)
    Traceback (most recent call last):
    ...
    hooklab.model.errors.ScenarioError: burst count must be an integer >= 0, got -1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hooklab.model.auto_disable import AutoDisable
from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.model.faults import ReceiverModel
from hooklab.model.policy_config import policy_from_config
from hooklab.model.retry import RetryPolicy

__all__ = [
    "ARRIVAL_PROCESSES",
    "Arrivals",
    "AutoDisable",
    "Burst",
    "EndpointSpec",
    "check_nonnegative",
    "resolve_policy",
]

#: How messages arrive: Poisson at ``rate``, evenly spaced at ``rate``, all at once at
#: ``at``, or replayed from a CSV ``trace``.
ARRIVAL_PROCESSES = ("poisson", "uniform", "burst", "trace")
_DEFAULT_EVENT_TYPES: tuple[tuple[str, float], ...] = (("message.created", 1.0),)


@dataclass(frozen=True)
class Burst:
    """``count`` extra messages, all arriving at time ``at``."""

    at: float
    count: int

    def __post_init__(self) -> None:
        check_nonnegative(self.at, "burst at")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
            raise ScenarioError(f"burst count must be an integer >= 0, got {self.count!r}")


@dataclass(frozen=True)
class Arrivals:
    """How messages arrive, and which event types they carry (weights, drawn per message).

    ``trace`` is a CSV file with a ``time`` column (seconds) and optional ``event_type``
    and ``message_id`` columns; ``bursts`` add to any process.
    """

    process: str = "poisson"
    rate: float = 10.0
    at: float = 0.0
    trace: str | None = None
    bursts: tuple[Burst, ...] = ()
    event_types: tuple[tuple[str, float], ...] = _DEFAULT_EVENT_TYPES

    def __post_init__(self) -> None:
        if self.process not in ARRIVAL_PROCESSES:
            raise ScenarioError(
                f"arrival process {self.process!r} is unknown; use one of "
                f"{', '.join(ARRIVAL_PROCESSES)}"
            )
        if self.process in ("poisson", "uniform") and not (
            isinstance(self.rate, int | float) and 0 < self.rate < math.inf
        ):
            raise ScenarioError(f"arrival rate must be > 0 messages/s, got {self.rate!r}")
        check_nonnegative(self.at, "arrivals at")
        if self.process == "trace" and not self.trace:
            raise ScenarioError("arrival process 'trace' needs a trace file (trace = 'x.csv')")
        if not self.event_types:
            raise ScenarioError("arrivals need at least one event type")
        for name, weight in self.event_types:
            if not isinstance(name, str) or not name:
                raise ScenarioError(f"event type {name!r} must be a non-empty string")
            if not isinstance(weight, int | float) or not 0 < weight < math.inf:
                raise ScenarioError(f"event type {name!r}: weight must be > 0, got {weight!r}")


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint: its filter, policy, request ``timeout`` (s) and receiver model."""

    id: str
    events: tuple[str, ...] = ("*",)
    policy: str | Mapping[str, Any] = "diagram"
    timeout: float = 15.0
    receiver: ReceiverModel = field(default_factory=ReceiverModel)
    auto_disable: AutoDisable = field(default_factory=AutoDisable)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ScenarioError(f"endpoint id {self.id!r} must be a non-empty string")
        if isinstance(self.events, str):
            object.__setattr__(self, "events", (self.events,))
        if not self.events:
            raise ScenarioError(f"endpoint {self.id!r}: events needs at least one pattern")
        try:
            from hooklab.model.endpoints import event_filter

            event_filter(tuple(self.events))
        except ConfigError as exc:
            raise ScenarioError(f"endpoint {self.id!r}: {exc}") from None
        if not isinstance(self.timeout, int | float) or not 0 < self.timeout < math.inf:
            raise ScenarioError(
                f"endpoint {self.id!r}: timeout must be > 0 seconds, got {self.timeout!r}"
            )
        resolve_policy(self.policy, f"endpoint {self.id!r} policy")


def resolve_policy(spec: str | Mapping[str, Any], what: str) -> RetryPolicy:
    """The retry policy a preset name or a policy table stands for; a bad one is a
    :class:`~hooklab.model.errors.ScenarioError` starting with ``what``.

        >>> resolve_policy("svix", "policy").max_attempts
        8
    """
    try:
        return policy_from_config(spec)
    except ConfigError as exc:
        raise ScenarioError(f"{what}: {exc}") from None


def check_nonnegative(value: Any, what: str) -> None:
    """Raise :class:`~hooklab.model.errors.ScenarioError` unless ``value`` is a finite
    number >= 0 (a bool is not a number here).

        >>> check_nonnegative(-1, "until")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: until must be a finite number >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        0 <= value < math.inf
    ):
        raise ScenarioError(f"{what} must be a finite number >= 0, got {value!r}")
