"""``hooklab check``: property-test a running webhook receiver over real HTTP.

The command is a thin entry point over :func:`hooklab.harness.conformance.run_checks`
(the pytest plugin is the other one). It prints a rich report, optionally writes the JSON
report, and exits 0 when every check passes, 1 when any fails, and 2 on a usage error or
an unreachable target (a one-line message, no traceback).

Example::

    $ hooklab check http://127.0.0.1:8000/webhooks --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    $ hooklab check http://127.0.0.1:8000/ --secret S --scheme github --json-out r.json --seed 1
    $ hooklab check http://127.0.0.1:8000/ --secret S --provider shopify --reject-status 401

Each check ends passed, failed, inconclusive, skipped or blocked (see
:mod:`hooklab.harness.conformance.report`); only a failed check makes the exit code 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from hooklab.model.errors import ConfigError

from .flags import add_json_flags
from .paths import add_force_flag, check_output, json_with
from .serve import STATE_TOKEN_ENV
from .signing import read_secrets

__all__ = ["check_command", "register"]

_SCHEMES = ("standard", "stripe", "github", "shopify", "slack", "discord")


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def register(subparsers: Any) -> None:
    """Add ``hooklab check`` to the root parser's subcommands."""
    parser = subparsers.add_parser(
        "check",
        help="property-test a running webhook receiver (conformance checks)",
        description="Run the receiver conformance checks against URL over real HTTP. "
        "Exit 0: every check passed; 1: a check failed; 2: usage error or unreachable URL.",
    )
    parser.add_argument("url", metavar="URL", help="where the receiver takes webhooks")
    parser.add_argument("--secret", metavar="SECRET|@FILE|@-", default=None,
                        help="the receiver's signing secret, from a file with @FILE or stdin "
                        "with @- (default: $HOOKLAB_SECRET)")
    parser.add_argument("--scheme", choices=_SCHEMES, default=None,
                        help="signing scheme (default: standard, or the provider's)")
    parser.add_argument("--provider", metavar="NAME", default=None,
                        help="deliver as this provider twin does (its requests, handshake "
                        "and timeout; see `hooklab providers`)")
    parser.add_argument("--reject-status", type=int, default=None, metavar="CODE",
                        help="every rejection must be exactly this 4xx (default: any 4xx, "
                        "or the provider's required status)")
    parser.add_argument("--large-body", type=_positive(int), default=1024 * 1024,
                        metavar="BYTES", help="size of the large valid delivery "
                        "(default: 1048576)")
    add_json_flags(parser, "the machine-readable report")
    parser.add_argument("--timeout", type=_positive(float), default=None, metavar="SECONDS",
                        help="the sender's timeout the receiver must answer within "
                        "(default: 10, or the provider's)")
    parser.add_argument("--max-examples", type=_positive(int), default=100, metavar="N",
                        help="examples Hypothesis tries per check (default: 100)")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="Hypothesis seed (default: derandomized, also reproducible)")
    parser.add_argument("--tolerance", type=_positive(float), default=300.0,
                        metavar="SECONDS", help="the receiver's allowed clock skew "
                        "(default: 300)")
    parser.add_argument("--observe", metavar="URL", default=None,
                        help="GET URL?message_id=ID tells how often a message was processed "
                        "(e.g. the reference receiver's /_hooklab/state)")
    parser.add_argument("--state-token", metavar="TOKEN", default=None,
                        help="send 'Authorization: Bearer TOKEN' with each --observe request "
                        f"(default: ${STATE_TOKEN_ENV}, else none)")
    parser.add_argument("--check", dest="checks", action="append", metavar="NAME",
                        help="run only this check (repeatable)")
    add_force_flag(parser)
    parser.set_defaults(handler=check_command)


def check_command(args: argparse.Namespace) -> int:
    """Run the checks ``args`` describe; returns the exit code."""
    from rich.console import Console

    args.secret = read_secrets([args.secret] if args.secret else None)[0]

    from hooklab.harness.conformance import render, run_checks

    args.json_path = "-" if args.json or args.json_out == "-" else args.json_out
    to_stdout = args.json_path == "-"
    console = Console(file=sys.stderr if to_stdout else sys.stdout, highlight=False)
    if args.provider is not None and args.scheme is not None:
        raise ConfigError("give --provider or --scheme, not both (a provider has its scheme)")
    if args.observe is not None and not args.observe.startswith(("http://", "https://")):
        raise ConfigError(f"--observe must be an http(s) URL, not {args.observe!r}")
    if args.json_path and not to_stdout:  # before any check runs (:mod:`.paths`)
        check_output(args.json_path, "--json-out", force=args.force,
                     own=json_with(("target", "scheme", "counts", "checks")))
    observe: Any = args.observe
    token = args.state_token or os.environ.get(STATE_TOKEN_ENV)
    if observe is not None and token:
        from hooklab.harness.conformance import http_observer

        observe = http_observer(observe, args.timeout or 10.0, token=token)
    with console.status("running checks...") as status:

        def progress(result: Any) -> None:
            status.update(f"{result.name}: {result.status}; running the next check...")

        report = run_checks(
            args.url, secret=args.secret, scheme=args.scheme or "standard",
            checks=args.checks, timeout=args.timeout, max_examples=args.max_examples,
            seed=args.seed, tolerance=args.tolerance, observe=observe,
            provider=args.provider, reject_status=args.reject_status,
            large_body=args.large_body, on_result=progress,
        )
    render(report, console)
    if to_stdout:
        sys.stdout.write(report.to_json())
    elif args.json_path:
        written = report.write_json(args.json_path)
        console.print(f"JSON report written to {written}")
    return 0 if report.passed else 1

