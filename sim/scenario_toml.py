"""Reading and writing scenario tables: the TOML shape of a :class:`~hooklab.sim.Scenario`.

This codec builds the parts (:mod:`hooklab.sim.parts`) and hands the scenario's checked
fields to :meth:`Scenario.load <hooklab.sim.Scenario.load>` /
:meth:`~hooklab.sim.Scenario.from_mapping`, which build the scenario itself: the scenario
module imports this one, never the other way round.

Every key is checked: an unknown key, a wrong type or a bad value raises
:class:`~hooklab.model.errors.ScenarioError` naming the file and the key
(``outage-storm.toml: endpoints[1].receiver.latency: ...``). One convenience exists only
here: an endpoint's ``key_rotation = {at, grace, receiver_updates_at}`` becomes the 401
window of a receiver that knows only the old key, from the end of the grace period until
it learns the new one.

Example::

    >>> fields = scenario_fields({"messages": 10, "endpoints": [{"id": "a"}]})
    >>> fields["endpoints"][0].id, fields["messages"]
    ('a', 10)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.model.faults import ReceiverModel

from .parts import Arrivals, AutoDisable, Burst, EndpointSpec

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["scenario_fields", "scenario_to_mapping"]

_TOP = ("name", "description", "messages", "duration", "arrivals", "endpoints", "policy",
        "max_attempts", "failure_rate", "workers", "until", "seed")
_ARRIVALS = ("process", "rate", "at", "trace", "bursts", "event_types")
_ENDPOINT = ("id", "events", "policy", "timeout", "receiver", "auto_disable", "key_rotation")
_AUTO_DISABLE = ("consecutive", "window", "gone")
_ROTATION = ("at", "grace", "receiver_updates_at")


def scenario_fields(
    table: Mapping[str, Any], *, where: str = "scenario", base: Path | None = None
) -> dict[str, Any]:
    """The keyword arguments of a :class:`~hooklab.sim.Scenario` from a TOML-style table,
    every part built and checked; ``base`` resolves a relative trace path."""
    _keys(table, _TOP, where)
    kwargs: dict[str, Any] = {k: table[k] for k in _TOP if k in table
                              and k not in ("arrivals", "endpoints")}
    if "arrivals" in table:
        kwargs["arrivals"] = _arrivals(table["arrivals"], f"{where}: arrivals", base)
    if "messages" not in table and (
        "duration" in table or kwargs.get("arrivals", Arrivals()).process == "trace"
    ):
        kwargs["messages"] = None  # the duration (or the whole trace) bounds the arrivals
    if "endpoints" in table:
        endpoints = table["endpoints"]
        if not isinstance(endpoints, list):
            raise ScenarioError(f"{where}: endpoints must be an array of tables ([[endpoints]])")
        kwargs["endpoints"] = tuple(
            _endpoint(e, f"{where}: endpoints[{i}]") for i, e in enumerate(endpoints)
        )
    return kwargs


def scenario_to_mapping(scenario: Scenario) -> dict[str, Any]:
    """The TOML-style table of ``scenario`` (``None`` values left out)."""
    out: dict[str, Any] = {}
    for key in _TOP:
        value = getattr(scenario, key)
        if value is None or key in ("arrivals", "endpoints"):
            continue
        out[key] = dict(value) if isinstance(value, Mapping) else value
    a = scenario.arrivals
    arrivals: dict[str, Any] = {"process": a.process, "rate": a.rate, "at": a.at,
                                "event_types": dict(a.event_types)}
    if a.trace:
        arrivals["trace"] = a.trace
    if a.bursts:
        arrivals["bursts"] = [{"at": b.at, "count": b.count} for b in a.bursts]
    out["arrivals"] = arrivals
    out["endpoints"] = [
        {"id": e.id, "events": list(e.events),
         "policy": dict(e.policy) if isinstance(e.policy, Mapping) else e.policy,
         "timeout": e.timeout, "receiver": e.receiver.to_mapping(),
         "auto_disable": {k: v for k in _AUTO_DISABLE
                          if (v := getattr(e.auto_disable, k)) is not None}}
        for e in scenario.endpoints
    ]
    return out


def _keys(table: Any, known: tuple[str, ...], where: str) -> None:
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{where} must be a table, got {table!r}")
    for key in table:
        if key not in known:
            raise ScenarioError(f"{where}: unknown key {key!r}; known: {', '.join(known)}")


def _arrivals(table: Any, where: str, base: Path | None) -> Arrivals:
    _keys(table, _ARRIVALS, where)
    kwargs = {k: table[k] for k in ("process", "rate", "at") if k in table}
    if "trace" in table:
        trace = table["trace"]
        if not isinstance(trace, str):
            raise ScenarioError(f"{where}.trace must be a file path, got {trace!r}")
        path = Path(trace)
        kwargs["trace"] = str(base / path) if base is not None and not path.is_absolute() \
            else trace
        kwargs.setdefault("process", "trace")
    if "bursts" in table:
        bursts = table["bursts"]
        if not isinstance(bursts, list):
            raise ScenarioError(f"{where}.bursts must be an array of {{at, count}} tables")
        out = []
        for i, b in enumerate(bursts):
            _keys(b, ("at", "count"), f"{where}.bursts[{i}]")
            out.append(_build(Burst, f"{where}.bursts[{i}]", at=b.get("at", 0.0),
                              count=b.get("count", 0)))
        kwargs["bursts"] = tuple(out)
    if "event_types" in table:
        types = table["event_types"]
        if isinstance(types, str):
            types = [types]
        if isinstance(types, list):
            kwargs["event_types"] = tuple((str(t), 1.0) for t in types)
        elif isinstance(types, Mapping):
            kwargs["event_types"] = tuple((str(k), v) for k, v in types.items())
        else:
            raise ScenarioError(f"{where}.event_types must be a list or a table of weights")
    return _build(Arrivals, where, **kwargs)


def _endpoint(table: Any, where: str) -> EndpointSpec:
    _keys(table, _ENDPOINT, where)
    if "id" not in table:
        raise ScenarioError(f"{where}: missing key 'id' (every endpoint needs one)")
    kwargs: dict[str, Any] = {k: table[k] for k in ("id", "policy", "timeout") if k in table}
    if "events" in table:
        events = table["events"]
        if not isinstance(events, str | list):
            raise ScenarioError(f"{where}.events must be a pattern or a list of patterns, "
                                f"got {events!r}")
        kwargs["events"] = (events,) if isinstance(events, str) else tuple(events)
    receiver = table.get("receiver", {})
    if isinstance(receiver, str):
        try:
            model = ReceiverModel.parse(receiver)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}.{exc}") from None
    else:
        model = ReceiverModel.from_mapping(receiver, where=f"{where}.receiver")
    if "key_rotation" in table:
        model = _rotation(model, table["key_rotation"], f"{where}.key_rotation")
    kwargs["receiver"] = model
    if "auto_disable" in table:
        rule = table["auto_disable"]
        _keys(rule, _AUTO_DISABLE, f"{where}.auto_disable")
        kwargs["auto_disable"] = _build(AutoDisable, f"{where}.auto_disable", **rule)
    return _build(EndpointSpec, where, **kwargs)


def _rotation(model: ReceiverModel, table: Any, where: str) -> ReceiverModel:
    _keys(table, _ROTATION, where)
    try:
        at = float(table["at"])
        grace = float(table.get("grace", 0.0))
        learns = float(table["receiver_updates_at"])
    except (KeyError, TypeError, ValueError):
        raise ScenarioError(f"{where} needs numbers at, grace and receiver_updates_at") from None
    start = at + grace
    if learns <= start:
        return model  # the receiver learns the new key before the old one stops signing
    return model.replace(unauthorized=(*model.unauthorized, (start, learns)))


def _build(cls: Any, where: str, **kwargs: Any) -> Any:
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # ScenarioError, or a model part's ConfigError
        raise ScenarioError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
