"""``hooklab rehearse``: a provider twin's real delivery behaviour against your receiver.

The twin's events go to the receiver with that provider's signatures, timeout, retry
schedule and disable rule, on a virtual clock (retry delays are not slept; ``--speed``
sleeps them compressed instead), while scripted trouble happens: ``--outage`` (the
receiver is down), ``--rotate-key-at`` (the provider starts signing with a new key),
``--slow`` (every acknowledgement takes that long; past the provider's timeout the
attempt counts as failed, as the provider would count it). The report says how many
events the provider delivered, lost (exhausted, or dropped by disabling) and could not
get verified after the rotation; with an observer, how many the receiver processed exactly
once, more than once, or never. Without one it says "processed: not observed".

The target is ``module:attr`` (an ASGI or WSGI app, imported from the current directory;
a ReferenceReceiver is observed through its own counts) or an ``http(s)://`` URL. The
signing key comes from ``$HOOKLAB_SECRET`` (or ``--secret``), the key after a rotation
from ``$HOOKLAB_NEW_SECRET`` (or ``--new-secret``; default: a fresh key your receiver
cannot know). Exit 0: every event processed exactly once (or, unobserved, delivered);
1: not; 2: a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .serve import SECRET_ENV, STATE_TOKEN_ENV

__all__ = ["NEW_SECRET_ENV", "register"]

#: Where the key after a rotation is read from, unless ``--new-secret`` is given.
NEW_SECRET_ENV = "HOOKLAB_NEW_SECRET"

_EXAMPLES = """\
Examples:
  export HOOKLAB_SECRET=$(hooklab secret generate --scheme shopify)
  hooklab serve receiver --scheme shopify --port 8000 &
  hooklab rehearse --provider shopify http://127.0.0.1:8000/ \\
                   --observe http://127.0.0.1:8000/_hooklab/state --outage 4h1m
  hooklab rehearse --provider stripe myapp:app --rotate-key-at 2h --json
  hooklab rehearse --provider slack myapp:app --slow 6s --events 50 --seed 7
"""


def register(subparsers: Any) -> None:
    """Add ``hooklab rehearse`` to the root parser's subcommands."""
    parser = subparsers.add_parser(
        "rehearse",
        help="play a provider twin's deliveries, retries and trouble against a receiver",
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="APP_OR_URL",
                        help="module:attr (an ASGI or WSGI app) or an http(s):// URL")
    parser.add_argument("--provider", required=True, metavar="NAME",
                        help="the twin that delivers (see hooklab providers)")
    parser.add_argument("--outage", action="append", default=[], metavar="LENGTH[@START]",
                        help="the receiver is down for LENGTH from START (default: the first "
                        "event), e.g. 4h or 30m@2h; repeatable")
    parser.add_argument("--rotate-key-at", metavar="TIME",
                        help="the provider signs with the new key from TIME on, e.g. 2h")
    parser.add_argument("--grace", metavar="DURATION", default="0",
                        help="after the rotation, also sign with the old key this long, where "
                        "the scheme carries several signatures (default: 0; no twin states one)")
    parser.add_argument("--slow", metavar="DURATION",
                        help="every acknowledgement takes this long, e.g. 6s")
    parser.add_argument("--events", type=int, default=24, metavar="N",
                        help="events the provider sends (default: 24)")
    parser.add_argument("--interval", default="15m", metavar="DURATION",
                        help="time between events (default: 15m)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the payloads and jitter (default: 0)")
    parser.add_argument("--secret", default=None,
                        help=f"the key the provider signs with (default: ${SECRET_ENV})")
    parser.add_argument("--new-secret", default=None,
                        help=f"the key after the rotation (default: ${NEW_SECRET_ENV}, else "
                        "a fresh one)")
    parser.add_argument("--observe", metavar="URL_OR_CALLABLE", default=None,
                        help="how to count processing: GET URL?message_id=ID (e.g. the "
                        "reference receiver's /_hooklab/state) or module:attr, a function "
                        "message_id -> count")
    parser.add_argument("--state-token", metavar="TOKEN", default=None,
                        help=f"bearer token for --observe URL (default: ${STATE_TOKEN_ENV})")
    parser.add_argument("--speed", type=float, default=None, metavar="FACTOR",
                        help="sleep the schedule compressed by FACTOR (3600: an hour a "
                        "second) instead of running it on virtual time")
    parser.add_argument("--path", default="/", help="the path in-process requests go to")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=rehearse_command,
                        flags={"target": "APP_OR_URL", "rotate_at": "--rotate-key-at",
                               "duration": "--interval"})


def rehearse_command(args: argparse.Namespace) -> int:
    """Run one rehearsal and print its report; 0 when it is ok, else 1."""
    from hooklab.harness.rehearsal import (
        CallbackObserver,
        StateObserver,
        load_target,
        run_rehearsal,
    )
    from hooklab.model.providers import get_provider
    from hooklab.model.rehearsal import (
        Plan,
        Trouble,
        check_rehearsable,
        parse_outage,
        parse_span,
    )

    twin = check_rehearsable(get_provider(args.provider))
    rotate = args.rotate_key_at
    trouble = Trouble(
        outages=tuple(parse_outage(text) for text in args.outage),
        rotate_at=None if rotate is None else parse_span(rotate, field="rotate_at"),
        grace=parse_span(args.grace, field="grace"),
        slow=None if args.slow is None else parse_span(args.slow, field="slow"))
    plan = Plan(events=args.events, interval=parse_span(args.interval, field="interval"),
                seed=args.seed)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # module:attr from here, as uvicorn does
    observer: Any = None
    if args.observe is not None:
        if args.observe.startswith(("http://", "https://")):
            token = args.state_token or os.environ.get(STATE_TOKEN_ENV)
            observer = StateObserver(args.observe, token=token)
        else:
            observer = CallbackObserver(load_target(args.observe))
    report = run_rehearsal(
        load_target(args.target), twin, trouble=trouble, plan=plan, observer=observer,
        secret=args.secret or os.environ.get(SECRET_ENV) or None,
        new_secret=args.new_secret or os.environ.get(NEW_SECRET_ENV) or None,
        speed=args.speed, path=args.path)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1
