"""``hooklab policies`` and ``hooklab providers`` print their tables through the one renderer:
whole values off a terminal, ``--tsv``, wrapped (never elided) on a terminal, ``--no-color``."""

from __future__ import annotations

import io
import re
import sys
from collections import Counter

import pytest

from hooklab.harness.cli.main import main
from hooklab.harness.cli.table import Output
from hooklab.model.presets import PRESETS
from hooklab.model.providers import PROVIDERS

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lines(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("argv", "names", "columns"), [
    (["policies"], list(PRESETS), 5),
    (["providers"], list(PROVIDERS), 8),
])
def test_tsv_listing_has_a_header_and_one_whole_row_per_name(
        capsys: pytest.CaptureFixture[str], argv: list[str], names: list[str],
        columns: int) -> None:
    out = lines(capsys, *argv, "--tsv")
    rows = [line.split("\t") for line in out if "\t" in line]
    assert all(len(row) == columns for row in rows)
    assert [row[0].removesuffix(" (default)") for row in rows[1:]] == names
    assert not any("…" in line for line in out)


def test_schedule_tsv_has_the_jittered_columns(capsys: pytest.CaptureFixture[str]) -> None:
    out = lines(capsys, "policies", "svix", "--seed", "1", "--tsv")
    header = next(line for line in out if line.startswith("attempt\t"))
    assert header.split("\t") == ["attempt", "delay", "at", "jittered (seed 1)", "at"]
    rows = [line for line in out if line[:1].isdigit()]
    assert len(rows) == PRESETS["svix"].max_attempts


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("argv", [["policies"], ["providers"], ["policies", "svix", "--seed",
                                                                "1"]])
def test_terminal_tables_wrap_long_values_but_never_elide_them(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        argv: list[str]) -> None:
    whole = "".join(lines(capsys, *argv, "--tsv"))
    monkeypatch.setenv("COLUMNS", "60")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main([*argv, "--no-color"]) == 0
    text = ANSI.sub("", terminal.getvalue())  # bold headers stay; colours are tested below
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert "…" not in text and table and max(map(len, table)) <= 60  # folded to the width
    drawn = Counter(re.sub(r"[\s│┃┏┓┗┛┡┩└┘┌┐├┤┼━─╇╈╋╂┳┻┬┴]", "", text))
    assert drawn == Counter(re.sub(r"\s", "", whole))  # every character of every value


def test_no_color_and_no_color_variable_turn_colours_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    parser_args = ["policies", "--no-color"]
    from hooklab.harness.cli.main import build_parser

    assert Output.from_args(build_parser().parse_args(parser_args)).color is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert Output.from_args(build_parser().parse_args(["providers"])).color is False
