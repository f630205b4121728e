"""``hooklab secret generate``: a fresh secret, or key pair, in a scheme's own format.

For ``standard`` a ``whsec_`` secret (``--v1a``: a ``whsk_`` signing key and its ``whpk_``
verifying key); for ``sendgrid`` a PEM signing key and the base64 verifying key SendGrid's
dashboard would show; for ``discord`` a hex private and public key; for every other scheme a
random token shaped like the provider's. A lone secret is printed bare, so it pipes into a
file; a key pair is printed labelled. ``--out FILE`` writes the secret, or the signing key,
to a new file readable by its owner only (an existing file is never overwritten; no folder
is created) and prints only the verifying key. The randomness is the system's
(``random.SystemRandom``); the model takes it as an argument.

Example::

    $ hooklab secret generate
    whsec_...
    $ hooklab secret generate --scheme standard --v1a
    signing key: whsk_...
    verifying key: whpk_...
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from typing import Any

from hooklab.model.errors import ConfigError
from hooklab.model.signing import DEFAULT_SCHEME, SCHEMES, generate_v1a_keys, get_scheme

__all__ = ["register", "write_new_file"]

_EXAMPLES = """\
Examples:
  hooklab secret generate > secret.txt
  hooklab secret generate --scheme standard --v1a
  hooklab secret generate --scheme sendgrid --out sendgrid-key.pem
  hooklab secret generate --scheme paddle --out paddle-secret.txt
  HOOKLAB_SECRET=$(hooklab secret generate --scheme slack) hooklab sign --scheme slack body.json
"""


def write_new_file(path: str, text: str) -> None:
    """Write ``text`` to a new file at ``path``, mode 0600; ConfigError if it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"out: {path!r} exists; choose a new file", field="out") from None
    except OSError as exc:
        raise ConfigError(f"out: cannot create {path!r}: {exc.strerror or exc}",
                          field="out") from None
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text + "\n")


def _generate(args: argparse.Namespace) -> int:
    rng = random.SystemRandom()
    if args.v1a and args.scheme != "standard":
        raise ConfigError(f"v1a: only the standard scheme has v1a keys, not {args.scheme}",
                          field="v1a")
    keys = generate_v1a_keys(rng) if args.v1a else get_scheme(args.scheme).generate_keys(rng)
    if args.out is not None:
        written = keys.pop("secret", None) or keys.pop("signing key")
        write_new_file(args.out, written)
        print(f"wrote the {'secret' if not keys else 'signing key'} to {args.out}",
              file=sys.stderr)
    if list(keys) == ["secret"]:
        print(keys["secret"])
        return 0
    for label, value in keys.items():
        print(f"{label}:{chr(10) if chr(10) in value else ' '}{value}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``secret generate`` to the root ``hooklab`` parser."""
    secret = subparsers.add_parser(
        "secret",
        help="make signing secrets and key pairs",
        description="Make signing secrets and key pairs.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = secret.add_subparsers(dest="action", metavar="ACTION")
    generate = actions.add_parser(
        "generate",
        help="print a fresh secret (or key pair) in a scheme's format",
        description="Print a fresh secret, or key pair, in a scheme's own format.\n\n"
        + __doc__.split("\n\n")[1].replace("``", ""),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    generate.add_argument(
        "--scheme", choices=list(SCHEMES), default=DEFAULT_SCHEME, metavar="NAME",
        help=f"signing scheme: {', '.join(SCHEMES)} (default: {DEFAULT_SCHEME})",
    )
    generate.add_argument("--v1a", action="store_true",
                          help="standard only: an Ed25519 v1a key pair instead of a whsec_ secret")
    generate.add_argument("--out", metavar="FILE",
                          help="write the secret or signing key to this new file (mode 0600) "
                               "instead of stdout; never overwrites, creates no folder")
    generate.set_defaults(handler=_generate)
    secret.set_defaults(handler=lambda args: _no_action(secret))


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2
