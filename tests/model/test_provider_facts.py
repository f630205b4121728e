"""The twins say what docs/reference.md says: every number is read from the doc, not retyped.

The "Delivery behaviour of other providers" table is parsed row by row (provider, request
timeout, retries, id, disabling), and each twin, with the retry preset it holds, is checked
against the numbers and words of its row. Facts from other sections (Svix's timeout and
disabling, the handshakes, Discord's 401) are read from their lines the same way. Where the
doc marks a fact approximate, the test checks the twin says so too.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from hooklab.model.outcomes import classify
from hooklab.model.presets import PRESETS, format_hms, get_policy
from hooklab.model.providers import PROVIDERS, get_provider

REFERENCE = (Path(__file__).resolve().parents[2] / "docs" / "reference.md").read_text("utf-8")
HEADER = "| provider | request timeout | retries | id to deduplicate on (signed?) | disabling |"
UNITS = {"s": 1, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hour": 3600,
         "hours": 3600, "day": 86400, "days": 86400}
_DURATION = re.compile(r"(\d+)[ -](s|min|minutes?|h|hours?|days?)\b")


def _table() -> dict[str, list[str]]:
    lines = REFERENCE.splitlines()
    assert lines.count(HEADER) == 1
    rows = {}
    for line in lines[lines.index(HEADER) + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 5, line
        rows[cells[0]] = cells[1:]
    return rows


ROWS = _table()


def row(provider: str) -> tuple[str, str, str, str]:
    timeout, retries, dedupe, disabling = ROWS[provider]
    return timeout, retries, dedupe, disabling


def durations(text: str) -> list[float]:
    return [int(n) * UNITS[unit] for n, unit in _DURATION.findall(text)]


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return int(found.group(1))


def test_the_table_has_a_row_for_every_provider_twin_with_delivery_facts() -> None:
    for name, title in [("shopify", "Shopify"), ("slack", "Slack Events API"),
                        ("azure-event-grid", "Azure Event Grid"),
                        ("sns", "AWS SNS (HTTP, default policy)"), ("paypal", "PayPal"),
                        ("github", "GitHub"), ("stripe", "Stripe")]:
        assert title in ROWS, title
        assert get_provider(name).policy is not None


def test_shopify_twin_matches_its_row() -> None:
    timeout, retries, dedupe, disabling = row("Shopify")
    twin = get_provider("shopify")
    assert twin.timeout is not None
    assert (twin.timeout.connect, twin.timeout.total) == tuple(durations(timeout))  # 1 s, 5 s
    count = number(r"(\d+) retries", retries)
    (horizon,) = durations(retries.split(",")[0].replace("retries ", ""))
    policy = twin.policy
    assert policy is PRESETS["shopify"] and policy.max_attempts == count + 1
    times = policy.attempt_times()
    assert len(times) == count + 1 and times[-1] == horizon == policy.max_window
    delays = policy.schedule()
    assert all(b > a for a, b in zip(delays, delays[1:], strict=False))  # "exponential"
    assert "not published" in retries and "APPROXIMATE" in policy.description
    assert any(note.startswith("retries:") for note in twin.approximate)
    assert dedupe.startswith("`X-Shopify-Webhook-Id`, not signed")
    assert twin.dedupe is not None and (twin.dedupe.name, twin.dedupe.where,
                                        twin.dedupe.signed) == ("X-Shopify-Webhook-Id",
                                                                "header", False)
    assert "(reported)" in disabling and twin.disable is not None and twin.disable.reported
    assert "Admin-API subscription is deleted" in disabling
    assert "Admin-API subscription" in twin.disable.action
    # "after 8 failures in a row": one message failing all its 8 retries (see shopify.py)
    assert number(r"after (\d+) failures in a row", disabling) == count


def test_slack_twin_matches_its_row() -> None:
    timeout, retries, dedupe, disabling = row("Slack Events API")
    twin = get_provider("slack")
    assert twin.timeout is not None and [twin.timeout.total] == durations(timeout)
    assert twin.timeout.connect is None and not twin.timeout.approximate
    policy = twin.policy
    assert policy is PRESETS["slack"]
    assert policy.max_attempts == number(r"at most (\d+) retries", retries) + 1
    waits = durations(retries)  # after 1 minute, after 5 minutes
    assert policy.schedule()[1:] == tuple(waits)
    assert "almost at once" in retries and 0 < policy.schedule()[0] <= 5
    assert "APPROXIMATE" in policy.description
    headers = twin.retry_headers
    assert headers is not None
    assert f"`{headers.number}` (1 to {policy.max_attempts - 1})" in retries
    assert f"`{headers.reason}`" in retries
    for word in dict(headers.reasons).values():
        assert f"`{word}`" in retries
    assert headers.opt_out is not None and f"`{': '.join(headers.opt_out)}`" in retries
    assert dedupe == "`event_id` in the body (signed)"
    assert twin.dedupe is not None and (twin.dedupe.name, twin.dedupe.where,
                                        twin.dedupe.signed) == ("event_id", "body", True)
    rule = twin.disable
    assert rule is not None and rule.reported and "(reported)" in disabling
    assert rule.min_events == number(r"(\d+) events an hour", disabling)
    assert rule.over == durations(disabling.split("over")[-1])[0] == 3600
    assert rule.success_below == number(r"under (\d+) %", disabling) / 100


def test_azure_event_grid_preset_is_the_published_list() -> None:
    timeout, retries, dedupe, _ = row("Azure Event Grid")
    twin = get_provider("azure-event-grid")
    assert twin.timeout is not None and [twin.timeout.total] == durations(timeout)
    listed, rest = retries.split("then every")
    policy = get_policy("azure-event-grid")
    assert twin.policy is policy
    every = durations(rest)[0]
    assert policy.schedule()[: len(durations(listed)) + 3] == (
        *durations(listed), every, every, every)
    ttl = number(r"(\d+)-hour time to live", retries) * 3600
    assert policy.max_window == ttl
    assert policy.max_attempts == number(r"(\d+) attempts", retries)
    codes = {int(code) for code in re.findall(r"\b(\d{3})\b", retries.split(";")[1])}
    assert policy.no_retry_codes == codes == {400, 401, 403, 413}
    for code in codes:
        assert policy.next_delay(1, classify(code), elapsed=0, previous_delay=None,
                                 rng=random.Random(0)) is None
    assert all(t <= ttl for t in policy.attempt_times())
    assert format_hms(policy.attempt_times()[-1]) == "22:46:40"  # the last one inside 24 h
    assert "`id`, in the body" in dedupe and twin.dedupe is not None
    assert (twin.dedupe.name, twin.dedupe.where) == ("id", "body")


def test_sns_preset_is_its_default_policy() -> None:
    _, retries, dedupe, _ = row("AWS SNS (HTTP, default policy)")
    policy = get_policy("sns")
    assert get_provider("sns").policy is policy
    apart, window = durations(retries)
    assert policy.max_attempts == number(r"(\d+) retries", retries) + 1
    assert policy.schedule() == (apart,) * (policy.max_attempts - 1)
    assert policy.max_window == window
    assert dedupe == "`MessageId` (signed)"
    twin_id = get_provider("sns").dedupe
    assert twin_id is not None and (twin_id.name, twin_id.signed) == ("MessageId", True)


def test_paypal_preset_spreads_25_retries_over_3_days() -> None:
    _, retries, dedupe, _ = row("PayPal")
    policy = get_policy("paypal")
    (horizon,) = durations(retries)
    assert policy.max_attempts == number(r"(\d+) retries", retries) + 1
    times = policy.attempt_times()
    assert len(times) == policy.max_attempts and times[-1] == horizon == policy.max_window
    assert "APPROXIMATE" in policy.description and get_provider("paypal").approximate
    assert "(signed)" in dedupe and get_provider("paypal").dedupe.signed  # type: ignore[union-attr]


def test_github_twin_matches_its_row() -> None:
    timeout, retries, dedupe, _ = row("GitHub")
    twin = get_provider("github")
    assert twin.timeout is not None and [twin.timeout.total] == durations(timeout)
    assert retries.startswith("none") and twin.policy is PRESETS["github"]
    assert twin.policy.max_attempts == 1
    assert "**not signed**" in dedupe and twin.dedupe is not None and not twin.dedupe.signed
    assert twin.dedupe.name == "X-GitHub-Delivery"


def test_stripe_twin_matches_its_row_and_says_what_is_approximate() -> None:
    timeout, retries, dedupe, _ = row("Stripe")
    twin = get_provider("stripe")
    assert twin.timeout is not None and [twin.timeout.total] == durations(timeout)
    assert "about" in timeout and twin.timeout.approximate
    assert "(**approximate**)" in retries and twin.policy is PRESETS["stripe"]
    assert {note.split(":")[0] for note in twin.approximate} == {"timeout", "retries"}
    assert dedupe == "the event's `id` in the body (signed)"
    assert twin.dedupe is not None and (twin.dedupe.name, twin.dedupe.where,
                                        twin.dedupe.signed) == ("id", "body", True)


def test_standard_twin_holds_svix_timeout_schedule_and_disabling() -> None:
    twin = get_provider("standard")
    hosted = re.search(r"^\| Svix, hosted \| (\d+) s \|$", REFERENCE, re.M)
    assert hosted and twin.timeout is not None and twin.timeout.total == int(hosted.group(1))
    assert twin.policy is PRESETS["svix"]
    days = number(r"Svix disables an endpoint after (\d+) days", REFERENCE)
    assert twin.disable is not None and twin.disable.window == days * 86400
    assert "`410 Gone` means: stop retrying this message and disable the endpoint" in REFERENCE
    assert twin.disable.gone


def test_handshakes_are_those_the_doc_lists() -> None:
    slack = re.search(r'^\| Slack Events API \| `\{"type": "(\w+)", "challenge"', REFERENCE,
                      re.M)
    assert slack and get_provider("slack").handshake.name == slack.group(1)  # type: ignore[union-attr]
    discord = re.search(r"^\| Discord interactions \| a (PING) \(`type: (\d)`\) \| "
                        r"`\{\"type\": (\d)\}` \|$", REFERENCE, re.M)
    assert discord and get_provider("discord").handshake.name == discord.group(1)  # type: ignore[union-attr]
    with_handshake = {n for n, t in PROVIDERS.items() if t.handshake is not None}
    assert with_handshake == {"slack", "discord"}


def test_discord_demands_401_for_a_bad_signature_as_the_doc_says() -> None:
    line = next(line for line in REFERENCE.splitlines()
                if line.startswith("| Discord interactions | `X-Signature-Ed25519`"))
    status = number(r"requires a (\d{3}) for them", line)
    twin = get_provider("discord")
    assert twin.bad_signature_status == status
    assert "removes an endpoint that accepts one" in line and twin.disable is not None
    assert twin.disable.forgery
    others = {n for n, t in PROVIDERS.items() if t.bad_signature_status is not None}
    assert others == {"discord"}


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_twin_whose_row_gives_no_fact_states_none(name: str) -> None:
    twin = get_provider(name)
    if name in ("twilio", "sendgrid", "discord", "square", "hubspot", "paddle", "linear"):
        assert (twin.timeout, twin.policy) == (None, None)  # the doc gives none for them
    if name in ("sns", "paypal"):
        assert twin.timeout is None  # "—" in the row
