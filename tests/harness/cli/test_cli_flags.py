"""One meaning per flag name: every renamed flag's old spelling still works, with a warning."""

from __future__ import annotations

import pytest

from hooklab.harness.cli.flags import RENAMED
from hooklab.harness.cli.main import build_parser

VALUE = {"--workers": "3", "--receiver": "status=503:0.3", "--json PATH": "x.json",
         "--messages": "7", "--timeout": "0.1", "--reset": "0.2", "--truncated": "0.3"}
#: What a command needs before its flags parse (its positional arguments).
POSITIONAL = {"check": ["http://127.0.0.1:9/"]}


@pytest.mark.parametrize(("command", "old", "new"), RENAMED)
def test_an_old_spelling_parses_as_the_new_one_and_warns(
        command: str, old: str, new: str, capsys: pytest.CaptureFixture[str]) -> None:
    value, words = VALUE[old], [*command.split(), *POSITIONAL.get(command, [])]
    renamed = vars(build_parser().parse_args([*words, new.split()[0], value]))
    assert capsys.readouterr().err == ""
    kept = vars(build_parser().parse_args([*words, old.split()[0], value]))
    assert kept == renamed
    err = capsys.readouterr().err
    assert f"{old} is deprecated" in err and f"use {new}" in err and err.count("\n") == 1


@pytest.mark.parametrize(("command", "old", "new"), RENAMED)
def test_help_shows_the_new_spelling_only(command: str, old: str, new: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command.split(), "--help"])
    text = capsys.readouterr().out
    assert new.split()[0] in text
    if old.split()[0] != "--json":  # --json stays, as a switch
        assert f"{old.split()[0]} " not in text.replace(new.split()[0], "")


def test_json_is_a_switch_in_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["simulate", "--json", "--messages", "5"])
    assert (args.json, args.json_out, args.messages) == (True, None, 5)
    args = build_parser().parse_args(["simulate", "--json", "-"])
    assert (args.json, args.json_out) == (True, None)
    assert capsys.readouterr().err == ""


def test_the_readme_lists_every_renamed_flag() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    for command, old, new in RENAMED:
        assert f"| `{command}` | `{old}` | `{new}` |" in readme
