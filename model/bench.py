"""Benchmark: the compiled transition table against python-statemachine, in one run.

Both engines run the same Delivery lifecycle (a message that fails twice, then succeeds:
11 transitions, creation included) many times; the benchmark prints the cost per
transition of each and the ratio. Run it with::

    python -m hooklab.model.bench [--deliveries N]

Numbers vary with the machine's load; the ratio, measured in the same run, is the figure to
read. Target: the compiled engine at least 50× faster.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from .compiled import compile_machine
from .delivery import Delivery, Verdict
from .lifecycle import fire
from .outcomes import OutcomeKind

__all__ = ["SEQUENCE", "main", "measure"]

_RETRY = Verdict(OutcomeKind.SERVER_ERROR, 60.0)
_OK = Verdict(OutcomeKind.SUCCESS, None)

#: One delivery: two failed attempts through the retry queue, then success.
SEQUENCE: tuple[tuple[str, Verdict | None], ...] = (
    ("occur", None), ("prepare_payload", None), ("post", None),
    ("respond", _RETRY), ("backoff", None), ("retry", None), ("post", None),
    ("respond", _RETRY), ("backoff", None), ("retry", None), ("post", None),
    ("respond", _OK), ("log", None),
)  # fmt: skip


def _statemachine(n: int) -> None:
    for _ in range(n):
        machine = Delivery()
        for event, arg in SEQUENCE:
            fire(machine, event, arg)


def _compiled(n: int) -> None:
    table = compile_machine(Delivery)
    for _ in range(n):
        state = table.initial
        for event, arg in SEQUENCE:
            state = table.fire(state, event, arg)
        assert table.is_final(state)


def measure(run: Callable[[int], None], n: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` seconds per transition of ``run(n)``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(n)
        best = min(best, time.perf_counter() - start)
    return best / (n * len(SEQUENCE))


def main(argv: list[str] | None = None) -> int:
    """Print both engines' cost per transition and the speed-up.

    ``argv`` is ``[]`` or ``[DELIVERIES]`` (python-statemachine deliveries; default 300,
    the compiled table runs 100 times as many).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and not (args[0].isdigit() and int(args[0]) > 0)):
        print("usage: python -m hooklab.model.bench [DELIVERIES]  (a whole number > 0)",
              file=sys.stderr)
        return 2
    deliveries = int(args[0]) if args else 300
    slow = measure(_statemachine, deliveries)
    fast = measure(_compiled, deliveries * 100)
    print(f"transitions per delivery : {len(SEQUENCE)}")
    print(f"python-statemachine      : {slow * 1e6:9.2f} µs/transition (creation included)")
    print(f"compiled table           : {fast * 1e6:9.2f} µs/transition")
    print(f"speed-up                 : {slow / fast:9.1f}x (target >= 50x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
