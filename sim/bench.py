"""Benchmark: both simulation paths against a bare SimPy model of the same retry process.

The process (the one issue 14 measures): one endpoint, messages arriving as a Poisson
process, each attempt failing independently with probability p, lognormal latency, the
``svix`` preset (8 attempts, ±20 % jitter). Three models run in the same process, in turn,
``--repeat`` times (default 3), and the best time of each is kept:

- **bare SimPy**: the textbook SimPy program (one process per message, ``yield
  env.timeout(delay)`` between attempts, no jitter, no latency, no records, no lifecycle);
- **events**: ``simulate(engine="events")``, the full model on the SimPy engine, with
  ``--engine-messages`` messages (default 200,000) against a bare model of as many;
- **vector**: ``simulate(engine="vector")`` with ``--messages`` messages (default
  1,000,000) and the receiver down for ``--outage`` seconds (default 2 h, from t = 600 s),
  against the bare model of as many messages and no outage.

Each row gives wall and CPU seconds and the ratio to its bare model measured in the same
run; then the peak resident memory and the load average (a ratio measured on a loaded
machine is noisier, so read the load before the ratios). ``--only MODEL`` runs one model
once, for whole-process timings and memory from outside (``/usr/bin/time -v python -m
hooklab.sim.bench --only vector``)::

    python -m hooklab.sim.bench                                  # all three
    python -m hooklab.sim.bench --messages 20000 --repeat 1      # a quick smoke run
    python -m hooklab.sim.bench --only events --engine-messages 10000000   # memory

Targets (issue 14, quiet 2-core machine): vector under 0.5 s in-process and at most 0.15x
bare SimPy as whole processes; events at most 1.2x bare SimPy; 10M messages without records
under 200 MB peak RSS.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence

import simpy

from hooklab.model.errors import HooklabError
from hooklab.model.faults import ReceiverModel
from hooklab.model.presets import get_policy

from .parts import Arrivals, EndpointSpec
from .runner import simulate
from .scenario import Scenario

__all__ = ["bare_simpy", "bench_scenario", "main", "run_simulator"]

Counts = tuple[int, int, int]


def bare_simpy(messages: int, *, failure_rate: float, rate: float, delays: Sequence[float],
               seed: int) -> Counts:
    """The bare SimPy model; returns ``(attempts, delivered, failed)``.

        >>> bare_simpy(100, failure_rate=0.0, rate=10.0, delays=(5.0,), seed=1)
        (100, 100, 0)
    """
    env = simpy.Environment()
    rng = random.Random(seed)
    attempts_allowed = len(delays) + 1
    counts = [0, 0, 0]

    def message(env: simpy.Environment) -> simpy.events.ProcessGenerator:
        for k in range(attempts_allowed):
            counts[0] += 1
            if rng.random() >= failure_rate:
                counts[1] += 1
                return
            if k < attempts_allowed - 1:
                yield env.timeout(delays[k])
        counts[2] += 1

    def source(env: simpy.Environment) -> simpy.events.ProcessGenerator:
        for _ in range(messages):
            yield env.timeout(rng.expovariate(rate))
            env.process(message(env))

    env.process(source(env))
    env.run()
    return counts[0], counts[1], counts[2]


def bench_scenario(messages: int, *, failure_rate: float = 0.2, rate: float = 100.0,
                   policy: str = "svix", outage: float = 0.0,
                   latency: str = "0.1:0.05:lognormal") -> Scenario:
    """The benchmark's process as a scenario (``outage`` seconds down from t = 600 s).

        >>> bench_scenario(10, outage=7200).endpoints[0].receiver.down.windows
        ((600.0, 7800.0),)
    """
    faults = f"status=500:{failure_rate:g} latency={latency}"
    if outage > 0:
        faults += f" down=600:{600 + outage:g}"
    spec = EndpointSpec("endpoint", receiver=ReceiverModel.parse(faults))
    return Scenario(name="bench", messages=messages, arrivals=Arrivals("poisson", rate),
                    endpoints=(spec,), policy=policy)


def run_simulator(messages: int, *, failure_rate: float, rate: float, policy: str, seed: int,
                  records: str | None = None, engine: str = "events",
                  outage: float = 0.0, latency: str = "0.1:0.05:lognormal") -> Counts:
    """The simulator on the benchmark's process; returns ``(attempts, delivered, failed)``."""
    scenario = bench_scenario(messages, failure_rate=failure_rate, rate=rate, policy=policy,
                              outage=outage, latency=latency)
    result = simulate(scenario, seed=seed, keep_records=False, records_path=records,
                      progress=None, engine=engine)
    s = result.summary
    return s.attempts, s.delivered, s.failed


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn: Callable[[], Counts]) -> tuple[float, float, Counts]:
    wall, cpu = time.perf_counter(), time.process_time()
    counts = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, counts


