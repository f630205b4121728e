"""The conformance checks, in-process: correct receivers pass every check, and each
deliberately broken receiver is caught by the check whose rule it breaks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time

import pytest
from broken_receivers import MiniReceiver, wsgi_receiver
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from hooklab.harness.conformance import CheckFailed, run_checks
from hooklab.harness.conformance.checks import CHECK_NAMES, CHECKS
from hooklab.harness.conformance.payloads import (
    encode,
    is_json,
    json_values,
    malformed_bodies,
    styles,
)
from hooklab.harness.conformance.report import render
from hooklab.harness.conformance.schemes import retime, rules_for, tamper_signature
from hooklab.harness.receiver import create_receiver
from hooklab.harness.transport import Request
from hooklab.model.errors import ConfigError, InvalidSecret, VerificationError
from hooklab.model.signing import get_scheme

SECRETS = {
    "standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "stripe": "whsec_stripe_test_secret_0123",
    "github": "It's a Secret to Everybody",
}
SECRET = SECRETS["standard"]
EXAMPLES = 25
NOT_APPLICABLE = {  # no provider is named, so no handshake; standard signs its id
    "standard": {"answers_handshake", "resists_unsigned_header_tampering"},
    "stripe": {"rejects_future_timestamp", "answers_handshake",
               "resists_unsigned_header_tampering"},
    "github": {"rejects_stale_timestamp", "rejects_future_timestamp",
               "accepts_rotated_signatures", "answers_handshake"},
}


def answering(status: int, body: bytes):
    """An ASGI app that reads each request whole and answers ``status`` with ``body``."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def statuses(report):
    return {result.name: result.status for result in report.results}


def failed(report):
    return {result.name for result in report.failed}


@pytest.mark.parametrize("scheme", sorted(SECRETS))
def test_reference_receiver_passes_every_applicable_check_in_process(scheme):
    receiver = create_receiver(SECRETS[scheme], scheme=scheme)
    report = run_checks(receiver, secret=SECRETS[scheme], scheme=scheme,
                        max_examples=EXAMPLES, observe=receiver.processed_count)
    assert [r.name for r in report.results] == list(CHECK_NAMES)
    assert report.passed, [f.to_dict() for r in report.failed for f in r.findings]
    skipped = {name for name, status in statuses(report).items() if status == "skipped"}
    assert skipped == NOT_APPLICABLE[scheme]
    assert all(r.reason for r in report.results if r.status == "skipped")


@pytest.mark.parametrize("scheme", sorted(SECRETS))
def test_minimal_correct_receivers_pass_as_asgi_and_wsgi_apps(scheme):
    secret = SECRETS[scheme]
    asgi = MiniReceiver(secret, scheme)
    wsgi = wsgi_receiver(secret, scheme)
    for app, observe in ((asgi, asgi.processed_count), (wsgi, wsgi.lane.processed_count)):
        report = run_checks(app, secret=secret, scheme=scheme, max_examples=15,
                            observe=observe)
        assert report.passed, [f.to_dict() for r in report.failed for f in r.findings]


#: bug -> (the checks that must catch it, checks that must still pass)
CAUGHT_BY = {
    "no_verification": ({"rejects_missing_signature", "rejects_invalid_signature",
                         "rejects_stale_timestamp", "verifies_before_parsing"},
                        {"accepts_valid_delivery", "rejects_malformed_json"}),
    "reserialized": ({"verifies_raw_body"}, {"rejects_missing_signature",
                                             "rejects_malformed_json"}),
    "parse_first": ({"verifies_before_parsing"}, {"accepts_valid_delivery",
                                                  "rejects_invalid_signature"}),
    "crash_on_bad_json": ({"rejects_malformed_json"}, {"verifies_before_parsing",
                                                        "accepts_valid_delivery"}),
    "slow_ack": ({"acks_within_timeout"}, {"rejects_invalid_signature",
                                           "rejects_malformed_json"}),
    "first_signature_only": ({"accepts_rotated_signatures"}, {"accepts_valid_delivery"}),
    "accepts_stale": ({"rejects_stale_timestamp"}, {"rejects_invalid_signature"}),
    "no_dedupe": ({"idempotent_redelivery"}, {"accepts_valid_delivery"}),
    "crash_on_garbage_header": ({"survives_malformed_headers"}, {"accepts_valid_delivery"}),
    "crash_on_corrupted_signature": ({"rejects_corrupted_signature_field",
                                      "survives_malformed_headers"},
                                     {"accepts_valid_delivery", "rejects_invalid_signature"}),
}


