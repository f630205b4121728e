"""hooklab.model: the source diagram's lifecycles as explicit state machines, and around
them endpoint registration, payload signing, retry policies and delivery status tracking.

The three lifecycles are python-statemachine classes (:class:`Delivery`,
:class:`Reception`, :class:`Processing`); :func:`compile_machine` derives the fast
transition table that hot paths run instead.
"""

from .compiled import CompiledMachine, compile_machine
from .delivery import DEFAULT_MAX_ATTEMPTS, Delivery, Verdict
from .endpoints import Endpoint, SigningSecret
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
from .policy_config import policy_from_config
from .presets import PRESETS, get_policy
from .processing import Processing
from .reception import Reception
from .records import AttemptRecord, DeliveryRecord, Status
from .registry import EndpointRegistry, MemoryRegistry, SqliteRegistry
from .retry import RetryPolicy
from .signing import SCHEMES, get_scheme, sign_headers, verify
from .status import STATUS_OF_STATE, MemoryStatusStore, SqliteStatusStore, StatusStore
from .tracking import DeliveryTracker

__all__ = [
    "PRESETS",
    "SCHEMES",
    "STATUS_OF_STATE",
    "DeliveryTracker",
    "Endpoint",
    "EndpointRegistry",
    "MemoryRegistry",
    "MemoryStatusStore",
    "RetryPolicy",
    "SigningSecret",
    "SqliteRegistry",
    "SqliteStatusStore",
    "StatusStore",
    "get_policy",
    "get_scheme",
    "policy_from_config",
    "sign_headers",
    "verify",
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
