"""Endpoint changes that reach into the outbox's queue: disable, enable, remove.

Users complain about events silently dropped while an endpoint is disabled. Here nothing
is dropped: disabling an endpoint (by hand, or by auto-disable, see
:mod:`~hooklab.harness.outbox_health`) moves each of its queued deliveries to ``failed``
along the Delivery machine's ``disable`` edge, with the reason ``disabled: <why>``; they
stay in the database, shown by ``hooklab status``, and ``hooklab recover`` queues them
again once the endpoint is enabled. A delivery whose attempt is in flight fails when its
worker reports (or, if that worker died, when its lease expires). Removing an endpoint
disables it first, so its history stays.

Example::

    >>> from hooklab.harness.outbox import Outbox
    >>> from hooklab.model.endpoints import Endpoint
    >>> outbox = Outbox(":memory:")
    >>> _ = outbox.registry.register(Endpoint("ep_1", "https://example.com/",
    ...                              ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)))
    >>> disable(outbox, "ep_1", "maintenance", now=0.0)
    0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hooklab.model.tracking import DeliveryTracker

if TYPE_CHECKING:
    from hooklab.model.endpoints import Endpoint

    from .outbox import Outbox

__all__ = ["disable", "enable", "remove"]


def disable(outbox: Outbox, endpoint_id: str, reason: str, *, now: float,
            cache: dict[str, Endpoint | None] | None = None) -> int:
    """Disable the endpoint and fail its queued deliveries with ``disabled: reason``
    (kept, recoverable); leased ones fail when their worker reports. Returns how many
    deliveries were failed now. ``cache`` (a step's endpoints) learns the change."""
    with outbox.transaction() as conn:
        endpoint = outbox.registry.disable(endpoint_id, reason)
        if cache is not None:
            cache[endpoint_id] = endpoint
        outbox._event(now, "endpoint_disabled", endpoint_id, None, reason)
        rows = conn.execute(
            "SELECT message_id FROM outbox_deliveries WHERE endpoint_id = ? AND "
            "due_at IS NOT NULL AND (lease_owner IS NULL OR due_at <= ?)",
            (endpoint_id, now)).fetchall()
        failed = 0
        for (message_id,) in rows:
            tracker = DeliveryTracker.resume(outbox.store, message_id, endpoint_id)
            if tracker.state == "sending":
                continue  # a lost attempt: the next claim records it, then disables
            if not tracker.done:
                tracker.disable(reason, now)
                failed += 1
            outbox._schedule(message_id, endpoint_id, None)
        return failed


def enable(outbox: Outbox, endpoint_id: str, *, now: float) -> Endpoint:
    """Enable the endpoint again; auto-disable counts start afresh."""
    with outbox.transaction():
        endpoint = outbox.registry.enable(endpoint_id)
        outbox.health.reset(endpoint_id)
        outbox._event(now, "endpoint_enabled", endpoint_id)
        return endpoint


def remove(outbox: Outbox, endpoint_id: str, *, now: float) -> None:
    """Remove the endpoint; its queued deliveries fail (``disabled: endpoint removed``)
    and its history stays."""
    with outbox.transaction():
        disable(outbox, endpoint_id, "endpoint removed", now=now)
        outbox.registry.remove(endpoint_id)
