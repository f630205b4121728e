"""The README's set-up commands are exactly what CI runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_commands() -> None:
    readme = ROOT.joinpath("README.md").read_text()
    ci = ROOT.joinpath(".ci", "run").read_text().splitlines()
    commands = [
        line for line in ci if line and not line.startswith(("#", "set ", "cd ", "export "))
    ]
    assert len(commands) == 2, commands
    for command in commands:
        assert f"```sh\n{command}\n```" in readme, f"README does not show: {command}"
