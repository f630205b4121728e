"""The metastability explorer: trigger shape, recover/stuck verdicts, phase map and plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklab.harness.cli.main import main
from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.sim.plots.style import OKABE_ITO
from hooklab.sim.sweep import read_table
from hooklab.sim.sweep.metastability import (
    MetastabilitySetup,
    check_metastability_parameters,
    metastability_cell,
    phase_map,
    plot_phase_map,
)

#: A shorter timeline than the preset's, so each run takes well under a second.
FAST = MetastabilitySetup(warmup=60.0, observe=300.0, tail=60.0)


@pytest.mark.parametrize(("size", "duration"), [(2, 10), (0.5, 7.5), (4, 60), (1.3, 3)])
def test_trigger_adds_size_times_rate_messages_per_second_within_its_window(
    size: float, duration: float
) -> None:
    scenario = FAST.scenario(trigger_size=size, trigger_duration=duration)
    bursts = scenario.arrivals.bursts
    assert sum(b.count for b in bursts) == round(size * FAST.rate * duration)
    assert all(FAST.warmup <= b.at < FAST.warmup + duration for b in bursts)
    assert scenario.until == FAST.warmup + duration + FAST.observe
    receiver = scenario.endpoints[0].receiver
    assert (receiver.capacity.limit, receiver.capacity.overflow) == (FAST.capacity, "slow")


def test_no_trigger_means_no_extra_messages() -> None:
    assert FAST.scenario(trigger_size=0, trigger_duration=60).arrivals.bursts == ()
    assert FAST.scenario(trigger_size=3, trigger_duration=0).arrivals.bursts == ()


def test_bad_setup_or_trigger_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="tail must not be longer"):
        MetastabilitySetup(observe=60.0, tail=120.0)
    with pytest.raises(ScenarioError, match="trigger_size must be a number >= 0"):
        FAST.scenario(trigger_size=-1, trigger_duration=10)
    with pytest.raises(ConfigError, match="^grid colour: unknown parameter of the metastability"):
        check_metastability_parameters(["trigger_size", "colour"])


def test_overload_outlives_its_trigger_only_when_retries_amplify_it() -> None:
    """The qualitative result of the metastable-failure literature, at normal load 50 %."""
    calm = metastability_cell(FAST, {"policy": "svix", "trigger_size": 0}, seed=2)
    spike = {"trigger_size": 4, "trigger_duration": 60}
    stuck = metastability_cell(FAST, {"policy": "svix", **spike}, seed=2)
    no_retries = metastability_cell(FAST, {"policy": "github", **spike}, seed=2)
    assert calm["phase"] == "recovers" and calm["success_share_after"] == 1.0
    assert calm["recovery_s"] == 0.0
    assert stuck["phase"] == "stuck" and stuck["recovered"] == 0
    assert stuck["success_share_after"] < 0.1 and stuck["load_after"] > 2.0
    assert no_retries["phase"] == "recovers" and no_retries["recovery_s"] > 0
    assert no_retries["load_after"] < 1.2


def test_setup_fields_are_grid_parameters_too() -> None:
    spike = {"policy": "svix", "trigger_size": 4, "trigger_duration": 60}
    roomy = metastability_cell(FAST, {**spike, "capacity": 200}, seed=2)
    assert roomy["phase"] == "recovers"


def _row(policy: str, size: float, duration: float, recovered: int) -> dict:
    return {"policy": policy, "trigger_size": size, "trigger_duration": duration,
            "recovered": recovered}  # fmt: skip


def test_phase_map_takes_the_majority_of_replications() -> None:
    rows = [
        _row("svix", 2, 60, 0), _row("svix", 2, 60, 0), _row("svix", 2, 60, 1),
        _row("svix", 1, 60, 1), _row("svix", 1, 60, 1), _row("svix", 1, 60, 1),
        _row("hook0", 2, 10, 0),
    ]  # fmt: skip
    pm = phase_map(rows)
    assert pm.policies == ("svix", "hook0")
    assert pm.sizes == (1.0, 2.0) and pm.durations == (10.0, 60.0)
    mixed = pm.cell("svix", 2, 60)
    assert (mixed.phase, mixed.unanimous, mixed.recovered, mixed.runs) == ("stuck", False, 1, 3)
    assert pm.cell("svix", 1, 60).phase == "recovers" and pm.cell("svix", 1, 60).unanimous
    assert pm.cell("svix", 1, 10) is None
    text = pm.to_text()
    assert "policy svix" in text and "STUCK 1/3" in text and "policy hook0" in text


def test_phase_map_of_another_table_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a metastability table"):
        phase_map([{"policy": "svix", "failure_rate": 0.1}])


def test_phase_map_plot_has_title_axes_legend_and_safe_colours() -> None:
    rows = [_row("svix", 2, 60, 0), _row("svix", 1, 60, 1), _row("hook0", 1, 60, 1)]
    fig = plot_phase_map(rows)
    assert fig._suptitle is not None and "recover" in fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes] == ["policy: svix", "policy: hook0"]
    assert fig.axes[0].get_xlabel() == "trigger duration (s)"
    assert "trigger size" in fig.axes[0].get_ylabel()
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["recovers", "stuck"]
    patches = fig.axes[0].patches
    colours = {p.get_hatch(): p.get_facecolor()[:3] for p in patches}
    from matplotlib.colors import to_rgb

    assert colours == {None: to_rgb(OKABE_ITO["blue"]), "//": to_rgb(OKABE_ITO["vermillion"])}
    with pytest.raises(ConfigError, match="empty"):
        plot_phase_map([])


def test_cli_preset_prints_the_phase_map_and_saves_the_figure(tmp_path: Path, capsys) -> None:
    out, figure = tmp_path / "meta.csv", tmp_path / "phase.png"
    argv = ["sweep", "--preset", "metastability", "--grid", "policy=hook0",
            "--grid", "trigger_size=0,4", "--grid", "trigger_duration=30",
            "--grid", "observe=300", "--grid", "tail=60",
            "--out", str(out), "--phase-map", str(figure), "--workers", "1"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "policy hook0" in captured.out
    lines = captured.out.splitlines()
    assert lines[-2].split() == ["0", "ok"] and lines[-1].split() == ["4", "STUCK"]
    assert figure.stat().st_size > 1000
    rows = read_table(out)
    assert [r["phase"] for r in rows] == ["recovers", "stuck"]
    assert {r["scenario"] for r in rows} == {"metastability"}


def test_cli_preset_refuses_a_scenario(tmp_path: Path, capsys) -> None:
    argv = ["sweep", "--preset", "metastability", "--scenario", "default",
            "--out", str(tmp_path / "m.csv")]  # fmt: skip
    assert main(argv) == 2
    assert "builds its own scenario" in capsys.readouterr().err


def test_an_attempt_ending_just_before_the_horizon_falls_in_the_last_bin() -> None:
    import math
    from types import SimpleNamespace

    from hooklab.sim.sweep.metastability import MetastabilitySetup, _verdict

    setup = MetastabilitySetup(observe=300.0)
    end = 199.97
    horizon = end + setup.observe
    last = math.nextafter(horizon, 0.0)  # last - end rounds to 300.0: one bin past the end
    attempts = [SimpleNamespace(end=last, outcome="success")]
    verdict = _verdict(attempts, setup, end, horizon)
    assert verdict["recovered"] == 1 and verdict["recovery_s"] == 0.0
