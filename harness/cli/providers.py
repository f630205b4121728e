"""``hooklab providers``: list the provider twins, or show one with an example request.

Without a name it lists every twin: its coverage, signing scheme, timeout, retry preset,
dedupe id (and whether it is signed), handshake and disable rule. With a name it shows
all of that twin's facts, where they come from and what is approximate, then an example
request: a message drawn from a fixed seed, signed with demo keys at a fixed time
(2023-11-14T22:13:20Z), so the output is the same on every run, and can be checked with
``hooklab verify``. ``--json`` prints the same as JSON. Everything shown comes from
:mod:`hooklab.model.providers`; this module only lays it out.

Example::

    $ hooklab providers
    $ hooklab providers shopify --url https://example.com/webhooks
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any

from hooklab.model.presets import format_hms
from hooklab.model.providers import (
    EXAMPLE_NOW,
    EXAMPLE_SEED,
    EXAMPLE_URL,
    PROVIDERS,
    Request,
    Twin,
    get_provider,
    signing_secret,
)
from hooklab.model.providers.ids import rfc3339

from .table import Output, Table, add_output_flags, render

__all__ = ["register"]

_EXAMPLES = """\
Examples:
  hooklab providers                          # every twin, one line each
  hooklab providers shopify                  # one twin, with a signed example request
  hooklab providers twilio --url https://example.com/sms --event status-callback
  hooklab providers slack --json | jq .handshake
