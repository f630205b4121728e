"""What every signing scheme shares: input checks, header maps, timestamps, comparisons.

The scheme modules of this package build on these few functions, so each scheme states only
its construction: which bytes are signed, how the signature is written, where the timestamp
is. The rules that must hold for all of them live here once:

- a receiver reads headers case-insensitively, once each, as ASCII, and never more than
  :data:`MAX_HEADER_CHARS` of one;
- a timestamp is a canonical integer (no sign, no leading zero, no fraction, at most 16
  digits), so ``NaN``, ``1e9`` and ``1614265330.9`` never verify;
- the age of a timestamp is checked in the direction the provider checks it; a "past
  only" provider still refuses a timestamp more than :data:`FAR_FUTURE` ahead, which is
  what a timestamp in the wrong unit (milliseconds for seconds) or forged for the far
  future looks like, and which would otherwise never expire;
- signatures are compared in constant time, and any one of several may match.

Keys (text secrets, Ed25519, base64 spellings) live in the sibling ``_keys`` module.

Every malformed input ends in :class:`~hooklab.model.errors.VerificationError`; a bad
argument from the receiver itself (its clock, tolerance or URL) is a
:class:`~hooklab.model.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal
from urllib.parse import urlsplit

from ..errors import ConfigError, VerificationError

__all__ = [
    "CANONICAL_INT",
    "DEFAULT_TOLERANCE",
    "FAR_FUTURE",
    "MAX_HEADER_CHARS",
    "Direction",
    "check_age",
    "check_body",
    "check_id",
    "check_message",
    "check_method",
    "check_url",
    "header_map",
    "hmac_digest",
    "match",
    "millis_hint",
    "parse_timestamp",
    "require",
    "verify_inputs",
]

#: Allowed clock skew in seconds, as in the reference receivers (Standard Webhooks, Stripe).
DEFAULT_TOLERANCE = 300.0
#: Longest header value a receiver looks at; longer ones are rejected unread.
MAX_HEADER_CHARS = 8192
#: How far ahead a "past only" scheme still accepts a timestamp, in seconds (one day).
FAR_FUTURE = 86_400.0
#: A canonical integer: 16 digits reach far beyond any real clock, in seconds or in ms.
CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,15}")

#: Which way a scheme checks the age of its timestamp: "none" leaves it unchecked unless a
#: tolerance is given (then both ways).
Direction = Literal["both", "past", "none"]

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_METHOD = re.compile(r"[A-Z]{1,20}")


def hmac_digest(key: bytes, *parts: bytes, digest: str = "sha256") -> bytes:
    """HMAC of the concatenated ``parts`` under ``key`` (SHA-256 unless told).

    >>> hmac_digest(b"key", b"a", b"b") == hmac_digest(b"key", b"ab")
    True
    """
    mac = hmac.new(key, digestmod=getattr(hashlib, digest))
    for part in parts:
        mac.update(part)
    return mac.digest()

# -- what the sender gives ---------------------------------------------------------------


def check_message(message_id: str, timestamp: int, body: bytes) -> None:
    """Refuse a message a verifier could not read back: odd id, timestamp or body type.

    >>> check_message("msg_1", 1614265330, b"{}")
    """
    if not isinstance(message_id, str) or not _VISIBLE_ASCII.fullmatch(message_id):
        raise ConfigError(f"message id must be visible ASCII without spaces: {message_id!r}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ConfigError(f"timestamp must be a non-negative integer: {timestamp!r}",
                          field="timestamp")
    if not CANONICAL_INT.fullmatch(str(timestamp)):  # what a verifier accepts back
        raise ConfigError(f"timestamp has more than 16 digits: {timestamp!r}", field="timestamp")
    check_body(body)


def check_body(body: bytes) -> None:
    """A body is the raw bytes on the wire, never a decoded string.

    >>> check_body(b"")
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"body must be the raw bytes received, not {type(body).__name__}")


