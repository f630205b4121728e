"""The Examples block every subcommand's ``--help`` ends with.

:data:`EXAMPLES` maps a command (``"endpoints add"``) to a few command lines, each a real
invocation (a test parses every one with the parser). :func:`attach` adds them as the
epilog of every command that does not already carry its own Examples (``sweep``,
``sign``, ``verify``, ``secret generate``, ``providers`` do), printed as written.

Example::

    >>> EXAMPLES["status"][0]
    'hooklab status'
"""

from __future__ import annotations

import argparse

from .parser import CommandParser, leaves

__all__ = ["EXAMPLES", "attach"]

EXAMPLES: dict[str, tuple[str, ...]] = {
    "simulate": (
        "hooklab simulate",
        "hooklab simulate --failure-rate 0.3 --policy svix --messages 10000 --json-out s.json",
        "hooklab simulate --faults 'status=503:0.3 down=3600:7200' --policy hook0",
        "hooklab simulate --scenario outage-storm --records storm.csv --plot storm.png",
        "hooklab simulate --list",
    ),
    "plot": (
        "hooklab plot run.jsonl --kind timeline --max-lanes 30 -o timeline.png",
        "hooklab plot svix.csv stripe.csv --kind latency --label svix --label stripe",
        "hooklab plot --db hooks.db --kind timeline -o timeline.png",
        "hooklab plot results.csv --kind study -o study.png",
    ),
    "replay": (
        "hooklab replay report.json rejects_invalid_signature --secret @secret.txt",
        "hooklab replay report.json accepts_valid_delivery --secret @secret.txt --curl",
    ),
    "check": (
        "hooklab check http://127.0.0.1:8000/hooks --secret @secret.txt",
        "hooklab check http://127.0.0.1:8000/hooks --secret @secret.txt --scheme github "
        "--json-out report.json --seed 1",
    ),
    "serve receiver": (
        "HOOKLAB_SECRET=$(cat secret.txt) hooklab serve receiver --port 8000",
        "hooklab serve receiver --secret @secret.txt --store inbox.db --quiet",
    ),
    "serve flaky": (
        "HOOKLAB_SECRET=$(cat secret.txt) hooklab serve flaky --failure-rate 0.3",
        "hooklab serve flaky --secret @secret.txt --faults 'status=503:0.2 latency=0.5' "
        "--log requests.jsonl",
        "hooklab serve flaky --secret @secret.txt --script 500,timeout,200 --port 0",
    ),
    "endpoints add": (
        "hooklab endpoints add https://example.com/hooks --secret @secret.txt --events "
        "'invoice.*'",
        "hooklab endpoints add http://127.0.0.1:8000/hooks --secret @secret.txt --id ep_local "
        "--allow-private",
    ),
    "endpoints list": (
        "hooklab endpoints list",
        "hooklab endpoints list --tsv | cut -f1,2",
        "hooklab endpoints list --json | jq '.items[].url'",
    ),
    "endpoints disable": ("hooklab endpoints disable ep_shop --reason 'maintenance'",),
    "endpoints enable": ("hooklab endpoints enable ep_shop",),
    "endpoints remove": ("hooklab endpoints remove ep_shop",),
    "endpoints rotate": ("hooklab endpoints rotate ep_shop --secret @new-secret.txt "
                         "--grace 3600",),
    "send": (
        "hooklab send --type invoice.paid --data '{\"invoice\": \"in_42\"}' --id inv_42_paid",
        "hooklab send --type invoice.paid --data @event.json",
    ),
    "worker": (
        "hooklab worker --concurrency 20",
        "hooklab worker --until-idle --max-wait 0",
        "hooklab worker --endpoint ep_slow --concurrency 2 --quiet",
    ),
    "status": (
        "hooklab status",
        "hooklab status inv_42_paid",
        "hooklab status --status failed --endpoint ep_shop --limit 200",
        "hooklab status --json | jq '.deliveries.total'",
    ),
    "resend": ("hooklab resend inv_42_paid --endpoint ep_shop",),
    "recover": ("hooklab recover --endpoint ep_shop --since 24h",),
    "diagram": ("hooklab diagram", "hooklab diagram --format md --machine delivery"),
    "policies": ("hooklab policies", "hooklab policies svix --seed 1"),
    "completion": (
        "hooklab completion bash > ~/.local/share/bash-completion/completions/hooklab",
        "hooklab completion zsh > ~/.zfunc/_hooklab",
        "hooklab completion fish > ~/.config/fish/completions/hooklab.fish",
    ),
}


class _Formatter(argparse.HelpFormatter):
    """Wraps the description as usual but prints an ``Examples:`` epilog as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        head, mark, block = text.partition("Examples:")
        if not mark:
            return super()._fill_text(text, width, indent)
        note = super()._fill_text(head, width, indent) + "\n\n" if head.strip() else ""
        return note + "\n".join(indent + line for line in (mark + block).splitlines())


def attach(root: CommandParser) -> None:
    """Give every command without an Examples block its block from :data:`EXAMPLES`."""
    for name, parser in leaves(root):
        lines = EXAMPLES.get(name)
        own = f"{parser.description or ''}{parser.epilog or ''}"
        if lines is None or "Examples" in own:
            continue
        kept = f"{parser.epilog}\n\n" if parser.epilog else ""  # a note before the block
        parser.epilog = kept + "Examples:\n" + "\n".join(f"  {line}" for line in lines)
        if parser.formatter_class is argparse.HelpFormatter:
            parser.formatter_class = _Formatter
