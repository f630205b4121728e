"""``hooklab serve --scheme NAME`` for every signing scheme: unknown names and the wrong
kind of key exit 2 with one line, ``--public-url`` is checked, and a Twilio form signed for
the public URL is verified and processed by a real server reading its key from a file."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
from urllib.parse import urlencode

import httpx
import pytest

from hooklab.harness.cli.main import main
from hooklab.model.signing import SCHEMES, get_scheme

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize("kind", ["receiver", "flaky"])
def test_an_unknown_scheme_exits_2_listing_every_scheme(kind, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["serve", kind, "--scheme", "nope"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert all(name in err for name in SCHEMES) and "Traceback" not in err


@pytest.mark.parametrize(("scheme", "key"), [
    ("sendgrid", SECRET),  # an HMAC secret where SendGrid's public key belongs
    ("discord", SECRET),
    ("standard", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"),
])
@pytest.mark.parametrize("kind", ["receiver", "flaky"])
def test_the_wrong_kind_of_key_is_one_line_and_exit_2(kind, scheme, key, capsys):
    assert main(["serve", kind, "--scheme", scheme, "--secret", key, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hooklab serve: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(("flags", "message"), [
    (["--public-url", "https://example.com/hook"], "--public-url: the standard scheme signs no"),
    (["--scheme", "square", "--public-url", "ftp://example.com/x"], "--public-url must be"),
    (["--scheme", "twilio", "--public-url", "https://example.com/x?a=1"], "no query"),
])
def test_bad_public_url_exits_2_naming_the_flag(flags, message, capsys, monkeypatch):
    monkeypatch.setenv("HOOKLAB_SECRET", SECRET)
    assert main(["serve", "receiver", "--port", "0", *flags]) == 2
    assert message in capsys.readouterr().err


def test_a_verifying_key_from_a_file_serves_an_asymmetric_scheme(tmp_path, capsys):
    pair = get_scheme("sendgrid").generate_keys(random.Random(3))
    path = tmp_path / "sendgrid.pub"
    path.write_text(pair["verifying key"] + "\n")
    # a valid key gets past every check: the bad port is what stops it
    assert main(["serve", "receiver", "--scheme", "sendgrid", "--secret", f"@{path}",
                 "--port", "99999"]) == 2
    assert "--port must be" in capsys.readouterr().err


def test_a_twilio_form_signed_for_the_public_url_is_processed(tmp_path):
    token = get_scheme("twilio").generate_keys(random.Random(4))["secret"]
    key_file = tmp_path / "token.txt"
    key_file.write_text(token + "\n")
    public = "https://hooks.example.com/twilio/sms"
    command = [sys.executable, "-m", "hooklab.harness.cli", "serve", "receiver", "--scheme",
               "twilio", "--secret", f"@{key_file}", "--public-url", public, "--port", "0"]
    env = {k: v for k, v in os.environ.items() if k != "HOOKLAB_SECRET"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        assert "listening on http://127.0.0.1:" in line, (line, proc.poll())
        base = line.split()[-1]
        body = urlencode([("MessageSid", "SM77"), ("Body", "hi")]).encode()
        headers = {"content-type": "application/x-www-form-urlencoded",
                   **get_scheme("twilio").sign(message_id="m", timestamp=0, body=body,
                                               secrets=[token], url=public + "?k=v")}
        good = httpx.post(base + "/local/path?k=v", headers=headers, content=body, timeout=10)
        assert good.status_code == 200, good.text
        bad = httpx.post(base + "/local/path?k=other", headers=headers, content=body,
                         timeout=10)
        assert bad.status_code == 401
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert "processed SM77 incoming-message" in (proc.stdout.readline() if ready else "")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
