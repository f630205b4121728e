"""``hooklab sign`` and ``hooklab verify``: signatures by hand, for debugging a receiver.

``sign`` prints the headers a sender would attach, one ``Name: value`` per line, ready for
``curl -H``. ``verify`` checks headers copied from a request log against the raw body and
says why a signature fails. Both work for every scheme (``--scheme``), read the body from a
file, or from stdin given ``-``, and take the schemes' extra inputs as ``--url`` (twilio,
square, hubspot) and ``--method`` (hubspot). A twilio form body is the form-encoded file as
sent (``a=1&b=2``).

A secret is ``--secret VALUE``, ``--secret @FILE`` (a SendGrid PEM key, or any secret kept
out of ``ps``), ``--secret @-`` (stdin), or the ``HOOKLAB_SECRET`` environment variable when
no ``--secret`` is given; repeat ``--secret`` for key rotation. Only the command line reads
the clock and the system's randomness; the model takes them as arguments.

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
import os
import random
import sys
import time
from typing import Any

from hooklab.model.errors import ConfigError
from hooklab.model.signing import DEFAULT_SCHEME, SCHEMES, check_secret, get_scheme
from hooklab.model.signing import generate_message_id as _new_id

__all__ = ["SECRET_ENV", "parse_header", "read_body", "read_secrets", "register"]

#: The environment variable that holds the secret when no ``--secret`` is given.
SECRET_ENV = "HOOKLAB_SECRET"

_SIGN_EXAMPLES = """\
Examples:
  hooklab sign --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw body.json
  HOOKLAB_SECRET=whsk_... hooklab sign --id msg_1 --timestamp 1614265330 body.json
  hooklab sign --scheme stripe --secret @secret.txt - < event.json
  hooklab sign --scheme twilio --secret @token.txt --url 'https://example.com/sms' form.txt
  hooklab sign --scheme hubspot --secret @client-secret.txt --url https://example.com/hook \\
      --method POST body.json
  hooklab sign --scheme sendgrid --secret @sendgrid-key.pem events.json
"""
_VERIFY_EXAMPLES = """\
Examples:
  hooklab verify --secret whsec_... -H 'webhook-id: msg_1' -H 'webhook-timestamp: 1614265330' \\
      -H 'webhook-signature: v1,...' body.json
  hooklab verify --secret whpk_... --tolerance 3600 -H ... body.json     # a v1a key
  hooklab verify --scheme github --secret @secret.txt --secret @old.txt -H ... body.json
  hooklab verify --scheme sendgrid --secret MFkwEwYHKoZIzj0CAQYI... -H ... events.json
  hooklab verify --scheme square --secret @key.txt --url https://example.com/square -H ... body.json
