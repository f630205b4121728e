"""HubSpot v3: ``X-HubSpot-Signature-v3``, base64 HMAC-SHA256 of method + URI + body + time.

The key is the app's client secret as UTF-8. The signed string is the HTTP method, the full
request URI, the raw body and ``X-HubSpot-Request-Timestamp`` (Unix time in
**milliseconds**), concatenated. As HubSpot's docs say, the URI is read with a few
percent-escapes decoded (``%3A`` ``%2F`` ``%3F`` ``%40`` ``%21`` ``%24`` ``%27`` ``%28``
``%29`` ``%2A`` ``%2C`` ``%3B``), on both sides. The timestamp is refused when older than
300 s (HubSpot checks the past only); a timestamp in seconds reads as 1970 and is refused as
too old. Pass ``url=`` and, for anything but a webhook's ``POST``, ``method=``. The header
holds one signature; the first secret signs. ``timestamp`` is given in seconds and sent in
milliseconds.

    >>> headers = HubSpotScheme().sign(
    ...     message_id="e1", timestamp=1693657560, body=b"{'example_field':'example_value'}",
    ...     secrets=["yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"],
    ...     url="https://www.example.com/webhook_uri")
    >>> headers["X-HubSpot-Signature-v3"], headers["X-HubSpot-Request-Timestamp"]
    ('K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=', '1693657560000')
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

from ._common import (
    DEFAULT_TOLERANCE,
    Direction,
    check_age,
    check_message,
    check_method,
    check_url,
    hmac_digest,
    match,
    millis_hint,
    parse_timestamp,
    require,
    verify_inputs,
)
from ._keys import TextKeyed, b64

__all__ = ["HubSpotScheme", "signed_uri"]

_DECODED = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)
_UUID_HEX = "0123456789abcdef"


def signed_uri(url: str) -> str:
    """``url`` as HubSpot signs it: the listed percent-escapes decoded, nothing else.

    >>> signed_uri("https://example.com/a%3Ab?q=%2F%20")
    'https://example.com/a:b?q=/%20'
    """
    return _DECODED.sub(lambda m: chr(int(m.group(1), 16)), url)


class HubSpotScheme(TextKeyed):
    """HubSpot's v3 request signature."""

    name = "hubspot"
    inputs: tuple[str, ...] = ("url", "method")
    tolerance: float | None = DEFAULT_TOLERANCE
    direction: Direction = "past"
    id_header: str | None = None
    id_signed = True  # eventId is in the signed body
    token_chars = 36

    def generate_keys(self, rng: random.Random) -> dict[str, str]:
        """A new client secret shaped like HubSpot's (a UUID) from ``rng``."""
        digits = "".join(rng.choice(_UUID_HEX) for _ in range(32))
        parts = (digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:])
        return {"secret": "-".join(parts)}

    def _expected(self, key: bytes, method: str, url: str, body: bytes, millis: int) -> str:
        uri = signed_uri(url).encode("ascii")
        return b64(hmac_digest(key, method.encode("ascii"), uri, bytes(body), b"%d" % millis))

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
        """``X-HubSpot-Signature-v3`` (first secret) and the timestamp in milliseconds."""
        check_message(message_id, timestamp, body)
        url = check_url(url, self.name)
        verb = check_method(method, "POST")
        key = self.keys(secrets)[0]
        millis = timestamp * 1000
        return {
            "X-HubSpot-Signature-v3": self._expected(key, verb, url, body, millis),
            "X-HubSpot-Request-Timestamp": str(millis),
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
        """Check the signature, then that the timestamp is at most ``tolerance`` old."""
        keys = self.keys(secrets)
        url = check_url(url, self.name)
        verb = check_method(method, "POST")
        found = verify_inputs(headers, body, now, tolerance)
        stamp = "x-hubspot-request-timestamp"
        millis = parse_timestamp(require(found, stamp), stamp, "milliseconds")
        header = "x-hubspot-signature-v3"
        expected = [self._expected(k, verb, url, body, millis).encode("ascii") for k in keys]
        match([require(found, header)], expected, header)
        check_age(millis / 1000, now, self.tolerance if tolerance is None else tolerance,
                  "past", millis_hint(millis, stamp))
        return None
