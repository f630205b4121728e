"""The engine benchmark runs and reports both engines (timings are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from hooklab.model import bench


def test_bench_prints_both_engines_and_a_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"python-statemachine\s+:\s+[\d.]+ µs/transition", out)
    assert re.search(r"compiled table\s+:\s+[\d.]+ µs/transition", out)
    assert re.search(r"speed-up\s+:\s+[\d.]+x", out)


def test_bench_sequence_is_a_complete_delivery() -> None:
    from hooklab.model import Delivery, compile_machine

    table = compile_machine(Delivery)
    state = table.initial
    for event, arg in bench.SEQUENCE:
        state = table.fire(state, event, arg)
    assert table.name(state) == "end"


@pytest.mark.parametrize("argv", [["0"], ["x"], ["3", "4"]])
def test_bench_refuses_a_bad_count_with_exit_2(argv: list[str]) -> None:
    assert bench.main(argv) == 2
