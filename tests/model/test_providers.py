"""Provider twins: signed requests verify, payloads hold the provider's fields, handshakes judge.

What the twins claim about the providers is checked against docs/reference.md in
``test_provider_facts.py``, and against the providers' SDKs in ``test_provider_sdks.py``;
this module checks the twins' own behaviour: signing, retries, handshakes, facts as data,
declarations (their payloads' shapes are in ``test_provider_payloads.py``).
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.errors import ConfigError, UnknownProvider, VerificationError
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.presets import PRESETS
from hooklab.model.providers import (
    EXAMPLE_NOW,
    PROVIDERS,
    Answer,
    DedupeId,
    DisableRule,
    Message,
    RetryHeaders,
    Twin,
    get_provider,
    signing_secret,
    verifying_secret,
)
from hooklab.model.signing import get_scheme
from hooklab.sim import AutoDisable

SENDING = [name for name, twin in PROVIDERS.items() if twin.scheme is not None]
DELIVERY_ONLY = [name for name, twin in PROVIDERS.items() if twin.scheme is None]
FULL = ["standard", "stripe", "github", "shopify", "slack", "twilio", "sendgrid", "discord"]
URL = "https://hooks.example.com/in?tenant=7"

seeds = st.integers(0, 2**32 - 1)
nows = st.integers(1_500_000_000, 2_000_000_000)
KEYS = {name: get_scheme(PROVIDERS[name].scheme or "").generate_keys(random.Random(5))
        for name in SENDING}


def sent(name: str, seed: int, now: int, event_type: str | None = None, **kw: Any
         ) -> tuple[Message, Any]:
    twin = get_provider(name)
    message = twin.message(random.Random(seed), now, event_type)
    request = twin.request(message, secrets=[signing_secret(KEYS[name])], now=now, url=URL,
                           **kw)
    return message, request


def verify(name: str, request: Any, now: float) -> str | None:
    twin = get_provider(name)
    return get_scheme(twin.scheme or "").verify(
        request.header_map(), request.body, secrets=[verifying_secret(KEYS[name])], now=now,
        url=request.url, method=request.method)


# ------------------------------------------------------------------ the registry


def test_the_fully_covered_twins_are_the_eight_of_the_issue() -> None:
    assert [n for n, t in PROVIDERS.items() if t.coverage == "full"] == FULL
    assert [n for n, t in PROVIDERS.items() if t.coverage == "scheme-only"] == [
        "square", "hubspot", "paddle", "linear"]


def test_unknown_provider_lists_the_valid_names() -> None:
    with pytest.raises(UnknownProvider) as info:
        get_provider("mailgun")
    assert isinstance(info.value, ConfigError) and info.value.field == "provider"
    assert str(info.value).startswith("provider 'mailgun' is unknown; choose one of standard,")
    assert all(name in str(info.value) for name in PROVIDERS)


def test_each_twin_policy_is_the_preset_of_that_name() -> None:
    for twin in PROVIDERS.values():
        if twin.policy is not None:
            assert PRESETS[twin.policy.name] is twin.policy, twin.name
            assert twin.policy.name == ("svix" if twin.name == "standard" else twin.name)


def test_describe_is_plain_json() -> None:
    for twin in PROVIDERS.values():
        text = json.dumps(twin.describe())
        assert json.loads(text)["name"] == twin.name


# ------------------------------------------------------------------ signed requests


@pytest.mark.parametrize("name", SENDING)
def test_every_example_request_verifies_with_its_scheme(name: str) -> None:
    twin = get_provider(name)
    example = twin.example(url=URL)
    request = example.request
    got = get_scheme(twin.scheme or "").verify(
        request.header_map(), request.body, secrets=[verifying_secret(example.keys)],
        now=EXAMPLE_NOW, url=URL, method="POST")
    assert got in (None, example.message.id)
    assert example == twin.example(url=URL)  # the same bytes every time
    with pytest.raises(VerificationError):
        get_scheme(twin.scheme or "").verify(
            request.header_map(), request.body + b" ", secrets=[verifying_secret(example.keys)],
            now=EXAMPLE_NOW, url=URL, method="POST")


@settings(max_examples=30, deadline=None, database=None)
@given(name=st.sampled_from(SENDING), seed=seeds, now=nows)
def test_every_request_verifies_at_the_time_it_was_signed(name: str, seed: int,
                                                          now: int) -> None:
    message, request = sent(name, seed, now)
    got = verify(name, request, now)
    assert got in (None, message.id)
    assert request.body == message.body and request.method == "POST" and request.url == URL


@settings(max_examples=30, deadline=None, database=None)
@given(name=st.sampled_from(SENDING), seed=seeds, now=nows)
def test_requests_send_each_header_once_with_the_content_type(name: str, seed: int,
                                                             now: int) -> None:
    message, request = sent(name, seed, now)
    names = [key.lower() for key, _ in request.headers]
    assert len(names) == len(set(names))
    assert request.header("content-type") == message.content_type
    for key, value in message.headers:
        assert request.header(key) == value


@settings(max_examples=20, deadline=None, database=None)
@given(name=st.sampled_from(SENDING), seed=seeds, now=nows)
def test_a_retry_carries_the_same_message_signed_again(name: str, seed: int, now: int) -> None:
    message, first = sent(name, seed, now)
    _, retry = sent(name, seed, now, attempt=2, previous=classify(500))
    later = get_provider(name).request(message, secrets=[signing_secret(KEYS[name])],
                                       now=now + 60, url=URL, attempt=2)
    assert retry.body == first.body == later.body
    assert verify(name, later, now + 60) in (None, message.id)
    dedupe = get_provider(name).dedupe
    if dedupe is not None:
        assert dedupe.read(later.headers, later.body) == dedupe.read(first.headers, first.body)


@settings(max_examples=30, deadline=None, database=None)
@given(name=st.sampled_from(SENDING), seed=seeds, now=nows)
def test_the_dedupe_id_is_read_back_from_the_request(name: str, seed: int, now: int) -> None:
    dedupe = get_provider(name).dedupe
    message, request = sent(name, seed, now)
    if dedupe is None:
        return
    ids = dedupe.read(request.headers, request.body)
    assert ids and all(ids)
    assert message.id == ids[0]


def test_an_unknown_event_type_names_the_ones_the_twin_sends() -> None:
    with pytest.raises(ConfigError, match="event_type 'fork': github sends push, ping") as info:
        get_provider("github").message(random.Random(0), 0, "fork")
    assert info.value.field == "event_type"


@pytest.mark.parametrize("now", [-1, float("nan"), float("inf"), "1700000000", True])
def test_a_bad_now_is_refused_naming_it(now: Any) -> None:
    with pytest.raises(ConfigError, match="^now must be") as info:
        get_provider("stripe").message(random.Random(0), now)
    assert info.value.field == "now"


def test_a_message_is_only_sent_by_its_own_twin() -> None:
    message = get_provider("stripe").message(random.Random(0), EXAMPLE_NOW)
    with pytest.raises(ConfigError, match="'stripe''s, not 'github''s"):
        get_provider("github").request(message, secrets=["s" * 16], now=EXAMPLE_NOW)


@pytest.mark.parametrize("name", DELIVERY_ONLY)
def test_delivery_only_twins_send_nothing_and_say_why(name: str) -> None:
    twin = get_provider(name)
    with pytest.raises(ConfigError, match="delivery-only"):
        twin.message(random.Random(0), EXAMPLE_NOW)
    with pytest.raises(ConfigError, match="no signing scheme"):
        twin.example()
    assert twin.policy is not None


# ------------------------------------------------------------------ retries


def test_slack_retries_carry_their_number_and_reason() -> None:
    cases = [(1, None, {}),
             (2, Outcome.transport("timeout"), {"X-Slack-Retry-Num": "1",
                                                "X-Slack-Retry-Reason": "http_timeout"}),
             (3, Outcome.transport("connection_refused"),
              {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "connection_failed"}),
             (4, classify(503), {"X-Slack-Retry-Num": "3",
                                 "X-Slack-Retry-Reason": "http_error"})]
    for attempt, previous, expected in cases:
        _, request = sent("slack", 1, EXAMPLE_NOW, attempt=attempt, previous=previous)
        got = {k: v for k, v in request.headers if k.startswith("X-Slack-Retry")}
        assert got == expected, attempt
        assert verify("slack", request, EXAMPLE_NOW) is None


def test_other_twins_send_no_retry_headers() -> None:
    _, first = sent("stripe", 1, EXAMPLE_NOW)
    _, retry = sent("stripe", 1, EXAMPLE_NOW, attempt=3, previous=classify(500))
    assert first.headers == retry.headers


@pytest.mark.parametrize("attempt", [0, -1, True, 1.5])
def test_a_bad_attempt_number_is_refused_naming_it(attempt: Any) -> None:
    with pytest.raises(ConfigError, match="^attempt must be"):
        sent("slack", 1, EXAMPLE_NOW, attempt=attempt)


def test_slack_no_retry_header_opts_out() -> None:
    headers = get_provider("slack").retry_headers
    assert headers is not None
    assert headers.opts_out((("x-slack-no-retry", "1"),))
    assert headers.opts_out({"X-Slack-No-Retry": " 1 "})
    assert not headers.opts_out({"X-Slack-No-Retry": "0"})
    assert not headers.opts_out({})
    assert not RetryHeaders("N").opts_out({"X-Slack-No-Retry": "1"})


# ------------------------------------------------------------------ handshakes


def _slack_challenge() -> tuple[Message, str]:
    message = get_provider("slack").handshake_message(random.Random(3), EXAMPLE_NOW)
    return message, json.loads(message.body)["challenge"]


@pytest.mark.parametrize("shape", ["text", "json", "form"])
def test_slack_judge_accepts_the_challenge_in_each_documented_shape(shape: str) -> None:
    message, challenge = _slack_challenge()
    body = {"text": challenge.encode(), "json": json.dumps({"challenge": challenge}).encode(),
            "form": f"challenge={challenge}".encode()}[shape]
    judgement = get_provider("slack").handshake.judge(message, Answer(200, body=body))  # type: ignore[union-attr]
    assert judgement.passed and shape in judgement.reason.lower()


@pytest.mark.parametrize(("status", "body", "why"), [
    (500, None, "status 500"),
    (302, None, "status 302"),
    (200, b"", "does not carry"),
    (200, b"wrong", "does not carry"),
    (200, b'{"challenge": "wrong"}', "does not carry"),
    (200, b'{"type": 1}', "does not carry"),
])
def test_slack_judge_refuses_wrong_answers(status: int, body: bytes | None, why: str) -> None:
    message, challenge = _slack_challenge()
    answer = Answer(status, body=challenge.encode() if body is None else body)
    judgement = get_provider("slack").handshake.judge(message, answer)  # type: ignore[union-attr]
    assert not judgement.passed and why in judgement.reason


def test_slack_handshake_is_signed_like_any_request() -> None:
    twin = get_provider("slack")
    message = twin.handshake_message(random.Random(3), EXAMPLE_NOW)
    request = twin.request(message, secrets=[signing_secret(KEYS["slack"])], now=EXAMPLE_NOW)
    assert json.loads(request.body)["type"] == "url_verification"
    assert verify("slack", request, EXAMPLE_NOW) is None


def test_discord_judge_accepts_a_pong() -> None:
    twin = get_provider("discord")
    ping = twin.handshake_message(random.Random(3), EXAMPLE_NOW)
    assert json.loads(ping.body)["type"] == 1
    for body in (b'{"type": 1}', b'{"type":1,"data":{}}'):
        assert twin.handshake.judge(ping, Answer(200, body=body)).passed  # type: ignore[union-attr]


@pytest.mark.parametrize(("status", "body", "why"), [
    (200, b'{"type": 2}', "not {"),
    (200, b'{"type": true}', "not {"),
    (200, b'{"type": "1"}', "not {"),
    (200, b"[1]", "not {"),
    (200, b"pong", "not JSON"),
    (401, b'{"type": 1}', "status 401"),
])
def test_discord_judge_refuses_anything_but_type_1(status: int, body: bytes, why: str) -> None:
    twin = get_provider("discord")
    ping = twin.handshake_message(random.Random(3), EXAMPLE_NOW)
    judgement = twin.handshake.judge(ping, Answer(status, body=body))  # type: ignore[union-attr]
    assert not judgement.passed and why in judgement.reason


def test_a_judge_refuses_a_message_that_is_not_its_handshake() -> None:
    event = get_provider("slack").message(random.Random(0), EXAMPLE_NOW)
    with pytest.raises(ConfigError, match="url_verification"):
        get_provider("slack").handshake.judge(event, Answer(200))  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="PING"):
        get_provider("discord").handshake.judge(event, Answer(200))  # type: ignore[union-attr]


def test_twins_without_a_handshake_say_so() -> None:
    with pytest.raises(ConfigError, match="sends no handshake"):
        get_provider("stripe").handshake_message(random.Random(0), EXAMPLE_NOW)


# ------------------------------------------------------------------ facts as data


def test_disable_rules_that_fit_build_the_simulators_auto_disable() -> None:
    fitting = {}
    for twin in PROVIDERS.values():
        if twin.disable is not None and twin.disable.auto_disable() is not None:
            fitting[twin.name] = AutoDisable(**twin.disable.auto_disable())  # type: ignore[arg-type]
    assert fitting == {"standard": AutoDisable(window=5 * 86400.0, gone=True),
                       "shopify": AutoDisable(consecutive=1, gone=False)}
    assert get_provider("slack").disable.auto_disable() is None  # type: ignore[union-attr]
    assert get_provider("discord").disable.auto_disable() is None  # type: ignore[union-attr]


def test_disable_rules_say_what_they_do_and_whether_reported() -> None:
    assert get_provider("slack").disable.describe() == (  # type: ignore[union-attr]
        "switches the app's events off when under 5% succeed over 1 h, for 1000 events "
        "or more in that time (reported)")
    assert get_provider("discord").disable.describe() == (  # type: ignore[union-attr]
        "removes the endpoint when it accepts a request with an invalid signature")
    assert DisableRule(consecutive=100).describe() == (
        "disables the endpoint after 100 consecutive exhausted messages")


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"consecutive": 0}, "consecutive"),
    ({"counts": "days"}, "counts"),
    ({"success_below": 0.05}, "success-rate"),
    ({"success_below": 5, "over": 60}, "success-rate"),
    ({"window": -1}, "window"),
])
def test_bad_disable_rules_are_refused(kwargs: dict[str, Any], why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        DisableRule(**kwargs)


def test_a_batch_dedupe_id_lives_in_the_body() -> None:
    with pytest.raises(ConfigError, match="only a body"):
        DedupeId("X-Id", "header", signed=False, each=True)
    assert DedupeId("id", "body", signed=True).read((), b"not json") == ()


# ------------------------------------------------------------------ declarations


def test_a_twin_with_an_unknown_scheme_fails_when_defined() -> None:
    with pytest.raises(ConfigError, match="unknown scheme 'zoom'"):
        class Zoom(Twin):  # noqa: F841
            name = "zoom"
            title = "Zoom"
            coverage = "scheme-only"
            scheme = "zoom"
            event_types = ("meeting.started",)
            sources = ("provider docs",)


def test_a_dedupe_header_that_contradicts_the_scheme_fails_when_defined() -> None:
    with pytest.raises(ConfigError, match="contradicts the github scheme"):
        class Signed(Twin):  # noqa: F841
            name = "signed"
            title = "Signed"
            coverage = "scheme-only"
            scheme = "github"
            event_types = ("push",)
            dedupe = DedupeId("X-GitHub-Delivery", "header", signed=True)
            sources = ("none",)

            def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
                raise NotImplementedError


def test_a_twin_without_sources_fails_when_defined() -> None:
    with pytest.raises(ConfigError, match="sources"):
        class Bare(Twin):  # noqa: F841
            name = "bare"
            title = "Bare"
            coverage = "delivery-only"
            sources: ClassVar[tuple[str, ...]] = ()
