"""Payload signing: how a sender proves a message came from it, and how a receiver checks.

A *scheme* turns a message (id, timestamp, raw body) and the endpoint's signing secrets into
the headers to send, and checks those headers on the receiving side. Three schemes sit
behind one :class:`Scheme` protocol, exactly as ``webhook-facts.md`` describes them:

- ``standard`` (the default): Standard Webhooks ``v1``; ``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``,
  secret ``whsec_<base64>`` whose decoded bytes are the key. Svix's ``svix-`` headers are
  accepted when verifying.
- ``stripe``: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of t.body>``; the key is the
  whole secret string as UTF-8; only "too old" is checked.
- ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`` and the id in
  ``X-GitHub-Delivery``; no timestamp, so no replay protection.

Several secrets give several signatures (key rotation), and a receiver accepts any one that
matches. Verification never reads the clock: ``now`` is an argument. Every malformed input
ends in :class:`~hooklab.model.errors.VerificationError` with the reason; a malformed
*secret* is the receiver's own configuration and raises
:class:`~hooklab.model.errors.InvalidSecret` instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from .errors import ConfigError, UnknownScheme, VerificationError
from .secrets import (
    SECRET_PREFIX,
    KeyKind,
    decode_key,
    decode_keys,
    generate_message_id,
    generate_secret,
)

__all__ = [
    "DEFAULT_SCHEME",
    "DEFAULT_TOLERANCE",
    "MAX_HEADER_CHARS",
    "SCHEMES",
    "SECRET_PREFIX",
    "GitHubScheme",
    "Scheme",
    "StandardScheme",
    "StripeScheme",
    "check_secret",
    "generate_message_id",
    "generate_secret",
    "get_scheme",
    "sign_headers",
    "verify",
]

DEFAULT_SCHEME = "standard"
#: Allowed clock skew in seconds, as in the reference receivers.
DEFAULT_TOLERANCE = 300.0
#: Longest header value a receiver looks at; longer ones are rejected unread.
MAX_HEADER_CHARS = 8192

_CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,15}")  # 16 digits: far beyond any real clock
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


class Scheme(Protocol):
    """One way of signing a message and checking its signature."""

    name: str
    key_kind: KeyKind

    def sign(
        self, *, message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        """The headers to send with ``body``: one signature per secret where possible."""
        ...

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> str:
        """The verified message id ("" if the scheme has none); else VerificationError."""
        ...


# -- shared helpers ------------------------------------------------------------------------


def _hmac(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def _check_message(message_id: str, timestamp: int, body: bytes) -> None:
    if not isinstance(message_id, str) or not _VISIBLE_ASCII.fullmatch(message_id):
        raise ConfigError(f"message id must be visible ASCII without spaces: {message_id!r}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ConfigError(f"timestamp must be a non-negative integer: {timestamp!r}")
    if not _CANONICAL_INT.fullmatch(str(timestamp)):  # what a verifier accepts back
        raise ConfigError(f"timestamp has more than 16 digits: {timestamp!r}")
    _check_body(body)


def _check_body(body: bytes) -> None:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"body must be the raw bytes received, not {type(body).__name__}")


def _check_clock(now: float, tolerance: float) -> None:
    if not isinstance(now, int | float) or not math.isfinite(now):
        raise ConfigError(f"now must be a finite number of seconds, not {now!r}")
    if not isinstance(tolerance, int | float) or not math.isfinite(tolerance) or tolerance < 0:
        raise ConfigError(f"tolerance must be a finite number of seconds >= 0, not {tolerance!r}")


def _header_map(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names to values; rejects duplicates, non-ASCII and oversized values."""
    try:
        items = [(name, value) for name, value in headers.items()]
    except Exception as exc:  # a broken mapping is malformed input too
        raise VerificationError(f"headers are not readable: {exc}") from None
    found: dict[str, str] = {}
    for raw_name, raw_value in items:
        name = _ascii(raw_name, "header name").lower()
        label = f"header {name[:64]}"
        value = _ascii(raw_value, label)
        if name in found:
            raise VerificationError(f"{label} is given more than once")
        if len(value) > MAX_HEADER_CHARS:
            raise VerificationError(f"{label} is longer than {MAX_HEADER_CHARS} characters")
        found[name] = value
    return found