def _row(name: str, n: int, best: tuple[float, float, Counts], note: str = "") -> str:
    wall, cpu, (attempts, delivered, failed) = best
    return (f"{name:>20}: {wall:8.3f} s wall {cpu:8.3f} s CPU  {n:>10,} messages{note}  "
            f"attempts {attempts:,}  delivered {delivered:,}  failed {failed:,}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m hooklab.sim.bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000,
                        help="messages of the vector run (and its bare model)")
    parser.add_argument("--engine-messages", type=int, default=200_000,
                        help="messages of the events run (and its bare model)")
    parser.add_argument("--outage", type=float, default=7200.0,
                        help="seconds the vector run's receiver is down, from t = 600 s")
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=100.0, help="arrivals per second")
    parser.add_argument("--policy", default="svix")
    parser.add_argument("--latency", default="0.1:0.05:lognormal",
                        help="the receiver's latency (MEAN[:JITTER[:DIST]]); 0 leaves only "
                             "what the bare model also does, less the answer events")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternate the models this many times; keep the best")
    parser.add_argument("--only", choices=("bare", "events", "vector"),
                        help="run one model once (bare and events use --engine-messages)")
    parser.add_argument("--records", metavar="PATH", help="the events run streams records")
    args = parser.parse_args(argv)
    try:  # bad input is one line and exit 2, before anything runs
        delays = get_policy(args.policy).schedule()
        for n in (args.messages, args.engine_messages):
            bench_scenario(n, failure_rate=args.failure_rate, rate=args.rate,
                           policy=args.policy, outage=args.outage, latency=args.latency)
    except HooklabError as exc:
        parser.error(str(exc))
    common = {"failure_rate": args.failure_rate, "rate": args.rate, "seed": args.seed}

    def bare(n: int) -> Callable[[], Counts]:
        return lambda: bare_simpy(n, delays=delays, **common)  # type: ignore[arg-type]

    def events() -> Counts:
        return run_simulator(args.engine_messages, policy=args.policy, records=args.records,
                             engine="events", latency=args.latency, **common)  # type: ignore[arg-type]

    def vector() -> Counts:
        return run_simulator(args.messages, policy=args.policy, engine="vector",
                             outage=args.outage, latency=args.latency, **common)  # type: ignore[arg-type]

    if args.only is not None:
        fn = {"bare": bare(args.engine_messages), "events": events, "vector": vector}[args.only]
        wall, cpu, counts = _timed(fn)
        n = args.messages if args.only == "vector" else args.engine_messages
        print(_row(args.only, n, (wall, cpu, counts)))
        print(f" peak memory: {_peak_mb():,.0f} MB (process RSS)")
        return 0
    print(f"Poisson {args.rate:g}/s, failure rate {args.failure_rate:g}, policy "
          f"{args.policy} ({len(delays) + 1} attempts), latency {args.latency}; best of "
          f"{max(args.repeat, 1)}")
    models: dict[str, Callable[[], Counts]] = {
        "bare SimPy": bare(args.messages), "hooklab.sim: vector": vector,
        "bare SimPy (events)": bare(args.engine_messages), "hooklab.sim: events": events}
    best: dict[str, tuple[float, float, Counts]] = {}
    for _ in range(max(args.repeat, 1)):
        for name, fn in models.items():
            wall, cpu, counts = _timed(fn)
            old = best.get(name)
            best[name] = (min(wall, old[0]) if old else wall, min(cpu, old[1]) if old else cpu,
                          counts)
    print(_row("bare SimPy", args.messages, best["bare SimPy"], " (no outage)"))
    print(_row("hooklab.sim: vector", args.messages, best["hooklab.sim: vector"],
               f" ({args.outage:g} s outage)"))
    print(_row("bare SimPy", args.engine_messages, best["bare SimPy (events)"]))
    print(_row("hooklab.sim: events", args.engine_messages, best["hooklab.sim: events"]))
    for path, base in (("vector", "bare SimPy"), ("events", "bare SimPy (events)")):
        (pw, pc, _), (bw, bc, _) = best[f"hooklab.sim: {path}"], best[base]
        print(f"       ratio: {path} {pw / bw:.3f}x wall, {pc / bc:.3f}x CPU, against the "
              "bare SimPy model of as many messages")
    print(f" peak memory: {_peak_mb():,.0f} MB (process RSS, the largest of the runs)")
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
          " (a loaded machine skews the ratios)")
    if args.records:
        print(f"     records: streamed to {args.records}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    try:
        code = main()
    except BrokenPipeError:  # `python -m hooklab.sim.bench | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        print("python -m hooklab.sim.bench: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
