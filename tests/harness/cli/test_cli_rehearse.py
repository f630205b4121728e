"""``hooklab rehearse``: an in-process app by module:attr, the report, JSON, bad input, help."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hooklab.harness.cli.main import main
from hooklab.model.providers import PROVIDERS

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               request: pytest.FixtureRequest) -> Iterator[str]:
    """A module in the current directory whose ``app`` is a reference receiver (stripe),
    and ``count``, an observer function over a second, plain ASGI wrapper ``bare``."""
    name = f"rehearse_app_{request.node.name.replace('[', '_').replace(']', '')}"
    (tmp_path / f"{name}.py").write_text(
        "from hooklab.harness.receiver import create_receiver\n"
        f"app = create_receiver({SECRET!r}, scheme='stripe')\n"
        "async def bare(scope, receive, send):\n"
        "    await app(scope, receive, send)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    monkeypatch.delenv("HOOKLAB_NEW_SECRET", raising=False)
    yield name
    sys.modules.pop(name, None)


def test_a_reference_receiver_target_is_observed_and_survives_a_short_outage(
        capsys: pytest.CaptureFixture[str], app_module: str) -> None:
    code, out, err = _run(capsys, "rehearse", "--provider", "stripe", f"{app_module}:app",
                          "--outage", "4h", "--events", "6", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["observed"] is True and report["processed_once"] == 6
    assert report["lost"] == {"exhausted": 0, "dropped": 0, "total": 0}
    assert report["attempts"] > 6 and report["trouble"] == "an outage of 4 h"
    assert [m["fate"] for m in report["messages"]] == ["delivered"] * 6
    assert all(m["processed"] == 1 and m["id"].startswith("evt_") for m in report["messages"])


def test_a_rotation_the_receiver_does_not_know_fails_with_exit_1(
        capsys: pytest.CaptureFixture[str], app_module: str) -> None:
    code, out, _ = _run(capsys, "rehearse", "--provider", "stripe", f"{app_module}:app",
                        "--rotate-key-at", "1h", "--events", "8")
    assert code == 1
    assert "unverifiable after the rotation: 4" in out and "verdict: FAILED" in out


def test_an_unobserved_app_says_processing_was_not_observed(
        capsys: pytest.CaptureFixture[str], app_module: str) -> None:
    code, out, _ = _run(capsys, "rehearse", "--provider", "stripe", f"{app_module}:bare",
                        "--events", "3", "--slow", "40s")
    assert code == 1  # nothing acknowledged in time, and nothing observed
    assert "processed: not observed" in out
    assert "lost by the provider: 3 (3 exhausted" in out


def test_the_same_seed_gives_the_same_report(capsys: pytest.CaptureFixture[str],
                                              app_module: str) -> None:
    argv = ("rehearse", "--provider", "stripe", f"{app_module}:bare", "--events", "5",
            "--outage", "2h@30m", "--seed", "9", "--json")
    first = _run(capsys, *argv)[1]
    assert _run(capsys, *argv)[1] == first


@pytest.mark.parametrize(("argv", "needle"), [
    (["--provider", "nope", "x:y"], "--provider 'nope' is unknown; choose one of standard"),
    (["--provider", "paddle", "x:y"], "--provider 'paddle' is a scheme-only twin"),
    (["--provider", "stripe", "x:y", "--outage", "4q"], "--outage '4q'"),
    (["--provider", "stripe", "x:y", "--rotate-key-at=-1h"], "--rotate-key-at '-1h'"),
    (["--provider", "stripe", "no_such_module_here:app"], "APP_OR_URL 'no_such_module_here:app'"),
    (["--provider", "stripe", "justaword"], "APP_OR_URL 'justaword'"),
    (["--provider", "stripe", "x:y", "--events", "0"], "--events must be"),
])
def test_bad_input_is_one_line_naming_the_flag_with_exit_2(
        capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, out, err = _run(capsys, "rehearse", *argv)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1


def test_unknown_provider_lists_every_twin(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = _run(capsys, "rehearse", "--provider", "nope", "x:y")
    assert all(name in err for name in PROVIDERS)


def test_help_ends_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rehearse", "--help"])
    out = capsys.readouterr().out
    tail = out[out.rindex("Examples:"):]
    assert "hooklab rehearse --provider shopify" in tail and "--outage 4h1m" in tail


@contextlib.contextmanager
def _serve_receiver(scheme: str, token: str) -> Iterator[str]:
    """``hooklab serve receiver`` on port 0 with a state token, the secret in its
    environment; yields its URL."""
    command = [sys.executable, "-m", "hooklab.harness.cli", "serve", "receiver", "--scheme",
               scheme, "--state-token", token, "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "HOOKLAB_SECRET": SECRET})
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        assert "listening on http://127.0.0.1:" in line, (line, proc.poll())
        yield line.split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.mark.network
def test_over_http_the_state_view_with_its_token_observes_processing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    monkeypatch.setenv("HOOKLAB_STATE_TOKEN", "rehearsal-token")
    with _serve_receiver("standard", "rehearsal-token") as url:
        code, out, err = _run(capsys, "rehearse", "--provider", "standard", url + "/",
                              "--observe", url + "/_hooklab/state", "--events", "5",
                              "--outage", "1h", "--slow", "20s", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["processed_once"] == 5 and report["duplicates"] == 0
    assert report["delivered"] == 0 and report["lost_but_processed"] == 5


def test_an_unreachable_url_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        code, out, err = _run(capsys, "rehearse", "--provider", "standard",
                              f"http://127.0.0.1:{port}/", "--events", "2")
    assert code == 2 and out == ""
    assert "APP_OR_URL" in err and "no attempt could connect" in err
    assert len(err.strip().splitlines()) == 1
