"""The Slack twin: Events API ``event_callback`` deliveries, ``url_verification`` first.

From ``docs/reference.md``: Slack signs every request (``v0``), gives an endpoint 3 s,
retries up to 3 times (nearly at once, after 1 minute, after 5 minutes), and marks each
retry with ``X-Slack-Retry-Num`` (1 to 3) and ``X-Slack-Retry-Reason`` (``http_timeout``,
``connection_failed``, ``http_error``, ...); a non-2xx answer carrying
``X-Slack-No-Retry: 1`` asks for no retry. Receivers deduplicate on ``event_id``, in the
signed body. For apps sending 1000 events an hour or more, Slack switches events off when
under 5 % succeed over 60 minutes (reported). Before any event, Slack sends a
``url_verification`` challenge that the endpoint must echo.

The ``slack`` preset is exact but for one number: "nearly at once" is taken as 1 s, and
"after 1 minute" and "after 5 minutes" as waits after the previous attempt.

    >>> SLACK_POLICY.schedule()
    (1.0, 60.0, 300.0)
"""

from __future__ import annotations

import random
from typing import Any, ClassVar
from urllib.parse import parse_qs

from ..backoff import FixedSchedule
from ..errors import ConfigError
from ..retry import RetryPolicy
from .facts import DedupeId, DisableRule, RetryHeaders, Timeout
from .handshake import Handshake, Judgement, json_answer
from .ids import UPPER_ALNUM, digits, encode_json, token
from .twin import Twin
from .wire import Answer, Message

__all__ = ["SLACK_POLICY", "SLACK_RETRY_HEADERS", "SlackTwin", "UrlVerification"]

#: Slack's three retries: the ``slack`` preset.
SLACK_POLICY = RetryPolicy(
    "slack",
    max_attempts=4,
    backoff=FixedSchedule((1.0, 60.0, 300.0)),
    description="Slack Events API: up to 3 retries, nearly at once (hooklab: 1 s, "
    "APPROXIMATE), after 1 min, after 5 min",
)

#: What a Slack retry carries, and how a receiver asks for no retry.
SLACK_RETRY_HEADERS = RetryHeaders(
    "X-Slack-Retry-Num", "X-Slack-Retry-Reason",
    (("timeout", "http_timeout"), ("connection", "connection_failed"),
     ("status", "http_error")),
    opt_out=("X-Slack-No-Retry", "1"),
)


def _slack_id(rng: random.Random, prefix: str, nchars: int = 10) -> str:
    return token(rng, nchars, prefix=prefix, alphabet=UPPER_ALNUM)


class UrlVerification(Handshake):
    """Slack's ``url_verification``: the endpoint answers with the challenge.

    Slack's docs accept the challenge as plain text, as JSON ``{"challenge": ...}`` or as a
    form ``challenge=...``; the judge accepts those three, with a 2xx status.
    """

    name: ClassVar[str] = "url_verification"
    needs: ClassVar[str] = "the challenge, sent back"

    def message(self, provider: str, rng: random.Random, now: float) -> Message:
        """``{"token", "challenge", "type": "url_verification"}``."""
        body = {"token": token(rng, 24), "challenge": token(rng, 48),
                "type": "url_verification"}
        return Message(provider, _slack_id(rng, "Ev"), self.name, int(now), encode_json(body),
                       "application/json")

    def judge(self, message: Message, answer: Answer) -> Judgement:
        """Passed when the 2xx answer carries the message's challenge."""
        challenge = _challenge(message)
        failed = self.status_ok(answer)
        if failed is not None:
            return failed
        text = answer.body.decode("utf-8", "replace").strip()
        if text == challenge:
            return Judgement(True, "the challenge came back as text")
        payload, _ = json_answer(answer)
        if isinstance(payload, dict) and payload.get("challenge") == challenge:
            return Judgement(True, "the challenge came back as JSON")
        form = parse_qs(text)
        if form.get("challenge") == [challenge]:
            return Judgement(True, "the challenge came back as a form")
        return Judgement(False, f"the answer does not carry the challenge: {text[:60]!r}")


def _challenge(message: Message) -> str:
    try:
        challenge = message.json()["challenge"]
    except (ValueError, KeyError, TypeError):
        challenge = None
    if message.event_type != UrlVerification.name or not isinstance(challenge, str):
        raise ConfigError("message is not a Slack url_verification message")
    return challenge


def _event(rng: random.Random, event_type: str, now: int, user: str) -> dict[str, Any]:
    channel = _slack_id(rng, "C")
    ts = f"{now}.{digits(rng, 6)}"
    if event_type == "reaction_added":
        return {"type": "reaction_added", "user": user, "reaction": "tada",
                "item": {"type": "message", "channel": channel, "ts": ts},
                "item_user": _slack_id(rng, "U"), "event_ts": ts}
    text = "hello <@" + _slack_id(rng, "U") + ">" if event_type == "app_mention" else "hello"
    return {"type": event_type, "channel": channel, "user": user, "text": text, "ts": ts,
            "event_ts": ts, "channel_type": "channel"}


class SlackTwin(Twin):
    """Slack's Events API."""

    name = "slack"
    title = "Slack Events API"
    coverage = "full"
    scheme = "slack"
    event_types = ("message", "app_mention", "reaction_added")
    timeout = Timeout(3)
    policy = SLACK_POLICY
    retry_headers = SLACK_RETRY_HEADERS
    dedupe = DedupeId("event_id", "body", signed=True)
    disable = DisableRule(action="switches the app's events off", success_below=0.05,
                          over=3600, min_events=1000, reported=True)
    handshake = UrlVerification()
    sources = ("provider docs: signature, handshake, timeout, retries and their headers, "
               "event_id",
               "reports: events switched off under 5 % success")
    approximate = ("retries: 'nearly at once' is taken as 1 s",
                   "disable: reported by users")

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """An ``event_callback`` wrapping one event of ``event_type``."""
        team, user = _slack_id(rng, "T"), _slack_id(rng, "U")
        event_id = _slack_id(rng, "Ev")
        body = {
            "token": token(rng, 24),
            "team_id": team,
            "api_app_id": _slack_id(rng, "A"),
            "event": _event(rng, event_type, now, user),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": now,
            "authorizations": [{"enterprise_id": None, "team_id": team,
                                "user_id": _slack_id(rng, "U"), "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        return Message(self.name, event_id, event_type, now, encode_json(body),
                       "application/json")
