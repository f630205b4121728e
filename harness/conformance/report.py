"""Reports: what a conformance run found, as plain records, a rich terminal view and JSON.

A run returns one :class:`Report` holding one :class:`CheckResult` per check, each in one
honest state: ``passed`` (perhaps with notes, e.g. "rejects with 400, not 401"),
``failed`` (with the minimal example), ``inconclusive`` (the receiver's answers cannot
show the rule kept or broken, and why), ``skipped`` (the rule does not apply, and why:
GitHub signs no timestamp; no observer of processing) or ``blocked`` (the check needs a
valid delivery, and ``accepts_valid_delivery`` failed). A failed check holds its
:class:`Finding`: a title, a message, the minimal example Hypothesis shrank to, a
``curl`` command that replays it (until its signed timestamp expires) and a ``hooklab
replay`` command that re-signs it at run time. The CLI, the pytest
plugin and notebooks read these records; none of them looks at the running engine.

Example::

    >>> result = CheckResult("rejects_missing_signature", "Missing signature headers get 401.",
    ...                      "passed", (), None, 0.1)
    >>> Report("http://127.0.0.1:8000/", "standard", None, 100, 10.0, (result,), 0.1).passed
    True
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklab.model.errors import ConfigError

__all__ = ["BLOCKED", "FAILED", "INCONCLUSIVE", "PASSED", "SKIPPED", "STATES", "CheckResult",
           "Finding", "Report", "render"]

PASSED, FAILED, INCONCLUSIVE, SKIPPED, BLOCKED = (
    "passed", "failed", "inconclusive", "skipped", "blocked")
#: Every state a check can end in, in the order the summary counts them.
STATES = (PASSED, FAILED, INCONCLUSIVE, SKIPPED, BLOCKED)


@dataclass(frozen=True)
class Finding:
    """One way a receiver broke a rule, with what reproduces it."""

    check: str
    title: str
    message: str
    example: dict[str, Any]
    curl: str
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    #: Unix time after which the literal ``curl``'s signed timestamp is too old (or None).
    expires: int | None = None
    #: Seconds from now the request was signed at, when ``hooklab replay`` can re-sign it
    #: (it was signed with the secret); None for forgeries, which replay as sent.
    resign_offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data."""
        return {
            "title": self.title,
            "message": self.message,
            "example": self.example,
            "curl": self.curl,
            "curl_expires": self.expires,
            "resign_offset": self.resign_offset,
            "request": self.request,
            "response": self.response,
        }


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict (one of :data:`STATES`), its findings, reason and notes."""

    name: str
    rule: str
    status: str
    findings: tuple[Finding, ...]
    reason: str | None
    duration: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "name": self.name,
            "rule": self.rule,
            "status": self.status,
            "reason": self.reason,
            "notes": list(self.notes),
            "duration": round(self.duration, 3),
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class Report:
    """A whole run: the target, the settings and every check's result, in order."""

    target: str
    scheme: str
    seed: int | None
    max_examples: int
    timeout: float
    results: tuple[CheckResult, ...]
    duration: float
    provider: str | None = None  # the provider twin the deliveries imitate, if one was named

    @property
    def passed(self) -> bool:
        """No check failed (skipped checks do not count against the receiver)."""
        return all(result.status != FAILED for result in self.results)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(result for result in self.results if result.status == FAILED)

    def result(self, name: str) -> CheckResult:
        """The result of the check called ``name``."""
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def counts(self) -> dict[str, int]:
        """How many checks ended in each state."""
        return {s: sum(r.status == s for r in self.results) for s in STATES}

    @property
    def fix_first(self) -> str | None:
        """What to fix first: the failed check others are blocked by, else the first failed."""
        if any(r.status == BLOCKED for r in self.results):
            return "accepts_valid_delivery"
        return self.failed[0].name if self.failed else None

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the ``--json`` format)."""
        return {
            "target": self.target,
            "scheme": self.scheme,
            "provider": self.provider,
            "seed": self.seed,
            "max_examples": self.max_examples,
            "timeout": self.timeout,
            "passed": self.passed,
            "counts": self.counts(),
            "fix_first": self.fix_first,
            "duration": round(self.duration, 3),
            "checks": [result.to_dict() for result in self.results],
        }

    def to_json(self) -> str:
        """The report as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path``; a ConfigError names an unwritable path."""
        target = Path(path)
        try:
            target.write_text(self.to_json(), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the JSON report to {str(path)!r}: "
                              f"{exc.strerror or exc}") from None
        return target


def _visible(text: str) -> str:
    """``text`` with invisible characters (DEL, C1 controls, format marks) escaped."""
    return "".join(
        f"\\u{ord(c):04x}" if c != "\n" and unicodedata.category(c) in _INVISIBLE else c
        for c in text
    )


_INVISIBLE = {"Cc", "Cf", "Co", "Cn", "Zl", "Zp"}
_MARKS = {PASSED: "[green]✔ passed[/]", FAILED: "[bold red]✘ failed[/]",
          INCONCLUSIVE: "[magenta]? inconclusive[/]", SKIPPED: "[yellow]– skipped[/]",
          BLOCKED: "[red]■ blocked[/]"}


def render(report: Report, console: Any = None) -> None:
    """Print ``report`` for people: a table of checks, then each finding in a panel.

    ``console`` is a ``rich.console.Console`` (default: standard output).
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    console = console or Console()
    named = f"{report.scheme}, as {report.provider} delivers" if report.provider else (
        report.scheme)
    table = Table(title=f"hooklab check: {escape(report.target)} ({escape(named)})",
                  title_justify="left")
    table.add_column("check", style="bold")
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_column("rule / reason")
    for result in report.results:
        note = result.rule if result.reason is None else result.reason
        if result.status == FAILED:
            note = result.findings[0].title if result.findings else result.rule
        if result.notes:
            note = f"{note} (note: {'; '.join(result.notes)})"
        table.add_row(result.name, _MARKS[result.status], f"{result.duration:.2f} s",
                      escape(note or ""))
    console.print(table)
    for result in report.failed:
        for finding in result.findings:
            example = _visible(json.dumps(finding.example, indent=2, ensure_ascii=False))
            body = f"{escape(finding.message)}\n\n[bold]minimal example[/]\n{escape(example)}"
            console.print(Panel(body, title=f"[red]{result.name}[/]: {escape(finding.title)}",
                                title_align="left", border_style="red"))
            # outside the panel and never wrapped, so it copies and pastes as one command
            expiry = ("" if finding.expires is None
                      else f" (its signature expires at Unix time {finding.expires}"
                      + ("; `hooklab replay REPORT.json " + result.name + " --secret S` "
                         "re-signs it" if finding.resign_offset is not None else "") + ")")
            console.print(f"[bold]reproduce{escape(expiry)}:[/]")
            console.print(escape(finding.curl), soft_wrap=True, highlight=False)
    counts = report.counts()
    verdict = "[green]all checks passed[/]" if report.passed else "[bold red]checks failed[/]"
    if report.fix_first is not None:
        console.print(f"[bold]fix first:[/] {report.fix_first}")
    console.print(f"{verdict}: " + ", ".join(f"{counts[s]} {s}" for s in STATES)
                  + f" in {report.duration:.1f} s "
                  f"(max {report.max_examples} examples per check, "
                  f"{'derandomized' if report.seed is None else f'seed {report.seed}'})")
