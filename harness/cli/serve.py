"""``hooklab serve receiver|flaky``: run the reference or the flaky receiver with uvicorn.

``serve receiver`` runs :class:`~hooklab.harness.receiver.ReferenceReceiver`, with a
handler that prints one line per processed message and the state view at
``/_hooklab/state`` (behind ``--state-token`` when given). Without ``--store`` it queues in
memory and a crash loses the messages it acknowledged and had not processed; with
``--store PATH`` each message is committed to SQLite before the 200, and a restart on the
same file processes what was left. ``serve flaky`` runs
:class:`~hooklab.harness.flaky.FlakyReceiver` with faults named as in the simulator's
receiver tables (one flag per fault, each taking the same compact value as a scenario file,
or all at once with ``--faults``), and records every request to ``--log`` (JSON Lines or
SQLite, at most ``--log-max-bytes``). Both enforce the request limits (``--max-body``,
``--max-concurrency``, ``--max-buffered``, ``--header-timeout``, ``--body-timeout``), print
the URL they listen on first (``--port 0`` picks a free port) and stop cleanly on Ctrl-C or
SIGTERM.

Both serve every scheme of :mod:`hooklab.model.signing` (``--scheme``). The schemes that
sign the request URL (twilio, square, hubspot) check the URL the request arrived at, or
``--public-url`` when a proxy stands between (the query is the request's own); the
asymmetric ones take the public key (``whpk_``, SendGrid's base64 key, Discord's hex key).
The reference receiver answers the handshakes of the scheme's provider (Slack's
``url_verification``, Discord's PING).

The signing secret comes from ``HOOKLAB_SECRET`` (and the state token from
``HOOKLAB_STATE_TOKEN``) unless ``--secret VALUE|@FILE|@-`` is given: a command line is
visible to every user of the machine in ``ps``, the environment and a file are not.

Example::

    $ export HOOKLAB_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    $ hooklab serve receiver --store inbox.db --port 8000
    $ hooklab serve flaky --failure-rate 0.3 --latency 0.2:0.1 \\
          --script 500,timeout,200 --log requests.jsonl --seed 1
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from hooklab.harness.inbox import DEDUPE_WINDOW, MAX_QUEUED, REMEMBER
from hooklab.harness.limits import BODY_TIMEOUT, MAX_BODY, MAX_BUFFERED, MAX_CONCURRENCY
from hooklab.harness.request_log import LOG_MAX_BYTES
from hooklab.harness.server import HEADER_TIMEOUT
from hooklab.model.errors import ConfigError
from hooklab.model.signing import DEFAULT_SCHEME, SCHEMES

from .flags import deprecated
from .paths import add_force_flag
from .signing import SECRET_ENV, read_secrets  # the same variable as sign/verify

__all__ = ["FAULT_FLAGS", "SECRET_ENV", "STATE_TOKEN_ENV", "fault_tokens", "register"]

#: The environment variable ``serve receiver`` reads the state view's token from.
STATE_TOKEN_ENV = "HOOKLAB_STATE_TOKEN"

#: One flag per fault of :mod:`hooklab.model.faults`: (fault, option strings, metavar, help).
FAULT_FLAGS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("latency", ("--latency",), "MEAN[:JITTER[:DISTRIBUTION]]",
     "answer after MEAN s (JITTER; uniform, normal, exponential or lognormal)"),
    ("timeout", ("--timeout-rate",), "RATE", "never answer, with probability RATE"),
    ("reset", ("--reset-rate",), "RATE", "reset the connection, with probability RATE"),
    ("truncated", ("--truncated-rate",), "RATE",
     "cut a 200's body short, with probability RATE"),
    ("slow_close", ("--slow-close",), "DELAY[:RATE]",
     "close the socket DELAY s late (recorded only: invisible over keep-alive)"),
    ("bandwidth", ("--bandwidth",), "BYTES_PER_S[:BODY_BYTES]",
     "trickle a BODY_BYTES body at BYTES_PER_S"),
    ("down", ("--down",), "START:END[,START:END]|flap:UP:DOWN[:OFFSET]",
     "unavailable over windows (seconds from start) or flapping"),
    ("capacity", ("--capacity",), "N[:503|slow[:RETRY_AFTER]]",
     "N requests at once; past it answer 503 or slow down"),
    ("script", ("--script",), "STEP[,STEP...]",
     "each message's attempts answer in turn, e.g. 500,timeout,200 (the last repeats)"),
    ("unauthorized", ("--unauthorized",), "START:END[,START:END]",
     "answer 401 over windows (seconds from start)"),
    ("gone", ("--gone",), "AT", "answer 410 from AT seconds after start"),
    ("processing", ("--processing",), "TIME[:FAILURE_RATE][:sync]",
     "the processing lane; with :sync the answer waits TIME more"),
)


def register(subparsers: Any) -> None:
    """Add ``hooklab serve receiver`` and ``hooklab serve flaky``."""
    serve = subparsers.add_parser(
        "serve", help="run the reference receiver or a flaky receiver on HTTP",
        description="Run a webhook receiver with uvicorn.",
    )
    kinds = serve.add_subparsers(dest="receiver", metavar="KIND", required=True)
    receiver = kinds.add_parser(
        "receiver", help="the reference receiver: verify (401), parse (400), ack 200, process",
        description="The reference receiver: the diagram's Reception and Processing lanes.",
    )
    _common(receiver)
    receiver.add_argument("--quiet", action="store_true", help="print no line per message")
    receiver.add_argument("--store", metavar="PATH",
                          help="queue messages in this SQLite file, committed before the 200 "
                          "and resumed after a restart (default: in memory, lost on a crash)")
    receiver.add_argument("--remember", type=int, default=REMEMBER, metavar="N",
                          help="message keys kept for deduplication (default: %(default)s)")
    receiver.add_argument("--dedupe-window", type=float, default=DEDUPE_WINDOW,
                          metavar="SECONDS", help="how long a message key is kept for "
                          "deduplication (default: %(default)g, 8 days)")
    receiver.add_argument("--max-queued", type=int, default=MAX_QUEUED, metavar="N",
                          help="messages waiting for processing; past it, 503 "
                          "(default: %(default)s)")
    receiver.add_argument("--state-token", metavar="TOKEN",
                          help=f"ask for 'Authorization: Bearer TOKEN' at /_hooklab/state "
                          f"(default: ${STATE_TOKEN_ENV}, else none)")
    add_force_flag(receiver)
    receiver.set_defaults(handler=_serve_receiver)

    flaky = kinds.add_parser(
        "flaky", help="a receiver that fails as told and records every request",
        description="A flaky receiver: faults named as in the simulator's receiver models.",
    )
    _common(flaky)
    faults = flaky.add_argument_group("faults (same names and values as a scenario's receiver)")
    faults.add_argument("--faults", metavar="'NAME=VALUE ...'",
                        help="several faults at once, e.g. 'status=503:0.3 latency=0.2'")
    faults.add_argument("--failure-rate", type=float, metavar="P",
                        help="independent 500s with probability P")
    faults.add_argument("--status", action="append", default=[],
                        metavar="CODE:RATE[:RETRY_AFTER]", help="answer CODE at RATE (repeatable)")
    for name, flags, metavar, text in FAULT_FLAGS:
        faults.add_argument(*flags, dest=f"fault_{name}", metavar=metavar, help=text)
    for name in ("timeout", "reset", "truncated"):  # --timeout is seconds everywhere else
        deprecated(faults, f"--{name}", f"--{name}-rate", dest=f"fault_{name}", metavar="RATE")
    faults.add_argument("--retry-after", type=float, metavar="SECONDS",
                        help="Retry-After for status and capacity faults that give none")
    flaky.add_argument("--log", metavar="PATH", help="record requests to PATH (.jsonl or .sqlite)")
    flaky.add_argument("--log-max-bytes", type=int, default=LOG_MAX_BYTES, metavar="BYTES",
                       help="most the request log holds; the oldest records go first "
                       "(default: %(default)s)")
    flaky.add_argument("--remember", type=int, default=REMEMBER, metavar="N",
                       help="message ids whose attempts are counted; the least recently "
                       "seen is forgotten first (default: %(default)s)")
    flaky.add_argument("--seed", type=int, help="seed of the fault draws (default: random)")
    flaky.add_argument("--reject-invalid", action="store_true",
                       help="answer 401 to a bad signature instead of applying the faults")
    add_force_flag(flaky)
    flaky.set_defaults(handler=_serve_flaky)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secret", action="append", metavar="SECRET|@FILE|@-",
                        help=f"signing secret or verifying key, from a file with @FILE or "
                        f"stdin with @-; repeat to accept several during a rotation "
                        f"(default: ${SECRET_ENV}, which ps does not show)")
    parser.add_argument("--scheme", default=DEFAULT_SCHEME, choices=list(SCHEMES),
                        metavar="NAME", help=f"signing scheme: {', '.join(SCHEMES)} "
                        f"(default: {DEFAULT_SCHEME})")
    parser.add_argument("--public-url", metavar="URL",
                        help=f"the URL the provider posts to, when a proxy changes it "
                        f"(for the schemes that sign it: {_URL_SCHEMES})")
    parser.add_argument("--tolerance", type=float, default=300.0, metavar="SECONDS",
                        help="allowed clock skew (default: 300)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port (default: 8000; 0: any free port)")
    limits = parser.add_argument_group("request limits")
    limits.add_argument("--max-body", type=int, default=MAX_BODY, metavar="BYTES",
                        help="largest body; past it, 413 (default: %(default)s)")
    limits.add_argument("--max-concurrency", type=int, default=MAX_CONCURRENCY, metavar="N",
                        help="requests at once; past it, 503 (default: %(default)s)")
    limits.add_argument("--max-buffered", type=int, default=MAX_BUFFERED, metavar="BYTES",
                        help="body bytes held in memory at once; past it, 503 "
                        "(default: %(default)s)")
    limits.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT,
                        metavar="SECONDS", help="for a request's line and headers to arrive; "
                        "then the connection is closed (default: %(default)g)")
    limits.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT, metavar="SECONDS",
                        help="for a whole body to arrive; past it, 408 (default: %(default)g)")


_URL_SCHEMES = ", ".join(name for name, scheme in SCHEMES.items() if "url" in scheme.inputs)


def _secrets(args: argparse.Namespace) -> list[str]:
    return read_secrets(args.secret)


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    return {"max_body": args.max_body, "max_concurrency": args.max_concurrency,
            "max_buffered": args.max_buffered, "body_timeout": args.body_timeout}


def fault_tokens(args: argparse.Namespace) -> list[str]:
    """The compact ``name=value`` tokens the flags give, for
    :meth:`~hooklab.model.faults.ReceiverModel.parse` (which rejects a fault given twice).

    >>> ns = argparse.Namespace(faults="latency=0.1", failure_rate=0.3, status=[],
    ...                         **{f"fault_{f[0]}": None for f in FAULT_FLAGS})
    >>> fault_tokens(ns)
    ['latency=0.1', 'status=500:0.3']
    """
    tokens = (args.faults or "").replace(";", " ").split()
    if args.failure_rate is not None:
        tokens.append(f"status=500:{args.failure_rate}")
    tokens += [f"status={''.join(value.split())}" for value in args.status]
    for name, *_ in FAULT_FLAGS:
        value = getattr(args, f"fault_{name}")
        if value is not None:
            if not value.strip():
                raise ConfigError(f"--{name.replace('_', '-')} needs a value")
            tokens.append(f"{name}={''.join(value.split())}")
    return tokens


def _model(args: argparse.Namespace) -> Any:
    from hooklab.model.faults import ReceiverModel

    model = ReceiverModel.parse(fault_tokens(args))
    if args.retry_after is None:
        return model
    if not args.retry_after >= 0 or args.retry_after == float("inf"):
        raise ConfigError(f"--retry-after must be a number of seconds >= 0, not {args.retry_after}")
    if not model.status and model.capacity is None:
        raise ConfigError("--retry-after needs a status fault (--status, --failure-rate) or "
                          "--capacity to attach to")
    status = tuple(s if s.retry_after is not None else replace(s, retry_after=args.retry_after)
                   for s in model.status)
    capacity = model.capacity
    if capacity is not None and capacity.retry_after is None:
        capacity = replace(capacity, retry_after=args.retry_after)
    return model.replace(status=status, capacity=capacity)


def _serve_receiver(args: argparse.Namespace) -> int:
    from hooklab.harness.receiver import ReferenceReceiver

    from .paths import check_output, sqlite_with

    check_output(args.store, "--store", force=args.force, own=sqlite_with("inbox"),
                 stdout=False)
    receiver = ReferenceReceiver(
        _secrets(args), scheme=args.scheme, tolerance=args.tolerance, store=args.store,
        remember=args.remember, dedupe_window=args.dedupe_window, max_queued=args.max_queued,
        expose_state=True, state_token=args.state_token or os.environ.get(STATE_TOKEN_ENV),
        public_url=args.public_url, **_limits(args))

    @receiver.on("*")
    def show(event: Any) -> None:
        if not args.quiet:
            print(f"processed {event.message_id} {event.event_type}", flush=True)

    where = f"SQLite inbox {args.store}" if args.store else "memory inbox"
    try:
        return _run(receiver, args, f"reference receiver ({where})")
    finally:
        receiver.close()


def _serve_flaky(args: argparse.Namespace) -> int:
    from hooklab.harness.flaky import FlakyReceiver

    _check_log(args)
    flaky = FlakyReceiver(_model(args), secrets=_secrets(args), scheme=args.scheme,
                          tolerance=args.tolerance, log=args.log, seed=args.seed,
                          reject_invalid=args.reject_invalid, remember=args.remember,
                          log_max_bytes=args.log_max_bytes, public_url=args.public_url,
                          **_limits(args))
    try:
        return _run(flaky, args, f"flaky receiver ({' '.join(fault_tokens(args)) or 'healthy'})")
    finally:
        flaky.close()


def _check_log(args: argparse.Namespace) -> None:
    """--log, before the receiver starts (:mod:`.paths`): a request log is appended to, so
    an existing log is kept; any other file needs --force."""
    from hooklab.harness.request_log import (
        JSONL_SUFFIXES,
        SQLITE_SUFFIXES,
        RequestRecord,
        rotated_path,
    )

    from .paths import check_output, jsonl_with, sqlite_with

    if args.log is None:
        return
    suffix = Path(args.log).suffix.lower()
    own = (sqlite_with("requests") if suffix in SQLITE_SUFFIXES
           else jsonl_with(RequestRecord._fields[:6]))
    check_output(args.log, "--log", force=args.force, own=own, stdout=False)
    if suffix in JSONL_SUFFIXES:  # rotation replaces requests.1.jsonl: it must be ours too
        check_output(rotated_path(args.log), "--log", force=args.force, own=own,
                     stdout=False)


def _run(app: Any, args: argparse.Namespace, what: str) -> int:
    import uvicorn

    from hooklab.harness.server import bind_socket, uvicorn_config

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, not {args.port}")
    config = uvicorn_config(app, header_timeout=args.header_timeout, grace=2.0)
    sock = bind_socket(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"hooklab serve: {what} listening on http://{host}:{sock.getsockname()[1]}",
          flush=True)
    # uvicorn handles SIGINT and SIGTERM (a graceful stop), then re-raises them to the
    # handlers it found: those only note the signal, so a stop is a clean exit (0, or 130
    # for Ctrl-C), not a traceback. A signal before uvicorn took over stops it at once.
    server = uvicorn.Server(config)
    previous = {}
    received: list[int] = []

    def noted(signum: int, frame: Any) -> None:
        received.append(signum)
        if not server.started:
            raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, noted)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        if not received:
            received.append(signal.SIGINT)
    finally:
        sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("hooklab serve: stopped", file=sys.stderr, flush=True)
    return 130 if signal.SIGINT in received else 0  # Ctrl-C: 130, as every command
