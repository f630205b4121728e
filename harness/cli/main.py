"""The ``hooklab`` console script: one parser, with subcommands that live beside their code.

Each module in :data:`COMMAND_MODULES` has a ``register(subparsers)`` function that adds its
subcommands and sets ``handler`` (a function ``args -> exit code``) as their default. This
module only dispatches and turns errors into exit codes:

- 0: success; 1: a check, a verification or a delivery failed;
- 2: a usage error (bad flag, bad file, bad value), with a one-line message naming it.

Example::

    $ hooklab sign --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw body.json
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .errors import ConfigError, HooklabError

__all__ = ["COMMAND_MODULES", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "main", "usage_error"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: Modules that contribute subcommands, in the order ``hooklab --help`` lists them.
COMMAND_MODULES = (
    "hooklab.sim.cli",
    "hooklab.sim.plot_cli",
    "hooklab.sim.sweep_cli",
    "hooklab.harness.cli",
    "hooklab.harness.serve_cli",
    "hooklab.harness.outbox_cli",
    "hooklab.model.commands",
    "hooklab.model.signing_cli",
    "hooklab.model.policy_cli",
)


def usage_error(message: str) -> ConfigError:
    """A usage error to raise from a handler; the CLI prints it and exits 2."""
    return ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    """The root parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="hooklab",
        description="Model, simulate and test webhook delivery.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
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
        print(f"hooklab {args.command}: error: {exc}", file=sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
