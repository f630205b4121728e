"""Square: ``x-square-hmacsha256-signature``, base64 HMAC-SHA256 of URL + raw body.

The key is the subscription's signature key as UTF-8, and the signed bytes start with the
notification URL exactly as registered with Square (pass it as ``url=``; a receiver behind
a proxy must give its public URL, not the one it sees). Nothing is dated. The header holds
one signature; the first secret signs. Square's event id is in the signed body.

    >>> headers = SquareScheme().sign(message_id="e1", timestamp=0, body=b"{}",
    ...                               secrets=["signature-key-1"], url="https://example.com/h")
    >>> list(headers)
    ['x-square-hmacsha256-signature']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._common import (
    Direction,
    check_message,
    check_url,
    hmac_digest,
    match,
    require,
    verify_inputs,
)
from ._keys import TextKeyed, b64

__all__ = ["SquareScheme"]

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


class SquareScheme(TextKeyed):
    """Square's notification-URL-and-body HMAC."""

    name = "square"
    inputs: tuple[str, ...] = ("url",)
    tolerance: float | None = None
    direction: Direction = "none"
    id_header: str | None = None
    id_signed = True  # event_id is in the signed body
    token_chars = 22
    token_alphabet = _ALNUM

    def _expected(self, key: bytes, url: str, body: bytes) -> str:
        return b64(hmac_digest(key, url.encode("ascii"), bytes(body)))

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
        """``x-square-hmacsha256-signature`` over ``url`` + body (first secret)."""
        check_message(message_id, timestamp, body)
        url = check_url(url, self.name)
        key = self.keys(secrets)[0]
        return {"x-square-hmacsha256-signature": self._expected(key, url, body)}

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
        """Check the signature of ``url`` + body; returns None (the id is in the body)."""
        keys = self.keys(secrets)
        url = check_url(url, self.name)
        found = verify_inputs(headers, body, now, tolerance)
        header = "x-square-hmacsha256-signature"
        expected = [self._expected(k, url, body).encode("ascii") for k in keys]
        match([require(found, header)], expected, header)
        return None
