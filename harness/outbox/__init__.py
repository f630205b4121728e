"""hooklab.harness.outbox: the durable outbox, its worker, and what reads it back.

A message sent to the outbox is committed to one SQLite file before :meth:`Outbox.send`
returns; workers claim its deliveries with leases and post them; nothing is lost when a
worker is killed. The face is :class:`Outbox` with the records it takes and gives, and
:class:`~hooklab.harness.outbox.worker.Worker`. Inside, one module per idea:

- ``outbox.py``: :class:`Outbox`, sending and fan-out, the tables (its docstring);
- ``db.py``: :class:`~hooklab.harness.outbox.db.OutboxDB`, the internal API every other
  module works through (connection, transactions, event and schedule writes);
- ``step.py``: the worker's step, one transaction that records results and claims;
- ``admin.py``: changes by hand (disable, enable, remove an endpoint; resend, recover);
- ``health.py``: auto-disable (:class:`AutoDisable`) and its counts;
- ``status.py``: what ``hooklab status`` shows;
- ``worker.py``: the asyncio worker that delivers over HTTP;
- ``leases.py``: a claim's lease, checked again right before its request is written;
- ``outage.py``: how the worker rides out database faults (capped backoff, results kept);
- ``bench.py``: ``python -m hooklab.harness.outbox.bench``, the worker against a bare loop.

Example::

    >>> from hooklab.model.endpoints import Endpoint
    >>> with Outbox(":memory:") as outbox:
    ...     _ = outbox.registry.register(Endpoint("ep_1", "https://example.com/hooks",
    ...                                  ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)))
    ...     outbox.send(Message("msg_1", "invoice.paid", b"{}"), now=0.0).created
    True
"""

from __future__ import annotations

from ..sender import Message
from .db import UnknownMessage
from .health import AutoDisable
from .outbox import DEFAULT_MAX_PAYLOAD, Outbox, SendResult
from .step import LOST, Claim, Result
from .worker import Worker, WorkerConfig, WorkerStats, run_worker

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "LOST",
    "AutoDisable",
    "Claim",
    "Message",
    "Outbox",
    "Result",
    "SendResult",
    "UnknownMessage",
    "Worker",
    "WorkerConfig",
    "WorkerStats",
    "run_worker",
]
