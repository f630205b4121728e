"""The spellings of a receiver's faults: compact ``name=value`` tokens and TOML tables.

One parser per fault (see the table in :mod:`hooklab.model.faults`); each reads either a
compact string (``"503:0.3:60"``) or a TOML value (``{code = 503, rate = 0.3}``), so a
scenario file, the simulator's options and the flaky receiver's options all read alike.
Errors are :class:`~hooklab.model.errors.ScenarioError` naming the offending key.

This module turns spellings into the keyword arguments of a
:class:`~hooklab.model.faults.receiver.ReceiverModel` (and back) without knowing that class:
it imports only the fault classes, and the receiver model imports it.

Example::

    >>> tokens_to_table("status=503:0.3 status=500:0.1 gone=60")
    {'status': ['503:0.3', '500:0.1'], 'gone': '60'}
    >>> table_to_faults({"script": "500,timeout,200"})
    {'script': (500, 'timeout', 200)}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from ..errors import ScenarioError
from .kinds import (
    FAULT_NAMES,
    Bandwidth,
    Capacity,
    Down,
    EventProcessor,
    Latency,
    SlowClose,
    StatusFault,
)

__all__ = ["faults_to_table", "table_to_faults", "tokens_to_table"]


def tokens_to_table(text: str | Iterable[str]) -> dict[str, Any]:
    """The table that compact ``name=value`` tokens (separated by spaces or ``;``) spell.

    ``status`` may repeat (its values are listed); any other fault given twice is an error.

        >>> tokens_to_table("timeout=0.1; timeout=0.2")
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ScenarioError: receiver fault 'timeout' is given twice
    """
    tokens = text.replace(";", " ").split() if isinstance(text, str) else list(text)
    table: dict[str, Any] = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        name = _canonical(name.strip())
        if not sep or not value:
            raise ScenarioError(f"receiver fault {token!r} must be written name=value")
        if name == "status":
            table.setdefault("status", []).append(value)
        elif name in table:
            raise ScenarioError(f"receiver fault {name!r} is given twice")
        else:
            table[name] = value
    return table


def table_to_faults(table: Mapping[str, Any], *, where: str = "receiver") -> dict[str, Any]:
    """Each fault of a TOML table (values are tables or compact strings), read and checked.

    Errors name the offending key, prefixed with ``where``.

        >>> table_to_faults({"latency": "0.2:0.05"})
        {'latency': Latency(mean=0.2, jitter=0.05, distribution='uniform')}
    """
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{where} must be a table of faults, got {table!r}")
    faults: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = _canonical(str(raw_key))
        if key not in FAULT_NAMES:
            raise ScenarioError(
                f"{where}: unknown fault {raw_key!r}; use one of {', '.join(FAULT_NAMES)}"
            )
        try:
            faults[key] = _PARSERS[key](value)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}.{key}: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError):
            form = _FORMS.get(key)
            hint = f"; expected {key}={form}" if form else ""
            raise ScenarioError(f"{where}.{key}: cannot read {value!r}{hint}") from None
    return faults


def faults_to_table(faults: Mapping[str, Any]) -> dict[str, Any]:
    """The TOML-ready table of some faults (by name); :func:`table_to_faults` reads it.

        >>> faults_to_table({"down": Down(windows=((0.0, 60.0),)), "timeout": 0.1})
        {'down': {'windows': [[0.0, 60.0]]}, 'timeout': 0.1}
    """
    out: dict[str, Any] = {}
    for name, value in faults.items():
        if name == "status":
            out[name] = [_plain(s) for s in value]
        elif name in ("script", "unauthorized"):
            out[name] = [list(v) if isinstance(v, tuple) else v for v in value]
        elif hasattr(value, "__dataclass_fields__"):
            out[name] = _plain(value)
        else:
            out[name] = value
    return out


#: The compact form of each fault's value, for error messages (as ``serve flaky --help``).
_FORMS = {
    "status": "CODE:RATE[:RETRY_AFTER]", "latency": "MEAN[:JITTER[:DISTRIBUTION]]",
    "timeout": "RATE", "reset": "RATE", "truncated": "RATE", "slow_close": "DELAY[:RATE]",
    "bandwidth": "BYTES_PER_S[:BODY_BYTES]",
    "down": "START:END[,START:END] or flap:UP:DOWN[:OFFSET]",
    "capacity": "N[:503|slow[:RETRY_AFTER]]", "script": "STEP[,STEP...]",
    "unauthorized": "START:END[,START:END]", "gone": "AT",
    "processing": "TIME[:FAILURE_RATE][:sync]",
}

_ALIASES = {"401": "unauthorized", "410": "gone", "overload": "capacity", "flap": "down",
            "slow-close": "slow_close", "processor": "processing"}


def _canonical(name: str) -> str:
    return _ALIASES.get(name, name)


def _plain(obj: Any) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value != f.default or f.name in ("code", "rate", "limit"):
            out[f.name] = [list(v) for v in value] if f.name == "windows" else value
    return out


# -- parsers: one per fault, each reading a compact string or a TOML value ----------------


def _num(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _parts(value: str) -> list[str]:
    return [p.strip() for p in value.split(":")]


def _p_status(value: Any) -> tuple[StatusFault, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, Mapping):
            ra = item.get("retry_after")
            out.append(StatusFault(int(item["code"]), _num(item.get("rate", 1.0)),
                                   None if ra is None else _num(ra)))
            continue
        for chunk in str(item).split(","):
            p = _parts(chunk)
            if not 1 <= len(p) <= 3:
                raise ScenarioError(f"write status as CODE:RATE[:RETRY_AFTER], got {chunk!r}")
            rate = _num(p[1]) if len(p) > 1 else 1.0
            out.append(StatusFault(int(p[0]), rate, _num(p[2]) if len(p) > 2 else None))
    return tuple(out)


def _p_latency(value: Any) -> Latency:
    if isinstance(value, Mapping):
        return Latency(_num(value.get("mean", 0.0)), _num(value.get("jitter", 0.0)),
                       str(value.get("distribution", "uniform")))
    if isinstance(value, int | float):
        return Latency(_num(value))
    p = _parts(str(value))
    if len(p) > 3:
        raise ScenarioError(f"write latency as MEAN[:JITTER[:DISTRIBUTION]], got {value!r}")
    return Latency(_num(p[0]), _num(p[1]) if len(p) > 1 else 0.0,
                   p[2] if len(p) > 2 else "uniform")


def _p_rate(value: Any) -> float:
    return _num(value.get("rate") if isinstance(value, Mapping) else value)


def _p_slow_close(value: Any) -> SlowClose:
    if isinstance(value, Mapping):
        return SlowClose(_num(value["delay"]), _num(value.get("rate", 1.0)))
    p = _parts(str(value))
    return SlowClose(_num(p[0]), _num(p[1]) if len(p) > 1 else 1.0)


def _p_bandwidth(value: Any) -> Bandwidth:
    if isinstance(value, Mapping):
        return Bandwidth(_num(value["bytes_per_second"]), int(value.get("body_bytes", 1024)))
    p = _parts(str(value))
    return Bandwidth(_num(p[0]), int(p[1]) if len(p) > 1 else 1024)


def _p_windows(value: Any) -> tuple[tuple[float, float], ...]:
    if isinstance(value, str):
        value = [_parts(w) for w in value.split(",")]
    elif value and not isinstance(value[0], list | tuple | Mapping):
        value = [value]
    out = []
    for w in value:
        if isinstance(w, Mapping):
            out.append((_num(w["start"]), _num(w["end"])))
        elif len(w) != 2:
            raise ScenarioError(f"a window is START:END, got {w!r}")
        else:
            out.append((_num(w[0]), _num(w[1])))
    return tuple(out)


def _p_down(value: Any) -> Down:
    if isinstance(value, Mapping):
        flap = value.get("flapping") or {}
        up = flap.get("up", value.get("flap_up", 0.0))
        down = flap.get("down", value.get("flap_down", 0.0))
        offset = flap.get("offset", value.get("flap_offset", 0.0))
        unknown = set(value) - {"windows", "flapping", "flap_up", "flap_down", "flap_offset"}
        if unknown:
            raise ScenarioError(f"unknown keys {sorted(unknown)}; use windows and flapping")
        return Down(_p_windows(value.get("windows", [])), _num(up), _num(down), _num(offset))
    if isinstance(value, str) and value.startswith("flap:"):
        p = _parts(value)[1:]
        if len(p) not in (2, 3):
            raise ScenarioError(f"write flapping as flap:UP:DOWN[:OFFSET], got {value!r}")
        return Down((), _num(p[0]), _num(p[1]), _num(p[2]) if len(p) > 2 else 0.0)
    return Down(_p_windows(value))


def _p_capacity(value: Any) -> Capacity:
    if isinstance(value, int) and not isinstance(value, bool):
        return Capacity(value)
    if isinstance(value, Mapping):
        ra = value.get("retry_after")
        return Capacity(int(value["limit"]), str(value.get("overflow", "503")),
                        None if ra is None else _num(ra))
    p = _parts(str(value))
    if len(p) > 3:
        raise ScenarioError(f"write capacity as N[:503|slow[:RETRY_AFTER]], got {value!r}")
    return Capacity(int(p[0]), p[1] if len(p) > 1 else "503", _num(p[2]) if len(p) > 2 else None)


def _p_script(value: Any) -> tuple[int | str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    steps: list[int | str] = []
    for item in items:
        text = str(item).strip()
        steps.append(int(text) if text.isdigit() else text)
    if not steps:
        raise ScenarioError("a script needs at least one step")
    return tuple(steps)


def _p_gone(value: Any) -> float:
    return _num(value.get("at") if isinstance(value, Mapping) else value)


def _p_processing(value: Any) -> EventProcessor:
    if isinstance(value, Mapping):
        return EventProcessor(_num(value.get("time", 0.0)), _num(value.get("failure_rate", 0.0)),
                              bool(value.get("synchronous", value.get("sync", False))))
    if isinstance(value, int | float):
        return EventProcessor(_num(value))
    p = _parts(str(value))
    sync = p[-1] in ("sync", "synchronous")
    if sync:
        p = p[:-1]
    if not 1 <= len(p) <= 2:
        raise ScenarioError(f"write processing as TIME[:FAILURE_RATE][:sync], got {value!r}")
    return EventProcessor(_num(p[0]), _num(p[1]) if len(p) > 1 else 0.0, sync)


_PARSERS = {
    "status": _p_status, "latency": _p_latency, "timeout": _p_rate, "reset": _p_rate,
    "truncated": _p_rate, "slow_close": _p_slow_close, "bandwidth": _p_bandwidth,
    "down": _p_down, "capacity": _p_capacity, "script": _p_script,
    "unauthorized": _p_windows, "gone": _p_gone, "processing": _p_processing,
}
