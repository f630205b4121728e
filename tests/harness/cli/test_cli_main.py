"""The ``hooklab`` root: help lists every subcommand; a closed pipe is not a crash."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hooklab.harness.cli.main import main

SUBCOMMANDS = ("simulate", "plot", "sweep", "check", "serve", "endpoints", "send", "worker",
               "status", "resend", "recover", "diagram", "sign", "verify", "policies",
               "providers")  # fmt: skip


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"    {name} " in out or f"    {name}\n" in out, name


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


PIPE_CLOSED = """
import hooklab.harness.cli.diagram as commands
from hooklab.harness.cli.main import main

def closed(args):
    raise BrokenPipeError(32, "Broken pipe")  # what print() raises after `| head` exits

commands._run = closed
raise SystemExit(main(["diagram"]))
"""


def test_a_reader_that_closes_the_pipe_gets_no_traceback() -> None:
    done = subprocess.run([sys.executable, "-c", PIPE_CLOSED], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert "Traceback" not in done.stderr
    assert done.returncode == 0
