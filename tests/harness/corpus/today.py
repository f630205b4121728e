"""hooklab's verdicts on every corpus receiver, beside the expected ones (one command).

Over HTTP it runs the real CLI (``python -m hooklab.harness.cli check URL --json -``) against
each receiver served on loopback; in-process it calls
``hooklab.harness.conformance.run_checks`` on each ASGI/WSGI app object. With an observer
(the default: ``--observe`` the receiver's ``/_corpus/processed``, in-process its counter)
or without (``--without-observer``). It prints one table per way of reaching the
receivers, receiver × check, each cell ``today/expected`` with a mark:

- ``ok``: the verdicts agree;
- ``FALSE ALARM``: today fails a check the receiver keeps (or cannot be judged on);
- ``MISS``: today passes (or skips) a check the receiver breaks;
- ``OVERCLAIM``: today passes where the truth is inconclusive or skipped;
- ``NOT RUN``: a check issue 11 adds, which hooklab does not have yet.

Run from the repository root (a few minutes per run on 2 cores)::

    python tests/harness/corpus/today.py [--mode http|inprocess|both] [--without-observer]
        [--receiver NAME ...] [--seed S] [--max-examples N] [--runs N] [--json PATH]

``--runs 3`` repeats everything three times and says whether every run gave the same
verdicts (issue 11's "three consecutive runs"). Each table ends with the count of
false alarms and misses over every check, and the seconds each receiver's full run took.
Before issue 11 it measured 31 false alarms and 2 misses over HTTP; the assertions live in
``test_corpus_verdicts.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``corpus`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "corpus"

from corpus.expected import CHECKS, FAILED, INCONCLUSIVE, PASSED, SKIPPED, expected  # noqa: E402
from corpus.serve import RECEIVERS, create_app, node_missing, serving  # noqa: E402

__all__ = ["compare", "main", "today_http", "today_inprocess"]


def today_http(name: str, *, observed: bool, seed: int | None, max_examples: int | None,
               ) -> tuple[dict[str, str], float]:
    """Today's verdict per check from the ``hooklab check`` CLI, and the run's seconds."""
    receiver = RECEIVERS[name]
    with serving(name) as served:
        command = [sys.executable, "-m", "hooklab.harness.cli", "check", served.webhook_url,
                   "--secret", receiver.secret, "--scheme", receiver.scheme, "--json", "-"]
        if observed:
            command += ["--observe", served.observe_url]
        if seed is not None:
            command += ["--seed", str(seed)]
        if max_examples is not None:
            command += ["--max-examples", str(max_examples)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800,
                              check=False)
        elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"hooklab check on {name} exited {done.returncode}: "
                           f"{done.stderr.strip()[-1000:]}")
    report = json.loads(done.stdout)
    return {c["name"]: _status(c) for c in report["checks"]}, elapsed


def today_inprocess(name: str, *, observed: bool, seed: int | None,
                    max_examples: int | None) -> tuple[dict[str, str], float]:
    """Today's verdict per check from ``run_checks`` on the app object."""
    from hooklab.harness.conformance import run_checks

    receiver = RECEIVERS[name]
    app, processed = create_app(name)
    kwargs: dict[str, Any] = {"secret": receiver.secret, "scheme": receiver.scheme,
                              "path": receiver.path, "seed": seed}
    if observed:
        kwargs["observe"] = processed.count
    if max_examples is not None:
        kwargs["max_examples"] = max_examples
    start = time.perf_counter()
    report = run_checks(app, **kwargs)
    elapsed = time.perf_counter() - start
    return {result.name: _status(result) for result in report.results}, elapsed


def _status(result: Any) -> str:
    """``status`` of a check result (a JSON dict or a CheckResult), with its first finding's
    message after a tab when it failed."""
    if isinstance(result, dict):
        status, findings = result["status"], result.get("findings") or []
        first = findings[0]["message"] if findings else ""
    else:
        status, first = result.status, result.findings[0].message if result.findings else ""
    return f"{status}\t{first}" if first else str(status)


