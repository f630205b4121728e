"""The worker's console: a line per attempt (or a rate with --quiet), what it waits for,
why the SSRF guard blocked an attempt; --until-idle --max-wait 0 waits for no retry."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.cli.main import main

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLOW = '{"schedule": "constant", "delay": 3600, "max_attempts": 3}'
FAST = '{"schedule": "constant", "delay": 0.01, "max_attempts": 2}'


@pytest.fixture
def hooklab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    db = str(tmp_path / "w.db")

    def run(*argv: str) -> tuple[int, str]:
        code = main([*argv, "--db", db])
        return code, capsys.readouterr().err

    run("endpoints", "add", "http://127.0.0.1:9/", "--secret", SECRET, "--id", "ep_dead",
        "--allow-private")
    for n in range(3):
        run("send", "--type", "a.b", "--data", "{}", "--id", f"msg_{n}")
    return run


def test_a_line_per_attempt_naming_message_endpoint_attempt_and_outcome(hooklab: Any) -> None:
    code, err = hooklab("worker", "--until-idle", "--allow-private", "--policy", FAST)
    lines = [line for line in err.splitlines() if " -> ep_dead " in line]
    assert code == 0 and len(lines) == 6
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d msg_\d -> ep_dead #[12] connection_refused in "
                            r"\d+\.\d{3} s", line) for line in lines)


def test_blocked_attempts_say_why_and_what_lifts_the_block(hooklab: Any) -> None:
    code, err = hooklab("worker", "--until-idle", "--policy", FAST)  # no --allow-private
    blocked = [line for line in err.splitlines() if " -> ep_dead " in line]
    assert code == 0 and len(blocked) == 6
    assert all("blocked: refusing to connect to 127.0.0.1" in line and "--allow-private" in
               line for line in blocked)


def test_max_wait_0_leaves_at_once_saying_what_it_did_not_wait_for(hooklab: Any) -> None:
    started = time.monotonic()
    code, err = hooklab("worker", "--until-idle", "--max-wait", "0", "--allow-private",
                        "--policy", SLOW)
    assert code == 0 and time.monotonic() - started < 30
    assert re.search(r"not waiting \(--max-wait\) for 3 retries, next at \d\d:\d\d:\d\d UTC "
                     r"\(ep_dead\)", err)
    assert "3 attempts" in err


def test_quiet_prints_a_rate_summary_instead_of_lines(hooklab: Any) -> None:
    code, err = hooklab("worker", "--until-idle", "--quiet", "--allow-private", "--policy",
                        FAST)
    assert code == 0 and " -> ep_dead " not in err
    rates = re.findall(r"^(\d+) attempts \(0 delivered, (\d+) failed\) in \d+ s, \d+ "
                       r"attempts/s$", err, re.MULTILINE)
    assert rates and sum(int(a) for a, _ in rates) == sum(int(f) for _, f in rates) == 6


def test_max_wait_needs_until_idle(hooklab: Any) -> None:
    code, err = hooklab("worker", "--max-wait", "5")
    assert code == 2 and "--max-wait needs --until-idle" in err
