"""The named retry presets match the "Retry schedules" table of docs/reference.md."""

from __future__ import annotations

import argparse
import doctest
import random

import pytest

from hooklab.harness.cli import policies as policy_cli
from hooklab.model import presets
from hooklab.model.backoff import AdditiveJitter, NoJitter, ProportionalJitter
from hooklab.model.errors import ConfigError, UnknownPolicy
from hooklab.model.outcomes import Outcome, classify
from hooklab.model.presets import DEFAULT_POLICY, PRESETS, format_hms, get_policy
from hooklab.model.retry import RetryAfterMode

# name: (attempts, un-jittered delays, last attempt at) -- straight from docs/reference.md
TABLE = {
    "diagram": (6, (60, 120, 240, 480, 960), "0:31:00"),
    "standard-webhooks": (
        10, (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400), "75:35:05"),
    "svix": (8, (5, 300, 1800, 7200, 18000, 36000, 36000), "27:35:05"),
    "hook0": (25, (3, 10, 180, 1800, 3600, 10800, 18000) + (36000,) * 17, "179:33:13"),
    "convoy": (
        20, (10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120) + (7200,) * 9, "20:50:30"),
    "convoy-linear": (10, (100,) * 9, "0:15:00"),
    "outpost": (11, tuple(30 * 2 ** (n - 1) for n in range(1, 11)), "8:31:30"),
    "github": (1, (), "0:00:00"),
}


def test_every_preset_is_in_the_table_or_approximate() -> None:
    # the providers' presets are checked against their rows in test_provider_facts.py
    providers = {"stripe", "shopify", "slack", "azure-event-grid", "sns", "paypal"}
    assert set(PRESETS) == set(TABLE) | providers
    assert list(PRESETS)[:9] == [*TABLE][:2] + ["svix", "hook0", "convoy", "convoy-linear",
                                               "outpost", "stripe", "github"]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_unjittered_schedule_matches_the_facts_table(name: str) -> None:
    attempts, delays, last_at = TABLE[name]
    policy = get_policy(name)
    assert policy.name == name
    assert policy.max_attempts == attempts
    assert policy.schedule() == tuple(float(d) for d in delays)
    times = policy.attempt_times()
    assert len(times) == attempts
    assert format_hms(times[-1]) == last_at


def test_facts_table_spot_values() -> None:
    # The figures docs/reference.md prints, independent of the TABLE above.
    assert format_hms(get_policy("standard-webhooks").attempt_times()[-1]) == "75:35:05"
    assert format_hms(get_policy("svix").attempt_times()[-1]) == "27:35:05"
    assert format_hms(get_policy("hook0").attempt_times()[-1]).startswith("179:33")
    assert format_hms(get_policy("convoy-linear").attempt_times()[-1]) == "0:15:00"
    assert format_hms(get_policy("outpost").attempt_times()[-1]) == "8:31:30"
    assert get_policy("outpost").schedule()[-1] == 15360


def test_stripe_is_exponential_over_a_three_day_horizon() -> None:
    stripe = get_policy("stripe")
    three_days = 3 * 24 * 3600
    assert stripe.max_window == three_days
    delays = stripe.schedule()
    assert all(b == 2 * a for a, b in zip(delays, delays[1:], strict=False))
    last = stripe.attempt_times()[-1]
    assert 66 * 3600 <= last <= three_days  # "~72 h"
    assert last + 2 * delays[-1] > three_days  # one more doubling would leave the window
    assert "APPROXIMATE" in stripe.description
    assert "APPROXIMATION" in presets.__doc__  # type: ignore[operator]


def test_default_policy_is_the_diagram_with_six_attempts() -> None:
    assert DEFAULT_POLICY == "diagram"
    diagram = get_policy(DEFAULT_POLICY)
    assert diagram.max_attempts == 6
    assert isinstance(diagram.jitter, NoJitter)
    assert "unspecified" in diagram.description


def test_jitter_and_throttling_match_each_sender() -> None:
    svix, hook0, convoy = get_policy("svix"), get_policy("hook0"), get_policy("convoy")
    assert svix.jitter == ProportionalJitter(0.2)
    assert svix.retry_after is RetryAfterMode.CLAMP and svix.overload_penalty == 60
    assert hook0.jitter == AdditiveJitter(bound=900, fraction=0.1, floor=2)
    assert hook0.retry_after is RetryAfterMode.MAX and hook0.retry_after_cap == 36000
    assert hook0.max_window == 8 * 24 * 3600
    assert convoy.jitter == AdditiveJitter(bound=5)
    for name in ("standard-webhooks", "convoy-linear", "outpost", "stripe", "diagram"):
        assert isinstance(get_policy(name).jitter, NoJitter), name


