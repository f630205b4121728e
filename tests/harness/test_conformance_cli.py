"""``hooklab check`` over real HTTP on loopback: exit codes 0/1/2, the JSON report, and a
finding's ``curl`` command that replays the failure."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess

import pytest
from broken_receivers import MiniReceiver

from hooklab.harness.cli.main import main
from hooklab.harness.conformance.checks import CHECK_NAMES
from hooklab.harness.receiver import STATE_PATH, create_receiver
from hooklab.harness.server import LiveServer

pytestmark = pytest.mark.network

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FAST = ["--max-examples", "5"]


@pytest.fixture(scope="module")
def reference():
    receiver = create_receiver(SECRET, expose_state=True)
    with LiveServer(receiver) as server:
        yield server


@pytest.fixture(scope="module")
def broken():
    with LiveServer(MiniReceiver(SECRET, bug="crash_on_bad_json")) as server:
        yield server


def test_reference_receiver_passes_over_http_with_exit_0(reference, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    code = main(["check", reference.url + "/webhook", "--secret", SECRET, *FAST,
                 "--observe", reference.url + STATE_PATH, "--json-out", str(report_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "all checks passed" in out
    report = json.loads(report_path.read_text())
    assert report["passed"] is True
    assert report["target"] == reference.url + "/webhook"
    assert [c["name"] for c in report["checks"]] == list(CHECK_NAMES)
    skipped = {c["name"] for c in report["checks"] if c["status"] != "passed"}
    assert skipped == {"answers_handshake", "resists_unsigned_header_tampering"}  # n/a
    assert {c["status"] for c in report["checks"] if c["name"] in skipped} == {"skipped"}
    assert report["counts"] == {"passed": 14, "failed": 0, "inconclusive": 0, "skipped": 2,
                                "blocked": 0}


def test_github_scheme_skips_what_it_cannot_check(tmp_path, capsys):
    secret = "It's a Secret to Everybody"
    with LiveServer(create_receiver(secret, scheme="github")) as server:
        code = main(["check", server.url, "--secret", secret, "--scheme", "github", *FAST,
                     "--json", "-"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)  # --json - writes JSON to stdout, the table to stderr
    skipped = {c["name"]: c["reason"] for c in report["checks"] if c["status"] == "skipped"}
    assert set(skipped) == {"rejects_stale_timestamp", "rejects_future_timestamp",
                            "accepts_rotated_signatures", "answers_handshake",
                            "idempotent_redelivery", "resists_unsigned_header_tampering"}
    no_observer = {"idempotent_redelivery", "resists_unsigned_header_tampering"}
    assert all("github" in reason for name, reason in skipped.items()
               if name not in no_observer)
    assert all(skipped[name].startswith("no observer") for name in no_observer)
    assert "skipped" in captured.err


def test_broken_receiver_fails_with_exit_1_and_findings_in_json(broken, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    code = main(["check", broken.url + "/hooks", "--secret", SECRET, *FAST, "--seed", "3",
                 "--json-out", str(report_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "rejects_malformed_json" in out and "reproduce" in out
    report = json.loads(report_path.read_text())
    assert report["passed"] is False and report["seed"] == 3
    (check,) = [c for c in report["checks"] if c["status"] == "failed"]
    assert check["name"] == "rejects_malformed_json"
    (finding,) = check["findings"]
    assert set(finding) >= {"title", "message", "example", "curl"}
    assert finding["response"]["status"] == 500
    assert f"curl -sS -i -X POST {broken.url}/hooks" in finding["curl"]


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="needs curl and bash")
def test_finding_curl_command_reproduces_the_failure(broken, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    main(["check", broken.url, "--secret", SECRET, *FAST, "--json-out", str(report_path),
          "--check", "rejects_malformed_json"])
    capsys.readouterr()
    (finding,) = json.loads(report_path.read_text())["checks"][0]["findings"]
    answer = subprocess.run(["bash", "-c", finding["curl"]], capture_output=True, timeout=30)
    status_line = answer.stdout.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 500"), answer


def test_unreachable_target_exits_2_with_a_clear_message(capsys):
    with socket.socket() as sock:  # a port nobody listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["check", f"http://127.0.0.1:{port}/", "--secret", SECRET])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot reach http://127.0.0.1:{port}/" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["ftp://example.com/", "--secret", SECRET], "absolute http(s) URL"),
    (["http://[::1", "--secret", SECRET], "not a valid URL"),
    (["http://127.0.0.1:abc/", "--secret", SECRET], "not a valid URL"),
    (["http://127.0.0.1:99999/", "--secret", SECRET], "not a valid URL"),
    (["http://127.0.0.1:9/", "--secret", "whsec_c2hvcnQ="], "secret key is 5 bytes"),
    (["http://127.0.0.1:9/", "--secret", SECRET, "--check", "nope"], "unknown check"),
    (["http://127.0.0.1:9/", "--secret", SECRET, "--observe", "file:///x"], "--observe"),
])
def test_usage_errors_exit_2_naming_the_problem(argv, message, capsys):
    assert main(["check", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("flag, value", [("--timeout", "0"), ("--max-examples", "-1"),
                                         ("--timeout", "soon"), ("--scheme", "svix")])
def test_bad_flag_values_exit_2(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "http://127.0.0.1:9/", "--secret", SECRET, flag, value])
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


def test_unwritable_json_path_exits_2(reference, tmp_path, capsys):
    target = tmp_path / "missing-dir" / "report.json"
    code = main(["check", reference.url, "--secret", SECRET, *FAST, "--check",
                 "acks_within_timeout", "--json-out", str(target)])
    assert code == 2
    assert "creates no folders" in capsys.readouterr().err


def test_observe_carries_the_state_token_the_reference_receiver_asks_for(capsys, monkeypatch):
    monkeypatch.delenv("HOOKLAB_STATE_TOKEN", raising=False)
    token = "t0ken-for-the-state-view"
    receiver = create_receiver(SECRET, expose_state=True, state_token=token)
    with LiveServer(receiver) as server:
        args = ["check", server.url, "--secret", SECRET, *FAST, "--check",
                "idempotent_redelivery", "--observe", server.url + STATE_PATH]
        without = main(args)
        refused = capsys.readouterr().out
        with_flag = main([*args, "--state-token", token])
        monkeypatch.setenv("HOOKLAB_STATE_TOKEN", token)
        from_env = main(args)
    assert without == 1 and "processing observer failed" in refused and "401" in refused
    assert (with_flag, from_env) == (0, 0)
    assert token not in refused


def test_replay_re_signs_a_finding_at_run_time_and_sends_forgeries_as_recorded(tmp_path,
                                                                                capsys):
    from hooklab.model.signing import get_scheme

    report_path = tmp_path / "report.json"
    receiver = MiniReceiver(SECRET, bug="crash_on_bad_json")
    with LiveServer(receiver) as server:
        code = main(["check", server.url, "--secret", SECRET, *FAST, "--json-out",
                     str(report_path), "--check", "rejects_malformed_json"])
        assert code == 1
        capsys.readouterr()
        report = json.loads(report_path.read_text())
        (finding,) = report["checks"][0]["findings"]
        assert finding["resign_offset"] == 0 and finding["curl_expires"] is not None
        # age the recorded signature past the tolerance: the literal curl no longer works
        finding["request"]["headers"] = [
            [k, "1000000000" if k == "webhook-timestamp" else v]
            for k, v in finding["request"]["headers"]]
        report_path.write_text(json.dumps(report))
        assert main(["replay", str(report_path), "rejects_malformed_json",
                     "--secret", SECRET]) == 0
        out = capsys.readouterr().out
    assert "re-signed now" in out and ": 500 after" in out  # the crash, reproduced
    assert main(["replay", str(report_path), "rejects_malformed_json", "--secret", SECRET,
                 "--curl"]) == 0
    curl = capsys.readouterr().out
    assert "webhook-timestamp: 1000000000" not in curl and curl.startswith("curl ")
    assert get_scheme("standard").name == report["scheme"]
    assert main(["replay", str(report_path), "nope", "--secret", SECRET]) == 2
    assert "no check 'nope'" in capsys.readouterr().err


def test_a_target_that_closes_every_connection_gets_verdicts_naming_the_transport_error(
        capsys):
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def slam() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"this is not HTTP\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=slam, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    try:
        code = main(["check", url, "--secret", SECRET, *FAST, "--json", "-",
                     "--check", "accepts_valid_delivery", "--check",
                     "rejects_invalid_signature"])
    finally:
        stop.set()
        server.close()
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    report = json.loads(captured.out)
    for result in report["checks"]:
        (finding,) = result["findings"]
        assert finding["title"].startswith("no answer: RemoteProtocolError"), finding["title"]
