"""``hooklab sign`` and ``hooklab verify``: output format, exit codes and error messages."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hooklab.harness.cli.main import main

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
VECTOR_ARGS = ["--id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "--timestamp", "1614265330"]
VECTOR_OUTPUT = (
    "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\n"
    "webhook-timestamp: 1614265330\n"
    "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"
)


@pytest.fixture
def body(tmp_path: Path) -> str:
    path = tmp_path / "body.json"
    path.write_bytes(b'{"test": 2432232314}')
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _header_args(output: str) -> list[str]:
    return [arg for line in output.splitlines() for arg in ("-H", line)]


def test_sign_prints_the_reference_vector_headers(capsys, body) -> None:
    assert _run(capsys, "sign", "--secret", SECRET, *VECTOR_ARGS, body) == (0, VECTOR_OUTPUT, "")


def test_sign_reads_the_body_from_stdin(capsys, monkeypatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b'{"test": 2432232314}'))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert _run(capsys, "sign", "--secret", SECRET, *VECTOR_ARGS, "-")[1] == VECTOR_OUTPUT


def test_sign_defaults_to_a_fresh_id_and_the_current_time(capsys, body) -> None:
    code, out, _ = _run(capsys, "sign", "--secret", SECRET, body)
    headers = dict(line.split(": ", 1) for line in out.splitlines())
    assert code == 0
    assert headers["webhook-id"].startswith("msg_") and len(headers["webhook-id"]) > 10
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60


def test_sign_with_two_secrets_prints_two_signatures(capsys, body) -> None:
    out = _run(capsys, "sign", "--secret", OTHER, "--secret", SECRET, *VECTOR_ARGS, body)[1]
    signature = out.splitlines()[2].removeprefix("webhook-signature: ")
    assert signature.split(" ")[1] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_github_prints_the_reference_vector(capsys, tmp_path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"Hello, World!")
    args = ["--scheme", "github", "--secret", "It's a Secret to Everybody", "--id", "d1"]
    assert _run(capsys, "sign", *args, str(path))[1] == (
        "X-GitHub-Delivery: d1\n"
        "X-Hub-Signature-256: "
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
    )


@pytest.mark.parametrize("scheme", ["standard", "stripe", "github"])
def test_what_sign_prints_verify_accepts(capsys, body, scheme) -> None:
    secret = SECRET if scheme == "standard" else "a text secret"
    printed = _run(capsys, "sign", "--scheme", scheme, "--secret", secret, "--id", "m1", body)[1]
    code, out, err = _run(
        capsys, "verify", "--scheme", scheme, "--secret", secret, *_header_args(printed), body
    )
    assert (code, err) == (0, "")
    assert out == ("valid\n" if scheme == "stripe" else "valid: message m1\n")


def test_verify_accepts_any_rotated_secret(capsys, body) -> None:
    printed = _run(capsys, "sign", "--secret", SECRET, body)[1]
    args = ["--secret", OTHER, "--secret", SECRET, *_header_args(printed), body]
    assert _run(capsys, "verify", *args)[0] == 0


def test_verify_fails_with_the_reason_on_stderr(capsys, body, tmp_path) -> None:
    printed = _run(capsys, "sign", "--secret", SECRET, body)[1]
    code, out, err = _run(capsys, "verify", "--secret", OTHER, *_header_args(printed), body)
    assert (code, out) == (1, "")
    assert "no signature matches" in err
    changed = tmp_path / "changed.json"
    changed.write_bytes(b'{"test":2432232314}')
    code, _, err = _run(capsys, "verify", "--secret", SECRET, *_header_args(printed), str(changed))
    assert code == 1 and "no signature matches" in err


def test_verify_rejects_a_stale_timestamp_unless_tolerance_allows(capsys, body) -> None:
    headers = _header_args(VECTOR_OUTPUT)
    code, _, err = _run(capsys, "verify", "--secret", SECRET, *headers, body)
    assert code == 1 and "too old" in err
    wide = str(time.time() - 1614265330 + 3600)
    assert _run(capsys, "verify", "--secret", SECRET, "--tolerance", wide, *headers, body)[0] == 0


def test_verify_names_a_missing_header(capsys, body) -> None:
    code, _, err = _run(capsys, "verify", "--secret", SECRET, "-H", "webhook-id: m", body)
    assert code == 1 and "missing webhook-timestamp header" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sign", "--secret", "whsec_short", "BODY"], "not valid base64"),
        (["sign", "--secret", "whsec_c2hvcnQ=", "BODY"], "5 bytes"),
        (["sign", "--secret", SECRET, "--timestamp", "-5", "BODY"], "timestamp"),
        (["sign", "--secret", SECRET, "--id", "has space", "BODY"], "message id"),
        (["sign", "--secret", SECRET, "/no/such/body.json"], "cannot read body file"),
        (["verify", "--secret", SECRET, "-H", "no colon here", "BODY"], "malformed header"),
        (["verify", "--secret", SECRET, "-H", "a: 1", "-H", "A: 2", "BODY"], "more than once"),
        (["verify", "--secret", SECRET, "--tolerance", "-1", "BODY"], "--tolerance"),
        (["verify", "--secret", SECRET, "--tolerance", "nan", "BODY"], "--tolerance"),
        (["verify", "--scheme", "github", "--secret", "short", "BODY"], "characters"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(capsys, body, argv, message) -> None:
    code, out, err = _run(capsys, *[body if arg == "BODY" else arg for arg in argv])
    assert (code, out) == (2, "")
    assert err.startswith(f"hooklab {argv[0]}: error: ") and message in err
    assert "Traceback" not in err


def test_unknown_scheme_is_an_argparse_usage_error(capsys, body) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sign", "--scheme", "svix", "--secret", SECRET, body])
    assert info.value.code == 2
    assert "standard" in capsys.readouterr().err


def test_installed_script_signs_and_verifies_through_stdin(tmp_path) -> None:
    script = shutil.which("hooklab")
    if script is None:
        pytest.skip("the hooklab console script is not installed")
    body = b'{"type": "invoice.paid"}'
    signed = subprocess.run(
        [script, "sign", "--secret", SECRET, "-"], input=body, capture_output=True, check=True
    )
    args = _header_args(signed.stdout.decode())
    ok = subprocess.run(
        [script, "verify", "--secret", SECRET, *args, "-"], input=body, capture_output=True
    )
    assert (ok.returncode, ok.stdout.decode().startswith("valid")) == (0, True)
    bad = subprocess.run(
        [script, "verify", "--secret", SECRET, *args, "-"], input=body + b" ", capture_output=True
    )
    assert bad.returncode == 1 and b"no signature matches" in bad.stderr
