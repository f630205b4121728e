"""The rehearsal engine: a twin's schedule on a virtual clock, with scripted trouble."""

from __future__ import annotations

import random

import pytest

from hooklab.model.errors import ConfigError, VerificationError
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.providers import get_provider, signing_secret, verifying_secret
from hooklab.model.rehearsal import (
    Plan,
    Rehearsal,
    RehearsalReport,
    Step,
    Trouble,
    parse_outage,
    parse_span,
    words,
)
from hooklab.model.signing import get_scheme

FULL = ("standard", "stripe", "github", "shopify", "slack", "twilio", "sendgrid", "discord")


def _keys(name: str, seed: int = 0) -> tuple[dict[str, str], dict[str, str]]:
    scheme = get_scheme(get_provider(name).scheme or "")
    rng = random.Random(seed)
    old, new = scheme.generate_keys(rng), scheme.generate_keys(rng)
    return ({"old": signing_secret(old), "new": signing_secret(new)},
            {"old": verifying_secret(old), "new": verifying_secret(new)})


def _ok(step: Step) -> Outcome:
    return classify(200)


def test_shopify_survives_an_outage_as_long_as_its_retry_window_and_not_a_minute_more() -> None:
    twin = get_provider("shopify")
    assert twin.policy is not None
    window = twin.policy.attempt_times()[-1]
    keys, _ = _keys("shopify")
    within = Rehearsal(twin, keys, trouble=Trouble(outages=((0.0, window),)))
    within.run(_ok)
    assert set(within.fates) == {"delivered"}
    past = Rehearsal(twin, keys, trouble=Trouble(outages=((0.0, window + 60),)))
    past.run(_ok)
    assert past.fates[0] == "exhausted"
    assert past.disabled_at == window  # Shopify deletes the subscription at once
    assert set(past.fates[1:]) == {"dropped"}


@pytest.mark.parametrize("name", FULL)
def test_no_attempt_reaches_the_receiver_during_an_outage(name: str) -> None:
    keys, _ = _keys(name)
    trouble = Trouble(outages=((1800.0, 7200.0),))
    sent: list[float] = []
    rehearsal = Rehearsal(get_provider(name), keys, plan=Plan(events=12), trouble=trouble)

    def answer(step: Step) -> Outcome:
        sent.append(step.at)
        return classify(200)

    rehearsal.run(answer)
    assert sent and not any(trouble.down(t) for t in sent)
    assert len(rehearsal.attempts) >= len(sent)
    assert all(f != "pending" for f in rehearsal.fates)


@pytest.mark.parametrize("name", FULL)
def test_attempts_after_a_rotation_verify_only_with_the_new_key(name: str) -> None:
    twin = get_provider(name)
    sign, verify = _keys(name)
    scheme = get_scheme(twin.scheme or "")
    rotate_at = 3600.0
    rehearsal = Rehearsal(twin, sign, plan=Plan(events=8, interval=900),
                          trouble=Trouble(rotate_at=rotate_at), sign_time=lambda t: 1e9 + t)
    checked = 0

    def answer(step: Step) -> Outcome:
        nonlocal checked
        assert step.request is not None
        headers = step.request.header_map()
        key = "new" if step.at >= rotate_at else "old"
        other = "old" if key == "new" else "new"
        now = 1e9 + step.at
        scheme.verify(headers, step.request.body, secrets=[verify[key]], now=now,
                      **_url(scheme, step))
        with pytest.raises(VerificationError):
            scheme.verify(headers, step.request.body, secrets=[verify[other]], now=now,
                          **_url(scheme, step))
        checked += 1
        return classify(200)

    rehearsal.run(answer)
    assert checked == 8


def _url(scheme: object, step: Step) -> dict[str, object]:
    inputs = getattr(scheme, "inputs", ())
    extra: dict[str, object] = {}
    if step.request is not None and "url" in inputs:
        extra["url"] = step.request.url
    if "method" in inputs:
        extra["method"] = "POST"
    return extra


def test_a_grace_period_signs_with_both_keys_where_the_header_holds_several() -> None:
    sign, verify = _keys("standard")
    scheme = get_scheme("standard")
    rehearsal = Rehearsal(get_provider("standard"), sign, plan=Plan(events=4, interval=600),
                          trouble=Trouble(rotate_at=600.0, grace=1200.0),
                          sign_time=lambda t: 1e9 + t)
    seen: dict[float, tuple[str, ...]] = {}

    def answer(step: Step) -> Outcome:
        assert step.request is not None
        for key in ("old", "new"):
            try:
                scheme.verify(step.request.header_map(), step.request.body,
                              secrets=[verify[key]], now=1e9 + step.at)
                seen[step.at] = (*seen.get(step.at, ()), key)
            except VerificationError:
                pass
        return classify(200)

    rehearsal.run(answer)
    assert seen == {0.0: ("old",), 600.0: ("old", "new"), 1200.0: ("old", "new"),
                    1800.0: ("new",)}


