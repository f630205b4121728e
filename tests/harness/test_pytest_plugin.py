"""The pytest plugin: a user's own suite turns the conformance checks into tests, in-process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

pytest_plugins = ["pytester"]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

HEADER = f"""
from hooklab.harness.pytest_plugin import hooklab_checks
from hooklab.harness.receiver import create_receiver

SECRET = {SECRET!r}
"""

ACCEPT_ALL = """
async def accept_all(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def test_hooklab_checks_makes_one_passing_test_per_check(pytester):
    pytester.makepyfile(HEADER + textwrap.dedent("""
        receiver = create_receiver(SECRET)
        test_reference = hooklab_checks(receiver, secret=SECRET, max_examples=5,
                                        observe=receiver.processed_count)
    """))
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=14, skipped=2)  # no handshake; standard signs its id
    result.stdout.fnmatch_lines(["*test_reference?accepts_valid_delivery? PASSED*",
                                 "*test_reference?idempotent_redelivery? PASSED*"])


def test_checks_that_do_not_apply_to_the_scheme_are_skipped_with_the_reason(pytester):
    pytester.makepyfile(HEADER + textwrap.dedent("""
        GITHUB = "It's a Secret to Everybody"
        test_github = hooklab_checks(create_receiver(GITHUB, scheme="github"),
                                     secret=GITHUB, scheme="github", max_examples=5)
    """))
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=10, skipped=6)  # 3 for the scheme, 1 handshake, 2 observer
    result.stdout.fnmatch_lines(["*github signs no timestamp*"])
    result.stdout.fnmatch_lines(["*no observer*"])


def test_a_failing_check_reports_its_title_example_and_curl(pytester):
    pytester.makepyfile(HEADER + ACCEPT_ALL + textwrap.dedent("""
        test_accept_all = hooklab_checks(accept_all, secret=SECRET, max_examples=5,
                                         checks=["accepts_valid_delivery",
                                                 "rejects_missing_signature"])
    """))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*CheckFailed: rejects_missing_signature: delivery without signature headers not "
        "rejected*",
        "*expected a 4xx rejection (the diagram answers 401), got 200*",
        "*minimal example: {*",
        "*reproduce (valid until Unix time *): curl -sS -i -X POST \"$RECEIVER_URL/\"*",
    ])


def test_fixture_runs_checks_and_command_line_options_apply(pytester):
    pytester.makepyfile(HEADER + ACCEPT_ALL + textwrap.dedent("""
        def test_fixture(hooklab_conformance):
            report = hooklab_conformance(accept_all, secret=SECRET,
                                         checks=["rejects_invalid_signature"])
            assert report.max_examples == 3 and report.seed == 11
            assert [r.name for r in report.failed] == ["rejects_invalid_signature"]
    """))
    result = pytester.runpytest("--hooklab-max-examples", "3", "--hooklab-seed", "11")
    result.assert_outcomes(passed=1)


def test_plugin_import_stays_light():
    code = ("import sys, hooklab.harness.pytest_plugin; "
            "print(sorted(m for m in ('httpx', 'hypothesis', 'rich', 'uvicorn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_hooklab_checks_delivers_as_a_named_provider(pytester):
    pytester.makepyfile(HEADER + textwrap.dedent("""
        GITHUB = "It's a Secret to Everybody"
        receiver = create_receiver(GITHUB, scheme="github")
        test_github = hooklab_checks(receiver, secret=GITHUB, provider="github",
                                     max_examples=3, observe=receiver.processed_count,
                                     checks=["accepts_valid_delivery",
                                             "resists_unsigned_header_tampering",
                                             "answers_handshake"])
    """))
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*github sends no handshake*"])