def check_url(url: str | None, scheme: str) -> str:
    """The absolute http(s) ``url`` a scheme signs, checked; ConfigError names ``url``.

    >>> check_url("https://example.com/hooks?a=1", "square")
    'https://example.com/hooks?a=1'
    """
    if url is None:
        raise ConfigError(f"url: the {scheme} scheme signs the request URL; give it",
                          field="url")
    if not isinstance(url, str) or not _VISIBLE_ASCII.fullmatch(url):
        raise ConfigError(f"url must be visible ASCII without spaces: {url!r}", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"url {url!r} does not parse: {exc}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"url must be an absolute http(s) URL: {url!r}", field="url")
    return url


def check_method(method: str | None, default: str) -> str:
    """An upper-case HTTP method (``default`` when None); ConfigError names ``method``.

    >>> check_method(None, "POST"), check_method("GET", "POST")
    ('POST', 'GET')
    """
    method = default if method is None else method
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ConfigError(f"method must be an upper-case HTTP method: {method!r}",
                          field="method")
    return method


# -- what the receiver reads ----------------------------------------------------------------


def verify_inputs(
    headers: Mapping[str, str], body: bytes, now: float, tolerance: float | None
) -> dict[str, str]:
    """Check the receiver's own arguments, then read the headers (in that order).

    >>> verify_inputs({"A": "1"}, b"", 0, None)
    {'a': '1'}
    """
    check_body(body)
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ConfigError(f"now must be a finite number of seconds, not {now!r}", field="now")
    if tolerance is not None and (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise ConfigError(f"tolerance must be a finite number of seconds >= 0, not {tolerance!r}",
                          field="tolerance")
    return header_map(headers)


def header_map(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names to values; rejects duplicates, non-ASCII and oversized values.

    >>> header_map({"Webhook-Id": "msg_1"})
    {'webhook-id': 'msg_1'}
    """
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


def require(found: Mapping[str, str], name: str) -> str:
    """The non-empty value of header ``name``; VerificationError names a missing one.

    >>> require({"a": "1"}, "a")
    '1'
    """
    value = found.get(name)
    if not value:
        raise VerificationError(f"missing {name} header")
    return value


def check_id(value: str, name: str) -> str:
    """``value`` if it is visible ASCII (an id a receiver may store), else VerificationError.

    >>> check_id("msg_1", "webhook-id")
    'msg_1'
    """
    if not _VISIBLE_ASCII.fullmatch(value):
        raise VerificationError(f"{name} has spaces or control characters")
    return value


def parse_timestamp(text: str, name: str, unit: str = "seconds") -> int:
    """A canonical integer timestamp, else VerificationError (``NaN``, ``1.5``, ``+1``).

    >>> parse_timestamp("1614265330", "webhook-timestamp")
    1614265330
    """
    if not CANONICAL_INT.fullmatch(text):
        raise VerificationError(f"{name} is not a canonical integer of {unit}: {text[:40]!r}")
    return int(text)


def check_age(
    timestamp: float, now: float, tolerance: float | None, direction: Direction, unit: str = ""
) -> None:
    """Refuse a timestamp (seconds) older, or newer, than ``tolerance`` allows.

    ``tolerance`` None checks nothing. ``past`` refuses only "too old", and "too new"
    beyond :data:`FAR_FUTURE`; ``both`` (and ``none`` given a tolerance) refuses both.
    ``unit`` is a hint added to a "too old" message (a timestamp in the wrong unit).

    >>> check_age(100, now=150, tolerance=60, direction="both")
    >>> try:
    ...     check_age(100, now=200, tolerance=60, direction="both")
    ... except VerificationError as exc:
    ...     print(exc)
    timestamp too old: 100 s before now (tolerance 60 s)
    """
    if tolerance is None:
        return
    age = now - timestamp
    if age > tolerance:
        raise VerificationError(
            f"timestamp too old: {age:.0f} s before now (tolerance {tolerance:g} s){unit}"
        )
    ahead = tolerance if direction != "past" else max(tolerance, FAR_FUTURE)
    if -age > ahead:
        raise VerificationError(
            f"timestamp too new: {-age:.0f} s after now (tolerance {ahead:g} s)"
        )


def millis_hint(millis: int, name: str) -> str:
    """A note for a "too old" message when a millisecond timestamp looks like seconds
    (before March 1973 in milliseconds is any date up to the year 5138 in seconds).

    >>> millis_hint(1693657560, "x-hubspot-request-timestamp")
    '; x-hubspot-request-timestamp is in milliseconds, and this looks like seconds'
    >>> millis_hint(1693657560000, "x-hubspot-request-timestamp")
    ''
    """
    return f"; {name} is in milliseconds, and this looks like seconds" if millis < 10**11 else ""


def match(
    candidates: Sequence[str], expected: Sequence[bytes], name: str, tried: int | None = None
) -> None:
    """Accept if any candidate equals any expected signature, comparing in constant time.

    ``tried`` is the number of secrets behind ``expected`` (default: one each).

    >>> match(["ab", "cd"], [b"cd"], "x-signature")
    """
    if not candidates:
        raise VerificationError(f"{name} holds no signature of a supported version")
    hits = [hmac.compare_digest(c.encode("ascii"), e) for c in candidates for e in expected]
    if not any(hits):
        raise VerificationError(
            f"no signature matches: {len(candidates)} signature(s) in {name}, "
            f"{len(expected) if tried is None else tried} secret(s) tried"
        )
