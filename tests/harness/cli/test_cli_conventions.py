"""Conventions: every --help ends with Examples that parse, Ctrl-C exits 130, completion."""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hooklab.harness.cli.completion import script
from hooklab.harness.cli.main import COMMANDS, build_parser
from hooklab.harness.cli.parser import leaves

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
RUN = [sys.executable, "-m", "hooklab.harness.cli"]
LEAVES = dict(leaves(build_parser()))


def test_every_command_module_registers_commands_that_all_have_examples() -> None:
    assert len(LEAVES) > len(COMMANDS)
    for name, parser in LEAVES.items():
        text = parser.format_help()
        assert "Examples" in text, name
        after = text[text.index("Examples"):]
        assert f"hooklab {name}" in after, name


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_each_example_parses_with_the_parser_it_documents(name: str) -> None:
    text = LEAVES[name].format_help()
    block = text[text.index("Examples"):].replace("\\\n", " ")
    lines = [line.strip() for line in block.splitlines()[1:] if "hooklab " + name in line]
    assert lines
    for line in lines:
        words = shlex.split(line.split(" | ")[0].split(" > ")[0].split(" < ")[0],
                            comments=True)
        argv = words[words.index("hooklab") + 1:]
        args = build_parser().parse_args(argv)  # SystemExit (exit 2) if it rotted
        assert getattr(args, "handler", None) is not None


def complete(bash_script: Path, line: str) -> list[str]:
    program = (f"source {shlex.quote(str(bash_script))}\n"
               f"read -ra COMP_WORDS <<< {shlex.quote(line)}\n"
               + ('COMP_WORDS+=("")\n' if line.endswith(" ") else "")
               + "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_hooklab\n"
               'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                          timeout=30, check=True)
    return done.stdout.split()


def test_bash_completion_offers_subcommands_flags_and_choices(tmp_path: Path) -> None:
    done = subprocess.run([*RUN, "completion", "bash"], capture_output=True, text=True,
                          check=True, timeout=60)
    path = tmp_path / "hooklab.bash"
    path.write_text(done.stdout)
    assert complete(path, "hooklab sim") == ["simulate"]
    assert complete(path, "hooklab endpoints a") == ["add"]
    assert "--limit" in complete(path, "hooklab status --li")
    assert complete(path, "hooklab status --status ") == [
        "pending", "sending", "awaiting_retry", "delivered", "failed"]
    assert complete(path, "hooklab simulate --conc") == ["--concurrency"]
    assert complete(path, "hooklab simulate --work") == []  # deprecated: not offered


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_come_from_the_same_parser(shell: str) -> None:
    text = script(build_parser(), shell)
    for name in ("simulate", "endpoints", "add", "status"):
        assert name in text
    assert ("-l concurrency" if shell == "fish" else "--concurrency") in text


def started(argv: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*RUN, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **env})
    stream = proc.stdout if ready.startswith("out:") else proc.stderr
    assert stream is not None
    deadline = time.monotonic() + 60
    seen = ""
    while ready.split(":", 1)[1] not in seen and time.monotonic() < deadline:
        if select.select([stream], [], [], 1)[0]:
            seen += stream.readline()
    assert ready.split(":", 1)[1] in seen, seen
    return proc


def interrupted(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def test_ctrl_c_exits_130_from_serve(tmp_path: Path) -> None:
    proc = started(["serve", "flaky", "--port", "0"], {"HOOKLAB_SECRET": SECRET},
                   "out:listening on")
    code, err = interrupted(proc)
    assert code == 130 and "Traceback" not in err


def test_ctrl_c_exits_130_from_the_worker_keeping_finished_attempts(tmp_path: Path) -> None:
    env = {"HOOKLAB_DB": str(tmp_path / "w.db")}
    subprocess.run([*RUN, "endpoints", "add", "http://127.0.0.1:9/", "--secret", SECRET,
                    "--allow-private"], env={**os.environ, **env}, check=True, timeout=60)
    subprocess.run([*RUN, "send", "--type", "a.b", "--data", "{}", "--id", "msg_1"],
                   env={**os.environ, **env}, check=True, timeout=60)
    policy = '{"schedule": "constant", "delay": 3600, "max_attempts": 3}'
    proc = started(["worker", "--allow-private", "--policy", policy], env,
                   "err:waiting for 1 retry")
    code, err = interrupted(proc)
    assert code == 130 and "Traceback" not in err and "stopped by SIGINT" in err
    done = subprocess.run([*RUN, "status", "msg_1", "--json"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)
    assert '"attempt": 1' in done.stdout  # the finished attempt was kept


def test_ctrl_c_exits_130_from_a_simulation(tmp_path: Path) -> None:
    # 6M messages (18M deliveries) on the event engine take minutes: still running at Ctrl-C
    proc = subprocess.Popen([*RUN, "simulate", "--messages", "6000000", "--engine", "events",
                             "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    assert proc.poll() is None, "the simulation ended before it could be interrupted"
    code, err = interrupted(proc)
    assert code == 130 and "interrupted" in err and "Traceback" not in err
