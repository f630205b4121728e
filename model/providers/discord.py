"""The Discord twin: interactions signed with Ed25519, a PING first, 401 for a bad signature.

From ``docs/reference.md``: Discord signs ``{timestamp}{raw body}`` with the application's
Ed25519 key (``X-Signature-Ed25519``, ``X-Signature-Timestamp``), checks an endpoint with a
PING (``type: 1``) that must be answered ``{"type": 1}``, and sends invalid signatures on
purpose: it requires a **401** for them, and removes an endpoint that accepts one. The
interaction ``id`` is in the signed body. ``application-command`` and
``message-component`` are hooklab's labels for interaction types 2 and 3.
``docs/reference.md`` gives no timeout or retry schedule for Discord, so the twin states
none.

    >>> import random
    >>> twin = DiscordTwin()
    >>> ping = twin.handshake_message(random.Random(1), 1700000000)
    >>> ping.json()["type"]
    1
    >>> from hooklab.model.providers.wire import Answer
    >>> twin.handshake.judge(ping, Answer(200, body=b'{"type": 1}')).passed
    True
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from ..errors import ConfigError
from .facts import DedupeId, DisableRule
from .handshake import Handshake, Judgement, json_answer
from .ids import ALNUM, encode_json, snowflake, token
from .twin import Twin
from .wire import Answer, Message

__all__ = ["DiscordTwin", "Ping"]

#: Interaction types (Discord's numbers) by hooklab's label.
INTERACTION_TYPES = {"ping": 1, "application-command": 2, "message-component": 3}


def _interaction(rng: random.Random, now: int, kind: int) -> dict[str, Any]:
    return {"id": snowflake(rng, now), "application_id": snowflake(rng, now - 86_400),
            "type": kind, "token": token(rng, 120, alphabet=ALNUM + "-_"), "version": 1}


class Ping(Handshake):
    """Discord's PING: the endpoint answers ``{"type": 1}`` (a PONG)."""

    name: ClassVar[str] = "PING"
    needs: ClassVar[str] = 'a 2xx answer with the JSON {"type": 1}'

    def message(self, provider: str, rng: random.Random, now: float) -> Message:
        """An interaction of type 1."""
        body = _interaction(rng, int(now), INTERACTION_TYPES["ping"])
        return Message(provider, body["id"], "ping", int(now), encode_json(body),
                       "application/json")

    def judge(self, message: Message, answer: Answer) -> Judgement:
        """Passed when the 2xx answer's JSON body is an object with ``type`` 1."""
        if message.event_type != "ping":
            raise ConfigError("message is not a Discord PING")
        failed = self.status_ok(answer)
        if failed is not None:
            return failed
        payload, problem = json_answer(answer)
        if problem is not None:
            return Judgement(False, problem)
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind != 1 or isinstance(kind, bool):
            return Judgement(False, f'the answer is not {{"type": 1}}: {answer.body[:60]!r}')
        return Judgement(True, 'answered {"type": 1}')


class DiscordTwin(Twin):
    """Discord's interactions endpoint."""

    name = "discord"
    title = "Discord interactions"
    coverage = "full"
    scheme = "discord"
    event_types = ("application-command", "message-component")
    dedupe = DedupeId("id", "body", signed=True)
    disable = DisableRule(action="removes the endpoint", forgery=True)
    handshake = Ping()
    bad_signature_status = 401
    sources = ("provider docs: the signature, the PING, the 401 rule and the removal",)
    gaps = ("timeout, retries: docs/reference.md gives none",)
    approximate = ("event types: hooklab's labels for interaction types 2 and 3",)

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """An interaction of ``event_type`` from one guild member."""
        body = _interaction(rng, now, INTERACTION_TYPES[event_type])
        user = {"id": snowflake(rng, now - 10**7), "username": f"hooklab{rng.randrange(1000)}",
                "discriminator": "0", "global_name": "hooklab"}
        body.update(guild_id=snowflake(rng, now - 10**8), channel_id=snowflake(rng, now - 10**8),
                    member={"user": user, "roles": [], "permissions": "2147483647"},
                    locale="en-US")
        if event_type == "application-command":
            body["data"] = {"id": snowflake(rng, now - 10**6), "name": "ping", "type": 1}
        else:
            body["data"] = {"custom_id": "hooklab_button", "component_type": 2}
            body["message"] = {"id": snowflake(rng, now - 60), "content": "Press the button",
                               "channel_id": body["channel_id"]}
        return Message(self.name, body["id"], event_type, now, encode_json(body),
                       "application/json")
