"""``hooklab simulate``: run a scenario and print its summary.

With no arguments it runs the shipped ``default`` scenario (3,000 messages to a healthy, a
flaky and a down-for-an-hour endpoint, with the diagram's policy) and prints a table. A
scenario file or name (``--scenario outage-storm``) describes everything; flags override
it. ``--failure-rate P`` without a scenario runs exactly one endpoint with independent
failures at rate P and nothing else, so its numbers can be checked against closed forms.

Examples::

    hooklab simulate
    hooklab simulate --failure-rate 0.3 --policy svix --messages 100000 --json-out out.json
    hooklab simulate --scenario outage-storm --policy svix --records run.parquet
    hooklab simulate --list
    hooklab simulate --engine events      # the SimPy engine even where numpy could run it

Usage errors (a bad flag value, a missing or corrupt scenario) exit 2 with one line
naming the problem. Ctrl-C exits 130 and keeps what finished: the records streamed so far
(flushed, readable) and, with ``--json-out``, the summary of that moment marked
``"interrupted": true`` (none when the vector path was still computing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .flags import add_json_flags, deprecated
from .paths import add_force_flag
from .table import add_output_flags

__all__ = ["print_summary", "register", "run"]


def register(subparsers: Any) -> None:
    """Add ``simulate`` to the ``hooklab`` parser."""
    p = subparsers.add_parser(
        "simulate", help="simulate webhook delivery to flaky receivers (SimPy)",
        description=__doc__.split("\n\n")[1].replace("``", ""),
        epilog="What every reported number means, and when its clock starts and stops:\n"
               "docs/semantics.md. Time to delivery counts every delivery (a failed one is\n"
               "never delivered); the delivered-only percentiles are shown under that name.\n"
               "Ctrl-C exits 130 and keeps what finished: the --records so far (flushed) and\n"
               "a --json-out summary of that moment marked \"interrupted\": true.",
        formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenario", metavar="FILE|NAME",
                   help="a scenario TOML file or a shipped name (see --list)")
    p.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    p.add_argument("--messages", type=int, metavar="N", help="messages to create")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="create messages for this long (with --rate)")
    p.add_argument("--rate", type=float, metavar="PER_S", help="arrival rate, messages/s")
    p.add_argument("--failure-rate", type=float, metavar="P",
                   help="replace every endpoint's status answers by independent 500s with\n"
                        "probability P; its timeout, reset, truncated, down, capacity and\n"
                        "other faults stay, so with a scenario a request can fail more often\n"
                        "than P (without one, P is the whole failure probability)")
    p.add_argument("--faults", metavar="[ENDPOINT=]'NAME=VALUE ...'", action="append",
                   help="receiver faults (as serve flaky --faults), e.g. 'status=503:0.3\n"
                        "latency=0.2:0.1 down=3600:7200', for every endpoint (they keep the\n"
                        "scenario's names), or for one: flaky='status=503:0.3' (repeatable)")
    deprecated(p, "--receiver", "--faults", metavar="FAULTS", append=True)
    p.add_argument("--policy", metavar="NAME", help="retry policy preset for every endpoint")
    p.add_argument("--max-attempts", type=int, metavar="K", help="cap attempts per delivery")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="request timeout for every endpoint")
    p.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once "
                   "(default: unlimited)")
    deprecated(p, "--workers", "--concurrency", type=int, metavar="N")
    p.add_argument("--until", type=float, metavar="SECONDS",
                   help="cut the run off at this simulated time")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: the "
                   "scenario's, 0)")
    add_json_flags(p, "the summary")
    p.add_argument("--records", metavar="PATH",
                   help="stream records to PATH (.csv, .jsonl, .parquet)")
    p.add_argument("--plot", metavar="FILE.png", help="save the run's retry timeline")
    p.add_argument("--engine", choices=("auto", "events", "vector"), default="auto",
                   help="the simulation path: vector (numpy, for deliveries that share "
                        "nothing), events (SimPy), auto (vector when it can; default)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on a terminal, for runs over 2 s)")
    add_output_flags(p)
    add_force_flag(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """The ``simulate`` handler."""
    from hooklab.model.errors import ScenarioError
    from hooklab.sim.scenario import named_scenarios

    if args.list:
        from hooklab.sim.scenario import Scenario

        for name in named_scenarios():
            print(f"{name:16} {Scenario.load(name).description}")
        return 0
    scenario = build_scenario(args)
    from hooklab.sim.runner import pick_engine

    pick_engine(scenario, args.engine)  # --engine vector on what it cannot run fails here
    _check_outputs(args)
    from hooklab.sim.runner import Interrupted, simulate

    from .table import Output

    try:
        result = simulate(scenario, seed=args.seed, keep_records=bool(args.plot),
                          records_path=args.records, progress=args.progress,
                          engine=args.engine)
    except Interrupted as stop:
        _keep_partial(args, stop.result)
        raise KeyboardInterrupt from None  # the CLI exits 130
    summary = result.summary.to_dict()
    ids = [e.id for e in scenario.endpoints]
    if args.json or args.json_out == "-":
        print(json.dumps(summary, indent=2))
    else:
        print_summary(result, output=Output.from_args(args))
        if None in fault_overrides(args.faults, ids) and len(ids) > 1:
            print(f"note: --faults gave every endpoint the same faults; the names "
                  f"({', '.join(ids)}) are the scenario's")
    if args.json_out and args.json_out != "-":  # checked before the run (_check_outputs)
        try:
            Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n",
                                           encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot write --json-out {args.json_out!r}: "
                                f"{exc.strerror}") from None
    if args.plot:
        _plot(result, args.plot)
    return 0


def _keep_partial(args: argparse.Namespace, partial: Any) -> None:
    """After Ctrl-C: say what was kept, and write --json-out's partial summary."""
    if args.records:
        print(f"hooklab simulate: the records finished so far are in {args.records} "
              "(flushed; the meta sidecar says \"interrupted\": true)", file=sys.stderr)
    if not args.json_out or partial is None:
        return
    summary = partial.summary.to_dict() | {"interrupted": True}
    text = json.dumps(summary, indent=2) + "\n"
    if args.json_out == "-":
        sys.stdout.write(text)
        return
    try:
        Path(args.json_out).write_text(text, encoding="utf-8")
    except OSError:
        return  # already stopping; the interruption is what gets reported
    print(f"hooklab simulate: partial summary (\"interrupted\": true) in {args.json_out}",
          file=sys.stderr)


