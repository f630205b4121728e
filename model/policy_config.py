"""Reading a retry policy from configuration: a preset name or a TOML-style table.

:func:`policy_from_config` is the one way a scenario file, the outbox's endpoint settings
and the API turn configuration into a :class:`~hooklab.model.retry.RetryPolicy`. A table
may start from a ``preset`` (:mod:`hooklab.model.presets`) and override any part of it;
this module holds the table's keys and the checks that name a bad key. It sits on top of
the retry family: ``policy_config`` → ``presets`` → ``retry`` → ``backoff``, never back.

Example::

    >>> policy_from_config({"schedule": "constant", "delay": 30, "max_attempts": 3}).schedule()
    (30.0, 30.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .backoff import (
    AdditiveJitter,
    ConstantSchedule,
    DecorrelatedJitter,
    EqualJitter,
    ExponentialSchedule,
    FixedSchedule,
    FullJitter,
    Jitter,
    LinearSchedule,
    NoJitter,
    ProportionalJitter,
    Schedule,
)
from .errors import InvalidPolicy
from .presets import DEFAULT_POLICY, get_policy
from .retry import RetryPolicy

__all__ = ["KNOWN_KEYS", "policy_from_config"]

_SCHEDULE_KEYS = {
    "constant": ("delay",),
    "linear": ("initial", "step", "cap"),
    "exponential": ("base", "factor", "cap"),
    "fixed": ("delays",),
}
_JITTER_KEYS = {
    "none": (),
    "full": (),
    "equal": (),
    "proportional": ("jitter_fraction",),
    "additive": ("jitter_bound", "jitter_fraction", "jitter_floor"),
    "decorrelated": ("jitter_base", "jitter_cap"),
}
_POLICY_KEYS = ("name", "description", "max_attempts", "max_window", "retry_after",
                "retry_after_cap", "overload_penalty", "no_retry_codes")
KNOWN_KEYS = frozenset(
    ("preset", "schedule", "jitter", *_POLICY_KEYS,
     *(k for keys in _SCHEDULE_KEYS.values() for k in keys),
     *(k for keys in _JITTER_KEYS.values() for k in keys))
)


def policy_from_config(config: Mapping[str, Any] | str) -> RetryPolicy:
    """A retry policy from a preset name or a TOML-style table.

    The table may start from a ``preset`` and override any part of it; without one it
    starts from the default preset (``diagram``). Keys:

    - ``schedule`` = ``"fixed"`` (with ``delays``), ``"constant"`` (``delay``),
      ``"linear"`` (``initial``, ``step``, ``cap``) or ``"exponential"`` (``base``,
      ``factor``, ``cap``); ``delays = [...]`` alone means a fixed schedule;
    - ``jitter`` = ``"none"``, ``"full"``, ``"equal"``, ``"proportional"``
      (``jitter_fraction``), ``"additive"`` (``jitter_bound``, ``jitter_fraction``,
      ``jitter_floor``) or ``"decorrelated"`` (``jitter_base``, ``jitter_cap``);
    - ``max_attempts`` (default: the preset's, or ``len(delays) + 1`` for a new fixed
      list), ``max_window`` (seconds, or ``false`` for none), ``retry_after``
      (``"ignore"``, ``"clamp"``, ``"max"``), ``retry_after_cap``, ``overload_penalty``,
      ``no_retry_codes`` (a list of status codes never retried), ``name`` (default: the
      preset's name, with ``*`` if changed; else ``"custom"``), ``description``.

    Unknown keys and bad values raise :class:`InvalidPolicy` naming the key; an unknown
    preset raises :class:`~hooklab.model.errors.UnknownPolicy`.

        >>> policy_from_config({"preset": "svix", "max_attempts": 4}).schedule()
        (5.0, 300.0, 1800.0)
        >>> policy_from_config({"delays": [5, 300, 1800]}).max_attempts
        4
    """
    if isinstance(config, str):
        return get_policy(config)
    if not isinstance(config, Mapping):
        raise InvalidPolicy(
            f"a retry policy is a preset name or a table, got {type(config).__name__}"
        )
    unknown = sorted(str(k) for k in config if k not in KNOWN_KEYS)
    if unknown:
        raise InvalidPolicy(
            f"unknown retry policy key {unknown[0]!r}; known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    preset = config.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise InvalidPolicy(f"preset must be a preset name, got {preset!r}")
    start = get_policy(preset if preset is not None else DEFAULT_POLICY)
    changes: dict[str, Any] = {k: config[k] for k in _POLICY_KEYS if k in config}
    backoff = _schedule_from(config)
    if backoff is not None:
        changes["backoff"] = backoff
        if isinstance(backoff, FixedSchedule) and "max_attempts" not in config:
            changes["max_attempts"] = len(backoff.values) + 1
    jitter = _jitter_from(config)
    if jitter is not None:
        changes["jitter"] = jitter
    for key in ("max_window", "retry_after_cap"):
        if changes.get(key, True) is False or changes.get(key) == "none":
            changes[key] = None
    overridden = sorted(set(config) - {"preset", "name", "description"})
    if "name" not in changes:
        changes["name"] = (
            "custom" if preset is None else start.name + ("*" if overridden else "")
        )
    if "description" not in changes and (preset is None or overridden):
        changes["description"] = (
            "" if preset is None else f"{start.description}; changed: {', '.join(overridden)}"
        )
    return start.replace(**changes)


def _choice(config: Mapping[str, Any], key: str, known: Mapping[str, Any]) -> str:
    value = config[key]
    if value not in known:
        raise InvalidPolicy(f"{key} must be one of {', '.join(known)}; got {value!r}")
    return str(value)


def _check_applicable(
    config: Mapping[str, Any], table: Mapping[str, tuple[str, ...]], key: str, kind: str | None
) -> None:
    allowed = table.get(kind, ()) if kind is not None else ()
    for other in sorted({k for keys in table.values() for k in keys}):
        if other in config and other not in allowed:
            if kind is None:
                raise InvalidPolicy(f"key {other!r} needs {key} = ... to say what it sets")
            raise InvalidPolicy(f"key {other!r} does not apply to {key} {kind!r}")


def _schedule_from(config: Mapping[str, Any]) -> Schedule | None:
    if "schedule" in config:
        kind: str | None = _choice(config, "schedule", _SCHEDULE_KEYS)
    else:
        kind = "fixed" if "delays" in config else None
    _check_applicable(config, _SCHEDULE_KEYS, "schedule", kind)
    if kind is None:
        return None
    get = config.get
    try:
        if kind == "fixed":
            return FixedSchedule(config["delays"])
        if kind == "constant":
            return ConstantSchedule(config["delay"])
        if kind == "linear":
            return LinearSchedule(config["initial"], get("step", 0.0), get("cap"))
        return ExponentialSchedule(config["base"], get("factor", 2.0), get("cap"))
    except KeyError as exc:
        raise InvalidPolicy(f"schedule {kind!r} needs key {exc.args[0]!r}") from None


def _jitter_from(config: Mapping[str, Any]) -> Jitter | None:
    kind = _choice(config, "jitter", _JITTER_KEYS) if "jitter" in config else None
    _check_applicable(config, _JITTER_KEYS, "jitter", kind)
    if kind is None:
        return None
    get = config.get
    try:
        if kind == "proportional":
            return ProportionalJitter(config["jitter_fraction"])
        if kind == "additive":
            return AdditiveJitter(
                config["jitter_bound"], get("jitter_fraction"), get("jitter_floor", 0.0)
            )
        if kind == "decorrelated":
            return DecorrelatedJitter(get("jitter_base"), get("jitter_cap"))
    except KeyError as exc:
        raise InvalidPolicy(f"jitter {kind!r} needs key {exc.args[0]!r}") from None
    return {"none": NoJitter, "full": FullJitter, "equal": EqualJitter}[kind]()
