"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`` over ``{t}.{raw body}``.

The HMAC-SHA256 key is the whole secret string as UTF-8, ``whsec_`` included: it is *not*
base64-decoded as Standard Webhooks' is. Several ``v1=`` entries carry several secrets
during a rotation, and any one may match; entries of other versions are ignored. As in
Stripe's SDK, only "too old" is checked (300 s by default); a timestamp more than a day
ahead is refused too, since it would otherwise never expire. Stripe puts the event id in
the body, so :meth:`StripeScheme.verify` returns None.

    >>> scheme = StripeScheme()
    >>> headers = scheme.sign(message_id="evt_1", timestamp=10, body=b"{}",
    ...                       secrets=["whsec_test_secret"])
    >>> headers["Stripe-Signature"][:8]
    't=10,v1='
    >>> scheme.verify(headers, b"{}", secrets=["whsec_test_secret"], now=20) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import VerificationError
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

__all__ = ["StripeScheme"]

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class StripeScheme(TextKeyed):
    """Stripe's ``Stripe-Signature`` header; the key is the secret text itself."""

    name = "stripe"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = DEFAULT_TOLERANCE
    direction: Direction = "past"
    id_header: str | None = None
    id_signed = True  # the event id is in the signed body
    token_prefix = "whsec_"
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
        """``Stripe-Signature: t=...,v1=...`` with one ``v1`` per secret (no id header)."""
        check_message(message_id, timestamp, body)
        signed = b"%d.%s" % (timestamp, bytes(body))
        parts = [f"t={timestamp}"] + [
            "v1=" + hmac_digest(key, signed).hex() for key in self.keys(secrets)
        ]
        return {"Stripe-Signature": ",".join(parts)}

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
        """Check a ``v1`` signature, then that ``t`` is at most ``tolerance`` old."""
        keys = self.keys(secrets)
        found = verify_inputs(headers, body, now, tolerance)
        header = require(found, "stripe-signature")
        times: list[str] = []
        candidates: list[str] = []
        for item in header.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise VerificationError(f"stripe-signature item is not key=value: {item[:40]!r}")
            if key == "t":
                times.append(value)
            elif key == "v1":
                candidates.append(value)
        if len(times) != 1:
            raise VerificationError(f"stripe-signature needs exactly one t=, found {len(times)}")
        timestamp = parse_timestamp(times[0], "stripe-signature t")
        signed = b"%d.%s" % (timestamp, bytes(body))
        expected = [hmac_digest(key, signed).hex().encode("ascii") for key in keys]
        match(candidates, expected, "stripe-signature")
        check_age(timestamp, now, self.tolerance if tolerance is None else tolerance, "past")
        return None
