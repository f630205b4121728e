"""Scenarios: the parameters of one simulation, read from TOML or built in Python.

A :class:`Scenario` says which messages arrive (:class:`~hooklab.sim.parts.Arrivals`),
which endpoints they fan out to (:class:`~hooklab.sim.parts.EndpointSpec`, each with its
event-type filter, retry policy, request timeout, auto-disable rule and receiver
:class:`~hooklab.model.faults.ReceiverModel`), how many sender workers deliver them, and
when the run is cut off. It holds parameters only; :func:`hooklab.sim.simulate` runs it
(Ciw's split: parameters, runner, records). The parts live in :mod:`hooklab.sim.parts` and
the TOML shape in :mod:`hooklab.sim.scenario_toml`; this module puts the two together and
re-exports the parts.

Three fields, when set, apply to *every* endpoint and win over the endpoints' own values,
so a flag or a sweep cell changes one thing everywhere:

- ``policy``: a preset name or a policy table (:func:`~hooklab.model.policy_from_config`);
- ``max_attempts``: caps each policy;
- ``failure_rate``: replaces each receiver's status mix by independent 500s at that rate;
  its other faults (``timeout``, ``reset``, ``truncated``, ``down``, ``capacity``...) stay,
  so a request may fail more often than ``failure_rate`` (the default scenario's flaky
  endpoint adds 3 % resets and timeouts).

A scenario file is TOML with the same keys (see ``sim/scenarios/*.toml``)::

    name = "demo"
    messages = 1000
    policy = "svix"
    [arrivals]
    process = "poisson"     # poisson | uniform | burst | trace
    rate = 10.0             # messages per second
    [[endpoints]]
    id = "flaky"
    receiver = { status = "500:0.3", latency = "0.1:0.05" }

Example::

    >>> Scenario.load("default").endpoints[2].id
    'down'
    >>> Scenario.load("default").replace(failure_rate=0.3).failure_rate
    0.3
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.model.faults import ReceiverModel
from hooklab.model.retry import RetryPolicy

from .parts import (
    ARRIVAL_PROCESSES,
    Arrivals,
    AutoDisable,
    Burst,
    EndpointSpec,
    check_nonnegative,
    resolve_policy,
)
from .scenario_toml import scenario_fields, scenario_to_mapping

__all__ = [
    "ARRIVAL_PROCESSES",
    "Arrivals",
    "AutoDisable",
    "Burst",
    "MAX_DELIVERIES",
    "MAX_ENDPOINTS",
    "EndpointSpec",
    "Scenario",
    "named_scenarios",
]

#: The most deliveries (messages × endpoints) one run may have: each delivered one keeps
#: 8 bytes for the percentiles, so a run stays under ~160 MB.
MAX_DELIVERIES = 20_000_000
#: The most endpoints one scenario may have.
MAX_ENDPOINTS = 1_000

@dataclass(frozen=True)
class Scenario:
    """Everything one simulation needs; see the module docstring. Validated when built."""

    name: str = "custom"
    description: str = ""
    messages: int | None = 1000
    duration: float | None = None
    arrivals: Arrivals = field(default_factory=Arrivals)
    endpoints: tuple[EndpointSpec, ...] = field(
        default_factory=lambda: (EndpointSpec("endpoint"),))
    policy: str | Mapping[str, Any] | None = None
    max_attempts: int | None = None
    failure_rate: float | None = None
    workers: int | None = None
    until: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.messages is not None and (
            isinstance(self.messages, bool) or not isinstance(self.messages, int)
            or self.messages < 0
        ):
            raise ScenarioError(f"messages must be an integer >= 0, got {self.messages!r}")
        if self.duration is not None:
            check_nonnegative(self.duration, "duration")
        if (self.messages is None and self.duration is None
                and self.arrivals.process in ("poisson", "uniform")):
            raise ScenarioError("give messages or a duration for the arrivals")
        if not self.endpoints:
            raise ScenarioError("a scenario needs at least one endpoint")
        if len(self.endpoints) > MAX_ENDPOINTS:
            raise ScenarioError(f"a scenario may have at most {MAX_ENDPOINTS:,} endpoints, "
                                f"got {len(self.endpoints):,}", field="endpoints")
        self._check_size()
        ids = [e.id for e in self.endpoints]
        if len(set(ids)) != len(ids):
            raise ScenarioError(f"endpoint ids must be unique, got {ids}")
        if self.policy is not None:
            resolve_policy(self.policy, "policy")
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ScenarioError(f"max_attempts must be an integer >= 1, got {self.max_attempts!r}")
        if self.failure_rate is not None and not (
            isinstance(self.failure_rate, int | float) and 0 <= self.failure_rate <= 1
        ):
            raise ScenarioError(f"failure_rate must be in [0, 1], got {self.failure_rate!r}")
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int)
            or self.workers < 1
        ):
            raise ScenarioError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.until is not None:
            check_nonnegative(self.until, "until")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ScenarioError(f"seed must be an integer, got {self.seed!r}")
        for endpoint in self.endpoints:
            self.policy_for(endpoint)

    def _check_size(self) -> None:
        arrivals = self.arrivals
        if self.messages is not None:
            count, what = float(self.messages), "messages"
        elif self.duration is not None and arrivals.process in ("poisson", "uniform"):
            count, what = arrivals.rate * self.duration, "rate × duration"
        else:
            return
        count += sum(b.count for b in arrivals.bursts)
        if count * len(self.endpoints) > MAX_DELIVERIES:
            raise ScenarioError(
                f"{what} gives about {count:,.0f} messages × {len(self.endpoints):,} "
                f"endpoint(s), over the limit of {MAX_DELIVERIES:,} deliveries per run "
                "(split it into runs, e.g. a sweep's replications)", field="messages")

    # -- what the runner reads -------------------------------------------------------------

    def policy_for(self, endpoint: EndpointSpec) -> RetryPolicy:
        """The retry policy ``endpoint`` runs: the scenario's when set, else its own,
        capped by ``max_attempts``."""
        spec = self.policy if self.policy is not None else endpoint.policy
        policy = resolve_policy(spec, f"endpoint {endpoint.id!r} policy")
        if self.max_attempts is not None and self.max_attempts != policy.max_attempts:
            policy = _checked(lambda: policy.replace(max_attempts=self.max_attempts),
                              "max_attempts")
        return policy

    def receiver_for(self, endpoint: EndpointSpec) -> ReceiverModel:
        """The receiver model of ``endpoint``, with ``failure_rate`` applied."""
        if self.failure_rate is None:
            return endpoint.receiver
        flaky = ReceiverModel.flaky(self.failure_rate)
        return _checked(lambda: endpoint.receiver.replace(status=flaky.status), "failure_rate")

    # -- building ---------------------------------------------------------------------------

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` (checked like a new scenario).

            >>> Scenario().replace(messages=5).messages
            5
        """
        known = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in known:
                raise ScenarioError(
                    f"unknown scenario field {key!r}; known: {', '.join(sorted(known))}"
                )
        return dataclasses.replace(self, **changes)

    @classmethod
    def flaky(cls, failure_rate: float, *, messages: int = 10_000, rate: float = 10.0,
              policy: str | Mapping[str, Any] = "diagram") -> Scenario:
        """One endpoint with independent failures at ``failure_rate`` and nothing else:
        no latency, no outage, no capacity limit (results match the closed forms).

            >>> Scenario.flaky(0.2).endpoints[0].receiver.status[0].rate
            0.2
        """
        if not isinstance(failure_rate, int | float) or not 0 <= failure_rate <= 1:
            raise ScenarioError(f"failure_rate must be in [0, 1], got {failure_rate!r}")
        endpoint = EndpointSpec("endpoint", receiver=ReceiverModel.flaky(failure_rate))
        return cls(name=f"flaky-{failure_rate:g}", messages=messages,
                   arrivals=Arrivals("poisson", rate), endpoints=(endpoint,), policy=policy,
                   failure_rate=failure_rate)

    @classmethod
    def load(cls, source: str | Path) -> Scenario:
        """A scenario from a TOML file path, or a shipped one by name (``outage-storm``).

        Errors (a missing file, bad TOML, unknown keys, bad values) are
        :class:`ScenarioError` naming the file and the problem.
        """
        path = Path(source)
        if path.suffix == ".toml" or path.exists() or "/" in str(source):
            if path.is_dir():
                raise ScenarioError(f"scenario file {str(source)!r} is a directory, not a file")
            if not path.is_file():
                raise ScenarioError(f"scenario file {str(source)!r} does not exist")
            text, where, base = _read(path), str(path), path.parent
        else:
            shipped = _shipped(str(source))
            text, where, base = shipped.read_text(encoding="utf-8"), str(source), None
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"scenario {where!r} is not valid TOML: {exc}") from None
        return cls._from_table(table, where, base)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], *, where: str = "scenario") -> Scenario:
        """A scenario from a TOML-style table (as a scenario file holds).

            >>> Scenario.from_mapping({"messages": 10, "endpoints": [{"id": "a"}]}).messages
            10
        """
        return cls._from_table(table, where, None)

    @classmethod
    def _from_table(cls, table: Mapping[str, Any], where: str, base: Path | None) -> Scenario:
        fields = scenario_fields(table, where=where, base=base)
        try:
            return cls(**fields)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None

    def to_mapping(self) -> dict[str, Any]:
        """The scenario as a TOML-style table that :meth:`from_mapping` reads back."""
        return scenario_to_mapping(self)


def named_scenarios() -> tuple[str, ...]:
    """The names of the scenarios shipped in ``hooklab.sim``'s ``scenarios/`` folder.

        >>> "outage-storm" in named_scenarios()
        True
    """
    folder = resources.files("hooklab.sim") / "scenarios"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


def _shipped(name: str) -> Any:
    folder = resources.files("hooklab.sim") / "scenarios"
    resource = folder / f"{name}.toml"
    if not resource.is_file():
        raise ScenarioError(
            f"no scenario file or named scenario {name!r}; named scenarios: "
            f"{', '.join(named_scenarios())}"
        )
    return resource


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario file {str(path)!r}: {exc}") from None


def _checked(build: Any, what: str) -> Any:
    try:
        return build()
    except ConfigError as exc:
        raise ScenarioError(f"{what}: {exc}") from None
