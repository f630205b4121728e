"""The same examples from the CLI (a subprocess over HTTP) and the Python API (in this
pytest process, which has imported many "local" modules), and nothing written into the
working directory by either."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hooklab.harness.conformance import run_checks
from hooklab.harness.server import LiveServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Recorder:
    """An ASGI app that accepts everything and records the drawn data of each delivery."""

    def __init__(self) -> None:
        self.drawn: list[str] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            value = json.loads(body)
            self.drawn.append(json.dumps(value.get("hooklab"), sort_keys=True))
        except (ValueError, AttributeError):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_cli_and_python_api_send_the_same_examples_and_write_nothing_to_cwd(tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    in_process = Recorder()
    run_checks(in_process, secret=SECRET, checks=["accepts_valid_delivery"], max_examples=30)
    over_http = Recorder()
    with LiveServer(over_http) as server:
        done = subprocess.run(
            [sys.executable, "-m", "hooklab.harness.cli", "check", server.url, "--secret",
             SECRET, "--check", "accepts_valid_delivery", "--max-examples", "30",
             "--json", "-"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False)
    assert done.returncode == 0, done.stderr
    assert len(in_process.drawn) > 20
    assert over_http.drawn == in_process.drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == []
