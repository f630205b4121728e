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
from hooklab.model.signing import SCHEMES

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
    assert out == {"standard": "valid: message m1\n", "stripe": "valid\n",
                   "github": "valid: message m1 (the X-GitHub-Delivery header is not signed)\n"
                   }[scheme]


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


@pytest.mark.parametrize("command", [["sign"], ["verify"], ["secret", "generate"]])
def test_unknown_scheme_is_a_usage_error_listing_every_scheme(capsys, body, command) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--scheme", "svix", "--secret", SECRET, body][:len(command) + 2])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'svix'" in err
    assert all(f"'{name}'" in err for name in SCHEMES)


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


# -- every scheme ------------------------------------------------------------------------------

URL = "https://hooks.example.com/in?src=cli"
# extra flags and a body each scheme accepts ({ms} is now in milliseconds, for linear)
SCHEME_INPUTS = {
    "twilio": (["--url", URL], b"Body=hello&From=%2B14158675309"),
    "square": (["--url", URL], b'{"event_id": "e1"}'),
    "hubspot": (["--url", URL, "--method", "POST"], b'[{"eventId": 1}]'),
    "linear": ([], b'{"action": "create", "webhookTimestamp": {ms}}'),
}


def _keys(scheme: str, seed: int = 1, v1a: bool = False) -> tuple[str, str]:
    import random

    from hooklab.model.signing import generate_keys, generate_v1a_keys

    keys = (generate_v1a_keys(random.Random(seed)) if v1a
            else generate_keys(random.Random(seed), scheme))
    if "secret" in keys:
        return keys["secret"], keys["secret"]
    return keys["signing key"], keys["verifying key"]


def _scheme_body(tmp_path: Path, scheme: str) -> tuple[list[str], str]:
    flags, raw = SCHEME_INPUTS.get(scheme, ([], b'{"id": "evt_1"}'))
    path = tmp_path / f"{scheme}.body"
    path.write_bytes(raw.replace(b"{ms}", str(int(time.time() * 1000)).encode()))
    return flags, str(path)


CLI_CASES = [(name, False) for name in SCHEMES] + [("standard", True)]
CLI_IDS = [*SCHEMES, "standard-v1a"]


@pytest.mark.parametrize(("scheme", "v1a"), CLI_CASES, ids=CLI_IDS)
def test_every_scheme_signs_and_verifies_on_the_command_line(capsys, tmp_path, scheme,
                                                             v1a) -> None:
    signing, verifying = _keys(scheme, v1a=v1a)
    key_file = tmp_path / "signing.key"
    key_file.write_text(signing + "\n")  # a trailing newline, as editors leave it
    flags, body = _scheme_body(tmp_path, scheme)
    code, printed, err = _run(capsys, "sign", "--scheme", scheme, "--secret", f"@{key_file}",
                              "--id", "m1", *flags, body)
    assert (code, err) == (0, "")
    verify = ["verify", "--scheme", scheme, "--secret", verifying, *flags,
              *_header_args(printed)]
    code, out, err = _run(capsys, *verify, body)
    assert (code, err) == (0, "") and out.startswith("valid")
    tampered = tmp_path / "tampered.body"
    tampered.write_bytes(Path(body).read_bytes().replace(b"1", b"2", 1) + b" ")
    code, out, err = _run(capsys, *verify, str(tampered))
    assert (code, out) == (1, "")
    assert err.startswith("hooklab verify: ") and "Traceback" not in err


def test_secret_comes_from_the_environment_when_no_flag_is_given(capsys, monkeypatch,
                                                                 body) -> None:
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    assert _run(capsys, "sign", *VECTOR_ARGS, body)[1] == VECTOR_OUTPUT
    monkeypatch.setenv("HOOKLAB_SECRET", OTHER)  # a --secret wins over the environment
    assert _run(capsys, "sign", "--secret", SECRET, *VECTOR_ARGS, body)[1] == VECTOR_OUTPUT


def test_secret_reads_from_stdin_with_at_dash(capsys, monkeypatch, body) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET + "\n"))
    assert _run(capsys, "sign", "--secret", "@-", *VECTOR_ARGS, body)[1] == VECTOR_OUTPUT