def _ascii(text: object, what: str) -> str:
    if isinstance(text, bytes | bytearray):
        try:
            return bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise VerificationError(f"{what} is not ASCII") from None
    if not isinstance(text, str):
        raise VerificationError(f"{what} is a {type(text).__name__}, not text")
    if not text.isascii():
        raise VerificationError(f"{what} is not ASCII")
    return text


def _verify_inputs(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    key_kind: KeyKind,
    now: float,
    tolerance: float,
) -> tuple[list[bytes], dict[str, str]]:
    """Check the arguments, then decode the keys and read the headers (in that order)."""
    _check_body(body)
    _check_clock(now, tolerance)
    return decode_keys(secrets, key_kind), _header_map(headers)


def _check_id(value: str, name: str) -> None:
    if not _VISIBLE_ASCII.fullmatch(value):
        raise VerificationError(f"{name} has spaces or control characters")


def _require(found: Mapping[str, str], name: str) -> str:
    value = found.get(name)
    if not value:
        raise VerificationError(f"missing {name} header")
    return value


def _parse_timestamp(text: str, name: str) -> int:
    if not _CANONICAL_INT.fullmatch(text):
        raise VerificationError(f"{name} is not a canonical integer of seconds: {text[:40]!r}")
    return int(text)


def _check_age(timestamp: int, now: float, tolerance: float, *, future: bool) -> None:
    age = now - timestamp
    if age > tolerance:
        raise VerificationError(
            f"timestamp too old: {age:.0f} s before now (tolerance {tolerance:g} s)"
        )
    if future and -age > tolerance:
        raise VerificationError(
            f"timestamp too new: {-age:.0f} s after now (tolerance {tolerance:g} s)"
        )


def _match(candidates: Sequence[str], expected: Sequence[bytes], name: str) -> None:
    """Accept if any candidate equals any expected signature, comparing in constant time."""
    if not candidates:
        raise VerificationError(f"{name} holds no signature of a supported version")
    hits = [hmac.compare_digest(c.encode("ascii"), e) for c in candidates for e in expected]
    if not any(hits):
        raise VerificationError(
            f"no signature matches: {len(candidates)} signature(s) in {name}, "
            f"{len(expected)} secret(s) tried"
        )


# -- the three schemes ---------------------------------------------------------------------


class StandardScheme:
    """Standard Webhooks ``v1`` (also Svix's, whose headers start with ``svix-``)."""

    name = "standard"
    key_kind: KeyKind = "whsec"

    def sign(
        self, *, message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        """``webhook-id``, ``webhook-timestamp`` and one ``v1,`` signature per secret."""
        _check_message(message_id, timestamp, body)
        signed = (message_id.encode("ascii"), b".%d." % timestamp, bytes(body))
        signatures = [
            "v1," + base64.b64encode(_hmac(key, *signed)).decode("ascii")
            for key in decode_keys(secrets, self.key_kind)
        ]
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signatures),
        }

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> str:
        """Check the signature, then that the timestamp is within ``tolerance`` of ``now``."""
        keys, found = _verify_inputs(headers, body, secrets, self.key_kind, now, tolerance)
        prefix = "svix" if "svix-id" in found and "webhook-id" not in found else "webhook"
        message_id = _require(found, f"{prefix}-id")
        _check_id(message_id, f"{prefix}-id")
        timestamp = _parse_timestamp(_require(found, f"{prefix}-timestamp"), f"{prefix}-timestamp")
        header = f"{prefix}-signature"
        candidates = [
            token[3:] for token in _require(found, header).split() if token.startswith("v1,")
        ]
        signed = (message_id.encode("ascii"), b".%d." % timestamp, bytes(body))
        expected = [base64.b64encode(_hmac(key, *signed)) for key in keys]
        _match(candidates, expected, header)
        _check_age(timestamp, now, tolerance, future=True)
        return message_id


