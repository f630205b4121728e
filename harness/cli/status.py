"""What ``hooklab status`` prints: the outbox's reports as tables, or as JSON with totals.

The reports come from :mod:`hooklab.harness.outbox.status` as plain dicts. :func:`as_json`
gives each list its ``total`` and whether it was ``truncated``
(:func:`~hooklab.harness.cli.table.listing`); :func:`render_overview` and
:func:`render_message` print them through the one table renderer
(:mod:`hooklab.harness.cli.table`), so a reason such as ``exhausted`` or an id is never
cut, and a table shortened by ``--limit`` ends with "50 of 61 shown (--limit)".

Only top-level lists are ever shortened (the overview's ``deliveries`` by ``--limit``, its
``events`` by ``--events``), so only they carry ``total`` and ``truncated``. The lists
nested in one message's report (each delivery's ``attempt_log`` and
``earlier_generations``) and that report's own ``deliveries`` and ``events`` are always
whole: they stay plain lists inside their items (the top-level ones say
``"truncated": false``).

Example::

    >>> as_json({"counts": {"failed": 3}, "deliveries": [{}, {}], "events": []},
    ...         totals={"deliveries": 3, "events": 0})["deliveries"]["truncated"]
    True
"""

from __future__ import annotations

from typing import Any, TextIO

from .table import Output, Table, render, shown

__all__ = ["as_json", "render_message", "render_overview"]

_STYLE = {"delivered": "green", "failed": "red", "awaiting_retry": "yellow",
          "sending": "cyan", "pending": "white"}


def as_json(report: dict[str, Any], totals: dict[str, int]) -> dict[str, Any]:
    """``report`` with each top-level list as ``{"items", "total", "truncated"}``."""
    from .table import listing

    shaped = dict(report)
    for key, value in report.items():
        if isinstance(value, list):
            shaped[key] = listing(value, totals.get(key))
    return shaped


def _when(t: float | None) -> str:
    from hooklab.harness.outbox.status import when

    return when(t)


def _events_table(items: list[dict[str, Any]], title: str) -> Table:
    table = Table("time (UTC)", "event", "endpoint", "message", "detail", title=title)
    for e in items:
        table.add_row(_when(e["at"]), e["kind"], e["endpoint_id"], e["message_id"],
                      e["detail"])
    return table


def _response(body: str, keep: int = 60) -> str:
    """A response body for a table cell; a long one says how much more --json holds."""
    if len(body) <= keep:
        return body
    return f"{body[:keep]} (+{len(body) - keep} chars: see --json)"


def _footer(count: int, total: int, flag: str, out: TextIO | None) -> None:
    note = shown(count, total, flag)
    if note:
        print(note, file=out)


def render_overview(report: dict[str, Any], totals: dict[str, int], output: Output,
                    out: TextIO | None = None) -> None:
    """Print the overview: counts by status, the newest deliveries, the newest events."""
    counts = "  ".join(f"{k} {v}" for k, v in report["counts"].items())
    print(f"deliveries: {counts}", file=out)
    items = report["deliveries"]
    table = Table("message", "endpoint", "gen", "status", "tries", "last",
                  "next / finished (UTC)", "reason", title=f"latest {len(items)} deliveries",
                  right=("gen", "tries"))
    for d in items:
        moment = d["finished_at"] if d["finished_at"] is not None else d["next_attempt_at"]
        status = d["status"] + (" (leased)" if d["leased_by"] and d["status"] == "sending"
                                else "")
        table.add_row(d["message_id"], d["endpoint_id"], d["generation"], status,
                      d["attempts"], d["last_outcome"], _when(moment), d["reason"],
                      styles={"status": _STYLE.get(d["status"], "white")})
    render(table, output, out)
    _footer(len(items), totals["deliveries"], "--limit", out)
    for q in report.get("quarantined", ()):
        print(f"quarantined {q['message_id']} -> {q['endpoint_id']} since {_when(q['at'])} UTC: "
              f"{q['detail'] or ''} (hooklab resend {q['message_id']} --endpoint "
              f"{q['endpoint_id']} starts it afresh)", file=out)
    if report["events"]:
        print(file=out)
        render(_events_table(report["events"], "operational events (newest first)"), output,
               out)
        _footer(len(report["events"]), totals["events"], "--events", out)


def render_message(report: dict[str, Any], output: Output, out: TextIO | None = None) -> None:
    """Print one message: each delivery with its attempts and earlier generations."""
    m = report["message"]
    print(f"message {m['id']}  type {m['event_type']}  {m['size']} bytes  "
          f"sent {_when(m['created_at'])} UTC", file=out)
    if not report["deliveries"]:
        print("no deliveries (no endpoint accepted its event type)", file=out)
    for d in report["deliveries"]:
        reason = f" ({d['reason']})" if d["reason"] else ""
        print(f"\nendpoint {d['endpoint_id']}  generation {d['generation']}  "
              f"{d['status']}{reason}", file=out)
        table = Table("#", "start (UTC)", "duration", "outcome", "code", "next attempt",
                      "response", right=("#", "duration", "code"))
        for a in d["attempt_log"]:
            table.add_row(a["attempt"], _when(a["start"]), f"{a['end'] - a['start']:.3f} s",
                          a["error"] or a["outcome"], a["status_code"] or "",
                          _when(a["next_attempt_at"]), _response(a["response_body"] or ""))
        render(table, output, out)
        for g in d["earlier_generations"]:
            print(f"  generation {g['generation']}: {g['status']} after "
                  f"{g['attempts']} attempts ({g['reason'] or 'ok'}); "
                  f"{g['cause']} at {_when(g['closed_at'])} UTC", file=out)
    if report["events"]:
        print(file=out)
        render(_events_table(report["events"], "operational events"), output, out)
