"""``hooklab policies``: list the retry presets, or print one preset's retry schedule.

Without a name it lists every preset with its attempts, window, jitter and when its last
attempt starts. With a name it prints each attempt's delay and start time (``h:mm:ss``
after the first attempt); ``--seed`` adds one jittered run drawn from ``random.Random``
seeded with it, every attempt failing with a 500.

Example::

    $ hooklab policies
    $ hooklab policies svix --seed 1
"""

from __future__ import annotations

import argparse
from typing import Any

from hooklab.model.presets import (
    DEFAULT_POLICY,
    PRESETS,
    describe_jitter,
    format_hms,
    get_policy,
    jittered_run,
)
from hooklab.model.retry import RetryPolicy

from .table import Output, Table, add_output_flags, render

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``policies`` subcommand to the ``hooklab`` parser."""
    parser = subparsers.add_parser(
        "policies",
        help="list the retry presets, or print one preset's retry schedule",
        description=__doc__.split("\n\n")[1].replace("``", "") if __doc__ else None,
    )
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help=f"a preset to print ({', '.join(PRESETS)})")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="also print one jittered run drawn with this seed")
    add_output_flags(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    output = Output.from_args(args)
    if args.name is None:
        render(_listing(), output)
        return 0
    head, table = _schedule(get_policy(args.name), args.seed)
    print(head)
    render(table, output)
    return 0


def _listing() -> Table:
    table = Table("preset", "attempts", "window", "jitter", "last attempt at")
    for name, policy in PRESETS.items():
        window = "-" if policy.max_window is None else format_hms(policy.max_window)
        label = name + (" (default)" if name == DEFAULT_POLICY else "")
        table.add_row(label, str(policy.max_attempts), window,
                      describe_jitter(policy.jitter), format_hms(policy.attempt_times()[-1]))
    return table


def _schedule(policy: RetryPolicy, seed: int | None) -> tuple[str, Table]:
    """The preset's description lines and its schedule as a table."""
    window = "none" if policy.max_window is None else format_hms(policy.max_window)
    head = [
        f"{policy.name}: {policy.description}" if policy.description else policy.name,
        f"max attempts {policy.max_attempts}, window {window}, "
        f"jitter {describe_jitter(policy.jitter)}, Retry-After {policy.retry_after.value}"
        + (f" (cap {policy.retry_after_cap:g} s)" if policy.retry_after_cap else "")
        + (f", overload penalty {policy.overload_penalty:g} s"
           if policy.overload_penalty else "")
        + (", never retried: " + ", ".join(map(str, sorted(policy.no_retry_codes)))
           if policy.no_retry_codes else ""),
        "",
    ]
    header = ["attempt", "delay", "at"]
    if seed is not None:
        header += [f"jittered (seed {seed})", "at"]
    table = Table(*header)
    times = policy.attempt_times()
    jittered = jittered_run(policy, seed) if seed is not None else ()
    at = 0.0
    for i, start in enumerate(times):
        row = [str(i + 1), "-" if i == 0 else f"{policy.schedule()[i - 1]:g}",
               format_hms(start)]
        if seed is not None:
            if i == 0:
                row += ["-", format_hms(0)]
            elif i <= len(jittered):
                at += jittered[i - 1]
                row += [f"{jittered[i - 1]:.1f}", format_hms(at)]
            else:
                row += ["(window)", "-"]
        table.add_row(*row)
    return "\n".join(head), table