class StripeScheme:
    """Stripe's ``Stripe-Signature`` header; the key is the secret text itself."""

    name = "stripe"
    key_kind: KeyKind = "text"

    def sign(
        self, *, message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        """``Stripe-Signature: t=...,v1=...`` with one ``v1`` per secret (no id header)."""
        _check_message(message_id, timestamp, body)
        signed = (b"%d." % timestamp, bytes(body))
        parts = [f"t={timestamp}"] + [
            "v1=" + _hmac(key, *signed).hex() for key in decode_keys(secrets, self.key_kind)
        ]
        return {"Stripe-Signature": ",".join(parts)}

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> str:
        """Check a ``v1`` signature, then that ``t`` is at most ``tolerance`` old; returns ""."""
        keys, found = _verify_inputs(headers, body, secrets, self.key_kind, now, tolerance)
        header = _require(found, "stripe-signature")
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
        timestamp = _parse_timestamp(times[0], "stripe-signature t")
        signed = (b"%d." % timestamp, bytes(body))
        expected = [_hmac(key, *signed).hex().encode("ascii") for key in keys]
        _match(candidates, expected, "stripe-signature")
        _check_age(timestamp, now, tolerance, future=False)
        return ""


class GitHubScheme:
    """GitHub's ``X-Hub-Signature-256``: the body alone is signed, so replays verify."""

    name = "github"
    key_kind: KeyKind = "text"

    def sign(
        self, *, message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
    ) -> dict[str, str]:
        """``X-GitHub-Delivery`` and ``X-Hub-Signature-256`` signed with ``secrets[0]``.

        GitHub's header holds a single signature, so only the first secret signs; a
        receiver rotating keys tries each of its secrets. ``timestamp`` is not sent.
        """
        _check_message(message_id, timestamp, body)
        key = decode_keys(secrets, self.key_kind)[0]
        return {
            "X-GitHub-Delivery": message_id,
            "X-Hub-Signature-256": "sha256=" + _hmac(key, bytes(body)).hex(),
        }

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> str:
        """Check the body's signature; returns ``X-GitHub-Delivery`` ("" if absent).

        ``now`` and ``tolerance`` are checked for sanity but unused: nothing dates the body.
        """
        keys, found = _verify_inputs(headers, body, secrets, self.key_kind, now, tolerance)
        header = "x-hub-signature-256"
        value = _require(found, header)
        candidates = [value[7:]] if value.startswith("sha256=") else []
        expected = [_hmac(key, bytes(body)).hex().encode("ascii") for key in keys]
        _match(candidates, expected, header)
        delivery = found.get("x-github-delivery", "")
        if delivery:
            _check_id(delivery, "x-github-delivery")
        return delivery


SCHEMES: Mapping[str, Scheme] = {
    scheme.name: scheme for scheme in (StandardScheme(), StripeScheme(), GitHubScheme())
}


def check_secret(secret: str, scheme: str = DEFAULT_SCHEME) -> str:
    """Validate a signing secret for ``scheme`` and return it unchanged.

    >>> check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    >>> try:
    ...     check_secret("whsec_c2hvcnQ=")
    ... except ValueError as exc:  # InvalidSecret, a ConfigError
    ...     print(exc)
    secret key is 5 bytes; needs 24 to 64
    """
    decode_key(secret, get_scheme(scheme).key_kind)
    return secret


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name``; UnknownScheme (a ConfigError) names the valid ones.

    >>> get_scheme("github").name
    'github'
    """
    try:
        return SCHEMES[name]
    except (KeyError, TypeError):
        valid = ", ".join(SCHEMES)
        raise UnknownScheme(f"unknown signing scheme {name!r}; choose one of {valid}") from None


def sign_headers(
    body: bytes,
    *,
    message_id: str,
    timestamp: int,
    secrets: Sequence[str],
    scheme: str = DEFAULT_SCHEME,
) -> dict[str, str]:
    """Sign ``body`` with the named scheme; returns the headers to send.

    >>> sign_headers(b'{"test": 2432232314}', message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
    ...              timestamp=1614265330,
    ...              secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])["webhook-signature"]
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    return get_scheme(scheme).sign(
        message_id=message_id, timestamp=timestamp, body=body, secrets=secrets
    )


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str],
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
    scheme: str = DEFAULT_SCHEME,
) -> str:
    """Verify ``headers`` for ``body`` with the named scheme; returns the message id.

    >>> verify({"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a"
    ...         "37570b6d7586c22c46f4379c8b043e17"}, b"Hello, World!",
    ...        secrets=["It's a Secret to Everybody"], now=0, scheme="github")
    ''
    """
    return get_scheme(scheme).verify(headers, body, secrets=secrets, now=now, tolerance=tolerance)
