"""``hooklab plot``: draw a retry timeline, load, time to delivery or a failure-rate study
from records on disk.

The records come from a simulator run (``hooklab simulate --records PATH``), from a status
store (``--db store.sqlite``) or from the flaky receiver's request log (``--db
requests.jsonl``); a study reads a sweep's results table (``hooklab sweep --out``). The
figure goes to ``-o FILE.png`` or ``.svg``. A missing or malformed file is a usage error
(exit 2) that names it.

Example::

    $ hooklab simulate --records run.jsonl
    $ hooklab plot run.jsonl --kind timeline --max-lanes 30 -o timeline.png
    $ hooklab plot svix.jsonl diagram.jsonl --kind latency -o latency.svg
    $ hooklab plot --db requests.jsonl --kind timeline
    $ hooklab sweep --preset metastability --out meta.csv && hooklab plot meta.csv --kind phase
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hooklab.sim.plots.sources import PlotSource

from .flags import deprecated
from .paths import add_force_flag

__all__ = ["KINDS", "handle_plot", "read_db", "register"]

#: The plots ``hooklab plot`` draws.
KINDS = ("timeline", "load", "latency", "study", "phase")


def register(subparsers: Any) -> None:
    """Add the ``plot`` subcommand."""
    parser = subparsers.add_parser(
        "plot",
        help="plot a retry timeline, load, time to delivery or a failure-rate study",
        description=(
            "Plot records written by 'hooklab simulate --records', a status store or the "
            "flaky receiver's request log (--db), or a sweep's results table (--kind study)."
        ),
    )
    parser.add_argument(
        "records", nargs="*", metavar="RECORDS",
        help="records file(s) from 'hooklab simulate --records' (latency: one curve each; "
             "study: a sweep results table)",
    )  # fmt: skip
    parser.add_argument("--kind", choices=KINDS, default="timeline", help="what to plot")
    parser.add_argument(
        "-o", "--output", metavar="FILE",
        help="where to write the figure (.png, .svg or .pdf; default hooklab-KIND.png)",
    )  # fmt: skip
    parser.add_argument(
        "--db", action="append", default=[], metavar="PATH",
        help="read a status store (SQLite) or a flaky receiver's request log "
             "(.jsonl/.sqlite) instead of, or besides, RECORDS",
    )  # fmt: skip
    parser.add_argument("--endpoint", metavar="ID", help="plot only this endpoint")
    parser.add_argument(
        "--max-lanes", type=int, default=40, metavar="N",
        help="timeline: at most N lanes (per endpoint with --lanes endpoint); default 40",
    )  # fmt: skip
    parser.add_argument(
        "--lanes", choices=("delivery", "endpoint"), default="delivery",
        help="timeline: one lane per delivery, or per endpoint with messages stacked",
    )  # fmt: skip
    parser.add_argument("--bin", type=float, metavar="SECONDS", help="load: bin width")
    parser.add_argument(
        "--until", type=float, metavar="SECONDS",
        help="load: end the time axis this many seconds after the start",
    )  # fmt: skip
    parser.add_argument(
        "--label", action="append", default=[], metavar="NAME",
        help="latency: a curve's name, once per input in order (default: file name)",
    )  # fmt: skip
    parser.add_argument("--title", help="the figure's title")
    deprecated(parser, "--messages", "--max-lanes", type=int, metavar="N")
    add_force_flag(parser)
    parser.set_defaults(handler=handle_plot)


def handle_plot(args: argparse.Namespace) -> int:
    """Run ``hooklab plot``; returns the exit code."""
    from hooklab.model.errors import ConfigError
    from hooklab.sim.plots.sources import check_sources, read_records, read_study_table

    from .paths import check_output, figure

    output = Path(args.output or f"hooklab-{args.kind}.png")
    if output.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ConfigError(f"--output {output}: use a .png, .svg or .pdf file")
    check_output(output, "--output", force=args.force, own=figure, stdout=False)
    if args.max_lanes < 1:
        raise ConfigError(f"--max-lanes must be at least 1, got {args.max_lanes}")
    if args.bin is not None and not args.bin > 0:
        raise ConfigError(f"--bin must be a positive number of seconds, got {args.bin}")
    if args.until is not None and not args.until > 0:
        raise ConfigError(f"--until must be a positive number of seconds, got {args.until}")
    if not args.records and not args.db:
        raise ConfigError("give a records file (RECORDS) or --db PATH")

    import matplotlib

    matplotlib.use("Agg")
    from hooklab.sim import plots

    if args.kind in ("study", "phase"):
        if args.db:
            raise ConfigError(f"--kind {args.kind} reads sweep results tables, not --db")
        if args.kind == "study":
            points = [p for path in args.records for p in read_study_table(path)]
            fig = plots.plot_study(points, title=args.title)
        else:
            fig = _phase_map(args.records, args.title)
    else:
        sources = [read_records(p) for p in args.records] + [read_db(p) for p in args.db]
        sources = check_sources(sources)
        fig = _draw(plots, args, sources)
    plots.save_figure(fig, output)
    print(f"wrote {output}")
    return 0


def read_db(path: str | Path) -> PlotSource:
    """The records of a status store (SQLite) or a flaky receiver's request log (JSON
    Lines or SQLite), chosen by the file's suffix and tables: a
    :class:`~hooklab.sim.plots.sources.PlotSource`.

    The simulator's plots take records; the request log is the harness's, so it is read
    here, in the leaf that may import both (:mod:`hooklab.harness.request_log`).
    """
    from hooklab.model.errors import ConfigError, HooklabError
    from hooklab.sim.plots.sources import existing_file, read_status_store

    where = existing_file(path, "--db")
    suffix = where.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            return _request_log(where)
        tables = _sqlite_tables(where)
        if "deliveries" in tables and "attempts" in tables:
            return read_status_store(where)
        if "requests" in tables:
            return _request_log(where)
    except ConfigError:
        raise
    except HooklabError as exc:
        raise ConfigError(f"--db {str(where)!r}: {exc}") from None
    raise ConfigError(
        f"--db {str(where)!r} is neither a hooklab status store nor a request log "
        f"(tables: {', '.join(sorted(tables)) or 'none'})"
    )


def _sqlite_tables(path: Path) -> set[str]:
    from hooklab.model.errors import ConfigError

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"--db {str(path)!r} is not a SQLite database ({exc})") from None
    return {name for (name,) in rows}


def _request_log(path: Path) -> PlotSource:
    """A request log's attempts; what the sender decided after the last one is unknown."""
    from hooklab.harness.request_log import as_attempt_records, read_request_log
    from hooklab.sim.plots.sources import PlotSource

    return PlotSource(path.stem, as_attempt_records(read_request_log(path)), final_known=False)


