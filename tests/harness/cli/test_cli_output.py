"""Tables and lists: never cut off, shortened lists say so, credentials in URLs masked."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hooklab.harness.cli.table import Output, Table, listing, render

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LONG_URL = "https://hooks.example.test/" + "/".join(f"segment{i}" for i in range(20)) + "?a=1"
RUN = [sys.executable, "-m", "hooklab.harness.cli"]


def hooklab(*argv: str, db: Path, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """Run the console script with stdout on a pipe, as `hooklab ... | cat` does."""
    environ = {**os.environ, "HOOKLAB_DB": str(db), **(env or {})}
    return subprocess.run([*RUN, *argv], capture_output=True, text=True, env=environ,
                          timeout=120)


def table_of(*rows: tuple[str, ...]) -> Table:
    table = Table("id", "url", "reason", title="t")
    for row in rows:
        table.add_row(*row, styles={"reason": "red"})
    return table


def test_off_a_terminal_every_value_is_whole_and_rows_stay_on_one_line() -> None:
    row = ("ep_" + "x" * 70, LONG_URL, "exhausted after 6 attempts")
    out = io.StringIO()
    render(table_of(row), Output(), out, terminal=False)
    lines = out.getvalue().splitlines()
    assert lines[0] == "t"
    assert all(cell in lines[2] for cell in row)
    assert "…" not in out.getvalue() and "\x1b[" not in out.getvalue()


def test_tsv_has_a_header_and_one_tab_separated_line_per_row() -> None:
    rows = [("ep_1", LONG_URL, "exhausted"), ("ep_2", "https://b.test/", "line\nbreak")]
    out = io.StringIO()
    render(table_of(*rows), Output(tsv=True), out, terminal=False)
    lines = out.getvalue().splitlines()
    assert [line.split("\t") for line in lines] == [
        ["id", "url", "reason"], list(rows[0]), ["ep_2", "https://b.test/", "line break"]]


@pytest.mark.parametrize("width", [40, 80, 120])
def test_on_a_narrow_terminal_values_wrap_but_are_never_elided(width: int) -> None:
    row = ("ep_" + "x" * 50, LONG_URL, "exhausted")
    out = io.StringIO()
    render(table_of(row), Output(color=False), out, terminal=True, width=width)
    text = out.getvalue()
    assert "…" not in text
    columns = ["", "", ""]
    for line in text.splitlines():
        cells = line.split("│")[1:-1]  # the body's cells, between its vertical rules
        for i, cell in enumerate(cells):
            columns[i] += cell.strip()
    assert columns == list(row)


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    row = ("ep_1", "https://a.test/", "exhausted")
    coloured, plain = io.StringIO(), io.StringIO()
    render(table_of(row), Output(color=True), coloured, terminal=True, width=80)
    assert "\x1b[31m" in coloured.getvalue()  # the reason in red
    monkeypatch.setenv("NO_COLOR", "1")
    import argparse

    output = Output.from_args(argparse.Namespace(tsv=False, no_color=False))
    render(table_of(row), output, plain, terminal=True, width=80)
    assert not output.color and "\x1b[31m" not in plain.getvalue()
    monkeypatch.delenv("NO_COLOR")
    assert not Output.from_args(argparse.Namespace(no_color=True)).color


def test_listing_is_truncated_exactly_when_items_are_fewer_than_the_total() -> None:
    for shown, total in [(0, 0), (2, 2), (2, 5)]:
        page = listing(list(range(shown)), total)
        assert page["truncated"] == (shown < total) and page["total"] == total


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "out.db"


def test_status_through_a_pipe_shows_reasons_whole_and_says_when_shortened(db: Path) -> None:
    assert hooklab("endpoints", "add", "http://127.0.0.1:9/", "--secret", SECRET, "--id",
                   "ep_dead", "--allow-private", db=db).returncode == 0
    for n in range(3):
        hooklab("send", "--type", "a.b", "--data", "{}", "--id", f"msg_{n}", db=db)
    fast = '{"schedule": "constant", "delay": 0.01, "max_attempts": 1}'
    assert hooklab("worker", "--until-idle", "--allow-private", "--policy", fast,
                   db=db).returncode == 0
    done = hooklab("status", "--status", "failed", "--limit", "2", db=db)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("msg_")]
    assert len(rows) == 2 and all(re.search(r"\bexhausted\b", row) for row in rows)
    assert "2 of 3 shown (--limit)" in done.stdout and "…" not in done.stdout
    report = json.loads(hooklab("status", "--status", "failed", "--limit", "2", "--json",
                                db=db).stdout)
    assert report["deliveries"]["total"] == 3 and report["deliveries"]["truncated"]
    assert len(report["deliveries"]["items"]) == 2
    full = json.loads(hooklab("status", "--json", db=db).stdout)
    assert full["deliveries"]["truncated"] is False
    assert full["events"]["total"] >= len(full["events"]["items"])
    tsv = hooklab("status", "--tsv", db=db).stdout.splitlines()
    assert any(line.split("\t")[0] == "msg_0" for line in tsv)


def test_endpoints_list_through_a_pipe_prints_the_whole_url(db: Path) -> None:
    hooklab("endpoints", "add", LONG_URL, "--secret", SECRET, "--id", "ep_long", db=db)
    done = hooklab("endpoints", "list", db=db)
    assert done.returncode == 0 and LONG_URL in done.stdout
    (line,) = [line for line in done.stdout.splitlines() if "ep_long" in line]
    assert LONG_URL in line
    listed = json.loads(hooklab("endpoints", "list", "--json", db=db).stdout)
    assert (listed["total"], listed["truncated"]) == (1, False)


def test_limit_states_its_default_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    from hooklab.harness.cli.main import main

    with pytest.raises(SystemExit):
        main(["status", "--help"])
    assert re.search(r"--limit N\s+deliveries to show, newest first \(default: 50\)",
                     capsys.readouterr().out)


def test_credentials_in_endpoint_urls_are_masked_in_the_table_and_json(db: Path) -> None:
    url = "https://alice:hunter2@hooks.example.test/in?token=s3cr3t&tenant=7"
    hooklab("endpoints", "add", url, "--secret", SECRET, "--id", "ep_cred", db=db)
    table = hooklab("endpoints", "list", db=db).stdout
    listed = hooklab("endpoints", "list", "--json", db=db).stdout
    for text in (table, listed):
        assert "hunter2" not in text and "s3cr3t" not in text
        assert "https://alice:***@hooks.example.test/in?token=***&tenant=7" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["--timeout", "1e9"], "--timeout must be <= 3600"),
    (["--events", ""], "--events '' names no event type"),
    (["--events", " , "], "names no event type"),
])
def test_endpoints_add_refuses_a_huge_timeout_and_an_empty_filter(
        db: Path, argv: list[str], message: str) -> None:
    done = hooklab("endpoints", "add", "https://a.example.test/", "--secret", SECRET, *argv,
                   db=db)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", [
    ["worker", "--until-idle", "--endpoint", "nope"],
    ["worker", "--until-idle", "--endpoint", "ep_1", "--endpoint", "nope"],
    ["status", "--endpoint", "nope"],
    ["status", "--endpoint", "nope", "--json"],
])
def test_unknown_endpoint_names_exit_2(db: Path, argv: list[str]) -> None:
    hooklab("endpoints", "add", "https://a.example.test/", "--secret", SECRET, "--id", "ep_1",
            db=db)
    done = hooklab(*argv, db=db)
    assert done.returncode == 2 and "'nope' is not registered" in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_a_removed_endpoint_keeps_its_status(db: Path) -> None:
    hooklab("endpoints", "add", "https://a.example.test/", "--secret", SECRET, "--id", "ep_1",
            db=db)
    hooklab("send", "--type", "a.b", "--data", "{}", db=db)
    hooklab("endpoints", "remove", "ep_1", db=db)
    done = hooklab("status", "--endpoint", "ep_1", "--json", db=db)
    assert done.returncode == 0, done.stderr