@pytest.mark.parametrize("bug", sorted(CAUGHT_BY))
def test_each_broken_receiver_is_caught_by_the_right_check(bug):
    must_fail, must_pass = CAUGHT_BY[bug]
    receiver = MiniReceiver(SECRET, bug=bug, delay=0.5)
    timeout = 0.2 if bug == "slow_ack" else 10.0
    report = run_checks(receiver, secret=SECRET, checks=sorted(must_fail | must_pass),
                        max_examples=EXAMPLES, timeout=timeout,
                        observe=receiver.processed_count)
    assert failed(report) == must_fail
    for result in report.failed:
        (finding,) = result.findings
        assert finding.title and finding.message and finding.curl.startswith("curl ")


def test_dedupe_on_the_unsigned_github_id_is_caught_by_the_tampering_check():
    secret = SECRETS["github"]
    for bug, verdict in (("trusts_unsigned_id", "failed"), (None, "passed")):
        receiver = MiniReceiver(secret, "github", bug=bug)
        report = run_checks(receiver, secret=secret, scheme="github", max_examples=3,
                            observe=receiver.processed_count,
                            checks=["resists_unsigned_header_tampering"])
        assert statuses(report) == {"resists_unsigned_header_tampering": verdict}, bug


@pytest.mark.parametrize("scheme", ["stripe", "github"])
def test_unverified_receiver_is_caught_under_every_scheme(scheme):
    receiver = MiniReceiver(SECRETS[scheme], scheme, bug="no_verification")
    report = run_checks(receiver, secret=SECRETS[scheme], scheme=scheme, max_examples=10,
                        checks=["rejects_missing_signature", "rejects_invalid_signature"])
    assert failed(report) == {"rejects_missing_signature", "rejects_invalid_signature"}


def test_finding_carries_title_minimal_example_and_curl():
    report = run_checks(MiniReceiver(SECRET, bug="crash_on_bad_json"), secret=SECRET,
                        checks=["rejects_malformed_json"], max_examples=EXAMPLES)
    (finding,) = report.result("rejects_malformed_json").findings
    assert finding.title == "malformed JSON not rejected"
    assert "expected a 4xx rejection (the diagram answers 400), got 500" in finding.message
    assert "a 5xx is a crash" in finding.message
    assert finding.example == {"body": ""}  # the adversarial corpus sends it first
    assert finding.request["body"] == ""
    assert finding.response["status"] == 500
    assert finding.curl.startswith('curl -sS -i -X POST "$RECEIVER_URL/"')
    assert "-H 'webhook-signature: v1," in finding.curl
    assert json.loads(json.dumps(finding.to_dict())) == finding.to_dict()


def test_check_failed_is_an_assertion_error_naming_the_rule():
    assert issubclass(CheckFailed, AssertionError)
    failure = CheckFailed("stale timestamp accepted", "expected 401, got 200")
    assert "stale timestamp accepted" in str(failure)


def test_every_check_states_its_rule_in_one_line():
    for name, check in CHECKS.items():
        assert check.__name__ == name
        doc = (check.__doc__ or "").strip()
        assert doc and "\n" not in doc and doc.endswith(".")


@pytest.mark.parametrize("seed", [None, 7])
def test_same_seed_gives_the_same_minimal_examples(seed):
    def examples():
        report = run_checks(MiniReceiver(SECRET, bug="reserialized"), secret=SECRET,
                            checks=["verifies_raw_body", "rejects_invalid_signature"],
                            max_examples=EXAMPLES, seed=seed)
        return [f.example for r in report.results for f in r.findings]

    first = examples()
    assert first and first == examples()