def test_acks_slower_than_the_twins_timeout_count_as_timeouts_and_are_retried() -> None:
    keys, _ = _keys("shopify")
    twin = get_provider("shopify")
    assert twin.timeout is not None and twin.policy is not None
    slow = Rehearsal(twin, keys, plan=Plan(events=2),
                     trouble=Trouble(slow=twin.timeout.total + 1))
    slow.run(_ok)
    assert {a.outcome for a in slow.attempts} == {"timeout"}
    assert {a.answer for a in slow.attempts} == {"200"}
    assert len(slow.attempts) >= twin.policy.max_attempts
    fast = Rehearsal(twin, keys, plan=Plan(events=2), trouble=Trouble(slow=twin.timeout.total))
    fast.run(_ok)
    assert fast.fates == ("delivered", "delivered")


@pytest.mark.parametrize("name", FULL)
def test_the_same_seed_gives_the_same_requests_byte_for_byte(name: str) -> None:
    keys, _ = _keys(name)

    def bodies(seed: int) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        rehearsal = Rehearsal(get_provider(name), keys, plan=Plan(events=5, seed=seed),
                              trouble=Trouble(outages=((0.0, 1000.0),)))

        def answer(step: Step) -> Outcome:
            out.append((step.at, step.request))
            return classify(500)

        rehearsal.run(answer)
        return out

    assert bodies(3) == bodies(3)
    assert bodies(3) != bodies(4)


def test_a_report_without_an_observer_claims_no_processing() -> None:
    keys, _ = _keys("stripe")
    rehearsal = Rehearsal(get_provider("stripe"), keys, plan=Plan(events=3))
    rehearsal.run(_ok)
    report = RehearsalReport.of(rehearsal, processed=None)
    assert report.processed_once is None and report.duplicates is None
    assert "processed: not observed" in "\n".join(report.lines())
    observed = RehearsalReport.of(rehearsal, processed={rehearsal.message_ids[0]: 2})
    assert (observed.processed_once, observed.duplicates, observed.never_processed) == (0, 1, 2)
    assert not observed.ok


def test_the_engine_refuses_steps_out_of_order() -> None:
    keys, _ = _keys("stripe")
    rehearsal = Rehearsal(get_provider("stripe"), keys, plan=Plan(events=2))
    step = rehearsal.next_step()
    assert step is not None
    with pytest.raises(ConfigError):
        rehearsal.next_step()
    rehearsal.record(step, classify(200))
    with pytest.raises(ConfigError):
        rehearsal.record(step, classify(200))


def test_partial_twins_and_missing_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="fully covered"):
        Rehearsal(get_provider("paddle"), {"old": "x"})
    with pytest.raises(ConfigError, match="'new'"):
        Rehearsal(get_provider("stripe"), {"old": "x"}, trouble=Trouble(rotate_at=1.0))


@pytest.mark.parametrize("text", ["", "4x", "-1h", "h", "4h-1m", "inf", "nan"])
def test_bad_durations_are_one_line_errors_naming_the_field(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_span(text, field="slow")
    assert info.value.field == "slow" and "\n" not in str(info.value)


def test_durations_read_back_in_words() -> None:
    for text in ("4h1m", "6s", "2d", "90s"):
        assert parse_span(words(parse_span(text)).replace(" ", "").replace("days", "d")
                          .replace("day", "d")) == parse_span(text)
    assert parse_outage("1h@30m") == (1800.0, 3600.0)


def test_a_failure_asking_slack_for_no_retry_gets_none() -> None:
    keys, _ = _keys("slack")
    slack = get_provider("slack")
    assert slack.retry_headers is not None and slack.retry_headers.opt_out is not None
    name, value = slack.retry_headers.opt_out
    for headers, attempts in (({name: value}, 1), ({}, len(slack.policy.attempt_times())
                                                   if slack.policy else 1)):
        rehearsal = Rehearsal(slack, keys, plan=Plan(events=2))
        while (step := rehearsal.next_step()) is not None:
            rehearsal.record(step, classify(500), headers)
        assert len(rehearsal.attempts) == 2 * attempts
        assert rehearsal.fates == ("exhausted", "exhausted")
