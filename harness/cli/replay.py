"""``hooklab replay``: send a finding of a ``hooklab check`` JSON report again, signed anew.

A finding's literal ``curl`` stops reproducing once its signed timestamp is older than the
receiver's tolerance. ``hooklab replay REPORT.json CHECK --secret S`` takes the finding of
check ``CHECK``, signs its exact body again at the current time (keeping how far from "now"
the original was signed, so a stale-timestamp finding stays stale), and sends it to the
report's target (or ``--url``). ``--curl`` prints the fresh ``curl`` command instead. A
forgery (signed with a wrong secret, or tampered) is sent exactly as recorded: signing it
with the real secret would make it valid. Exit 0 after an answer, 2 on bad input.

Example::

    $ hooklab check http://127.0.0.1:8000/ --secret "$S" --json report.json
    $ hooklab replay report.json rejects_malformed_json --secret "$S"
    $ hooklab replay report.json rejects_malformed_json --secret "$S" --curl | sh
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

from hooklab.model.errors import ConfigError

from .signing import read_secrets

__all__ = ["register", "replay_command"]


def register(subparsers: Any) -> None:
    """Add ``hooklab replay`` to the root parser's subcommands."""
    parser = subparsers.add_parser(
        "replay", help="send a `hooklab check` finding again, signed at run time",
        description="Send the request of a finding in a `hooklab check --json` report "
        "again, re-signed now with SECRET (forgeries are sent as recorded).")
    parser.add_argument("report", metavar="REPORT", help="the JSON report of hooklab check")
    parser.add_argument("finding", metavar="CHECK", help="the check whose finding to replay")
    parser.add_argument("--secret", metavar="SECRET|@FILE|@-", default=None,
                        help="the receiver's signing secret, from a file with @FILE or stdin "
                        "with @- (default: $HOOKLAB_SECRET)")
    parser.add_argument("--url", default=None, help="send here (default: the report's "
                        "target; required for an in-process report)")
    parser.add_argument("--curl", action="store_true",
                        help="print the re-signed curl command instead of sending")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="how long to wait for the answer (default: 10)")
    parser.set_defaults(handler=replay_command)


def _finding(path: str, check: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the report {path!r}: {exc}") from None
    for result in report.get("checks", []):
        if result.get("name") == check:
            if not result.get("findings"):
                raise ConfigError(f"check {check!r} has no finding in {path!r} "
                                  f"(it {result.get('status', 'did not run')})")
            return report, result["findings"][0]
    raise ConfigError(f"no check {check!r} in {path!r}")


def replay_command(args: argparse.Namespace) -> int:
    """Replay the finding ``args`` names; returns the exit code."""
    from hooklab.harness.conformance.schemes import rules_for, with_header
    from hooklab.harness.transport import BlockingChannel, HttpChannel, Request, curl_command
    from hooklab.model.signing import check_secret, get_scheme

    args.secret = read_secrets([args.secret] if args.secret else None)[0]
    report, finding = _finding(args.report, args.finding)
    recorded = finding.get("request") or {}
    if "body_base64" not in recorded:
        raise ConfigError(f"the finding of {args.finding!r} carries no request to replay")
    body = base64.b64decode(recorded["body_base64"])
    request = Request(body, tuple((k, v) for k, v in recorded["headers"]))
    scheme = report.get("scheme", "standard")
    offset = finding.get("resign_offset")
    if offset is not None:
        check_secret(args.secret, scheme, use="sign")
        rules = rules_for(scheme)
        message_id = str(request.header(rules.id_header) or "") if rules.id_header else ""
        fresh = get_scheme(scheme).sign(message_id=message_id or "msg_replay",
                                        timestamp=int(time.time()) + int(offset), body=body,
                                        secrets=[args.secret])
        for name, value in fresh.items():
            if request.header(name) is not None:
                request = with_header(request, name, value)
    url = args.url or report.get("target", "")
    if args.curl:
        sys.stdout.write(curl_command(url or "$RECEIVER_URL", request, timeout=args.timeout)
                         + "\n")
        return 0
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"the report's target {url!r} is not a URL; give --url")
    with BlockingChannel(HttpChannel()) as channel:
        response = channel.post(url, request.headers, request.body, timeout=args.timeout)
    signed = "re-signed now" if offset is not None else "as recorded (a forgery)"
    print(f"{args.finding}: sent {signed} to {url}: {response.describe()}")
    return 0
