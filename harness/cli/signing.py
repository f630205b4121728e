"""``hooklab sign`` and ``hooklab verify``: signatures by hand, for debugging a receiver.

``sign`` prints the headers a sender would attach, one ``Name: value`` per line, ready for
``curl -H``. ``verify`` checks headers copied from a request log against the raw body and
says why a signature fails. Both read the body from a file, or from stdin given ``-``.
Only the command line reads the clock and the system's randomness; the model takes them
as arguments.

Example::

    $ hooklab sign --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw body.json
    webhook-id: msg_...
    webhook-timestamp: 1614265330
    webhook-signature: v1,...
    $ hooklab verify --secret whsec_... -H 'webhook-id: msg_...' ... body.json
    valid: message msg_...
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from typing import Any

from hooklab.model.errors import ConfigError
from hooklab.model.signing import (
    DEFAULT_SCHEME,
    DEFAULT_TOLERANCE,
    SCHEMES,
    check_secret,
    get_scheme,
)
from hooklab.model.signing import generate_message_id as _new_id

__all__ = ["parse_header", "read_body", "register"]


def parse_header(text: str) -> tuple[str, str]:
    """Split a curl-style ``-H 'Name: value'`` into its name and value.

    >>> parse_header("webhook-id: msg_1")
    ('webhook-id', 'msg_1')
    """
    name, sep, value = text.partition(":")
    if not sep or not name or name != name.strip() or " " in name:
        raise ConfigError(f"malformed header {text!r}: expected 'Name: value'")
    return name, value.strip()


def read_body(path: str) -> bytes:
    """The raw body bytes from ``path``, or from stdin when ``path`` is ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise ConfigError(f"cannot read body file {path!r}: {exc.strerror or exc}") from None


def _secrets(args: argparse.Namespace) -> list[str]:
    return [check_secret(secret, args.scheme) for secret in args.secret]


def _sign(args: argparse.Namespace) -> int:
    secrets = _secrets(args)
    body = read_body(args.body)
    message_id = args.id if args.id is not None else _new_id(random.SystemRandom())
    timestamp = args.timestamp if args.timestamp is not None else int(time.time())
    headers = get_scheme(args.scheme).sign(
        message_id=message_id, timestamp=timestamp, body=body, secrets=secrets
    )
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if not math.isfinite(args.tolerance) or args.tolerance < 0:
        raise ConfigError(f"--tolerance must be a number of seconds >= 0, not {args.tolerance}")
    secrets = _secrets(args)
    headers: dict[str, str] = {}
    for text in args.header:
        name, value = parse_header(text)
        if name.lower() in {known.lower() for known in headers}:
            raise ConfigError(f"header {name!r} is given more than once")
        headers[name] = value
    body = read_body(args.body)
    message_id = get_scheme(args.scheme).verify(
        headers, body, secrets=secrets, now=time.time(), tolerance=args.tolerance
    )  # a VerificationError reaches the root CLI, which prints it and exits 1
    print(f"valid: message {message_id}" if message_id else "valid")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secret",
        action="append",
        required=True,
        metavar="SECRET",
        help="signing secret; repeat it for key rotation",
    )
    parser.add_argument(
        "--scheme",
        choices=list(SCHEMES),
        default=DEFAULT_SCHEME,
        help=f"signing scheme (default: {DEFAULT_SCHEME})",
    )
    parser.add_argument(
        "body", nargs="?", default="-", metavar="BODY_FILE", help="raw body; '-' for stdin"
    )


def register(subparsers: Any) -> None:
    """Add the ``sign`` and ``verify`` subcommands to the root ``hooklab`` parser."""
    sign = subparsers.add_parser(
        "sign",
        help="print the signature headers for a body",
        description="Sign a body and print the headers to send, one 'Name: value' per line.",
    )
    _common(sign)
    sign.add_argument("--id", help="message id (default: msg_ + random)")
    sign.add_argument("--timestamp", type=int, metavar="UNIX", help="seconds (default: now)")
    sign.set_defaults(handler=_sign)

    verify = subparsers.add_parser(
        "verify",
        help="check the signature headers of a body",
        description="Exit 0 if the headers carry a valid signature of the body; "
        "otherwise exit 1 with the reason on stderr.",
    )
    _common(verify)
    verify.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a received header, as in curl; repeat for each",
    )
    verify.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        metavar="SECONDS",
        help=f"allowed clock skew (default: {DEFAULT_TOLERANCE:g})",
    )
    verify.set_defaults(handler=_verify)