def test_no_secret_anywhere_is_a_usage_error(capsys, monkeypatch, body) -> None:
    monkeypatch.delenv("HOOKLAB_SECRET", raising=False)
    code, out, err = _run(capsys, "sign", body)
    assert (code, out) == (2, "")
    assert "--secret: give --secret VALUE, @FILE or @-, or set HOOKLAB_SECRET" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sign", "--secret", "@-", "-"], "stdin can be read once"),
        (["sign", "--secret", "@-", "--secret", "@-", "BODY"], "stdin can be read once"),
        (["sign", "--secret", "@/no/such/secret.txt", "BODY"], "--secret: cannot read"),
        (["sign", "--secret", "@EMPTY", "BODY"], "is empty"),
        (["sign", "--secret", "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
          "BODY"], "v1a verifying key (whpk_); signing needs the whsk_ signing key"),
        (["sign", "--scheme", "sendgrid", "--secret", "@RSA", "BODY"],
         "ECDSA P-256 private key in PEM; this is an RSA key"),
        (["sign", "--scheme", "sendgrid", "--secret", "@BADPEM", "BODY"], "PEM is malformed"),
        (["verify", "--scheme", "sendgrid", "--secret", "@RSAPUB", "BODY"], "an RSA key"),
        (["sign", "--scheme", "discord", "--secret", "ab" * 32, "BODY"], "which only verifies"),
        (["sign", "--scheme", "paddle", "--secret", "not-a-paddle-secret", "BODY"], "pdl_ntf_"),
        (["sign", "--scheme", "twilio", "--secret", "12345", "BODY"],
         "--url: the twilio scheme signs the request URL"),
        (["sign", "--scheme", "twilio", "--secret", "12345", "--url", URL, "BODY"],
         "--url: a body that is not form-encoded is signed as Twilio sends JSON, with the URL "
         "https://hooks.example.com/in?src=cli&bodySHA256="),
        (["verify", "--scheme", "hubspot", "--secret", "client-secret", "--url", "ftp://x/",
          "BODY"], "--url must be an absolute http(s) URL"),
        (["sign", "--scheme", "hubspot", "--secret", "client-secret", "--url", URL,
          "--method", "post", "BODY"], "--method must be an upper-case HTTP method"),
        (["sign", "--scheme", "github", "--secret", "a github secret", "--url", URL, "BODY"],
         "--url: the github scheme signs no url (only twilio, square, hubspot do)"),
        (["sign", "--scheme", "twilio", "--secret", "12345", "--url", URL, "--method", "GET",
          "BODY"], "--method: the twilio scheme signs no method (only hubspot do)"),
        (["sign", "--scheme", "linear", "--secret", "lin_wh_secret", "BODY"],
         "linear dates the body itself"),
    ],
)
def test_bad_keys_and_inputs_exit_2_naming_the_problem(capsys, monkeypatch, tmp_path, body,
                                                       argv, message) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET))
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    files = {
        "RSA": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode(),
        "RSAPUB": key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "BADPEM": "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
        "EMPTY": "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = [body if a == "BODY" else a.replace("@", f"@{tmp_path}/", 1)
            if a[1:] in files else a for a in argv]
    code, out, err = _run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"hooklab {argv[0]}: error: ") and message in err, err
    assert "Traceback" not in err and "BEGIN" not in err  # no key material echoed


def test_a_tolerance_overrides_the_provider_default_and_the_default_is_the_providers(
    capsys, tmp_path
) -> None:
    path = tmp_path / "paddle.body"
    path.write_bytes(b"hello-world")
    secret = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"
    old = int(time.time()) - 60  # a minute old: past Paddle's 5 s, within 300 s
    printed = _run(capsys, "sign", "--scheme", "paddle", "--secret", secret, "--timestamp",
                   str(old), str(path))[1]
    verify = ["verify", "--scheme", "paddle", "--secret", secret, *_header_args(printed)]
    code, _, err = _run(capsys, *verify, str(path))
    assert code == 1 and "too old" in err and "tolerance 5 s" in err
    assert _run(capsys, *verify, "--tolerance", "300", str(path))[0] == 0


# -- secret generate -------------------------------------------------------------------------


def _generated(capsys, *argv: str) -> dict[str, str]:
    code, out, err = _run(capsys, "secret", "generate", *argv)
    assert (code, err) == (0, "")
    if ":" not in out.split("\n", 1)[0]:
        return {"secret": out.strip()}
    found: dict[str, str] = {}
    label = ""
    for line in out.splitlines():
        head, sep, value = line.partition(": ")
        if line.endswith(":") or sep:
            label = (line[:-1] if line.endswith(":") else head)
            found[label] = value
        else:
            found[label] = (found[label] + "\n" + line).strip()
    return found


