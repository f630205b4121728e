"""The check registry: every named conformance check, in report order, and ``@check``.

A check is a function ``check(ctx: CheckContext) -> None`` whose docstring's first line
states its rule; ``@check`` registers it under its name (names are stable: reports and CI
logs show them). The checks module registers its checks as it is imported; the engine
imports the checks, never the other way round, and looks them up here.

Example::

    >>> from hooklab.harness.conformance import checks  # registers the checks
    >>> list(CHECKS)[:2]
    ['accepts_valid_delivery', 'rejects_missing_signature']
    >>> rule_of(CHECKS["rejects_stale_timestamp"])
    'A timestamp older than the tolerance is rejected (a 4xx).'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from hooklab.model.errors import ConfigError

if TYPE_CHECKING:
    from .context import CheckContext

__all__ = ["CHECKS", "Check", "check", "rule_of", "select"]

Check = Callable[["CheckContext"], None]
#: Every registered check by name, in the order they were registered (report order).
CHECKS: dict[str, Check] = {}


def rule_of(func: Check) -> str:
    """The rule a check states: the first line of its docstring."""
    return (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""


def check(func: Check) -> Check:
    """Register ``func`` as the check named ``func.__name__``; it must state its rule."""
    name = getattr(func, "__name__", "")
    if not name or not rule_of(func):
        raise ConfigError(f"check {func!r} needs a name and a docstring stating its rule")
    if name in CHECKS and CHECKS[name] is not func:
        raise ConfigError(f"a check named {name!r} is already registered")
    CHECKS[name] = func
    return func


def select(names: Iterable[str] | None) -> list[str]:
    """``names`` checked against the registry (``None``: every check, in report order).

    >>> select(["nope"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    hooklab.model.errors.ConfigError: unknown check 'nope'; choose from accepts_valid_delivery, ...
    """
    chosen = list(CHECKS) if names is None else list(names)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise ConfigError(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
    return chosen
