"""``hooklab serve receiver|flaky``: usage errors exit 2 with a clear message, and the real
commands serve on loopback, record requests, and stop cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from hooklab.harness.cli.main import main
from hooklab.harness.cli.serve import FAULT_FLAGS, _model, fault_tokens
from hooklab.harness.request_log import read_request_log
from hooklab.harness.sender import Sender, make_message
from hooklab.harness.transport import HttpChannel
from hooklab.model.endpoints import Endpoint
from hooklab.model.faults import ReceiverModel
from hooklab.model.policy_config import policy_from_config
from hooklab.model.records import Status

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--status", "999:0.5"], "status code must be an HTTP status"),
        (["--failure-rate", "0.8", "--timeout-rate", "0.5"], "add up to 1.3 > 1"),
        (["--latency", "fast"], "receiver.latency: cannot read 'fast'"),
        (["--down", "50:10"], "must end after it starts"),
        (["--script", "500,banana"], "script step 'banana'"),
        (["--faults", "latency=0.1", "--latency", "0.2"], "'latency' is given twice"),
        (["--faults", "nonsense=1"], "unknown fault 'nonsense'"),
        (["--retry-after", "5"], "--retry-after needs a status fault"),
        (["--log", "requests.csv"], "use a .jsonl"),
        (["--port", "70000"], "--port must be from 0 to 65535"),
    ],
)
def test_bad_flaky_flags_exit_2_with_a_clear_message(flags, message, capsys):
    assert main(["serve", "flaky", "--secret", SECRET, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hooklab serve: error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["receiver", "flaky"])
def test_bad_secret_exits_2(kind, capsys):
    assert main(["serve", kind, "--secret", "whsec_not*base64"]) == 2
    assert "secret" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["receiver", "flaky"])
def test_missing_secret_is_a_usage_error_naming_flag_and_variable(kind, capsys, monkeypatch):
    monkeypatch.delenv("HOOKLAB_SECRET", raising=False)
    assert main(["serve", kind]) == 2
    err = capsys.readouterr().err
    assert "--secret" in err and "HOOKLAB_SECRET" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--max-body", "0"], "--max-body must be a whole number >= 1"),
        (["--max-buffered", "10", "--max-body", "100"], "--max-buffered (10) must be at least"),
        (["--body-timeout", "0"], "--body-timeout must be a number of seconds > 0"),
        (["--header-timeout", "nan"], "--header-timeout must be a number of seconds > 0"),
        (["--remember", "0"], "--remember must be a whole number >= 1"),
        (["--dedupe-window", "-1"], "--dedupe-window must be a number of seconds > 0"),
        (["--max-queued", "0"], "--max-queued must be a whole number >= 1"),
        (["--state-token", "two words"], "--state-token must be printable ASCII"),
        (["--store", "."], "--store '.': cannot write: it is a folder"),
    ],
)
def test_bad_receiver_limits_exit_2_naming_the_flag(flags, message, capsys, monkeypatch):
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    assert main(["serve", "receiver", "--port", "0", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("flags,message", [
    (["--log-max-bytes", "10"], "--log-max-bytes must be a whole number of bytes >= 1024"),
    (["--remember", "-5"], "--remember must be a whole number >= 1"),
])
def test_bad_flaky_bounds_exit_2_naming_the_flag(flags, message, capsys, monkeypatch):
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    assert main(["serve", "flaky", "--port", "0", *flags]) == 2
    assert message in capsys.readouterr().err


def namespace(**given) -> argparse.Namespace:
    values = {"faults": None, "failure_rate": None, "status": [], "retry_after": None}
    values.update({f"fault_{name}": None for name, *_ in FAULT_FLAGS})
    values.update(given)
    return argparse.Namespace(**values)


def test_flags_build_the_same_model_as_the_simulators_compact_form():
    args = namespace(faults="latency=0.2:0.1", failure_rate=0.1, status=["429:0.2"],
                     fault_timeout="0.05", fault_down="3600:7200", fault_script="500,200",
                     retry_after=30.0)
    assert fault_tokens(args) == ["latency=0.2:0.1", "status=500:0.1", "status=429:0.2",
                                  "timeout=0.05", "down=3600:7200", "script=500,200"]
    expected = ReceiverModel.parse("latency=0.2:0.1 status=500:0.1:30 status=429:0.2:30 "
                                   "timeout=0.05 down=3600:7200 script=500,200")
    assert _model(args) == expected


@contextlib.contextmanager
def serving(*argv: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``hooklab serve ...`` on port 0, the secret in its environment (never in argv);
    yield its URL; stop it with SIGTERM."""
    command = [sys.executable, "-m", "hooklab.harness.cli", "serve", *argv, "--port", "0"]
    assert SECRET not in command
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HOOKLAB_SECRET": SECRET})
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        assert "listening on http://127.0.0.1:" in line, (line, proc.poll())
        yield line.split()[-1], proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.mark.network
def test_serve_flaky_records_what_a_real_sender_did(tmp_path):
    log = tmp_path / "requests.jsonl"
    with serving("flaky", "--script", "503,timeout,200", "--log", str(log),
                 "--seed", "1") as (url, proc):
        endpoint = Endpoint("ep", url + "/hooks", (SECRET,), timeout=1.0)
        messages = [make_message("invoice.paid", i, message_id=f"m{i}") for i in range(4)]

        async def go():
            async with Sender(HttpChannel(),
                              policy=policy_from_config({"delays": [0.01] * 3})) as sender:
                records = await sender.deliver_many(endpoint, messages)
                return records, sender.store.attempts()

        records, attempts = asyncio.run(go())
    assert proc.returncode == 0
    assert {(r.status, r.attempts) for r in records} == {(Status.DELIVERED, 3)}
    received = read_request_log(log)
    assert sorted((r.message_id, r.attempt, r.outcome.label) for r in received) == sorted(
        (a.message_id, a.attempt, str(a.status_code) if a.status_code else a.error)
        for a in attempts)
    assert all(r.signature_valid and r.path == "/hooks" for r in received)


@pytest.mark.network
def test_serve_receiver_acknowledges_processes_and_shows_its_state():
    with serving("receiver") as (url, proc):
        endpoint = Endpoint("ep", url + "/webhook", (SECRET,))
        message = make_message("invoice.paid", {"amount": 3}, message_id="msg_cli")

        async def go():
            async with Sender(HttpChannel()) as sender:
                return [await sender.deliver(endpoint, message),
                        (await sender.attempt(endpoint, message)).response.outcome]

        record, again = asyncio.run(go())
        deadline = time.monotonic() + 10
        state = {}
        while time.monotonic() < deadline and state.get("processed") != 1:
            state = httpx.get(url + "/webhook/_hooklab/state",
                              params={"message_id": "msg_cli"}).json()
            time.sleep(0.05)
        forged = httpx.post(url + "/webhook", content=b"{}", headers={"webhook-id": "x"})
    out = proc.stdout.read()
    assert (record.status, record.attempts, again.status_code) == (Status.DELIVERED, 1, 200)
    assert state == {"message_id": "msg_cli", "processed": 1}
    assert forged.status_code == 401 and "webhook-timestamp" in json.loads(forged.text)["error"]
    assert "processed msg_cli invoice.paid" in out
    assert proc.returncode == 0
