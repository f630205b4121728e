"""Slack (v0): ``X-Slack-Signature: v0=<hex>`` over ``v0:{timestamp}:{raw body}``.

The key is the app's signing secret as UTF-8; the timestamp travels in
``X-Slack-Request-Timestamp`` (integer seconds) and, as in ``slack_sdk``, is refused when it
is more than 300 s away from now in either direction. The header holds one signature; the
first secret signs. Slack's event id is in the signed body, so verify returns None.

    >>> scheme = SlackScheme()
    >>> headers = scheme.sign(message_id="e1", timestamp=10, body=b"{}",
    ...                       secrets=["8f742231b10e8888abcd99yyyzzz85a5"])
    >>> sorted(headers)
    ['X-Slack-Request-Timestamp', 'X-Slack-Signature']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._common import (
    DEFAULT_TOLERANCE,
    Direction,
    check_age,
    check_message,
    hmac_digest,
    match,
    parse_timestamp,
    require,
    verify_inputs,
)
from ._keys import TextKeyed

__all__ = ["SlackScheme"]


def _signed(timestamp: int, body: bytes) -> bytes:
    return b"v0:%d:%s" % (timestamp, bytes(body))


class SlackScheme(TextKeyed):
    """Slack's ``v0`` request signature."""

    name = "slack"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = DEFAULT_TOLERANCE
    direction: Direction = "both"
    id_header: str | None = None
    id_signed = True  # event_id is in the signed body

    def sign(
        self,
        *,
        message_id: str,
        timestamp: int,
        body: bytes,
        secrets: Sequence[str],
        url: str | None = None,
        method: str | None = None,
    ) -> dict[str, str]:
        """``X-Slack-Signature`` (first secret) and ``X-Slack-Request-Timestamp``."""
        check_message(message_id, timestamp, body)
        key = self.keys(secrets)[0]
        return {
            "X-Slack-Signature": "v0=" + hmac_digest(key, _signed(timestamp, body)).hex(),
            "X-Slack-Request-Timestamp": str(timestamp),
        }

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> str | None:
        """Check the ``v0`` signature, then the timestamp both ways."""
        keys = self.keys(secrets)
        found = verify_inputs(headers, body, now, tolerance)
        stamp = "x-slack-request-timestamp"
        timestamp = parse_timestamp(require(found, stamp), stamp)
        value = require(found, "x-slack-signature")
        candidates = [value[3:]] if value.startswith("v0=") else []
        signed = _signed(timestamp, body)
        match(candidates, [hmac_digest(k, signed).hex().encode("ascii") for k in keys],
              "x-slack-signature")
        check_age(timestamp, now, self.tolerance if tolerance is None else tolerance, "both")
        return None