def _draw(plots: Any, args: argparse.Namespace, sources: list[Any]) -> Any:
    from hooklab.model.errors import ConfigError

    if args.kind == "latency":
        if args.label and len(args.label) != len(sources):
            raise ConfigError(f"--label given {len(args.label)} times for {len(sources)} inputs")
        labels = args.label or _unique([s.label for s in sources])
        runs = {}
        for label, source in zip(labels, sources, strict=True):
            runs[label] = source.deliveries_for(args.endpoint)
        return plots.plot_latency(runs, title=args.title)
    merged = sources[0].merge(sources[1:])
    if args.endpoint is not None and args.endpoint not in merged.endpoints():
        known = ", ".join(sorted(merged.endpoints())) or "none"
        raise ConfigError(f"--endpoint {args.endpoint!r} is not in the records (known: {known})")
    if args.kind == "timeline":
        return plots.plot_timeline(
            merged.attempts, deliveries=merged.deliveries, outages=merged.outages,
            endpoint=args.endpoint, max_messages=args.max_lanes, lanes=args.lanes,
            title=args.title, infer_final=merged.final_known,
        )  # fmt: skip
    return plots.plot_load(
        merged.attempts, deliveries=merged.deliveries, outages=merged.outages,
        endpoint=args.endpoint, bin_s=args.bin, until=args.until, title=args.title,
    )  # fmt: skip


def _phase_map(paths: list[str], title: str | None) -> Any:
    """The metastability phase map of ``hooklab sweep --preset metastability`` tables."""
    from hooklab.model.errors import ConfigError
    from hooklab.sim.sweep import read_table
    from hooklab.sim.sweep.metastability import phase_map, plot_phase_map

    rows = []
    for path in paths:
        if not Path(path).is_file():
            raise ConfigError(f"sweep results table {path!r} does not exist")
        rows.extend(read_table(path))
    try:
        phases = phase_map(rows)
    except ConfigError as exc:  # the table of another sweep: say which one draws a map
        raise ConfigError(f"{exc} (run 'hooklab sweep --preset metastability')") from None
    return plot_phase_map(phases, title=title)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
