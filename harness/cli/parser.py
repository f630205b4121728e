"""The ``hooklab`` parser class: an ``ArgumentParser`` that remembers what it was given.

argparse keeps a parser's options and subcommands in private attributes. A
:class:`CommandParser` records them as they are added, in public ones: :attr:`options`
(every ``Action`` added, in argument groups too) and :attr:`commands` (each subcommand's
parser and one-line help). The Examples blocks (:mod:`.examples`) and shell completion
(:mod:`.completion`) read those, so both follow the parser without reaching inside
argparse.

Example::

    >>> root = CommandParser(prog="hooklab")
    >>> sub = root.add_subparsers().add_parser("status", help="show messages")
    >>> _ = sub.add_argument("--limit", type=int)
    >>> [(name, text) for name, (_, text) in root.commands.items()]
    [('status', 'show messages')]
    >>> [a.option_strings for a in sub.options if a.option_strings != ["-h", "--help"]]
    [['--limit']]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

__all__ = ["CommandParser", "leaves"]


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose subparsers are ``CommandParser`` too, recording its
    :attr:`options` and :attr:`commands`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.options: list[argparse.Action] = []
        self.commands: dict[str, tuple[CommandParser, str]] = {}
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        group = super().add_argument_group(*args, **kwargs)
        add = group.add_argument

        def add_argument(*names: Any, **options: Any) -> argparse.Action:
            action = add(*names, **options)
            self.options.append(action)
            return action

        group.add_argument = add_argument  # type: ignore[method-assign]
        return group

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", CommandParser)
        action = super().add_subparsers(**kwargs)
        add = action.add_parser

        def add_parser(name: str, **options: Any) -> CommandParser:
            child = add(name, **options)
            self.commands[name] = (child, str(options.get("help") or ""))
            return child  # type: ignore[no-any-return]

        action.add_parser = add_parser  # type: ignore[method-assign]
        return action


def leaves(parser: CommandParser,
           path: tuple[str, ...] = ()) -> Iterator[tuple[str, CommandParser]]:
    """Every command that runs (no subcommands of its own), as ``("endpoints add", parser)``."""
    if not parser.commands:
        yield " ".join(path), parser
    for name, (child, _) in parser.commands.items():
        yield from leaves(child, (*path, name))
