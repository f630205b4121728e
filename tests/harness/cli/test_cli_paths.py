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


def test_check_json_out_is_checked_before_any_request(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    argv = ["check", "http://127.0.0.1:1/", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    code, _, err = run(capsys, *argv, "--json-out", str(notes))
    assert code == 2 and "--json-out" in err and "--force" in err
    assert json.loads(notes.read_text()) == {"mine": True}
    code, _, err = run(capsys, *argv, "--json-out", str(tmp_path / "no" / "r.json"))
    assert code == 2 and "creates no folders" in err
    report = tmp_path / "report.json"  # a check report of its own: the path passes, the URL not
    report.write_text(json.dumps({"target": "x", "scheme": "standard", "counts": {},
                                  "checks": []}))
    code, _, err = run(capsys, *argv, "--json-out", str(report))
    assert code == 2 and "--force" not in err
    code, _, err = run(capsys, *argv, "--json-out", str(notes), "--force")
    assert code == 2 and "--force" not in err  # past the path check, stopped by the URL


@pytest.mark.parametrize(("kind", "flag", "name"), [("flaky", "--log", "requests.jsonl"),
                                                    ("flaky", "--log", "requests.sqlite"),
                                                    ("receiver", "--store", "inbox.db")])
def test_serve_refuses_a_foreign_output_file_before_listening(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, flag: str,
        name: str) -> None:
    foreign = tmp_path / name
    foreign.write_text("my notes\n")
    code, out, err = run(capsys, "serve", kind, "--port", "0", flag, str(foreign))
    assert (code, out) == (2, "") and flag in err and "--force" in err
    assert foreign.read_text() == "my notes\n"
    code, out, err = run(capsys, "serve", kind, "--port", "0", flag,
                         str(tmp_path / "no" / name))
    assert (code, out) == (2, "") and "creates no folders" in err


def test_request_logs_and_inboxes_are_recognised_as_their_own(tmp_path: Path) -> None:
    from hooklab.harness.cli.paths import jsonl_with, sqlite_with
    from hooklab.harness.inbox import SqliteInbox
    from hooklab.harness.request_log import RequestRecord, open_request_log

    fields = RequestRecord._fields[:6]
    for name in ("r.jsonl", "r.sqlite"):
        log = open_request_log(tmp_path / name)
        log.append(RequestRecord(1, 0.0, "POST", "/", "msg_1", 1, {}, True, 503, None))
        log.close()
    assert jsonl_with(fields)(tmp_path / "r.jsonl")
    assert sqlite_with("requests")(tmp_path / "r.sqlite")
    assert not sqlite_with("inbox")(tmp_path / "r.sqlite")  # a request log is not an inbox
    other = tmp_path / "other.jsonl"
    other.write_text('{"name": "alice"}\n')
    assert not jsonl_with(fields)(other) and not sqlite_with("requests")(other)
    inbox = SqliteInbox(tmp_path / "inbox.db")
    inbox.close()
    assert sqlite_with("inbox")(tmp_path / "inbox.db")


def test_serve_flaky_refuses_a_foreign_file_where_the_log_rotates_to(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hooklab.harness.request_log import rotated_path

    rotated = rotated_path(tmp_path / "requests.jsonl")
    Path(rotated).write_text("my notes\n")
    code, out, err = run(capsys, "serve", "flaky", "--port", "0", "--log",
                         str(tmp_path / "requests.jsonl"))
    assert (code, out) == (2, "") and "--force" in err and str(rotated) in err
    assert Path(rotated).read_text() == "my notes\n"
