"""Handshakes: what a provider sends before any event, and a pure judge of the answer.

Some providers check an endpoint before they deliver to it (``docs/reference.md``,
"Handshakes before the first event"): Slack sends a ``url_verification`` challenge to echo,
Discord a PING to answer with ``{"type": 1}``. A :class:`Handshake` builds that message
from an ``rng`` and a ``now`` (the twin signs it like any other), and :meth:`Handshake.judge`
reads the receiver's :class:`~hooklab.model.providers.wire.Answer` against the message it
answered, and says whether the provider would accept it, and why not. A judge never reads
the clock, the network or anything but its two arguments.

    >>> Judgement(False, "status 500, not 2xx")
    Judgement(passed=False, reason='status 500, not 2xx')
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar, NamedTuple

from .wire import Answer, Message

__all__ = ["Handshake", "Judgement", "json_answer"]


class Judgement(NamedTuple):
    """A handshake judge's verdict: passed, and the reason in words."""

    passed: bool
    reason: str


def json_answer(answer: Answer) -> tuple[Any, str | None]:
    """The answer's body as JSON, and None; or None and why it is not JSON.

    >>> json_answer(Answer(200, body=b'{"type": 1}'))
    ({'type': 1}, None)
    >>> json_answer(Answer(200, body=b"ok"))[1]
    'the body is not JSON'
    """
    try:
        return json.loads(answer.body), None
    except (ValueError, RecursionError):
        return None, "the body is not JSON"


class Handshake:
    """One provider's handshake; subclasses state ``name`` and ``needs``, and build and
    judge the message."""

    #: The provider's name for the handshake (``url_verification``, ``PING``).
    name: ClassVar[str]
    #: What the receiver has to answer, in words.
    needs: ClassVar[str]

    def message(self, provider: str, rng: random.Random, now: float) -> Message:
        """The handshake message ``provider`` sends at ``now``, drawn from ``rng``."""
        raise NotImplementedError

    def judge(self, message: Message, answer: Answer) -> Judgement:
        """Whether the provider accepts ``answer`` to ``message``, and why not."""
        raise NotImplementedError

    @staticmethod
    def status_ok(answer: Answer) -> Judgement | None:
        """A failed judgement unless the answer is 2xx (None: it is).

        >>> Handshake.status_ok(Answer(301))
        Judgement(passed=False, reason='status 301, not 2xx')
        """
        if answer.ok:
            return None
        return Judgement(False, f"status {answer.status}, not 2xx")
