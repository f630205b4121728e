"""What ``hooklab status`` shows: the outbox's deliveries, attempts and events, read back.

The read side of the durable outbox (:mod:`hooklab.harness.outbox`), through its
:class:`~hooklab.harness.outbox.db.OutboxDB`. :func:`deliveries`
lists deliveries newest first with their status, generation, lease and last outcome;
:func:`message_report` gathers one message with every delivery's attempts, its earlier
generations (manual resends, recoveries) and its operational events; :func:`events`
reads the operational events and :func:`count_events` counts them; :func:`quarantined`
lists the deliveries put aside because their data could not be read (see
:mod:`~hooklab.harness.outbox.step`). Each returns plain
dicts, ready for ``--json``; the CLI (``hooklab.harness.cli.status``) draws them as tables.

Example::

    >>> from hooklab.harness.outbox import Outbox
    >>> deliveries(Outbox(":memory:"))
    []
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hooklab.model.records import Status
from hooklab.model.status import STATUS_OF_STATE, parse_status

from .db import QUARANTINED

if TYPE_CHECKING:
    from .outbox import Outbox

__all__ = ["count_events", "deliveries", "events", "message_report", "overview", "quarantined",
           "when"]

_LIST = """
SELECT d.message_id, d.endpoint_id, d.event_type, coalesce(o.generation, 1), d.status,
       d.state, d.attempts, d.created_at, d.updated_at, d.next_attempt_at, d.finished_at,
       d.reason, o.lease_owner,
       (SELECT coalesce(a.error, CAST(a.status_code AS TEXT)) FROM attempts a
        WHERE a.message_id = d.message_id AND a.endpoint_id = d.endpoint_id
        ORDER BY a.attempt DESC LIMIT 1)
FROM deliveries d LEFT JOIN outbox_deliveries o
     ON o.message_id = d.message_id AND o.endpoint_id = d.endpoint_id
"""
_FIELDS = ("message_id", "endpoint_id", "event_type", "generation", "status", "state",
           "attempts", "created_at", "updated_at", "next_attempt_at", "finished_at", "reason",
           "leased_by", "last_outcome")


def when(t: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` UTC (``-`` for none).

        >>> when(0)
        '1970-01-01 00:00:00'
    """
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def deliveries(outbox: Outbox, *, message_id: str | None = None,
               endpoint_id: str | None = None, status: str | None = None,
               limit: int | None = 50) -> list[dict[str, Any]]:
    """Deliveries matching every filter given, newest first."""
    where, params = [], []
    for sql, value in (("d.message_id = ?", message_id), ("d.endpoint_id = ?", endpoint_id)):
        if value is not None:
            where.append(sql)
            params.append(value)
    if status is not None:
        where.append("d.status = ?")
        params.append(parse_status(status).value)
    sql = _LIST + (f" WHERE {' AND '.join(where)}" if where else "")
    sql += " ORDER BY d.created_at DESC, d.rowid DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = outbox.db.conn.execute(sql, params).fetchall()
    return [dict(zip(_FIELDS, row, strict=True)) for row in rows]


def events(outbox: Outbox, *, endpoint_id: str | None = None, message_id: str | None = None,
           limit: int | None = 20) -> list[dict[str, Any]]:
    """Operational events, newest first."""
    where, params = [], []
    for sql, value in (("endpoint_id = ?", endpoint_id), ("message_id = ?", message_id)):
        if value is not None:
            where.append(sql)
            params.append(value)
    sql = "SELECT seq, at, kind, endpoint_id, message_id, detail FROM outbox_events"
    sql += (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    keys = ("seq", "at", "kind", "endpoint_id", "message_id", "detail")
    return [dict(zip(keys, row, strict=True))
            for row in outbox.db.conn.execute(sql, params).fetchall()]


def quarantined(outbox: Outbox, *, endpoint_id: str | None = None) -> list[dict[str, Any]]:
    """Quarantined deliveries (never claimed until resent), each with the ``detail`` and
    time (``at``) of the ``delivery_error`` that put it aside."""
    sql = ("SELECT d.message_id, d.endpoint_id, e.at, e.detail FROM outbox_deliveries d "
           "LEFT JOIN outbox_events e ON e.seq = (SELECT max(seq) FROM outbox_events WHERE "
           "kind = 'delivery_error' AND message_id = d.message_id AND endpoint_id = "
           "d.endpoint_id) WHERE d.lease_owner = ? AND d.due_at IS NULL")
    params: list[Any] = [QUARANTINED]
    if endpoint_id is not None:
        sql += " AND d.endpoint_id = ?"
        params.append(endpoint_id)
    keys = ("message_id", "endpoint_id", "at", "detail")
    return [dict(zip(keys, row, strict=True))
            for row in outbox.db.conn.execute(sql + " ORDER BY d.rowid", params)]


def count_events(outbox: Outbox, *, endpoint_id: str | None = None) -> int:
    """How many operational events there are (for one endpoint, if given)."""
    sql, params = "SELECT count(*) FROM outbox_events", []
    if endpoint_id is not None:
        sql, params = sql + " WHERE endpoint_id = ?", [endpoint_id]
    return int(outbox.db.conn.execute(sql, params).fetchone()[0])


def overview(outbox: Outbox, *, endpoint_id: str | None = None, status: str | None = None,
             limit: int | None = 50, event_limit: int | None = 20) -> dict[str, Any]:
    """Counts by status, the newest deliveries and the newest operational events."""
    counts = outbox.store.counts(endpoint_id=endpoint_id)
    return {
        "counts": {s.value: counts[s] for s in Status},
        "deliveries": deliveries(outbox, endpoint_id=endpoint_id, status=status, limit=limit),
        "quarantined": quarantined(outbox, endpoint_id=endpoint_id),
        "events": events(outbox, endpoint_id=endpoint_id, limit=event_limit),
    }


def message_report(outbox: Outbox, message_id: str, *,
                   endpoint_id: str | None = None) -> dict[str, Any]:
    """One message: its type and size, each delivery with its attempts, earlier
    generations and events. UnknownMessage if the outbox does not hold it."""
    message = outbox.db.message(message_id)
    items = deliveries(outbox, message_id=message_id, endpoint_id=endpoint_id, limit=None)
    for item in items:
        view = outbox.store.get(message_id, item["endpoint_id"])
        item["attempt_log"] = [a._asdict() for a in view.attempts] if view else []
        earlier = outbox.db.conn.execute(
            "SELECT generation, state, reason, created_at, finished_at, closed_at, cause, "
            "attempts FROM outbox_generations WHERE message_id = ? AND endpoint_id = ? "
            "ORDER BY generation", (message_id, item["endpoint_id"])).fetchall()
        item["earlier_generations"] = [
            {"generation": g, "state": s, "status": _status(s), "reason": r,
             "created_at": c, "finished_at": f, "closed_at": x, "cause": cause,
             "attempts": len(json.loads(a))}
            for g, s, r, c, f, x, cause, a in earlier]
    return {
        "message": {"id": message_id, "event_type": message.event_type,
                    "size": len(message.body), "created_at": message.created_at},
        "deliveries": items,
        "events": events(outbox, message_id=message_id, limit=None),
    }


def _status(state: str) -> str:
    return STATUS_OF_STATE[state].value if state in STATUS_OF_STATE else state
