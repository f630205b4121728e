"""Endpoints validate themselves; event filters match whole dot-delimited segments."""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model import endpoints
from hooklab.model.endpoints import Endpoint, EventFilter, SigningSecret, check_url, matches
from hooklab.model.errors import ConfigError, InvalidSecret, InvalidURL, UnknownPolicy

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
THIRD = "whsec_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"


def make(**changes: object) -> Endpoint:
    fields: dict[str, object] = {"id": "ep_1", "url": "https://example.com/hooks",
                                 "secrets": (SigningSecret(SECRET),)}
    fields.update(changes)
    return Endpoint(**fields)  # type: ignore[arg-type]


def test_defaults_follow_the_facts_file() -> None:
    endpoint = make()
    assert (endpoint.policy, endpoint.timeout, endpoint.scheme) == ("diagram", 15.0, "standard")
    assert endpoint.events == ("*",) and endpoint.enabled and endpoint.disabled_reason is None


@pytest.mark.parametrize("url", ["http://example.com", "https://a.example:8443/x?y=1",
                                 "http://127.0.0.1:9000/hook", "https://[::1]/hook"])
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert make(url=url).url == url


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com/hooks", "/hooks", "",
                                 "https://", "http:///path", "javascript:alert(1)",
                                 "https://exa mple.com/", "http://example.com:99999/",
                                 "http://example.com/#frag", "file:///etc/passwd"])
def test_other_urls_are_invalid_and_the_error_names_them(url: str) -> None:
    with pytest.raises(InvalidURL, match=re.escape(repr(url))):
        make(url=url)


def test_check_url_rejects_non_strings() -> None:
    with pytest.raises(InvalidURL):
        check_url(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("secrets", [(), ("whsec_c2hvcnQ=",), ("not-a-secret",),
                                     (SECRET, SECRET)])
def test_bad_secrets_are_invalid(secrets: tuple[str, ...]) -> None:
    with pytest.raises(InvalidSecret):
        make(secrets=tuple(SigningSecret(s) for s in secrets))


def test_secrets_follow_the_scheme() -> None:
    assert make(scheme="github", secrets=("It's a Secret to Everybody",)).secrets[0].value == (
        "It's a Secret to Everybody")
    with pytest.raises(InvalidSecret):
        make(scheme="standard", secrets=("It's a Secret to Everybody",))


def test_unknown_policy_and_scheme_are_config_errors() -> None:
    with pytest.raises(UnknownPolicy, match="nope"):
        make(policy="nope")
    with pytest.raises(ConfigError):
        make(scheme="nope")
    assert make(policy="svix").retry_policy().max_attempts == 8


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "15", True])
def test_timeout_must_be_positive_seconds(timeout: object) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        make(timeout=timeout)


@pytest.mark.parametrize("bad", [[], ["invoice..paid"], ["inv*"], [""], ["a b"], [".x"]])
def test_malformed_filters_are_config_errors(bad: list[str]) -> None:
    with pytest.raises(ConfigError):
        make(events=tuple(bad))


def test_a_disabled_reason_needs_a_disabled_endpoint() -> None:
    with pytest.raises(ConfigError):
        make(disabled_reason="why")
    assert make(enabled=False, disabled_reason="why").disabled_reason == "why"


def test_repr_never_shows_a_secret_in_full() -> None:
    text = repr(make())
    assert SECRET not in text and "whsec_Mf…" in text


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [("*", "invoice.paid", True), ("*", "x", True), ("invoice.*", "invoice.paid", True),
     ("invoice.*", "invoice.payment.failed", True), ("invoice.*", "invoice", False),
     ("invoice.*", "invoices.paid", False), ("*.created", "customer.created", True),
     ("*.created", "a.b.created", True), ("*.created", "created", False),
     ("invoice.paid", "invoice.paid", True), ("invoice.paid", "invoice.paidx", False),
     ("a.*.c", "a.b.c", True), ("a.*.c", "a.c", False), ("a.b", "aXb", False)],
)
def test_wildcard_segments_match_one_or_more_whole_segments(
    pattern: str, event_type: str, expected: bool
) -> None:
    assert matches([pattern], event_type) is expected
    assert EventFilter([pattern]).matches(event_type) is expected


segment = st.text("abcxyz_-", min_size=1, max_size=4)
event_types = st.lists(segment, min_size=1, max_size=4).map(".".join)


@settings(max_examples=200, deadline=None)
@given(event_types, st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=4))
def test_star_in_place_of_any_segments_still_matches(event_type: str, stars: list[int]) -> None:
    parts = event_type.split(".")
    for i in stars:
        if i < len(parts):
            parts[i] = "*"
    assert matches([".".join(parts)], event_type)
    assert matches(["*"], event_type)
    assert matches([event_type], event_type)


@settings(max_examples=200, deadline=None)
@given(event_types, event_types)
def test_a_literal_pattern_matches_only_itself(pattern: str, event_type: str) -> None:
    assert matches([pattern], event_type) is (pattern == event_type)


def test_a_filter_matches_if_any_pattern_does() -> None:
    f = make(events=("invoice.*", "customer.created")).filter
    assert [f.matches(t) for t in ("invoice.paid", "customer.created", "customer.deleted")] == [
        True, True, False]


def test_active_secrets_drop_expired_ones_at_expiry() -> None:
    endpoint = make(secrets=(SigningSecret(OTHER), SigningSecret(SECRET, expires_at=100.0)))
    assert [s.value for s in endpoint.active_secrets(99.9)] == [OTHER, SECRET]
    assert [s.value for s in endpoint.active_secrets(100.0)] == [OTHER]


def test_rotation_keeps_both_secrets_signing_for_the_grace_period() -> None:
    rotated = make().rotated(OTHER, now=1000.0, grace=3600.0)
    assert [(s.value, s.expires_at) for s in rotated.secrets] == [(OTHER, None),
                                                                   (SECRET, 4600.0)]
    assert len(rotated.active_secrets(4599.0)) == 2
    assert [s.value for s in rotated.active_secrets(4600.0)] == [OTHER]


def test_rotation_drops_expired_secrets_and_never_extends_an_expiry() -> None:
    once = make().rotated(OTHER, now=0.0, grace=10.0)
    twice = once.rotated(THIRD, now=5.0, grace=100.0)
    assert [(s.value, s.expires_at) for s in twice.secrets] == [
        (THIRD, None), (OTHER, 105.0), (SECRET, 10.0)]
    assert [s.value for s in twice.rotated(SECRET, now=200.0, grace=0).secrets] == [
        SECRET, THIRD]


@pytest.mark.parametrize("grace", [-1, float("nan"), "60"])
def test_rotation_rejects_a_bad_grace_period(grace: object) -> None:
    with pytest.raises(ConfigError, match="grace"):
        make().rotated(OTHER, now=0.0, grace=grace)  # type: ignore[arg-type]


def test_rotation_rejects_a_malformed_or_current_secret() -> None:
    with pytest.raises(InvalidSecret):
        make().rotated("whsec_short", now=0.0, grace=1.0)
    with pytest.raises(InvalidSecret, match="already"):
        make().rotated(SECRET, now=0.0, grace=1.0)


def test_module_examples_run() -> None:
    result = doctest.testmod(endpoints)
    assert result.attempted > 0 and result.failed == 0
