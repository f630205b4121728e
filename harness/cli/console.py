"""What ``hooklab worker`` says while it runs, on stderr.

:class:`Console` plugs into the worker's two hooks
(:class:`~hooklab.harness.outbox.WorkerConfig` ``on_result`` and ``on_idle``):

- one line per attempt: time, message, endpoint, attempt number, outcome and duration,
  and for an attempt the SSRF guard blocked, why (``blocked: refusing to connect to
  127.0.0.1 (loopback): use --allow-private ...``);
- with ``--quiet``, instead, a rate summary at most every ``every`` seconds;
- while idle, one line each time the picture changes: "waiting for 3 retries, next at
  18:57:50 (ep_shop)", read from the database (the worker's own connection stays its own).

Example::

    >>> import io
    >>> out = io.StringIO()
    >>> Console(out, quiet=False).idle_line(2, 0.0, "ep_shop")
    >>> out.getvalue()
    'waiting for 2 retries, next at 00:00:00 UTC (ep_shop)\\n'
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["Console"]

_NEXT_DUE = ("SELECT endpoint_id FROM outbox_deliveries WHERE due_at IS NOT NULL "
             "ORDER BY due_at LIMIT 1")


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


class Console:
    """The worker's console on ``out``; ``db`` is the outbox's path (for idle lines)."""

    def __init__(self, out: TextIO, *, quiet: bool, db: str | None = None,
                 endpoints: tuple[str, ...] | None = None, every: float = 10.0,
                 max_wait: float | None = None) -> None:
        self.out = out
        self.max_wait = max_wait  # --until-idle --max-wait: retries later than this end it
        self.endpoints = endpoints
        self.quiet = quiet
        self.db = db
        self.every = every
        self._last_idle: tuple[int, float | None] | None = None
        self._window = [0, 0, 0]  # attempts, delivered, failed since the last summary
        self._since = time.monotonic()

    def on_result(self, result: Any) -> None:
        """One attempt came back: print it (or count it, with ``quiet``)."""
        self._last_idle = None
        ok = result.outcome.kind == "success"
        if self.quiet:
            self._window[0] += 1
            self._window[1 if ok else 2] += 1
            if time.monotonic() - self._since >= self.every:
                self.summary()
            return
        claim = result.claim
        label = result.outcome.label
        if result.outcome.error == "blocked":  # the guard's refusal says why and what lifts it
            label = result.body.decode("utf-8", "replace") or label
            if not label.startswith("blocked"):
                label = f"blocked: {label}"
        print(f"{_clock(result.end)} {claim.message.id} -> {claim.endpoint.id} "
              f"#{claim.attempt} {label} in {result.end - result.start:.3f} s",
              file=self.out, flush=True)

    def summary(self) -> None:
        """With ``quiet``: the attempts since the last summary, and their rate."""
        attempts, delivered, failed = self._window
        seconds = max(time.monotonic() - self._since, 1e-9)
        if attempts:
            print(f"{attempts} attempts ({delivered} delivered, {failed} failed) in "
                  f"{seconds:.0f} s, {attempts / seconds:.0f} attempts/s", file=self.out,
                  flush=True)
        self._window = [0, 0, 0]
        self._since = time.monotonic()

    def on_idle(self, due: float | None, unfinished: int, now: float) -> None:
        """Nothing in flight: say what the worker waits for, once per change."""
        if self.quiet and time.monotonic() - self._since >= self.every:
            self.summary()
        if unfinished == 0 or due is None or due <= now:
            return
        if self._last_idle == (unfinished, due):
            return
        self._last_idle = (unfinished, due)
        leaving = self.max_wait is not None and due - now > self.max_wait
        self.idle_line(unfinished, due, self._next_endpoint(), leaving=leaving)

    def idle_line(self, unfinished: int, due: float, endpoint: str | None, *,
                  leaving: bool = False) -> None:
        """Print "waiting for N retries, next at HH:MM:SS UTC (endpoint)" (or, when
        ``leaving`` by --max-wait, "not waiting for ...")."""
        where = f" ({endpoint})" if endpoint else ""
        noun = "retry" if unfinished == 1 else "retries"
        verb = "not waiting (--max-wait) for" if leaving else "waiting for"
        print(f"{verb} {unfinished} {noun}, next at {_clock(due)} UTC{where}",
              file=self.out, flush=True)

    def _next_endpoint(self) -> str | None:
        if self.db is None:
            return None
        sql, params = _NEXT_DUE, list(self.endpoints or ())
        if params:
            sql = sql.replace(" ORDER", f" AND endpoint_id IN ({','.join('?' * len(params))})"
                              " ORDER")
        try:
            with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True,
                                         timeout=1)) as conn:
                row = conn.execute(sql, params).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None