def compare(today: str | None, truth: str) -> str:
    """The mark of one cell: ok, FALSE ALARM, MISS, OVERCLAIM, NOT RUN or DIFFERS.

    >>> compare("failed", "passed"), compare("passed", "failed"), compare(None, "failed")
    ('FALSE ALARM', 'MISS', 'NOT RUN')
    """
    if today is None:
        return "NOT RUN"
    if today == truth:
        return "ok"
    if today == FAILED:
        return "FALSE ALARM"
    if truth == FAILED:
        return "MISS"
    if today == PASSED and truth in (INCONCLUSIVE, SKIPPED):
        return "OVERCLAIM"
    return "DIFFERS"


def _table(mode: str, rows: dict[str, dict[str, str]], observed: bool,
           timings: dict[str, float]) -> tuple[str, Counter[str]]:
    marks: Counter[str] = Counter()
    lines = [f"## {mode} ({'with' if observed else 'without'} an observer)", "",
             "| check | " + " | ".join(rows) + " |",
             "| --- |" + " --- |" * len(rows)]
    for check in CHECKS:
        cells = []
        for name, today in rows.items():
            truth = expected(name, check, observed=observed).status
            now = today[check].split("\t")[0] if check in today else None
            mark = compare(now, truth)
            marks[mark] += 1
            now = now or "—"
            cells.append(f"{now}/{truth}" + ("" if mark == "ok" else f" **{mark}**"))
        lines.append(f"| {check} | " + " | ".join(cells) + " |")
    lines.append("| seconds | " + " | ".join(f"{timings[n]:.1f}" for n in rows) + " |")
    agree = sum(marks_of(rows[n], c) == expected(n, c, observed=observed).status
                for n in rows for c in CHECKS)
    lines += ["", f"every check: {agree} of {len(rows) * len(CHECKS)} verdicts right; "
              + ", ".join(f"{k}: {v}" for k, v in sorted(marks.items())), ""]
    return "\n".join(lines), marks


def marks_of(today: dict[str, str], check: str) -> str | None:
    """Today's bare status of ``check`` (without its finding), or ``None`` if not run."""
    return today[check].split("\t")[0] if check in today else None


def main(argv: list[str] | None = None) -> int:
    """Run today's checks on the corpus and print the tables; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("http", "inprocess", "both"), default="both")
    parser.add_argument("--without-observer", action="store_true")
    parser.add_argument("--receiver", action="append", choices=list(RECEIVERS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement")
    parser.add_argument("--json", metavar="PATH", help="also write the verdicts as JSON")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the receivers' own tracebacks of their 500s
    names = args.receiver or list(RECEIVERS)
    if node_missing():
        names = [n for n in names if RECEIVERS[n].kind != "node"]
        print(f"(Express receivers left out: {node_missing()})")
    observed = not args.without_observer
    modes = ["http", "inprocess"] if args.mode == "both" else [args.mode]
    runs = [_measure(names, modes, observed, args) for _ in range(max(args.runs, 1))]
    verdicts = [{m: run[m]["verdicts"] for m in run} for run in runs]
    same = all(_bare(v) == _bare(verdicts[0]) for v in verdicts)
    print(f"{len(runs)} run(s); every run gave the same verdicts: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n")
    return 0


def _bare(verdicts: dict[str, dict[str, dict[str, str]]]) -> Any:
    """The statuses alone (without findings' messages, which name message ids)."""
    return {mode: {name: {check: status.split("\t")[0] for check, status in row.items()}
                   for name, row in rows.items()} for mode, rows in verdicts.items()}


def _measure(names: list[str], modes: list[str], observed: bool, args: Any,
             ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in modes:
        rows: dict[str, dict[str, str]] = {}
        timings: dict[str, float] = {}
        for name in names:
            if mode == "inprocess" and not RECEIVERS[name].in_process:
                continue
            run = today_http if mode == "http" else today_inprocess
            rows[name], timings[name] = run(name, observed=observed, seed=args.seed,
                                            max_examples=args.max_examples)
            print(f"... {mode} {name}: {timings[name]:.1f} s", file=sys.stderr, flush=True)
        text, marks = _table(mode, rows, observed, timings)
        print(text, flush=True)
        out[mode] = {"verdicts": rows, "seconds": timings, "marks": dict(marks)}
    return out


if __name__ == "__main__":
    sys.exit(main())