def build_scenario(args: argparse.Namespace) -> Any:
    """The scenario the flags describe: the file (or default) with the flags applied."""
    from hooklab.model.errors import ConfigError, ScenarioError
    from hooklab.model.faults import ReceiverModel
    from hooklab.sim.scenario import Scenario

    if args.scenario:
        scenario = Scenario.load(args.scenario)
    elif args.failure_rate is not None:
        scenario = Scenario.flaky(args.failure_rate)
    else:
        scenario = Scenario.load("default")
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError(f"--concurrency must be an integer >= 1, got {args.concurrency}")
    changes: dict[str, Any] = {}
    if args.messages is not None:
        changes["messages"] = args.messages
        changes["duration"] = args.duration
    elif args.duration is not None:
        changes["duration"] = args.duration
        changes["messages"] = None
    for flag, key in (("failure_rate", "failure_rate"), ("policy", "policy"),
                      ("max_attempts", "max_attempts"), ("concurrency", "workers"),
                      ("until", "until")):
        value = getattr(args, flag)
        if value is not None:
            changes[key] = value
    try:
        if args.rate is not None:
            import dataclasses

            changes["arrivals"] = dataclasses.replace(scenario.arrivals, rate=args.rate)
        if args.faults is not None or args.timeout is not None:
            changes["endpoints"] = _endpoints(scenario, args, ReceiverModel)
        return scenario.replace(**changes)
    except ScenarioError:
        raise
    except ConfigError as exc:
        raise ScenarioError(str(exc)) from None


def _endpoints(scenario: Any, args: argparse.Namespace, model: Any) -> tuple[Any, ...]:
    import dataclasses

    receivers = fault_overrides(args.faults, [e.id for e in scenario.endpoints])
    out = []
    for e in scenario.endpoints:
        kw: dict[str, Any] = {}
        faults = receivers.get(e.id, receivers.get(None))
        if faults is not None:
            kw["receiver"] = model.parse(faults)
        if args.timeout is not None:
            kw["timeout"] = args.timeout
        out.append(dataclasses.replace(e, **kw))
    return tuple(out)


