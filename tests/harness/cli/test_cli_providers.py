"""``hooklab providers``: the listing, one twin with its example, JSON, errors, help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooklab.harness.cli.main import main
from hooklab.model.providers import EXAMPLE_NOW, PROVIDERS, get_provider, verifying_secret
from hooklab.model.signing import get_scheme


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_listing_has_one_row_per_twin_with_its_facts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "providers")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["provider", "coverage", "scheme", "timeout", "retries",
                                "(attempts", "to", "last)", "dedupe", "id", "handshake",
                                "disable"]
    rows = {line.split()[0]: line for line in lines[1:len(PROVIDERS) + 1]}
    assert list(rows) == list(PROVIDERS)
    assert "5 s (1 s to connect)" in rows["shopify"] and "shopify: 9 to ~4:00:00" in rows[
        "shopify"]
    assert "X-Shopify-Webhook-Id, NOT signed" in rows["shopify"]
    assert "url_verification" in rows["slack"] and "(reported)" in rows["slack"]
    assert "github: none" in rows["github"] and "X-GitHub-Delivery, NOT signed" in rows[
        "github"]
    assert "azure-event-grid: 11 to 22:46:40" in rows["azure-event-grid"]
    assert "PING" in rows["discord"] and "accepts a forgery" in rows["discord"]
    assert rows["twilio"].split()[1:3] == ["full", "twilio"]
    assert rows["paddle"].split()[1] == "scheme-only"
    assert "~: approximate" in out


def test_listing_json_is_every_twins_description(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "providers", "--json")
    assert code == 0
    data = json.loads(out)["providers"]
    assert [item["name"] for item in data] == list(PROVIDERS)
    assert data == [json.loads(json.dumps(t.describe())) for t in PROVIDERS.values()]


def test_one_twin_shows_its_facts_and_a_signed_example(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    code, out, _ = _run(capsys, "providers", "shopify")
    assert code == 0
    assert out.startswith("shopify: Shopify (full)\n")
    assert "retries        preset shopify: 9 to ~4:00:00; Shopify, APPROXIMATE" in out
    assert "approximate    retries: the intervals are unpublished" in out
    assert "signed at 1700000000 (2023-11-14T22:13:20Z)" in out
    assert "POST https://receiver.example/webhooks\n" in out
    assert "X-Shopify-Topic: orders/create\n" in out
    assert _run(capsys, "providers", "shopify")[1] == out  # the same on every run


def test_a_twin_with_a_handshake_shows_its_request(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "providers", "discord")
    assert "Handshake request (PING; the receiver must answer a 2xx answer" in out
    assert '"type":1' in out.split("Handshake request")[1]
    assert "bad signature  must be answered 401" in out


def test_a_delivery_only_twin_shows_its_facts_and_what_it_lacks(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "providers", "azure-event-grid")
    assert code == 0 and "never retried" in out and "Example request" not in out
    assert "not modelled   signing, payloads and handshake" in out
    assert json.loads(_run(capsys, "providers", "sns", "--json")[1])["example"] is None


@pytest.mark.parametrize("name", [n for n, t in PROVIDERS.items() if t.scheme is not None])
def test_the_json_example_verifies_with_hooklab_verify(name: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    url = "https://hooks.example.com/in"
    code, out, _ = _run(capsys, "providers", name, "--json", "--url", url)
    assert code == 0
    example = json.loads(out)["example"]
    assert example["now"] == EXAMPLE_NOW
    body = tmp_path / "body"
    body.write_bytes(example["request"]["body"].encode("utf-8"))
    twin = get_provider(name)
    argv = ["verify", "--scheme", twin.scheme or "", "--secret",
            verifying_secret(example["keys"]), "--tolerance", "1e10", str(body)]
    for header, value in example["request"]["headers"]:
        argv += ["-H", f"{header}: {value}"]
    if "url" in get_scheme(twin.scheme or "").inputs:
        argv += ["--url", url]
    assert _run(capsys, *argv)[0] == 0
    body.write_bytes(body.read_bytes() + b" ")
    assert _run(capsys, *argv)[0] == 1


def test_event_and_url_change_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "providers", "twilio", "--event", "status-callback", "--url",
                     "https://example.com/sms", "--json")
    example = json.loads(out)["example"]
    assert example["request"]["url"] == "https://example.com/sms"
    assert "MessageStatus=" in example["request"]["body"]


@pytest.mark.parametrize(("argv", "message"), [
    (["providers", "mailgun"], "error: provider 'mailgun' is unknown; choose one of standard, "
                               "stripe, github"),
    (["providers", "github", "--event", "fork"], "error: --event 'fork': github sends push, "
                                                 "ping"),
    (["providers", "twilio", "--url", "ftp://x"], "error: --url must be an absolute http(s) "
                                                  "URL"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("hooklab providers: " + message) and err.count("\n") == 1
    assert "Traceback" not in err


def test_help_ends_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["providers", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    tail = out.rstrip().split("\n\n")[-1]
    assert tail.startswith("Examples:\n  hooklab providers")