"""


def register(subparsers: Any) -> None:
    """Add the ``providers`` subcommand to the ``hooklab`` parser."""
    parser = subparsers.add_parser(
        "providers",
        help="list the provider twins, or show one with a signed example request",
        description=__doc__.split("\n\n")[1].replace("``", "").replace(
            ":mod:`hooklab.model.providers`", "hooklab.model.providers") if __doc__ else None,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help=f"a twin to show ({', '.join(PROVIDERS)})")
    parser.add_argument("--url", default=EXAMPLE_URL, metavar="URL",
                        help=f"where the example request goes (default: {EXAMPLE_URL}); "
                             "twilio, square and hubspot sign it")
    parser.add_argument("--event", metavar="TYPE",
                        help="the example's event type (default: the twin's first)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_output_flags(parser)
    parser.set_defaults(handler=_run, flags={"provider": "provider", "event_type": "--event"})


def _run(args: argparse.Namespace) -> int:
    if args.name is None:
        if args.json:
            print(json.dumps({"providers": [t.describe() for t in PROVIDERS.values()]},
                             indent=2))
        else:
            render(_listing(), Output.from_args(args))
            print(f"\n{_NOTE}")
        return 0
    twin = get_provider(args.name)
    if args.json:
        print(json.dumps(_one_json(twin, args.url, args.event), indent=2, ensure_ascii=False))
    else:
        print(_one_text(twin, args.url, args.event))
    return 0


# ------------------------------------------------------------------ the listing


def _retries(twin: Twin) -> str:
    policy = twin.policy
    if policy is None:
        return "-"
    times = policy.attempt_times()
    if len(times) == 1:
        return f"{policy.name}: none"
    approx = "~" if "APPROXIMATE" in policy.description else ""
    return f"{policy.name}: {len(times)} to {approx}{format_hms(times[-1])}"


def _dedupe(twin: Twin) -> str:
    dedupe = twin.dedupe
    if dedupe is None:
        return "-"
    where = "" if dedupe.where == "header" else " (body)"
    return f"{dedupe.name}{where}, {'signed' if dedupe.signed else 'NOT signed'}"


_NOTE = ("~: approximate (the provider publishes no exact figure); -: none, not in "
         "docs/reference.md or not modelled.\n`hooklab providers NAME` shows one in full, "
         "with its sources.")


def _listing() -> Table:
    table = Table("provider", "coverage", "scheme", "timeout", "retries (attempts to last)",
                  "dedupe id", "handshake", "disable")
    for twin in PROVIDERS.values():
        table.add_row(
            twin.name, twin.coverage, twin.scheme or "-",
            "-" if twin.timeout is None else twin.timeout.describe(),
            _retries(twin), _dedupe(twin),
            "-" if twin.handshake is None else twin.handshake.name,
            "-" if twin.disable is None else twin.disable.brief(),
        )
    return table


# ------------------------------------------------------------------ one twin


def _facts(twin: Twin) -> list[tuple[str, str]]:
    policy, headers = twin.policy, twin.retry_headers
    retries = "-"
    if policy is not None:
        retries = (f"preset {policy.name}: {_retries(twin).split(': ', 1)[1]}; "
                   f"{policy.description}")
    retry_headers = "-"
    if headers is not None:
        retry_headers = ", ".join(filter(None, [headers.number, headers.reason]))
        if headers.opt_out is not None:
            retry_headers += f"; a non-2xx answer with {': '.join(headers.opt_out)} opts out"
    return [
        ("scheme", twin.scheme or "- (hooklab has no scheme for it yet)"),
        ("event types", ", ".join(twin.event_types) or "-"),
        ("headers", ", ".join(f"{k}: {v}" for k, v in twin.headers) or "-"),
        ("timeout", "-" if twin.timeout is None else twin.timeout.describe()),
        ("retries", retries),
        ("retry headers", retry_headers),
        ("dedupe id", "-" if twin.dedupe is None else twin.dedupe.describe()),
        ("handshake", "-" if twin.handshake is None else
         f"{twin.handshake.name}: answer {twin.handshake.needs}"),
        ("bad signature", "any 4xx" if twin.bad_signature_status is None else
         f"must be answered {twin.bad_signature_status}"),
        ("disable", "-" if twin.disable is None else twin.disable.describe()),
        *(("sources", source) for source in twin.sources),
        *(("approximate", note) for note in twin.approximate),
        *(("not modelled", gap) for gap in twin.gaps),
    ]


def _wire(request: Request) -> list[str]:
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers]
    return [*lines, "", request.body.decode("utf-8", "replace")]


def _one_text(twin: Twin, url: str, event: str | None) -> str:
    facts = _facts(twin)
    width = max(len(label) for label, _ in facts)
    lines = [f"{twin.name}: {twin.title} ({twin.coverage})", ""]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in facts]
    if twin.scheme is None:
        return "\n".join(lines)
    example = twin.example(url=url, event_type=event)
    lines += ["", f"Example request: demo keys and payload from seed {EXAMPLE_SEED}, signed at "
              f"{EXAMPLE_NOW} ({rfc3339(EXAMPLE_NOW)})."]
    for label, key in example.keys.items():
        lines.append(f"  {label}: " + key.replace("\n", "\n    "))
    lines += ["", *_wire(example.request)]
    if twin.handshake is not None:
        message = twin.handshake_message(random.Random(EXAMPLE_SEED), EXAMPLE_NOW)
        request = twin.request(message, secrets=[signing_secret(example.keys)],
                               now=EXAMPLE_NOW, url=url)
        lines += ["", f"Handshake request ({twin.handshake.name}; the receiver must answer "
                  f"{twin.handshake.needs}):", "", *_wire(request)]
    return "\n".join(lines)


def _request_json(request: Request) -> dict[str, Any]:
    return {"method": request.method, "url": request.url,
            "headers": [list(pair) for pair in request.headers],
            "body": request.body.decode("utf-8", "replace")}


def _one_json(twin: Twin, url: str, event: str | None) -> dict[str, Any]:
    data = twin.describe()
    if twin.scheme is None:
        return data | {"example": None}
    example = twin.example(url=url, event_type=event)
    data["example"] = {"seed": EXAMPLE_SEED, "now": EXAMPLE_NOW, "keys": example.keys,
                       "message_id": example.message.id,
                       "request": _request_json(example.request)}
    if twin.handshake is not None:
        message = twin.handshake_message(random.Random(EXAMPLE_SEED), EXAMPLE_NOW)
        request = twin.request(message, secrets=[signing_secret(example.keys)],
                               now=EXAMPLE_NOW, url=url)
        data["example"]["handshake_request"] = _request_json(request)
    return data
