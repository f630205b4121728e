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


def test_the_readme_table_of_twins_says_what_the_twins_say() -> None:
    from itertools import takewhile

    from hooklab.model.presets import format_hms
    from hooklab.model.providers import PROVIDERS

    readme = ROOT.joinpath("README.md").read_text()
    lines = readme[readme.index("| twin | coverage |"):].splitlines()[2:]
    listed = {}
    for row in takewhile(lambda line: line.startswith("|"), lines):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for name in cells[0].replace(",", " ").split():
            if name.startswith("`") and name.endswith("`"):
                listed[name.strip("`")] = cells
    assert {name: cells[1] for name, cells in listed.items()} == {
        name: twin.coverage for name, twin in PROVIDERS.items()}
    for name, twin in PROVIDERS.items():
        timeout, retries = listed[name][2], listed[name][3]
        assert (timeout == "—") == (twin.timeout is None), name
        if twin.timeout is not None:
            assert timeout.startswith(twin.timeout.describe()), name
        assert (retries == "—") == (twin.policy is None), name
        if twin.policy is not None:
            times = twin.policy.attempt_times()
            assert retries.startswith(f"`{twin.policy.name}`: "), name
            if len(times) > 1:
                assert f"{len(times)} " in retries and format_hms(times[-1]) in retries, name
