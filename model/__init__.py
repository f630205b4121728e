"""hooklab.model: the source diagram's lifecycles as explicit state machines, and around
them endpoint registration, payload signing, retry policies and delivery status tracking.

The three lifecycles are python-statemachine classes (:class:`Delivery`,
:class:`Reception`, :class:`Processing`); :func:`compile_machine` derives the fast
transition table that hot paths run instead.
"""

from .compiled import CompiledMachine, compile_machine
from .delivery import DEFAULT_MAX_ATTEMPTS, Delivery, Verdict
from .errors import (
    ConfigError,
    DiagramError,
    DuplicateEndpoint,
    HooklabError,
    IllegalTransition,
    InvalidPolicy,
    InvalidSecret,
    InvalidURL,
    ScenarioError,
    StoreError,
    UnknownEndpoint,
    UnknownPolicy,
    UnknownScheme,
    VerificationError,
)
from .lifecycle import fire
from .outcomes import Outcome, OutcomeKind, classify, parse_retry_after
from .processing import Processing
from .reception import Reception
from .records import AttemptRecord, DeliveryRecord, Status

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "AttemptRecord",
    "CompiledMachine",
    "ConfigError",
    "Delivery",
    "DeliveryRecord",
    "DiagramError",
    "DuplicateEndpoint",
    "HooklabError",
    "IllegalTransition",
    "InvalidPolicy",
    "InvalidSecret",
    "InvalidURL",
    "Outcome",
    "OutcomeKind",
    "Processing",
    "Reception",
    "ScenarioError",
    "Status",
    "StoreError",
    "UnknownEndpoint",
    "UnknownPolicy",
    "UnknownScheme",
    "Verdict",
    "VerificationError",
    "classify",
    "compile_machine",
    "fire",
    "parse_retry_after",
]
