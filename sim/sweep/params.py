"""What a grid parameter changes in a scenario, and the one simulation a worker runs.

A sweep cell is a mapping of parameter names to values; :func:`apply_cell` turns a base
:class:`~hooklab.sim.scenario.Scenario` and a cell into the scenario of that cell, and
:func:`simulate_cell` runs it with the run's seed and returns the summary (the same keys
as ``hooklab simulate --json``). The parameters:

================  ==========================================================================
name              what it sets
================  ==========================================================================
``policy``        the retry policy of every endpoint (a preset name)
``max_attempts``  caps every endpoint's policy
``failure_rate``  every receiver answers 500 with this probability (replaces its status mix)
``messages``      messages created
``duration``      seconds of arrivals
``workers``       the sender's worker pool (concurrent requests)
``until``         simulated second at which the run is cut off
``rate``          arrival rate, messages per second
``timeout``       every endpoint's request timeout, seconds
``latency``       every receiver's mean latency, seconds (its jitter and distribution kept)
``capacity``      every receiver's concurrent-request limit (``unlimited`` removes it); a
                  receiver without one gets ``overflow = "503"``
``overflow``      ``503`` or ``slow``: what a receiver does past its capacity
``outage_s``      the length of every ``down`` window (each keeps its start; ``0`` removes
                  them); needs a scenario with a down window
================  ==========================================================================

Bad *names* are found before a sweep starts (:func:`check_parameters`); bad *values* (a
failure rate of 1.5) fail only their own cells, which the sweep reports.

Example::

    >>> from hooklab.sim import Scenario
    >>> apply_cell(Scenario.load("default"), {"rate": 5, "timeout": 10}).arrivals.rate
    5
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.model.faults import Capacity, Down, ReceiverModel

from ..parts import EndpointSpec
from ..runner import simulate
from ..scenario import Scenario
from .grid import Value

__all__ = [
    "SWEEP_PARAMETERS",
    "apply_cell",
    "check_parameters",
    "scenario_fingerprint",
    "simulate_cell",
]

_SCENARIO_FIELDS = ("policy", "max_attempts", "failure_rate", "messages", "duration",
                    "workers", "until")  # fmt: skip
_INTEGERS = frozenset({"max_attempts", "messages", "workers", "capacity"})


def _each_endpoint(change: Callable[[EndpointSpec, Any], EndpointSpec]) -> Any:
    def apply(scenario: Scenario, value: Value) -> Scenario:
        endpoints = tuple(change(e, value) for e in scenario.endpoints)
        return scenario.replace(endpoints=endpoints)

    return apply


def _each_receiver(change: Callable[[ReceiverModel, Any], ReceiverModel]) -> Any:
    return _each_endpoint(lambda e, v: dataclasses.replace(e, receiver=change(e.receiver, v)))


def _capacity(model: ReceiverModel, value: Value) -> ReceiverModel:
    if value in ("unlimited", "none"):
        return model.replace(capacity=None)
    old = model.capacity
    if old is None:
        return model.replace(capacity=Capacity(value))  # type: ignore[arg-type]
    return model.replace(capacity=dataclasses.replace(old, limit=value))


def _overflow(model: ReceiverModel, value: Value) -> ReceiverModel:
    if model.capacity is None:
        return model
    return model.replace(capacity=dataclasses.replace(model.capacity, overflow=str(value)))


def _latency(model: ReceiverModel, value: Value) -> ReceiverModel:
    return model.replace(latency=dataclasses.replace(model.latency, mean=value))


def _outage(model: ReceiverModel, value: Value) -> ReceiverModel:
    down = model.down
    if down is None or not down.windows:
        return model
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ScenarioError(f"outage_s must be a number of seconds >= 0, got {value!r}")
    windows = tuple((start, start + value) for start, _ in down.windows) if value > 0 else ()
    if not windows and not down.flap_down:
        return model.replace(down=None)
    return model.replace(down=Down(windows, down.flap_up, down.flap_down, down.flap_offset))


def _arrival_rate(scenario: Scenario, value: Any) -> Scenario:
    return scenario.replace(arrivals=dataclasses.replace(scenario.arrivals, rate=value))


def _field(name: str) -> Callable[[Scenario, Any], Scenario]:
    return lambda scenario, value: scenario.replace(**{name: value})


#: Every grid parameter name a sweep understands, and how it changes a scenario.
SWEEP_PARAMETERS: dict[str, Callable[[Scenario, Any], Scenario]] = {
    **{name: _field(name) for name in _SCENARIO_FIELDS},
    "rate": _arrival_rate,
    "timeout": _each_endpoint(lambda e, v: dataclasses.replace(e, timeout=v)),
    "latency": _each_receiver(_latency),
    "capacity": _each_receiver(_capacity),
    "overflow": _each_receiver(_overflow),
    "outage_s": _each_receiver(_outage),
}


def check_parameters(names: Iterable[str], scenario: Scenario | None = None) -> None:
    """Raise :class:`ConfigError` for a grid parameter no scenario has, before any run.

        >>> check_parameters(["policy", "failure_rate"])
        >>> check_parameters(["colour"])
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ConfigError: grid colour: unknown parameter; known: ...
    """
    for name in names:
        if name not in SWEEP_PARAMETERS:
            raise ConfigError(
                f"grid {name}: unknown parameter; known: {', '.join(sorted(SWEEP_PARAMETERS))}",
                field="grid",
            )
        if name == "outage_s" and scenario is not None and not any(
            e.receiver.down is not None and e.receiver.down.windows for e in scenario.endpoints
        ):
            raise ConfigError(
                f"grid outage_s: scenario {scenario.name!r} has no endpoint with a down window",
                field="grid",
            )


def apply_cell(scenario: Scenario, cell: Mapping[str, Value]) -> Scenario:
    """The scenario of one sweep cell: ``scenario`` with every parameter of ``cell`` set.

    A bad value raises :class:`~hooklab.model.errors.ScenarioError` naming it.
    """
    for name, value in cell.items():
        if name in _INTEGERS and isinstance(value, float) and value.is_integer():
            value = int(value)
        setter = SWEEP_PARAMETERS.get(name)
        if setter is None:
            raise ConfigError(f"grid {name}: unknown parameter", field="grid")
        try:
            scenario = setter(scenario, value)
        except ScenarioError as exc:
            raise ScenarioError(f"{name}={value}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{name}={value}: not a valid value ({exc})") from None
    return scenario


def simulate_cell(scenario: Scenario, cell: Mapping[str, Value], seed: int, *,
                  engine: str = "auto") -> dict[str, Any]:
    """Run the scenario of ``cell`` once with ``seed``; its summary as a nested dict.

    This is the function a sweep's workers run (it keeps no records in memory). With
    ``engine="auto"`` each cell takes the vectorized path when it can (the summary's
    ``engine`` column says which ran).

        >>> s = Scenario.flaky(0.5, messages=50)
        >>> simulate_cell(s, {"max_attempts": 1}, seed=1)["deliveries"]
        50
    """
    cell_scenario = apply_cell(scenario, cell)
    result = simulate(cell_scenario, seed=seed, keep_records=False, progress=False,
                      engine=engine)
    return result.summary.to_dict()


def scenario_fingerprint(scenario: Scenario) -> str:
    """The scenario's name and a digest of its full parameters (what a run id depends on).

        >>> scenario_fingerprint(Scenario.load("default")).startswith("default@")
        True
    """
    text = json.dumps(scenario.to_mapping(), sort_keys=True, default=str)
    return f"{scenario.name}@{hashlib.sha256(text.encode()).hexdigest()[:12]}"
