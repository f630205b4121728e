"""Output paths are checked before the work: folders, missing folders, foreign files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooklab.harness.cli.main import main
from hooklab.harness.cli.paths import check_output, figure, json_with
from hooklab.model.errors import ConfigError

QUICK = ["simulate", "--messages", "20"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("flag", "name"), [("--json", "s.json"), ("--records", "r.csv"),
                                            ("--plot", "t.png")])
def test_simulate_refuses_bad_output_paths_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, name: str) -> None:
    (tmp_path / name).mkdir()
    for target, message in [(tmp_path / name, "it is a folder"),
                            (tmp_path / "missing" / name, "creates no folders")]:
        code, out, err = run(capsys, *QUICK, flag, str(target))
        assert (code, out) == (2, "") and message in err  # nothing ran, nothing printed
    assert not (tmp_path / "missing").exists()


def test_simulate_overwrites_its_own_json_but_not_a_foreign_file_without_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine, foreign = tmp_path / "s.json", tmp_path / "notes.json"
    foreign.write_text('{"mine": true}')
    assert run(capsys, *QUICK, "--json", str(mine))[0] == 0
    assert run(capsys, *QUICK, "--json", str(mine))[0] == 0  # its own output: rewritten
    code, out, err = run(capsys, *QUICK, "--json", str(foreign))
    assert (code, out) == (2, "") and "--force" in err
    assert json.loads(foreign.read_text()) == {"mine": True}
    assert run(capsys, *QUICK, "--json", str(foreign), "--force")[0] == 0
    assert "amplification" in json.loads(foreign.read_text())


def test_sweep_refuses_to_overwrite_an_unrelated_csv(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("name,amount\nalice,3\n")
    argv = ["sweep", "--grid", "messages=10", "--out", str(junk), "--workers", "1",
            "--no-progress"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "--force" in err and junk.read_text() == "name,amount\nalice,3\n"
    code, _, err = run(capsys, "sweep", "--grid", "messages=10", "--out",
                       str(tmp_path / "no" / "r.csv"))
    assert code == 2 and "creates no folders" in err and not (tmp_path / "no").exists()
    assert run(capsys, *argv, "--force", "--fresh")[0] == 0
    assert "run_id" in junk.read_text().splitlines()[0]
    assert run(capsys, *argv)[0] == 0  # now its own table: resumed


def test_plot_output_is_checked_before_reading_anything(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    code, _, err = run(capsys, "plot", "nothing.csv", "--output", str(notes))
    assert code == 2 and "--output" in err and "--force" in err


def test_own_output_predicates_recognise_only_their_kind(tmp_path: Path) -> None:
    png, text = tmp_path / "a.png", tmp_path / "b.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    text.write_text("hello")
    assert figure(png) and not figure(text)
    summary = tmp_path / "s.json"
    summary.write_text('{"scenario": "x", "seed": 1}')
    assert json_with(["scenario", "seed"])(summary) and not json_with(["amplification"])(summary)
    with pytest.raises(ConfigError, match="--force"):
        check_output(text, "--plot", force=False, own=figure)
    check_output(text, "--plot", force=True, own=figure)
    check_output("-", "--json", force=False)
