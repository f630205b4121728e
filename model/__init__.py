"""hooklab.model: the source diagram's lifecycles as explicit state machines, and around
them endpoint registration, payload signing, retry policies and delivery status tracking.

The three lifecycles are python-statemachine classes (:class:`Delivery`,
:class:`Reception`, :class:`Processing`); :func:`compile_machine` derives the fast
transition table that hot paths run instead. The model never reads the clock or global
randomness (``now`` and ``rng`` are arguments) and imports neither ``sim`` nor ``harness``.

Where each concept lives, one module (or package, shown with ``/``) per idea:

===========================================  ==================================================
module                                       holds
===========================================  ==================================================
``lifecycle``                                how a machine names its diagram nodes; ``fire``
``delivery``, ``reception``, ``processing``  the three lifecycles, one diagram lane each
``compiled``                                 the fast transition table derived from a class
``diagram``, ``render``                      the shipped FlowZap diagram; Mermaid and Markdown
``outcomes``                                 what an answer means: the outcome classes
``backoff``                                  retry schedules and jitter
``retry``                                    :class:`RetryPolicy`: limits and throttling
``presets``                                  the named policies of real senders
``providers/``                               provider twins: each provider's webhooks, once
``policy_config``                            a policy from a preset name or a TOML table
``endpoints``, ``registry``                  endpoints, and where a sender keeps them
``secrets``, ``signing``                     signing secrets; the schemes that sign and verify
``records``                                  the frozen attempt and delivery records, statuses
``status/``                                  status stores: ``base``, ``memory``, ``sqlite``
``tracking``                                 drives a Delivery and writes to a status store
``auto_disable``                             when a sender disables an endpoint by itself
``faults/``                                  receiver faults: ``kinds``, ``spec``, ``receiver``
``sqlite``                                   the one SQLite file the stores share
``errors``                                   the one error hierarchy
``bench``                                    the compiled table against python-statemachine
===========================================  ==================================================

Imports run one way: ``policy_config`` → ``presets`` → ``providers`` → ``retry`` →
``backoff`` (and ``providers`` → ``signing``);
``faults.receiver`` → ``faults.spec`` → ``faults.kinds``; ``status.memory`` and
``status.sqlite`` → ``status.base``. The facts these modules cite (schemes, vectors,
schedules, provider behaviour) are in ``docs/reference.md``.

Example::

    >>> get_policy("svix").max_attempts
    8
    >>> sorted(STATUS_OF_STATE.values())[0]
    <Status.AWAITING_RETRY: 'awaiting_retry'>
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
    UnknownProvider,
    UnknownScheme,
    VerificationError,
)
from .lifecycle import fire
from .outcomes import Outcome, OutcomeKind, classify, parse_retry_after
from .policy_config import policy_from_config
from .presets import PRESETS, get_policy
from .processing import Processing
from .providers import PROVIDERS, get_provider
from .reception import Reception
from .records import AttemptRecord, DeliveryRecord, Status
from .registry import EndpointRegistry, MemoryRegistry, SqliteRegistry
from .retry import RetryPolicy
from .signing import SCHEMES, get_scheme, sign_headers, verify
from .status import STATUS_OF_STATE, MemoryStatusStore, SqliteStatusStore, StatusStore
from .tracking import DeliveryTracker

__all__ = [
    "PRESETS",
    "PROVIDERS",
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
    "get_provider",
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
    "UnknownProvider",
    "UnknownScheme",
    "Verdict",
    "VerificationError",
    "classify",
    "compile_machine",
    "fire",
    "parse_retry_after",
]