def test_svix_jitter_bounds_are_0_8_to_1_2_of_the_delay() -> None:
    svix = get_policy("svix")
    for attempt, d in enumerate(svix.schedule(), start=1):
        low, high = svix.delay_bounds(attempt)
        assert low == pytest.approx(0.8 * d) and high == pytest.approx(1.2 * d)


@pytest.mark.parametrize(("attempt", "bound"), [(1, 2.0), (2, 2.0), (3, 18.0), (4, 180.0),
                                                (8, 900.0), (24, 900.0)])
def test_hook0_jitter_is_a_tenth_clamped_to_2_and_900_seconds(attempt: int, bound: float) -> None:
    hook0 = get_policy("hook0")
    d = hook0.schedule()[attempt - 1]
    assert hook0.delay_bounds(attempt) == (d, d + bound)


def test_convoy_jitter_adds_up_to_five_seconds() -> None:
    convoy = get_policy("convoy")
    rng = random.Random(7)
    for attempt, d in enumerate(convoy.schedule(), start=1):
        delay = convoy.next_delay(attempt, classify(500), elapsed=0, previous_delay=None,
                                  rng=rng)
        assert delay is not None and d <= delay < d + 5


def test_github_never_retries() -> None:
    github = get_policy("github")
    for outcome in (classify(500), classify(429, 1), Outcome.transport("timeout")):
        assert github.next_delay(1, outcome, elapsed=0, previous_delay=None,
                                 rng=random.Random(0)) is None


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(UnknownPolicy) as info:
        get_policy("sqs")
    message = str(info.value)
    assert "unknown retry policy 'sqs'" in message
    assert "known: diagram, standard-webhooks, svix" in message
    assert isinstance(info.value, ConfigError)


def test_presets_are_read_only() -> None:
    with pytest.raises(TypeError):
        PRESETS["mine"] = get_policy("svix")  # type: ignore[index]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00:00"), (59.6, "0:01:00"),
                                                (3600, "1:00:00"), (646393, "179:33:13")])
def test_format_hms(seconds: float, text: str) -> None:
    assert format_hms(seconds) == text


def test_presets_docstring_examples_run() -> None:
    result = doctest.testmod(presets)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ hooklab policies


def _policies(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser(prog="hooklab")
    policy_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["policies", *argv])
    assert args.handler(args) == 0
    return capsys.readouterr().out


def test_policies_lists_every_preset_with_its_last_attempt(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _policies([], capsys)
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == set(PRESETS)
    assert lines["svix"].endswith("27:35:05")
    assert lines["standard-webhooks"].endswith("75:35:05")
    assert "(default)" in lines["diagram"]
    assert lines["shopify"].split()[1:] == ["9", "4:00:00", "none", "4:00:00"]
    assert lines["azure-event-grid"].split()[1:] == ["30", "24:00:00", "none", "22:46:40"]


def test_policies_shows_the_codes_a_preset_never_retries(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _policies(["azure-event-grid"], capsys)
    assert "never retried: 400, 401, 403, 413" in out.splitlines()[1]
    assert "never retried" not in _policies(["svix"], capsys)


def test_policies_prints_a_schedule_with_cumulative_times(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _policies(["outpost"], capsys)
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert [row[1] for row in rows[1:]] == [str(30 * 2**n) for n in range(10)]
    assert rows[-1] == ["11", "15360", "8:31:30"]


def test_policies_seed_adds_a_reproducible_jittered_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    first = _policies(["svix", "--seed", "4"], capsys)
    assert first == _policies(["svix", "--seed", "4"], capsys)
    assert first != _policies(["svix", "--seed", "5"], capsys)
    jittered = presets.jittered_run(get_policy("svix"), seed=4)
    assert f"{jittered[0]:.1f}" in first
    assert all(0.8 * d <= j <= 1.2 * d
               for d, j in zip(get_policy("svix").schedule(), jittered, strict=True))


def test_policies_rejects_an_unknown_preset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UnknownPolicy, match="known: diagram"):
        _policies(["sqs"], capsys)


def test_policies_help_is_plain_text_and_says_what_the_command_prints() -> None:
    parser = argparse.ArgumentParser(prog="hooklab")
    policy_cli.register(parser.add_subparsers(dest="command"))
    text = parser._subparsers._group_actions[0].choices["policies"].format_help()
    assert "``" not in text and "Without a name it lists every preset" in text
