"""Benchmark: the simulator against a bare SimPy model of the same retry process.

Both run in the same process, one after the other: N messages arriving as a Poisson
process, each attempt failing independently with probability p, retried on the ``svix``
preset's schedule. The bare model is the textbook SimPy program (one process per message,
``yield env.timeout(delay)`` between attempts, no jitter, no records, no lifecycle); the
simulator runs the full model (compiled Delivery machine, retry policy with jitter,
receiver model, summary metrics) with records off, or streamed to ``--records PATH``.

Run it as::

    python -m hooklab.sim.bench                      # 1,000,000 messages, p = 0.2
    python -m hooklab.sim.bench --messages 20000     # a quick smoke run

The two models alternate ``--repeat`` times (default 3) and the best time of each is kept,
so load from other processes on the machine skews the ratio less. It prints both wall and
CPU times, their ratios, the simulator's rate and the peak resident memory of the process.
Targets (2-core machine): under 60 s for 1,000,000 messages, within 2x of the bare model,
under 2 GB.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence

import simpy

from hooklab.model.presets import get_policy

from .runner import simulate
from .scenario import Scenario

__all__ = ["bare_simpy", "main", "run_simulator"]


def bare_simpy(messages: int, *, failure_rate: float, rate: float, delays: Sequence[float],
               seed: int) -> tuple[int, int, int]:
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


def run_simulator(messages: int, *, failure_rate: float, rate: float, policy: str, seed: int,
                  records: str | None = None) -> tuple[int, int, int]:
    """The simulator on the same process; returns ``(attempts, delivered, failed)``."""
    scenario = Scenario.flaky(failure_rate, messages=messages, rate=rate, policy=policy)
    result = simulate(scenario, seed=seed, keep_records=False, records_path=records,
                      progress=None)
    s = result.summary
    return s.attempts, s.delivered, s.failed


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn: Callable[[], tuple[int, int, int]]) -> tuple[float, float, tuple[int, int, int]]:
    wall, cpu = time.perf_counter(), time.process_time()
    counts = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, counts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m hooklab.sim.bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=100.0, help="arrivals per second")
    parser.add_argument("--policy", default="svix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternate the two models this many times; keep the best")
    parser.add_argument("--records", metavar="PATH", help="also stream records to PATH")
    args = parser.parse_args(argv)
    delays = get_policy(args.policy).schedule()

    def sim() -> tuple[int, int, int]:
        return run_simulator(args.messages, failure_rate=args.failure_rate, rate=args.rate,
                             policy=args.policy, seed=args.seed, records=args.records)

    def bare() -> tuple[int, int, int]:
        return bare_simpy(args.messages, failure_rate=args.failure_rate, rate=args.rate,
                          delays=delays, seed=args.seed)

    print(f"{args.messages:,} messages, Poisson {args.rate:g}/s, failure rate "
          f"{args.failure_rate:g}, policy {args.policy} ({len(delays) + 1} attempts), "
          f"best of {max(args.repeat, 1)}")
    best: dict[str, tuple[float, float, tuple[int, int, int]]] = {}
    peak = 0.0
    for _ in range(max(args.repeat, 1)):
        for name, fn in (("hooklab.sim", sim), ("bare SimPy", bare)):
            wall, cpu, counts = _timed(fn)
            if name == "hooklab.sim":
                peak = max(peak, _peak_mb())
            old = best.get(name)
            best[name] = (min(wall, old[0]) if old else wall, min(cpu, old[1]) if old else cpu,
                          counts)
    for name, (wall, cpu, (attempts, delivered, failed)) in best.items():
        print(f"{name:>12}: {wall:8.2f} s wall {cpu:8.2f} s CPU  "
              f"{args.messages / wall:>10,.0f} messages/s  attempts {attempts:,}  "
              f"delivered {delivered:,}  failed {failed:,}")
    (sw, sc, _), (bw, bc, _) = best["hooklab.sim"], best["bare SimPy"]
    print(f"       ratio: {sw / bw:.2f}x wall, {sc / bc:.2f}x CPU, against the bare SimPy model")
    print(f" peak memory: {peak:,.0f} MB (process RSS after the simulator runs)")
    if args.records:
        print(f"     records: streamed to {args.records}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
