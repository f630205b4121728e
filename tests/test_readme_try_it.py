"""The README's "Try it" walkthrough, run as a new user would: a shell, the block as written
(on a free port instead of 8000), loopback only. It must exit 0, create its own files in a
folder of its own, deliver, and leave no receiver running."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def try_it_block() -> str:
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    start = readme.index("Try it on your machine against the flaky receiver")
    match = re.search(r"```sh\n(.*?)```", readme[start:], re.DOTALL)
    assert match, "no shell block after 'Try it'"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_block_starts_its_own_folder_and_database_and_stops_its_receiver() -> None:
    block = try_it_block()
    assert 'cd "$(mktemp -d)"' in block and "HOOKLAB_DB=try.db" in block
    assert "secret generate --out secret.txt" in block and "> event.json" in block
    assert "--until-idle" in block and block.rstrip().splitlines()[-1].startswith("kill ")


@pytest.mark.network
def test_the_try_it_walkthrough_runs_as_written(tmp_path: Path) -> None:
    port = free_port()
    block = try_it_block().replace("8000", str(port))
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("HOOKLAB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(tmp_path)  # where mktemp -d makes the walkthrough's folder
    done = subprocess.run(["bash", "-e", "-c", block], capture_output=True, text=True,
                          env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    for name in ("try.db", "secret.txt", "event.json", "timeline.png"):
        assert (folder / name).is_file(), name
    assert "delivered" in done.stdout and "Traceback" not in done.stderr
    # 21 messages; the flaky receiver fails 30 %, so a few may exhaust their 5 attempts
    delivered = re.search(r"hooklab worker: \d+ attempts \((\d+) delivered", done.stderr)
    assert delivered and int(delivered.group(1)) >= 15, done.stderr[-2000:]
    assert stopped(port), "the walkthrough left its receiver running"


def stopped(port: int, within: float = 15.0) -> bool:
    """Whether nothing answers on ``port`` (a killed server takes a moment to go)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.2)
    return False