@pytest.mark.parametrize(("scheme", "v1a"), CLI_CASES, ids=CLI_IDS)
def test_generated_secrets_sign_and_verify(capsys, tmp_path, scheme, v1a) -> None:
    keys = _generated(capsys, "--scheme", scheme, *(["--v1a"] if v1a else []))
    signing = keys.get("secret") or keys["signing key"]
    verifying = keys.get("secret") or keys["verifying key"]
    assert list(keys) in (["secret"], ["signing key", "verifying key"])
    flags, body = _scheme_body(tmp_path, scheme)
    key_file = tmp_path / "key"
    key_file.write_text(signing)
    printed = _run(capsys, "sign", "--scheme", scheme, "--secret", f"@{key_file}", *flags,
                   body)[1]
    code, out, _ = _run(capsys, "verify", "--scheme", scheme, "--secret", verifying, *flags,
                        *_header_args(printed), body)
    assert code == 0 and out.startswith("valid")
    assert _generated(capsys, "--scheme", scheme, *(["--v1a"] if v1a else [])) != keys


def test_generated_secrets_have_the_scheme_format(capsys) -> None:
    assert _generated(capsys)["secret"].startswith("whsec_")
    v1a = _generated(capsys, "--v1a")
    assert v1a["signing key"].startswith("whsk_") and v1a["verifying key"].startswith("whpk_")
    assert _generated(capsys, "--scheme", "paddle")["secret"].startswith("pdl_ntf_")
    sendgrid = _generated(capsys, "--scheme", "sendgrid")
    assert sendgrid["signing key"].startswith("-----BEGIN PRIVATE KEY-----\n")
    assert sendgrid["verifying key"].startswith("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")
    discord = _generated(capsys, "--scheme", "discord")
    assert len(discord["signing key"]) == 128 and len(discord["verifying key"]) == 64


def test_generate_out_writes_the_signing_key_privately_and_never_overwrites(capsys,
                                                                            tmp_path) -> None:
    import stat

    out = tmp_path / "sendgrid.pem"
    code, printed, err = _run(capsys, "secret", "generate", "--scheme", "sendgrid", "--out",
                              str(out))
    assert code == 0 and f"wrote the signing key to {out}" in err
    assert printed.startswith("verifying key: MFkw") and "PRIVATE" not in printed
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    before = out.read_text()
    code, printed, err = _run(capsys, "secret", "generate", "--out", str(out))
    assert (code, printed) == (2, "") and "--out: " in err and "exists" in err
    assert out.read_text() == before
    code, _, err = _run(capsys, "secret", "generate", "--out", str(tmp_path / "no" / "x"))
    assert code == 2 and "cannot create" in err and not (tmp_path / "no").exists()


def test_v1a_is_for_the_standard_scheme_only(capsys) -> None:
    code, out, err = _run(capsys, "secret", "generate", "--scheme", "slack", "--v1a")
    assert (code, out) == (2, "") and "--v1a: only the standard scheme has v1a keys" in err


def test_secret_without_an_action_prints_help_and_exits_2(capsys) -> None:
    code, _, err = _run(capsys, "secret")
    assert code == 2 and "generate" in err


@pytest.mark.parametrize("command", [["sign"], ["verify"], ["secret"], ["secret", "generate"]])
def test_help_ends_with_examples(capsys, command) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out.rstrip()
    examples = out[out.rindex("\nExamples:\n") + 1:]
    lines = [line for line in examples.splitlines()[1:] if not line.startswith("      ")]
    assert lines and all(line.startswith(("  hooklab ", "  HOOKLAB_SECRET=")) for line in lines)


def test_root_help_lists_secret(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "    secret " in capsys.readouterr().out


@pytest.mark.parametrize("command", [
    ["check", "http://127.0.0.1:9/"],
    ["replay", "report.json", "accepts_valid_delivery"],
])
def test_check_and_replay_take_the_secret_like_sign_does(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HOOKLAB_SECRET", raising=False)
    assert main(command) == 2
    assert "give --secret VALUE, @FILE or @-, or set HOOKLAB_SECRET" in capsys.readouterr().err
    assert main([*command, "--secret", f"@{tmp_path / 'missing.txt'}"]) == 2
    assert "secret: cannot read" in capsys.readouterr().err
