"""Paddle Billing: ``Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>]`` over ``{ts}:{raw body}``.

The key is the whole notification secret string, ``pdl_ntf_`` included, as UTF-8 (a secret
without that prefix is refused: it is not a Paddle secret). Several ``h1=`` entries carry
several secrets during a rotation, and any one may match; other entries are ignored. As in
Paddle's SDK, only the past is checked, and tightly: 5 s by default. Paddle's notification
id is in the signed body, so verify returns None.

    >>> secret = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"
    >>> PaddleScheme().sign(message_id="n1", timestamp=1696195954, body=b"hello-world",
    ...                     secrets=[secret])["Paddle-Signature"][:27]
    'ts=1696195954;h1=d96299976a'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import VerificationError
from ._common import (
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

__all__ = ["PADDLE_TOLERANCE", "PaddleScheme"]

#: Paddle's SDK allows 5 seconds between the signature's ``ts`` and now.
PADDLE_TOLERANCE = 5.0
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _signed(timestamp: int, body: bytes) -> bytes:
    return b"%d:%s" % (timestamp, bytes(body))


class PaddleScheme(TextKeyed):
    """Paddle Billing's ``Paddle-Signature`` header."""

    name = "paddle"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = PADDLE_TOLERANCE
    direction: Direction = "past"
    id_header: str | None = None
    id_signed = True  # notification_id is in the signed body
    secret_prefix = "pdl_ntf_"
    token_prefix = "pdl_ntf_"
    token_chars = 59
    token_alphabet = _ALNUM

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
        """``Paddle-Signature: ts=...;h1=...`` with one ``h1`` per secret."""
        check_message(message_id, timestamp, body)
        signed = _signed(timestamp, body)
        parts = [f"ts={timestamp}"] + [
            "h1=" + hmac_digest(key, signed).hex() for key in self.keys(secrets)
        ]
        return {"Paddle-Signature": ";".join(parts)}

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
        """Check an ``h1`` signature, then that ``ts`` is at most ``tolerance`` old."""
        keys = self.keys(secrets)
        found = verify_inputs(headers, body, now, tolerance)
        header = require(found, "paddle-signature")
        times: list[str] = []
        candidates: list[str] = []
        for item in header.split(";"):
            key, sep, value = item.partition("=")
            if not sep:
                raise VerificationError(f"paddle-signature item is not key=value: {item[:40]!r}")
            if key == "ts":
                times.append(value)
            elif key == "h1":
                candidates.append(value)
        if len(times) != 1:
            raise VerificationError(f"paddle-signature needs exactly one ts=, found {len(times)}")
        timestamp = parse_timestamp(times[0], "paddle-signature ts")
        signed = _signed(timestamp, body)
        expected = [hmac_digest(key, signed).hex().encode("ascii") for key in keys]
        match(candidates, expected, "paddle-signature")
        check_age(timestamp, now, self.tolerance if tolerance is None else tolerance, "past")
        return None
