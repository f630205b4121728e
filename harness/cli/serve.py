"""``hooklab serve receiver|flaky``: run the reference or the flaky receiver with uvicorn.

``serve receiver`` runs :class:`~hooklab.harness.receiver.ReferenceReceiver`, with a
handler that prints one line per processed message and the state view at
``/_hooklab/state``. ``serve flaky`` runs :class:`~hooklab.harness.flaky.FlakyReceiver`
with faults named as in the simulator's receiver tables (one flag per fault, each taking
the same compact value as a scenario file, or all at once with ``--faults``), and records
every request to ``--log`` (JSON Lines or SQLite). Both print the URL they listen on first
(``--port 0`` picks a free port) and stop cleanly on Ctrl-C or SIGTERM.

Example::

    $ hooklab serve receiver --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --port 8000
    $ hooklab serve flaky --secret whsec_... --failure-rate 0.3 --latency 0.2:0.1 \\
          --script 500,timeout,200 --log requests.jsonl --seed 1
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from typing import Any

from hooklab.model.errors import ConfigError

__all__ = ["FAULT_FLAGS", "fault_tokens", "register"]

#: One flag per fault of :mod:`hooklab.model.faults`: (fault, option strings, metavar, help).
FAULT_FLAGS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("latency", ("--latency",), "MEAN[:JITTER[:DISTRIBUTION]]",
     "answer after MEAN s (JITTER; uniform, normal, exponential or lognormal)"),
    ("timeout", ("--timeout-rate", "--timeout"), "RATE", "never answer, with probability RATE"),
    ("reset", ("--reset-rate", "--reset"), "RATE", "reset the connection, with probability RATE"),
    ("truncated", ("--truncated-rate", "--truncated"), "RATE",
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
    faults.add_argument("--retry-after", type=float, metavar="SECONDS",
                        help="Retry-After for status and capacity faults that give none")
    flaky.add_argument("--log", metavar="PATH", help="record requests to PATH (.jsonl or .sqlite)")
    flaky.add_argument("--seed", type=int, help="seed of the fault draws (default: random)")
    flaky.add_argument("--reject-invalid", action="store_true",
                       help="answer 401 to a bad signature instead of applying the faults")
    flaky.set_defaults(handler=_serve_flaky)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secret", action="append", required=True,
                        help="signing secret (repeat to accept several during a rotation)")
    parser.add_argument("--scheme", default="standard", choices=("standard", "stripe", "github"),
                        help="signature scheme (default: standard)")
    parser.add_argument("--tolerance", type=float, default=300.0, metavar="SECONDS",
                        help="allowed clock skew (default: 300)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port (default: 8000; 0: any free port)")


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

    receiver = ReferenceReceiver(args.secret, scheme=args.scheme, tolerance=args.tolerance,
                                 expose_state=True)

    @receiver.on("*")
    def show(event: Any) -> None:
        if not args.quiet:
            print(f"processed {event.message_id} {event.event_type}", flush=True)

    return _run(receiver, args, "reference receiver")


def _serve_flaky(args: argparse.Namespace) -> int:
    from hooklab.harness.flaky import FlakyReceiver

    flaky = FlakyReceiver(_model(args), secrets=args.secret, scheme=args.scheme,
                          tolerance=args.tolerance, log=args.log, seed=args.seed,
                          reject_invalid=args.reject_invalid)
    try:
        return _run(flaky, args, f"flaky receiver ({' '.join(fault_tokens(args)) or 'healthy'})")
    finally:
        flaky.close()


def _run(app: Any, args: argparse.Namespace, what: str) -> int:
    import uvicorn

    from hooklab.harness.server import bind_socket

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, not {args.port}")
    sock = bind_socket(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"hooklab serve: {what} listening on http://{host}:{sock.getsockname()[1]}",
          flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, http="h11",
                            lifespan="on", timeout_graceful_shutdown=2)
    # uvicorn handles SIGINT and SIGTERM (a graceful stop), then re-raises them to the
    # handlers it found: make those no-ops, so a stop is a clean exit 0, not a traceback.
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _stopped)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("hooklab serve: stopped", file=sys.stderr, flush=True)
    return 0


def _stopped(signum: int, frame: Any) -> None:
    """Signal handler left in place while uvicorn runs: uvicorn already stopped."""
