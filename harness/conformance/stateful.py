"""A Hypothesis state machine that plays a sender against a receiver, step after step.

Where each conformance check probes one rule with independent requests, the machine from
:func:`receiver_machine` strings sender behaviours together and checks the receiver's
invariants after every step:

- ``deliver`` a new message (2xx), ``redeliver`` one already acknowledged (2xx again, same
  id, signed anew), ``replay_old`` one with its old timestamp (401 when the scheme dates
  its signatures), ``forge`` one with a wrong secret (401), ``rotate_key`` (the sender signs
  with a new secret too; the receiver is told through ``rotate`` when given), and
  ``send_garbage`` (random bytes and headers: a 4xx, never 2xx or 5xx);
- invariants, when processing can be observed: no message is processed twice, no forged
  message is processed at all; at teardown every acknowledged message was processed once.

Example::

    >>> from hypothesis import settings
    >>> from hypothesis.stateful import run_state_machine_as_test
    >>> from hooklab.harness.receiver import create_receiver
    >>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    >>> receiver = create_receiver(secret)
    >>> Machine = receiver_machine(receiver, secret=secret, observe=receiver.processed_count)
    >>> run_state_machine_as_test(Machine, settings=settings(max_examples=3, deadline=None))
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from ..transport import Request
from .context import DEFAULT_TIMEOUT, CheckContext, CheckFailed, Observer
from .payloads import garbage_header_values, json_values
from .target import open_target

__all__ = ["Sent", "receiver_machine"]


class Sent(NamedTuple):
    """A message the receiver acknowledged: its id and the exact body bytes."""

    message_id: str
    body: bytes


_new_keys = st.binary(min_size=24, max_size=24)


def receiver_machine(app_or_url: Any, *, secret: str, scheme: str = "standard",
                     observe: Observer | None = None,
                     rotate: Callable[[Sequence[str]], None] | None = None,
                     tolerance: float = 300.0, timeout: float = DEFAULT_TIMEOUT,
                     settle: float = 2.0, path: str = "/") -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class driving sender behaviours against one receiver.

    ``observe(message_id) -> times processed`` enables the processing invariants;
    ``rotate(secrets)`` tells the receiver which secrets to accept after a key rotation
    (without it, the sender keeps signing with the receiver's secret as well).
    ``settle`` is how long processing may take to show (see
    :meth:`~hooklab.harness.conformance.context.CheckContext.processed`). Run it
    with ``run_state_machine_as_test`` or through its ``TestCase`` attribute.
    """

    class ReceiverMachine(RuleBasedStateMachine):
        acknowledged = Bundle("acknowledged")

        def __init__(self) -> None:
            super().__init__()
            self.target = open_target(app_or_url, path=path)
            self.ctx = CheckContext(self.target, secret=secret, scheme=scheme,
                                    timeout=timeout, tolerance=tolerance, observe=observe,
                                    settle=settle)
            self.ctx.check = "stateful"
            self.sender_secrets: list[str] = [secret]
            self.receiver_secrets: list[str] = [secret]
            self.retired: list[str] = []
            self.sent: list[str] = []
            self.forged: list[str] = []
            if rotate is not None:
                rotate(self.receiver_secrets)

        def _new_secret(self, key: bytes) -> str:
            if self.ctx.rules.name == "standard":
                return "whsec_" + base64.b64encode(key).decode("ascii")
            return "whsec_" + key.hex()

        @rule(target=acknowledged, data=json_values)
        def deliver(self, data: Any) -> Sent:
            request = self.ctx.delivery(data, secrets=self.sender_secrets)
            self.ctx.expect(request, _ok, "a 2xx", "valid delivery rejected")
            self.sent.append(self.ctx.last_message_id)
            return Sent(self.ctx.last_message_id, request.body)

        @rule(message=acknowledged)
        def redeliver(self, message: Sent) -> None:
            request = self.ctx.delivery(body=message.body, message_id=message.message_id,
                                        secrets=self.sender_secrets)
            self.ctx.expect(request, _ok, "a 2xx", "redelivery rejected")

        @precondition(lambda self: self.ctx.rules.dated)
        @rule(message=acknowledged, age=st.integers(60, 86400 * 30))
        def replay_old(self, message: Sent, age: int) -> None:
            old = self.ctx.now() - int(self.ctx.tolerance) - age
            request = self.ctx.delivery(body=message.body, message_id=message.message_id,
                                        timestamp=old, secrets=self.sender_secrets)
            self.ctx.expect(request, _is_401, "401", "replayed old delivery accepted")

        @rule(data=json_values, key=_new_keys)
        def forge(self, data: Any, key: bytes) -> None:
            wrong = self.retired[-1:] or [self._new_secret(key)]
            request = self.ctx.delivery(data, secrets=wrong)
            self.forged.append(self.ctx.last_message_id)
            self.ctx.expect(request, _is_401, "401", "forged delivery accepted")

        @precondition(lambda self: self.ctx.rules.rotation or rotate is not None)
        @rule(key=_new_keys)
        def rotate_key(self, key: bytes) -> None:
            new = self._new_secret(key)
            if rotate is None:  # the receiver keeps its secret: sign with both
                self.sender_secrets = [new, secret]
                return
            self.receiver_secrets = [new, self.receiver_secrets[0]]
            rotate(self.receiver_secrets)
            self.retired.extend(s for s in self.sender_secrets if s not in
                                self.receiver_secrets)
            self.sender_secrets = [new]

        @rule(body=st.binary(max_size=64), value=garbage_header_values)
        def send_garbage(self, body: bytes, value: bytes) -> None:
            headers = tuple((name, value) for name in self.ctx.rules.garbage_headers)
            self.ctx.expect(Request(body, headers), lambda s: 400 <= s < 500, "a 4xx",
                            "garbage not rejected with a 4xx")

        @invariant()
        def nothing_processed_twice_and_nothing_forged_processed(self) -> None:
            if observe is None:
                return
            for message_id in self.sent:
                if observe(message_id) > 1:
                    raise CheckFailed("message processed twice", message_id)
            for message_id in self.forged:
                if observe(message_id) > 0:
                    raise CheckFailed("forged message processed", message_id)

        def teardown(self) -> None:
            try:
                counts = self.ctx.processed_counts(self.sent) or {}
                for message_id, count in counts.items():
                    if count != 1:
                        raise CheckFailed(f"message processed {count} times",
                                          f"{message_id} was acknowledged")
            finally:
                self.target.close()

    return ReceiverMachine


def _ok(status: int) -> bool:
    return 200 <= status < 300


def _is_401(status: int) -> bool:
    return status == 401