"""
_URL_SCHEMES = ", ".join(name for name, scheme in SCHEMES.items() if "url" in scheme.inputs)
_METHOD_SCHEMES = ", ".join(name for name, s in SCHEMES.items() if "method" in s.inputs)
_TOLERANCES = ", ".join(
    f"{name} {scheme.tolerance:g}" for name, scheme in SCHEMES.items()
    if scheme.tolerance is not None
)


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


def read_secrets(values: list[str] | None, *, stdin_taken: bool = False) -> list[str]:
    """The secrets that ``--secret VALUE|@FILE|@-`` (or ``$HOOKLAB_SECRET``) name.

    A file's or stdin's text is used with its surrounding whitespace (a final newline)
    removed; ``stdin_taken`` says the body already reads stdin.

    >>> read_secrets(["whsec_abc", "literal"])
    ['whsec_abc', 'literal']
    """
    if not values:
        from_env = os.environ.get(SECRET_ENV)
        if not from_env:
            raise ConfigError(f"secret: give --secret VALUE, @FILE or @-, or set {SECRET_ENV}",
                              field="secret")
        return [from_env]
    if sum(value == "@-" for value in values) + stdin_taken > 1:
        raise ConfigError("secret: stdin can be read once: by one --secret @- or by the body '-'",
                          field="secret")
    return [_read_secret(value) for value in values]


def _read_secret(value: str) -> str:
    if not value.startswith("@"):
        return value
    source = value[1:]
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as file:
                text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"secret: cannot read {source!r}: {reason}", field="secret") from None
    text = text.strip()
    if not text:
        raise ConfigError(f"secret: {'stdin' if source == '-' else repr(source)} is empty",
                          field="secret")
    return text


def _inputs(args: argparse.Namespace) -> dict[str, str]:
    """``--url``/``--method`` as keyword arguments, refused for schemes that do not sign them."""
    inputs = get_scheme(args.scheme).inputs
    given = {name: getattr(args, name) for name in ("url", "method") if getattr(args, name)}
    for name in given:
        if name not in inputs:
            users = _URL_SCHEMES if name == "url" else _METHOD_SCHEMES
            raise ConfigError(f"{name}: the {args.scheme} scheme signs no {name} "
                              f"(only {users} do)", field=name)
    return given


def _secrets(args: argparse.Namespace, use: str) -> list[str]:
    secrets = read_secrets(args.secret, stdin_taken=args.body == "-")
    return [check_secret(s, args.scheme, use=use) for s in secrets]  # type: ignore[arg-type]


def _sign(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    secrets = _secrets(args, "sign")
    body = read_body(args.body)
    message_id = args.id if args.id is not None else _new_id(random.SystemRandom())
    timestamp = args.timestamp if args.timestamp is not None else int(time.time())
    headers = get_scheme(args.scheme).sign(
        message_id=message_id, timestamp=timestamp, body=body, secrets=secrets, **inputs
    )
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    secrets = _secrets(args, "verify")
    headers: dict[str, str] = {}
    for text in args.header:
        name, value = parse_header(text)
        if name.lower() in {known.lower() for known in headers}:
            raise ConfigError(f"header {name!r} is given more than once")
        headers[name] = value
    body = read_body(args.body)
    scheme = get_scheme(args.scheme)
    message_id = scheme.verify(
        headers, body, secrets=secrets, now=time.time(), tolerance=args.tolerance, **inputs
    )  # a VerificationError reaches the root CLI, which prints it and exits 1
    if not message_id:
        print("valid")
    elif scheme.id_signed:
        print(f"valid: message {message_id}")
    else:
        print(f"valid: message {message_id} (the {scheme.id_header} header is not signed)")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheme", choices=list(SCHEMES), default=DEFAULT_SCHEME, metavar="NAME",
        help=f"signing scheme: {', '.join(SCHEMES)} (default: {DEFAULT_SCHEME})",
    )
    parser.add_argument(
        "--secret", action="append", metavar="SECRET|@FILE|@-",
        help=f"signing secret or key, from a file with @FILE or stdin with @-; repeat it "
             f"for key rotation (default: ${SECRET_ENV})",
    )
    parser.add_argument("--url", metavar="URL",
                        help=f"the request URL, which {_URL_SCHEMES} sign")
    parser.add_argument("--method", metavar="METHOD",
                        help=f"the HTTP method, which {_METHOD_SCHEMES} signs (default: POST)")
    parser.add_argument(
        "body", nargs="?", default="-", metavar="BODY_FILE", help="raw body; '-' for stdin"
    )


def register(subparsers: Any) -> None:
    """Add the ``sign`` and ``verify`` subcommands to the root ``hooklab`` parser."""
    sign = subparsers.add_parser(
        "sign",
        help="print the signature headers for a body",
        description="Sign a body and print the headers to send, one 'Name: value' per line.",
        epilog=_SIGN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        epilog=_VERIFY_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(verify)
    verify.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
        help="a received header, as in curl; repeat for each",
    )
    verify.add_argument(
        "--tolerance", type=float, default=None, metavar="SECONDS",
        help=f"allowed clock skew (default: the provider's own: {_TOLERANCES}; "
             "the other schemes check none)",
    )
    verify.set_defaults(handler=_verify)
