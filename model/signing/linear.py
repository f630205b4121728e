"""Linear: ``Linear-Signature``, the hex HMAC-SHA256 of the raw body, dated *inside* the body.

The key is the webhook's signing secret as UTF-8. Linear puts its timestamp in the JSON
body, as ``webhookTimestamp`` (Unix time in **milliseconds**), so it is signed with the
body; its SDK refuses one more than 60 s away from now, either way. Verification checks the
signature first, and only then parses the body: a forged body is never parsed. The
timestamp must be a JSON integer (``NaN``, ``1.7e12``, ``"1700000000000"`` or a repeated
key are refused). ``Linear-Delivery``, the delivery id, is not signed; verify returns it as
read. Signing never edits the body: it must already carry ``webhookTimestamp``, and the
``timestamp`` argument is not used. The header holds one signature; the first secret signs.

    >>> body = b'{"action": "create", "webhookTimestamp": 1700000000000}'
    >>> scheme = LinearScheme()
    >>> headers = scheme.sign(message_id="d1", timestamp=0, body=body,
    ...                       secrets=["lin_wh_secret_1"])
    >>> scheme.verify(headers, body, secrets=["lin_wh_secret_1"], now=1700000030)
    'd1'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError, VerificationError
from ._common import (
    CANONICAL_INT,
    Direction,
    check_age,
    check_id,
    check_message,
    hmac_digest,
    match,
    millis_hint,
    require,
    verify_inputs,
)
from ._keys import TextKeyed

__all__ = ["LINEAR_TOLERANCE", "TIMESTAMP_FIELD", "LinearScheme", "body_timestamp"]

#: Linear's SDK allows 60 seconds, both ways.
LINEAR_TOLERANCE = 60.0
#: The body field that dates a Linear delivery, in milliseconds.
TIMESTAMP_FIELD = "webhookTimestamp"


def body_timestamp(body: bytes) -> int:
    """The ``webhookTimestamp`` (ms) of a Linear body; ValueError says why there is none.

    >>> body_timestamp(b'{"webhookTimestamp": 1700000000000}')
    1700000000000
    """
    try:
        payload = json.loads(bytes(body), object_pairs_hook=_no_repeated_timestamp,
                             parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, NaN, too deep, too long
        raise ValueError(f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict) or TIMESTAMP_FIELD not in payload:
        raise ValueError(f"body is not a JSON object with {TIMESTAMP_FIELD}")
    value: Any = payload[TIMESTAMP_FIELD]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or not (
        CANONICAL_INT.fullmatch(str(value))
    ):
        raise ValueError(f"{TIMESTAMP_FIELD} is not an integer of milliseconds: {value!r:.40}")
    return value


def _no_repeated_timestamp(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if sum(1 for key, _ in pairs if key == TIMESTAMP_FIELD) > 1:
        raise ValueError(f"{TIMESTAMP_FIELD} is given more than once")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class LinearScheme(TextKeyed):
    """Linear's body HMAC with the timestamp in the body."""

    name = "linear"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = LINEAR_TOLERANCE
    direction: Direction = "both"
    id_header: str | None = "Linear-Delivery"
    id_signed = False
    token_prefix = "lin_wh_"

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
        """``Linear-Signature`` (first secret) and ``Linear-Delivery``; the body must carry
        ``webhookTimestamp``."""
        check_message(message_id, timestamp, body)
        try:
            body_timestamp(body)
        except ValueError as exc:
            raise ConfigError(f"linear dates the body itself: {exc}") from None
        key = self.keys(secrets)[0]
        return {
            "Linear-Signature": hmac_digest(key, bytes(body)).hex(),
            "Linear-Delivery": message_id,
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
        """Check the signature, then the body's ``webhookTimestamp`` both ways."""
        keys = self.keys(secrets)
        found = verify_inputs(headers, body, now, tolerance)
        header = "linear-signature"
        expected = [hmac_digest(k, bytes(body)).hex().encode("ascii") for k in keys]
        match([require(found, header)], expected, header)
        try:
            millis = body_timestamp(body)
        except ValueError as exc:
            raise VerificationError(str(exc)) from None
        check_age(millis / 1000, now, self.tolerance if tolerance is None else tolerance,
                  "both", millis_hint(millis, TIMESTAMP_FIELD))
        delivery = found.get("linear-delivery", "")
        return check_id(delivery, "linear-delivery") if delivery else None
