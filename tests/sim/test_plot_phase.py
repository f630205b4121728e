"""``hooklab plot --kind phase`` draws the metastability phase map of a sweep table."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklab.harness.cli.main import main


def write_table(path: Path) -> None:
    """A real (tiny) metastability sweep: one policy, two trigger sizes."""
    args = ["sweep", "--preset", "metastability", "--grid", "policy=github",
            "--grid", "trigger_size=1,4", "--grid", "trigger_duration=10",
            "--out", str(path), "--no-progress", "--workers", "1"]  # fmt: skip
    assert main(args) == 0


def test_phase_map_from_a_sweep_table(tmp_path: Path) -> None:
    table = tmp_path / "meta.csv"
    write_table(table)
    out = tmp_path / "phase.png"
    assert main(["plot", str(table), "--kind", "phase", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phase_map_of_a_missing_table_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    assert main(["plot", str(missing), "--kind", "phase"]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_phase_map_of_another_sweeps_table_says_which_sweep_draws_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "other.csv"
    table.write_text("run_id,scenario,policy,replication,seed,delivered\nr1,s,svix,0,1,5\n")
    assert main(["plot", str(table), "--kind", "phase", "-o", str(tmp_path / "p.png")]) == 2
    assert capsys.readouterr().err == (
        "hooklab plot: error: not a metastability table: rows need trigger_size, "
        "trigger_duration and recovered (run 'hooklab sweep --preset metastability')\n"
    )
