"""The one error hierarchy of hooklab.

Every error hooklab raises on purpose derives from :class:`HooklabError`, so callers can
catch one class. The tree, by what went wrong::

    HooklabError
    ├── ConfigError               bad input from a user: flag, file, argument (CLI exit 2)
    │   ├── InvalidURL            an endpoint URL that is not http(s)
    │   ├── InvalidSecret         a malformed or too-short signing secret
    │   ├── DuplicateEndpoint     an endpoint id that is already registered
    │   ├── UnknownEndpoint       an endpoint id that is not registered
    │   ├── UnknownPolicy         a retry-policy preset name that does not exist
    │   ├── UnknownScheme         a signing-scheme name that does not exist
    │   ├── UnknownProvider       a provider-twin name that does not exist
    │   ├── InvalidPolicy         retry-policy parameters that make no sense
    │   ├── ScenarioError         a corrupt or inconsistent simulation scenario
    │   └── DiagramError          a FlowZap diagram that does not parse
    ├── VerificationError         a webhook signature that does not verify
    ├── IllegalTransition         an event the lifecycle does not allow in its current state
    └── StoreError                a status or endpoint store that cannot do what was asked

Each error carries a message that names the problem and the offending value. A
:class:`ConfigError` may also carry the ``field`` at fault, spelled as the Python API spells
it (``workers``, ``max_attempts``): the message then starts with that name, and the command
line shows the flag that sets the field in its place (``--workers``, ``--max-attempts``), so
the domain never has to know about flags.

    >>> error = ConfigError("workers 0: must be at least 1", field="workers")
    >>> error.field, str(error)
    ('workers', 'workers 0: must be at least 1')
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DiagramError",
    "DuplicateEndpoint",
    "HooklabError",
    "IllegalTransition",
    "InvalidPolicy",
    "InvalidSecret",
    "InvalidURL",
    "ScenarioError",
    "StoreError",
    "UnknownEndpoint",
    "UnknownPolicy",
    "UnknownProvider",
    "UnknownScheme",
    "VerificationError",
]


class HooklabError(Exception):
    """Base class of every error hooklab raises on purpose."""


class ConfigError(HooklabError, ValueError):
    """Bad input from a user: a flag, a file or an argument. The CLI exits 2 on it.

    ``field``, when given, names the parameter at fault; the message starts with it.
    """

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class InvalidURL(ConfigError):
    """An endpoint URL that is not an absolute http or https URL."""


class InvalidSecret(ConfigError):
    """A signing secret that is malformed or too short."""


class DuplicateEndpoint(ConfigError):
    """An endpoint id that is already registered."""


class UnknownEndpoint(ConfigError, KeyError):
    """An endpoint id that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownPolicy(ConfigError):
    """A retry-policy preset name that does not exist."""


class InvalidPolicy(ConfigError):
    """Retry-policy parameters that make no sense (negative delays, zero attempts...)."""


class ScenarioError(ConfigError):
    """A simulation scenario (file or flags) that is corrupt or inconsistent."""


class DiagramError(ConfigError):
    """A FlowZap diagram that does not parse."""


class VerificationError(HooklabError):
    """A webhook signature that does not verify; the message says why."""


class IllegalTransition(HooklabError):
    """An event that the lifecycle does not allow in its current state.

    Raised by the compiled engine, and by :func:`hooklab.model.lifecycle.fire` in place of
    python-statemachine's ``TransitionNotAllowed`` (which SimPy would turn into a
    ``TypeError``).
    """

    def __init__(
        self, machine: str, state: str, event: str, allowed: tuple[str, ...] = ()
    ) -> None:
        hint = f" (allowed: {', '.join(allowed)})" if allowed else " (a final state)"
        super().__init__(f"{machine}: event {event!r} is not allowed in state {state!r}{hint}")
        self.machine = machine
        self.state = state
        self.event = event
        self.allowed = allowed


class StoreError(HooklabError):
    """A status or endpoint store that cannot do what was asked (locked, corrupt, missing)."""


class UnknownScheme(ConfigError):
    """A signing-scheme name that does not exist (see :data:`hooklab.model.signing.SCHEMES`)."""


class UnknownProvider(ConfigError):
    """A provider-twin name that does not exist (see
    :data:`hooklab.model.providers.PROVIDERS`)."""
