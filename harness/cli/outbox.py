"""The outbox commands: ``endpoints``, ``send``, ``worker``, ``status``, ``resend``, ``recover``.

Every command takes ``--db PATH`` (default ``$HOOKLAB_DB`` or ``hooklab.db``): one SQLite
file in WAL mode, shared by any number of these commands and workers at once. Secrets are
stored in it and never printed in full. Bad input (a bad URL, malformed JSON, an unknown
endpoint or message, a database locked by another process) exits 2 with one line naming
the problem; every change is one transaction, so the database is left as it was.

Example::

    $ hooklab endpoints add https://example.com/hooks --secret whsec_... --events 'invoice.*'
    $ hooklab send --type invoice.paid --data '{"amount": 42}'
    $ hooklab worker --concurrency 20 --until-idle
    $ hooklab status --status failed
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hooklab.model.endpoints import DEFAULT_TIMEOUT, MAX_TIMEOUT
from hooklab.model.errors import ConfigError, StoreError

from .data import read_data
from .table import add_output_flags

__all__ = ["parse_since", "register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _number(kind: type, low: float, name: str,
            high: float = math.inf) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {text!r}") from None
        if not (math.isfinite(value) and value >= low):
            raise argparse.ArgumentTypeError(f"{name} must be >= {low:g}, not {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"{name} must be <= {high:g}, not {text!r}")
        return value

    parse.__name__ = name
    return parse


def register(subparsers: Any) -> None:
    """Add the outbox commands to the ``hooklab`` parser."""
    endpoints = subparsers.add_parser("endpoints", help="register and manage endpoints "
                                      "(the durable outbox)")
    actions = endpoints.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = _parser(actions, "add", "register an endpoint", _add, creates=True)
    add.add_argument("url", metavar="URL")
    add.add_argument("--secret", required=True, help="signing secret (whsec_...), or @FILE, "
                     "or @- to read it from stdin (kept out of the process list)")
    add.add_argument("--id", dest="endpoint_id", help="endpoint id (default: a new ep_...)")
    add.add_argument("--events", action="append", metavar="PATTERN",
                     help="event types it takes, e.g. 'invoice.*' (repeatable or "
                     "comma-separated; default: every type)")
    add.add_argument("--policy", default="diagram", help="retry-policy preset")
    add.add_argument("--timeout", type=_number(float, 0.001, "--timeout", MAX_TIMEOUT),
                     default=DEFAULT_TIMEOUT, metavar="SECONDS",
                     help=f"request timeout (default: {DEFAULT_TIMEOUT:g}; at most "
                     f"{MAX_TIMEOUT:g})")
    add.add_argument("--scheme", default="standard", choices=("standard", "stripe", "github"))
    _ssrf_flags(add)
    listed = _parser(actions, "list", "list endpoints (secrets and URL credentials masked)",
                     _list, reads=True)
    listed.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_output_flags(listed)
    disable = _parser(actions, "disable", "stop delivering to an endpoint", _disable)
    disable.add_argument("endpoint_id", metavar="ID")
    disable.add_argument("--reason", default="disabled by hand")
    enable = _parser(actions, "enable", "deliver to an endpoint again", _enable)
    enable.add_argument("endpoint_id", metavar="ID")
    remove = _parser(actions, "remove", "remove an endpoint (its history stays)", _remove)
    remove.add_argument("endpoint_id", metavar="ID")
    rotate = _parser(actions, "rotate", "sign with a new secret; the old one keeps signing "
                     "during the grace period", _rotate)
    rotate.add_argument("endpoint_id", metavar="ID")
    rotate.add_argument("--secret", required=True, help="the new signing secret (or @FILE, @-)")
    rotate.add_argument("--grace", type=_number(float, 0, "--grace"), default=86400.0,
                        metavar="SECONDS", help="old secret keeps signing this long "
                        "(default: 86400)")

    send = _parser(subparsers, "send", "queue a message for every matching endpoint", _send)
    send.add_argument("--type", required=True, dest="event_type", metavar="EVENT_TYPE")
    send.add_argument("--data", required=True, metavar="JSON_OR_@FILE",
                      help="the event's data: JSON text, @FILE, or @- for stdin")
    send.add_argument("--id", dest="message_id", help="message id = idempotency key "
                      "(default: a new msg_...)")
    send.add_argument("--max-payload", type=_number(int, 1, "--max-payload"),
                      default=1024 * 1024, metavar="BYTES", help="largest body (default: 1 MiB)")

    worker = _parser(subparsers, "worker", "deliver queued messages (until stopped)", _worker)
    worker.add_argument("--concurrency", type=_number(int, 1, "--concurrency"), default=10,
                        metavar="N", help="requests in flight at once (default: 10)")
    worker.add_argument("--until-idle", action="store_true",
                        help="exit once nothing is due, pending or awaiting retry")
    worker.add_argument("--max-wait", type=_number(float, 0, "--max-wait"),
                        metavar="SECONDS", help="with --until-idle: do not wait for retries "
                        "due later than this (0: wait for none)")
    worker.add_argument("--quiet", action="store_true", help="no line per attempt: a "
                        "summary of the attempts and their rate every 10 s")
    worker.add_argument("--policy", metavar="NAME_OR_JSON",
                        help="override every endpoint's retry policy: a preset or a JSON "
                        "table, e.g. '{\"schedule\": \"constant\", \"delay\": 1, "
                        "\"max_attempts\": 4}'")
    worker.add_argument("--endpoint", dest="endpoints", action="append", metavar="ID",
                        help="deliver only to this endpoint (repeatable; e.g. a worker of "
                        "its own for a slow endpoint)")
    worker.add_argument("--lease", type=_number(float, 0.001, "--lease"), metavar="SECONDS",
                        help="lease per claim (default: the endpoint timeout + 30 s)")
    worker.add_argument("--connect-timeout", type=_number(float, 0.001, "--connect-timeout"),
                        default=5.0, metavar="SECONDS")
    worker.add_argument("--max-response-bytes", type=_number(int, 0, "--max-response-bytes"),
                        default=64 * 1024, metavar="BYTES")
    worker.add_argument("--disable-after", type=_number(int, 0, "--disable-after"),
                        default=100, metavar="N", help="disable an endpoint after N "
                        "consecutive failed deliveries (0: never; default: 100)")
    worker.add_argument("--disable-window", type=_number(float, 0, "--disable-window"),
                        default=432000.0, metavar="SECONDS", help="... or failing this long "
                        "with no success (0: never; default: 5 days)")
    worker.add_argument("--grace", type=_number(float, 0, "--grace"), default=30.0,
                        metavar="SECONDS", help="on SIGINT/SIGTERM, wait this long for "
                        "attempts in flight (default: 30)")
    worker.add_argument("--synchronous", choices=("NORMAL", "FULL"), default="NORMAL",
                        help="SQLite sync of the worker's commits: NORMAL survives a crash "
                        "(a power cut can only make it redo attempts); FULL also syncs "
                        "every step (default: NORMAL; send always uses FULL)")
    worker.add_argument("--seed", type=int, help="seed of the retry jitter")
    _ssrf_flags(worker)
    # AutoDisable's fields, under the flags that set them
    worker.set_defaults(flags={"consecutive": "--disable-after", "window": "--disable-window"})

    status = _parser(subparsers, "status", "show messages, their status and attempts", _status,
                     reads=True)
    status.add_argument("message_id", nargs="?", metavar="MESSAGE_ID")
    status.add_argument("--endpoint", dest="endpoint_id", metavar="ID")
    status.add_argument("--status", choices=("pending", "sending", "awaiting_retry",
                                             "delivered", "failed"))
    status.add_argument("--limit", type=_number(int, 0, "--limit"), default=50, metavar="N",
                        help="deliveries to show, newest first (default: 50)")
    status.add_argument("--events", type=_number(int, 0, "--events"), default=10,
                        metavar="N", help="operational events to show (default: 10)")
    status.add_argument("--json", action="store_true", help="print JSON instead of tables "
                        "(each list with its total and whether it was truncated)")
    add_output_flags(status)

    resend = _parser(subparsers, "resend", "deliver a message again (a new generation)",
                     _resend)
    resend.add_argument("message_id", metavar="MESSAGE_ID")
    resend.add_argument("--endpoint", dest="endpoint_id", metavar="ID")
    recover = _parser(subparsers, "recover", "queue again every failed message to an "
                      "endpoint since a time", _recover)
    recover.add_argument("--endpoint", dest="endpoint_id", required=True, metavar="ID")
    recover.add_argument("--since", required=True, metavar="TIME",
                         help="ISO 8601 time, Unix seconds, or an age like 2h, 3d")


def _parser(subparsers: Any, name: str, text: str, handler: Callable[..., int], *,
            creates: bool = False, reads: bool = False) -> Any:
    parser = subparsers.add_parser(name, help=text, description=text)
    parser.add_argument("--db", default=os.environ.get("HOOKLAB_DB", "hooklab.db"),
                        metavar="PATH", help="the outbox database (default: $HOOKLAB_DB or "
                        "hooklab.db)")
    parser.add_argument("--lock-timeout", type=_number(float, 0, "--lock-timeout"),
                        default=10.0, metavar="SECONDS",
                        help="wait this long for another process's lock (default: 10)")
    parser.set_defaults(handler=lambda args: _guarded(handler, args, creates, reads))
    return parser


def _ssrf_advice(rule: str) -> str:
    """What an SSRF refusal under ``rule`` tells the user: the flag that lifts it."""
    flags = "--allow-cidr" if rule == "metadata" else "--allow-private or --allow-cidr"
    return f"use {flags} to allow it"


def _guard(args: argparse.Namespace) -> Any:
    from hooklab.harness.transport.ssrf import SsrfGuard

    return SsrfGuard(allow_private=args.allow_private, allow=args.allow_cidr,
                     advice=_ssrf_advice)


def _ssrf_flags(parser: Any) -> None:
    parser.add_argument("--allow-private", action="store_true", help="allow loopback, "
                        "private, link-local... targets (local development and tests)")
    parser.add_argument("--allow-cidr", action="append", default=[], metavar="CIDR",
                        help="allow targets in this network (repeatable)")


def _guarded(handler: Callable[..., int], args: argparse.Namespace, creates: bool,
             reads: bool = False) -> int:
    from hooklab.harness.outbox import Outbox

    if not creates and not os.path.exists(args.db):
        raise ConfigError(f"database {args.db} does not exist (hooklab endpoints add "
                          "creates it; or give --db PATH)")
    try:
        with Outbox(args.db, timeout=args.lock_timeout, readonly=reads) as outbox:
            return handler(outbox, args)
    except StoreError as exc:  # locked, corrupt or unreadable: the user's to fix
        raise ConfigError(str(exc)) from None
    except BrokenPipeError:  # `hooklab status | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


def _secret(text: str) -> str:
    if not text.startswith("@"):
        return text
    source = text[1:]
    try:
        if source == "-":
            return sys.stdin.readline().strip()
        with open(source, encoding="utf-8") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the secret from {source!r}: {exc}") from None


def _echo(text: str) -> None:
    print(text, file=sys.stderr)


# -- endpoints ---------------------------------------------------------------------------


def _add(outbox: Any, args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from hooklab.model.endpoints import Endpoint, check_url

    check_url(args.url)
    events = tuple(p.strip() for v in (args.events or ["*"]) for p in v.split(",") if p.strip())
    if not events:
        raise ConfigError(f"--events {','.join(args.events)!r} names no event type (give "
                          "patterns such as 'invoice.*', or leave it out for every type)")
    endpoint_id = args.endpoint_id or "ep_" + os.urandom(8).hex()
    endpoint = Endpoint(endpoint_id, args.url, (_secret(args.secret),), events=events,
                        policy=args.policy, timeout=args.timeout, scheme=args.scheme)
    # the endpoint itself is valid (secret, policy, filter); now: may we ever reach it?
    guard = _guard(args)
    guard.check_url_host(urlsplit(args.url).hostname or "")
    outbox.registry.register(endpoint)
    print(endpoint.id)
    return 0


def _list(outbox: Any, args: argparse.Namespace) -> int:
    from hooklab.model.endpoints import mask, mask_url

    from .table import Output, Table, listing, render

    rows = [{"id": e.id, "url": mask_url(e.url), "events": list(e.events),
             "enabled": e.enabled, "disabled_reason": e.disabled_reason, "policy": e.policy,
             "timeout": e.timeout, "scheme": e.scheme,
             "secrets": [{"secret": mask(s.value), "expires_at": s.expires_at}
                         for s in e.secrets]}
            for e in outbox.registry.list()]
    if args.json:
        print(json.dumps(listing(rows), indent=2))
        return 0
    table = Table("id", "url", "events", "enabled", "policy", "timeout", "secrets")
    for r in rows:
        state = "yes" if r["enabled"] else f"no ({r['disabled_reason']})"
        secrets = ", ".join(s["secret"] + ("" if s["expires_at"] is None else " (expiring)")
                            for s in r["secrets"])
        table.add_row(r["id"], r["url"], ",".join(r["events"]), state, r["policy"],
                      f"{r['timeout']:g} s", secrets,
                      styles={"enabled": "green" if r["enabled"] else "red"})
    render(table, Output.from_args(args))
    return 0


def _disable(outbox: Any, args: argparse.Namespace) -> int:
    failed = outbox.disable_endpoint(args.endpoint_id, args.reason, now=time.time())
    _echo(f"endpoint {args.endpoint_id} disabled; {failed} queued deliveries failed with "
          f"'disabled: {args.reason}' (kept: enable it, then hooklab recover)")
    return 0


def _enable(outbox: Any, args: argparse.Namespace) -> int:
    outbox.enable_endpoint(args.endpoint_id, now=time.time())
    failed = outbox.store.counts(endpoint_id=args.endpoint_id)
    from hooklab.model.records import Status

    if failed[Status.FAILED]:
        _echo(f"endpoint {args.endpoint_id} enabled; {failed[Status.FAILED]} failed "
              f"deliveries can be queued again: hooklab recover --endpoint "
              f"{args.endpoint_id} --since TIME")
    return 0


def _remove(outbox: Any, args: argparse.Namespace) -> int:
    outbox.remove_endpoint(args.endpoint_id, now=time.time())
    return 0


def _rotate(outbox: Any, args: argparse.Namespace) -> int:
    from hooklab.model.endpoints import mask

    secret = _secret(args.secret)
    endpoint = outbox.registry.rotate_secret(args.endpoint_id, secret, now=time.time(),
                                             grace=args.grace)
    _echo(f"endpoint {endpoint.id} now signs with {mask(secret)}; "
          f"{len(endpoint.secrets) - 1} older secret(s) sign for {args.grace:g} s more")
    return 0


# -- messages ----------------------------------------------------------------------------


def _send(outbox: Any, args: argparse.Namespace) -> int:
    from hooklab.harness.sender import make_message
    from hooklab.model.signing import generate_message_id

    data = read_data(args.data, args.max_payload)
    message = make_message(args.event_type, data,
                           message_id=args.message_id or generate_message_id(_rng()))
    result = outbox.send(message, now=time.time(), max_payload=args.max_payload)
    print(result.message_id)
    if not result.created:
        _echo(f"message {result.message_id} was already queued; nothing sent again")
    elif not result.endpoints:
        _echo(f"no endpoint takes {args.event_type!r}: the message is stored, not queued")
    return 0


def _rng() -> Any:
    import random

    return random.SystemRandom()


def _worker(outbox: Any, args: argparse.Namespace) -> int:
    import random

    from hooklab.harness.outbox import AutoDisable, WorkerConfig, run_worker
    from hooklab.model.policy_config import policy_from_config

    policy = None
    if args.policy:
        text = args.policy.strip()
        try:
            spec = json.loads(text) if text.startswith("{") else text
        except ValueError as exc:
            raise ConfigError(f"--policy is not valid JSON: {exc}") from None
        policy = policy_from_config(spec)
    for endpoint_id in args.endpoints or ():
        outbox.registry.get(endpoint_id)  # UnknownEndpoint: exit 2, naming it
    if args.max_wait is not None and not args.until_idle:
        raise ConfigError("--max-wait needs --until-idle (a worker without it never exits)")
    from .console import Console

    console = Console(sys.stderr, quiet=args.quiet, db=args.db, max_wait=args.max_wait,
                      endpoints=tuple(args.endpoints) if args.endpoints else None)
    config = WorkerConfig(
        concurrency=args.concurrency, until_idle=args.until_idle, max_wait=args.max_wait,
        lease=args.lease, grace=args.grace, policy=policy, synchronous=args.synchronous,
        endpoints=tuple(args.endpoints) if args.endpoints else None,
        auto_disable=AutoDisable(consecutive=args.disable_after or None,  # 0: never
                                 window=args.disable_window or None),
        connect_timeout=args.connect_timeout, max_response_bytes=args.max_response_bytes,
        guard=_guard(args), on_result=console.on_result, on_idle=console.on_idle)
    stats = run_worker(outbox, config, rng=random.Random(args.seed))
    if args.quiet:
        console.summary()
    _echo(f"hooklab worker: {stats.summary()}")
    # Ctrl-C: 130 as everywhere (every finished attempt is committed); SIGTERM is the clean
    # stop a service manager asks for: 0
    return 130 if stats.stopped_by == "SIGINT" else 0


def _status(outbox: Any, args: argparse.Namespace) -> int:
    from hooklab.harness.outbox.status import count_events, message_report, overview

    from .status import as_json, render_message, render_overview
    from .table import Output

    if args.endpoint_id is not None:
        _known_endpoint(outbox, args.endpoint_id)
    if args.message_id:
        report = message_report(outbox, args.message_id, endpoint_id=args.endpoint_id)
        totals: dict[str, int] = {}
    else:
        report = overview(outbox, endpoint_id=args.endpoint_id, status=args.status,
                          limit=args.limit, event_limit=args.events)
        counts = report["counts"]
        totals = {"deliveries": counts[args.status] if args.status else sum(counts.values()),
                  "events": count_events(outbox, endpoint_id=args.endpoint_id)}
    if args.json:
        print(json.dumps(as_json(report, totals), indent=2, default=str))
    elif args.message_id:
        render_message(report, Output.from_args(args))
    else:
        render_overview(report, totals, Output.from_args(args))
    return 0


def _known_endpoint(outbox: Any, endpoint_id: str) -> None:
    """UnknownEndpoint unless ``endpoint_id`` is registered or has a delivery history."""
    from hooklab.model.errors import UnknownEndpoint

    try:
        outbox.registry.get(endpoint_id)
    except UnknownEndpoint:
        if not sum(outbox.store.counts(endpoint_id=endpoint_id).values()):
            raise


def _resend(outbox: Any, args: argparse.Namespace) -> int:
    restarted = outbox.resend(args.message_id, args.endpoint_id, now=time.time())
    for endpoint_id, generation in restarted:
        print(f"{args.message_id} -> {endpoint_id}: generation {generation} queued")
    if not restarted:
        _echo(f"message {args.message_id} has no delivery to resend")
    return 0


def _recover(outbox: Any, args: argparse.Namespace) -> int:
    since = parse_since(args.since, now=time.time())
    restarted = outbox.recover(args.endpoint_id, since=since, now=time.time())
    print(f"{len(restarted)} failed messages to {args.endpoint_id} queued again")
    return 0


def parse_since(text: str, *, now: float) -> float:
    """``--since``: an ISO 8601 time (UTC unless it says), Unix seconds, or an age.

        >>> parse_since("2h", now=10_000.0), parse_since("1970-01-01T00:01:00", now=0)
        (2800.0, 60.0)
    """
    value = text.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", value)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        number = float(value)
        if math.isfinite(number):
            return number
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--since {text!r} is not a time: use ISO 8601 "
                          "(2024-05-01T12:00:00Z), Unix seconds, or an age like 2h or 3d"
                          ) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
