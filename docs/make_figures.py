"""Regenerate the figures the README shows, from ``hooklab simulate`` and ``hooklab sweep``
runs, with the same commands a reader would type.

    python docs/make_figures.py            # writes docs/*.png
    python docs/make_figures.py --out DIR  # somewhere else (the tests do this)

Every run has a fixed seed, so the figures change only when the simulator or the plots
do. Each command is printed before it runs.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
LATENCY_POLICIES = ("diagram", "convoy-linear", "outpost", "svix")
LATENCY_RATES = ("0.2", "0.5")
STUDY_RATES = ",".join(f"{0.1 * i:.1f}" for i in range(10))


def hooklab(*args: str) -> None:
    """Run ``hooklab ARGS...`` (through this Python), echoing it; stop on failure."""
    print("$ hooklab " + shlex.join(args), flush=True)
    command = [sys.executable, "-m", "hooklab.harness.cli", *args]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def timeline(work: Path, out: Path) -> None:
    """The default scenario: a healthy, a flaky and a down-for-an-hour endpoint."""
    hooklab("simulate", "--seed", "0", "--records", str(work / "default.jsonl"))
    hooklab("plot", str(work / "default.jsonl"), "--kind", "timeline", "--max-lanes", "30",
            "-o", str(out / "timeline.png"))  # fmt: skip


def load(work: Path, out: Path) -> None:
    """The outage storm, without jitter and with it: load and backlog, first 3 hours."""
    for policy in ("standard-webhooks", "svix"):
        hooklab("simulate", "--scenario", "outage-storm", "--policy", policy, "--seed", "0",
                "--records", str(work / f"storm-{policy}.jsonl"))  # fmt: skip
    _load_comparison(work, out / "load-jitter.png")


def _load_comparison(work: Path, target: Path) -> None:
    from hooklab.sim.plots import plot_load_comparison, save_figure
    from hooklab.sim.plots.sources import read_records

    runs = {
        "standard-webhooks (no jitter)": read_records(work / "storm-standard-webhooks.jsonl"),
        "svix (±20 % jitter)": read_records(work / "storm-svix.jsonl"),
    }
    outages = next(iter(runs.values())).outages
    fig = plot_load_comparison(
        {label: source.attempts for label, source in runs.items()}, outages=outages,
        until=3 * 3600, bin_s=30, title="Outage storm: the same retries, without and with jitter",
    )  # fmt: skip
    save_figure(fig, target)
    print(f"wrote {target}")


def latency(work: Path, out: Path) -> None:
    """Time to delivery of four presets against a receiver failing 20 % and 50 % of the
    time: the schedule moves the curves far more than the failure rate does."""
    paths, labels = [], []
    for rate in LATENCY_RATES:
        for policy in LATENCY_POLICIES:
            path = work / f"latency-{policy}-{rate}.jsonl"
            hooklab("simulate", "--failure-rate", rate, "--messages", "2000", "--policy",
                    policy, "--seed", "1", "--records", str(path))  # fmt: skip
            paths.append(str(path))
            labels += ["--label", f"{policy}, {float(rate):.0%} failing"]
    hooklab("plot", *paths, "--kind", "latency", *labels,
            "--title", "Time to delivery, receiver failing 20 % or 50 % of requests",
            "-o", str(out / "latency.png"))  # fmt: skip


def study(work: Path, out: Path) -> None:
    """Failure rate 0 to 0.9, four presets, against the closed forms."""
    table = work / "study.csv"
    hooklab("sweep", "--scenario", "flaky-receiver", "--grid", f"failure_rate={STUDY_RATES}",
            "--grid", "policy=" + ",".join(LATENCY_POLICIES), "--grid", "messages=500",
            "--seed", "2", "--out", str(table), "--fresh", "--no-progress")  # fmt: skip
    hooklab("plot", str(table), "--kind", "study", "-o", str(out / "study.png"))


def main(argv: list[str] | None = None) -> int:
    """Make every figure; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hooklab-figures-") as tmp:
        work = Path(tmp)
        for make in (timeline, load, latency, study):
            make(work, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
