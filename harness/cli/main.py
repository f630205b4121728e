"""The ``hooklab`` console script: one parser, every subcommand registered explicitly.

Each command module of this package has a ``register(subparsers)`` function that adds its
subcommands and sets ``handler`` (a function ``args -> exit code``) as their default; the
modules import their domain code lazily, inside the handlers, so ``hooklab --help`` stays
fast. This module only dispatches and turns errors into exit codes:

- 0: success; 1: a check, a verification or a delivery failed;
- 2: a usage error (bad flag, bad file, bad value), with a one-line message naming it.

Example::

    $ hooklab sign --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw body.json
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import hooklab
from hooklab.model.errors import ConfigError, HooklabError

from . import (
    check,
    completion,
    diagram,
    examples,
    outbox,
    plot,
    policies,
    providers,
    rehearse,
    replay,
    secret,
    serve,
    signing,
    simulate,
    sweep,
)
from .parser import CommandParser

__all__ = [
    "COMMANDS",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "flag_message",
    "main",
    "usage_error",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: The command modules, in the order ``hooklab --help`` lists their subcommands.
COMMANDS = (simulate, plot, sweep, check, replay, serve, outbox, diagram, signing, secret,
            policies, providers, rehearse, completion)


def usage_error(message: str) -> ConfigError:
    """A usage error to raise from a handler; the CLI prints it and exits 2."""
    return ConfigError(message)


def flag_message(error: ConfigError, args: argparse.Namespace) -> str:
    """The error's message, with the field it starts with shown as the flag that sets it.

    A command maps a field whose flag is not ``--`` + the field with ``-`` for ``_``
    through ``set_defaults(flags={field: flag})``.

    >>> flag_message(ConfigError("max_attempts 0: too few", field="max_attempts"),
    ...              argparse.Namespace())
    '--max-attempts 0: too few'
    """
    text = str(error)
    field = error.field
    if not field or not text.startswith(field):
        return text
    flag = getattr(args, "flags", {}).get(field, "--" + field.replace("_", "-"))
    return flag + text[len(field):]


def build_parser() -> CommandParser:
    """The root parser with every registered subcommand."""
    parser = CommandParser(
        prog="hooklab",
        description="Model, simulate and test webhook delivery.",
    )
    parser.add_argument("--version", action="version", version=f"hooklab {hooklab.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    examples.attach(parser)
    subparsers.choices["completion"].set_defaults(root=parser)  # what it completes
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hooklab`` command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or EXIT_OK)
    except ConfigError as exc:
        print(f"hooklab {args.command}: error: {flag_message(exc, args)}", file=sys.stderr)
        return EXIT_USAGE
    except HooklabError as exc:
        print(f"hooklab {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"hooklab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hooklab diagram | head`: the reader left; not an error
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)