def fault_overrides(values: Any, ids: list[str]) -> dict[str | None, str]:
    """``--faults`` values by endpoint id (``None``: every endpoint). A value is scoped
    when it starts with an endpoint's id and ``=`` and the rest is fault tokens, so the
    fault ``down=3600:7200`` is never read as the endpoint ``down``.

        >>> fault_overrides(["flaky=status=503:0.3", "down=60:120"], ["flaky", "down"])
        {'flaky': 'status=503:0.3', None: 'down=60:120'}
    """
    out: dict[str | None, str] = {}
    for value in values or ():
        name, _, rest = value.partition("=")
        scoped = name in ids and "=" in rest
        out[name if scoped else None] = rest if scoped else value
    return out


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path, before the run (:mod:`.paths`): --json, --records, --plot."""
    from hooklab.model.errors import ConfigError

    from .paths import check_output, figure, json_with

    check_output(args.json_out, "--json-out", force=args.force,
                 own=json_with(("scenario", "seed", "amplification")))
    if args.records:
        from hooklab.sim.export import records_paths

        paths = records_paths(args.records)  # a bad suffix fails before the run
        meta = paths[-1]
        ours = meta.exists() and json_with(("scenario", "seed", "summary"))(meta)
        for path in paths:
            check_output(path, "--records", force=args.force, own=lambda _: ours,
                         stdout=False)
    if args.plot:
        if Path(args.plot).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise ConfigError(f"--plot {args.plot!r}: use a .png, .svg or .pdf file name")
        check_output(args.plot, "--plot", force=args.force, own=figure, stdout=False)


def _plot(result: Any, path: str) -> None:
    from hooklab.sim.plots import plot_timeline, save_figure

    fig = plot_timeline(result.attempts, deliveries=result.deliveries, outages=result.outages,
                        title=f"{result.scenario.name}: retry timeline (seed {result.seed})")
    save_figure(fig, path)
    print(f"timeline saved to {path}")


def print_summary(result: Any, file: Any = None, output: Any = None) -> None:
    """Print the summary of ``result`` as tables (through :mod:`.table`)."""
    from .table import Output, Table, render

    s = result.summary.to_dict()
    out = file or sys.stdout
    output = output or Output()
    ttd, ttd_delivered = s["time_to_delivery_s"], s["time_to_delivery_delivered_only_s"]
    never = "never" if s["deliveries"] else "—"
    table = Table("metric", "value", title=f"hooklab simulate: {s['scenario']} "
                  f"(seed {s['seed']})", right=("value",))
    rows = [
        ("messages", f"{s['messages']:,}"),
        ("deliveries", f"{s['deliveries']:,}"),
        ("delivered", _share(s["delivered"], s["deliveries"])),
        ("failed (dead-lettered)", _share(s["failed"], s["deliveries"])),
        ("pending (cut off)", _share(s["pending"], s["deliveries"])),
        ("attempts", f"{s['attempts']:,}"),
        ("amplification (attempts/message)", f"{s['amplification']:.3f}"),
        ("time to delivery p50 / p95 / p99 (all)",
         " / ".join(_seconds(ttd[k], never) for k in ("p50", "p95", "p99"))),
        ("time to delivery max (all)", _seconds(ttd["max"], never)),
        ("  delivered only: p50 / p95 / p99",
         " / ".join(_seconds(ttd_delivered[k]) for k in ("p50", "p95", "p99"))),
        ("peak attempts per second", f"{s['peak_attempts_per_s']:,}"),
        ("peak backlog", f"{s['peak_backlog']:,}"),
        ("time to drain after an outage", _seconds(s["time_to_drain_s"])),
        ("duplicates seen by receivers", f"{s['duplicates']:,}"),
        ("simulated time", _seconds(s["sim_time_s"])),
        ("engine", s["engine"]),
    ]
    if s["failed_by_reason"]:
        rows.insert(4, ("  failed by reason", ", ".join(
            f"{k} {v:,}" for k, v in s["failed_by_reason"].items())))
    for key, value in rows:
        table.add_row(key, value)
    render(table, output, out)
    columns = ("endpoint", "deliveries", "delivered", "failed", "pending", "attempts",
               "peak/s", "dups", "reordered")
    per = Table(*columns, title="per endpoint", right=columns[1:])
    for name, e in s["endpoints"].items():
        per.add_row(name, f"{e['deliveries']:,}", f"{e['delivered']:,}", f"{e['failed']:,}",
                    f"{e['pending']:,}", f"{e['attempts']:,}", f"{e['peak_attempts_per_s']:,}",
                    f"{e['duplicates']:,}", f"{e['out_of_order']:,}")
    print(file=out)
    render(per, output, out)
    for name, e in s["endpoints"].items():
        if e["disabled_at"] is not None:
            print(f"endpoint {name} disabled at {_seconds(e['disabled_at'])}: "
                  f"{e['disabled_reason']}", file=out)


def _share(n: int, total: int) -> str:
    return f"{n:,} ({100.0 * n / total:.2f} %)" if total else f"{n:,}"


def _seconds(value: float | None, missing: str = "—") -> str:
    from hooklab.model.presets import format_hms

    if value is None:
        return missing
    return f"{value:.2f} s" if value < 60 else format_hms(value)