class Hanging:
    """An ASGI receiver that never answers."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await asyncio.sleep(3600)


def test_hanging_receiver_fails_without_waiting_again_while_shrinking():
    start = time.perf_counter()
    report = run_checks(Hanging(), secret=SECRET, timeout=0.1, max_examples=50,
                        checks=["acks_within_timeout", "accepts_valid_delivery"])
    assert failed(report) == {"acks_within_timeout", "accepts_valid_delivery"}
    assert report.result("acks_within_timeout").findings[0].title.startswith("no answer")
    # the preflight and one request per check time out; shrinking does not wait again
    assert time.perf_counter() - start < 0.1 * 20


def test_unknown_check_and_bad_secret_are_config_errors():
    with pytest.raises(ConfigError, match="unknown check 'nope'"):
        run_checks(MiniReceiver(SECRET), secret=SECRET, checks=["nope"])
    with pytest.raises(InvalidSecret):
        run_checks(MiniReceiver(SECRET), secret="whsec_short")
    with pytest.raises(ConfigError, match="must be a URL"):
        run_checks(42, secret=SECRET)


@settings(max_examples=200, deadline=None)
@given(json_values, styles)
def test_encoded_json_always_decodes_to_the_value(value, style):
    assert json.loads(encode(value, style)) == value


@settings(max_examples=200, deadline=None)
@given(malformed_bodies)
def test_malformed_bodies_never_parse_as_json(body):
    assert not is_json(body)


@pytest.mark.parametrize("scheme", sorted(SECRETS))
@settings(max_examples=50, deadline=None)
@given(position=st.integers(0, 1000))
def test_a_tampered_signature_never_verifies(scheme, position):
    rules, signer = rules_for(scheme), get_scheme(scheme)
    headers = signer.sign(message_id="msg_1", timestamp=1_700_000_000, body=b"{}",
                          secrets=[SECRETS[scheme]])
    request = tamper_signature(rules, Request(b"{}", tuple(headers.items())), position)
    assert request.headers != tuple(headers.items())
    with pytest.raises(VerificationError):
        signer.verify(dict(request.headers), b"{}", secrets=[SECRETS[scheme]],
                      now=1_700_000_000)


@pytest.mark.parametrize("scheme", ["standard", "stripe"])
def test_retimed_delivery_keeps_its_signature_but_fails_verification(scheme):
    signer = get_scheme(scheme)
    headers = signer.sign(message_id="msg_1", timestamp=1_700_000_000, body=b"{}",
                          secrets=[SECRETS[scheme]])
    request = retime(rules_for(scheme), Request(b"{}", tuple(headers.items())), "1700000001")
    assert "1700000001" in str(request.headers)
    with pytest.raises(VerificationError, match="no signature matches"):
        signer.verify(dict(request.headers), b"{}", secrets=[SECRETS[scheme]],
                      now=1_700_000_000)


def test_hanging_wsgi_app_times_out_instead_of_hanging_the_run():
    gate = threading.Event()

    def hanging(environ, start_response):
        gate.wait(30)
        start_response("200 OK", [])
        return [b""]

    try:
        start = time.perf_counter()
        report = run_checks(hanging, secret=SECRET, timeout=0.1, max_examples=20,
                            checks=["acks_within_timeout"])
        assert failed(report) == {"acks_within_timeout"}
        assert time.perf_counter() - start < 2.0
    finally:
        gate.set()


def test_a_crashing_wsgi_app_answers_500_like_a_server_would():
    def crashing(environ, start_response):
        raise RuntimeError("boom")

    report = run_checks(crashing, secret=SECRET, max_examples=5,
                        checks=["survives_malformed_headers"])
    (finding,) = report.result("survives_malformed_headers").findings
    assert finding.response["status"] == 500


def test_terminal_report_names_every_check_and_shows_invisible_characters():
    report = run_checks(MiniReceiver(SECRET, bug="first_signature_only"), secret=SECRET,
                        max_examples=EXAMPLES, checks=["accepts_rotated_signatures",
                                                       "accepts_valid_delivery"])
    finding = report.result("accepts_rotated_signatures").findings[0]
    shown = dataclasses.replace(finding, example={"data": "\x7f"})
    result = dataclasses.replace(report.result("accepts_rotated_signatures"),
                                 findings=(shown,))
    report = dataclasses.replace(report, results=(result, report.results[1]))
    console = Console(record=True, width=120)
    render(report, console)
    text = console.export_text()
    assert "accepts_rotated_signatures" in text and "checks failed" in text
    assert '"data": "\\u007f"' in text
    assert "curl -sS -i -X POST" in text


def test_terminal_report_prints_the_curl_command_unbroken_for_copy_and_paste():
    report = run_checks(MiniReceiver(SECRET, bug="first_signature_only"), secret=SECRET,
                        max_examples=EXAMPLES, checks=["accepts_rotated_signatures"])
    curl = report.result("accepts_rotated_signatures").findings[0].curl
    assert len(curl) > 80
    console = Console(record=True, width=80)
    render(report, console)
    text = console.export_text()
    assert curl in text.splitlines()  # one line, no panel border, no wrapping
    assert "derandomized" in text and "seed None" not in text


def _answering_400_for_401(app):
    async def wrapped(scope, receive, send):
        async def send_400(message):
            if message["type"] == "http.response.start" and message["status"] == 401:
                message = {**message, "status": 400}
            await send(message)

        await app(scope, receive, send_400)

    return wrapped


def test_any_4xx_rejects_with_a_note_but_a_strict_status_or_discord_demands_401():
    from hooklab.model.providers import get_provider, signing_secret, verifying_secret

    keys = get_provider("discord").example().keys
    app = _answering_400_for_401(create_receiver(verifying_secret(keys), scheme="discord"))
    check = ["rejects_invalid_signature"]
    lenient = run_checks(app, secret=signing_secret(keys), scheme="discord", checks=check,
                         max_examples=5)
    (result,) = lenient.results
    assert result.status == "passed" and result.notes == ("rejects with 400, not 401",)
    for strict in ({"provider": "discord"}, {"scheme": "discord", "reject_status": 401}):
        report = run_checks(app, secret=signing_secret(keys), checks=check, max_examples=5,
                            **strict)
        (result,) = report.results
        assert result.status == "failed", strict
        assert "expected 401, got 400" in result.findings[0].message


def test_a_provider_sets_the_timeout_and_sends_its_handshake():
    from hooklab.model.providers import get_provider, signing_secret, verifying_secret

    keys = get_provider("slack").example().keys
    receiver = create_receiver(verifying_secret(keys), scheme="slack")
    report = run_checks(receiver, secret=signing_secret(keys), provider="slack",
                        max_examples=3, checks=["accepts_valid_delivery", "answers_handshake"])
    assert report.timeout == get_provider("slack").timeout.total
    assert statuses(report) == {"accepts_valid_delivery": "passed", "answers_handshake": "passed"}

    no_echo = answering(200, b"ok")  # acknowledges everything, echoes nothing
    report = run_checks(no_echo, secret=signing_secret(keys), provider="slack",
                        max_examples=3, checks=["answers_handshake"])
    (finding,) = report.result("answers_handshake").findings  # it does not echo the challenge
    assert "url_verification" in finding.title


def test_a_crash_is_never_a_rejection_and_blocked_checks_name_what_to_fix_first():
    crash = answering(500, b"boom")
    report = run_checks(crash, secret=SECRET, max_examples=3,
                        checks=["accepts_valid_delivery", "rejects_invalid_signature",
                                "verifies_raw_body", "idempotent_redelivery"])
    assert statuses(report) == {"accepts_valid_delivery": "failed",
                                "rejects_invalid_signature": "failed",
                                "verifies_raw_body": "blocked",
                                "idempotent_redelivery": "blocked"}
    assert "a 5xx is a crash" in report.result("rejects_invalid_signature").findings[0].message
    assert report.result("verifies_raw_body").reason.startswith(
        "blocked by accepts_valid_delivery")
    assert report.fix_first == "accepts_valid_delivery"
    assert report.to_dict()["fix_first"] == "accepts_valid_delivery"


def test_indistinguishable_answers_make_verifies_before_parsing_inconclusive_not_failed():
    app = _answering_400_for_401(MiniReceiver(SECRET))  # forgeries and bad JSON: both 400
    report = run_checks(app, secret=SECRET, max_examples=10,
                        checks=["verifies_before_parsing", "idempotent_redelivery"])
    result = report.result("verifies_before_parsing")
    assert result.status == "inconclusive" and "no answer shows the order" in result.reason
    redelivery = report.result("idempotent_redelivery")  # no observer was given
    assert redelivery.status == "skipped" and redelivery.reason.startswith("no observer")
    assert report.passed


def test_intermittent_only_when_fresh_replays_disagree():
    seen = {"n": 0}

    async def third_fails(scope, receive, send):  # only the third request ever crashes
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        seen["n"] += 1
        status = 500 if seen["n"] == 3 else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    report = run_checks(third_fails, secret=SECRET, checks=["accepts_valid_delivery"],
                        max_examples=3)
    (finding,) = report.result("accepts_valid_delivery").findings
    assert "intermittent: the example failed 1 of 4 runs" in finding.message
    deterministic = run_checks(MiniReceiver(SECRET, bug="crash_on_bad_json"), secret=SECRET,
                               checks=["rejects_malformed_json"], max_examples=3)
    (finding,) = deterministic.result("rejects_malformed_json").findings
    assert "intermittent" not in finding.message


def test_a_tampered_timestamp_differs_from_the_signed_one_across_a_second_boundary(monkeypatch):
    from hooklab.harness.conformance.context import CheckContext

    start, calls = int(time.time()), []

    def ticking(self) -> int:  # a clock that crosses a second boundary at every reading
        calls.append(None)
        return start + len(calls)

    monkeypatch.setattr(CheckContext, "now", ticking)
    report = run_checks(create_receiver(SECRET), secret=SECRET, max_examples=5,
                        checks=["rejects_invalid_signature"])
    assert statuses(report) == {"rejects_invalid_signature": "passed"}
