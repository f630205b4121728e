"""Signing secrets: what a well-formed one looks like, how it becomes an HMAC key, new ones.

Two kinds of shared secret exist among the signing schemes (see ``docs/reference.md``):

- ``whsec``: Standard Webhooks and Svix. ``whsec_`` + base64; the key is the *decoded* part,
  24 to 64 random bytes.
- ``text``: every other HMAC scheme (Stripe, GitHub, Shopify, Slack, Twilio, Square,
  HubSpot, Paddle, Linear). The key is the whole secret string as UTF-8, ``whsec_`` or
  ``pdl_ntf_`` included when there is one (confusing the two kinds is a classic receiver
  bug).

Key pairs (Standard Webhooks ``v1a``, SendGrid, Discord) belong to their scheme's module in
:mod:`hooklab.model.signing`.

A malformed secret raises :class:`~hooklab.model.errors.InvalidSecret` naming the problem.
Randomness always comes from the ``rng`` argument.
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from .errors import InvalidSecret

__all__ = [
    "KEY_BYTES",
    "SECRET_PREFIX",
    "TEXT_SECRET_CHARS",
    "KeyKind",
    "decode_key",
    "decode_keys",
    "decode_text",
    "generate_message_id",
    "generate_secret",
    "generate_token",
]

KeyKind = Literal["whsec", "text"]
SECRET_PREFIX = "whsec_"
#: Bounds on the decoded key of a ``whsec_`` secret, in bytes.
KEY_BYTES = (24, 64)
#: Bounds on a text secret (Stripe, GitHub), in characters.
TEXT_SECRET_CHARS = (8, 1024)
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX = "0123456789abcdef"


def decode_key(secret: str, kind: KeyKind = "whsec") -> bytes:
    """The HMAC key of ``secret``; raises InvalidSecret if it is malformed for ``kind``.

    >>> len(decode_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
    24
    >>> decode_key("It's a Secret to Everybody", "text")
    b"It's a Secret to Everybody"
    """
    if not isinstance(secret, str):
        raise InvalidSecret(f"secret must be a string, not {type(secret).__name__}")
    return _decode(secret, kind)


@lru_cache(maxsize=256)  # receivers decode the same few secrets on every request
def _decode(secret: str, kind: KeyKind) -> bytes:
    if kind == "text":
        return decode_text(secret)
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"secret must start with {SECRET_PREFIX!r} followed by base64")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :].encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidSecret(f"secret after {SECRET_PREFIX!r} is not valid base64") from None
    low, high = KEY_BYTES
    if not low <= len(key) <= high:
        raise InvalidSecret(f"secret key is {len(key)} bytes; needs {low} to {high}")
    return key


def decode_text(secret: str, *, min_chars: int = TEXT_SECRET_CHARS[0], prefix: str = "") -> bytes:
    """The HMAC key of a text secret: the string itself as UTF-8, checked for typos.

    ``min_chars`` lowers the usual minimum for a scheme whose provider publishes shorter
    secrets; ``prefix`` is the start the provider's secrets always have.

    >>> decode_text("pdl_ntf_abc123", prefix="pdl_ntf_")
    b'pdl_ntf_abc123'
    """
    if not isinstance(secret, str):
        raise InvalidSecret(f"secret must be a string, not {type(secret).__name__}")
    high = TEXT_SECRET_CHARS[1]
    if not min_chars <= len(secret) <= high:
        raise InvalidSecret(f"secret is {len(secret)} characters; needs {min_chars} to {high}")
    if not secret.isprintable() or secret != secret.strip():
        raise InvalidSecret("secret has control characters or surrounding whitespace")
    if not secret.startswith(prefix):
        raise InvalidSecret(f"secret must start with {prefix!r}")
    try:
        return secret.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        raise InvalidSecret("secret is not valid Unicode text") from None


def decode_keys(secrets: Sequence[str], kind: KeyKind = "whsec") -> list[bytes]:
    """The keys of a non-empty list of secrets, in order (several during key rotation).

    >>> decode_keys(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])[0][:4]
    b'1\\xf2\\x90\\xf6'
    """
    if isinstance(secrets, str | bytes) or not secrets:
        raise InvalidSecret("give a non-empty list of secrets (not a bare string)")
    return [decode_key(secret, kind) for secret in secrets]


def generate_secret(rng: random.Random, nbytes: int = 24) -> str:
    """A new Standard Webhooks secret: ``whsec_`` + base64 of ``nbytes`` bytes from ``rng``.

    >>> generate_secret(random.Random(0)) == generate_secret(random.Random(0))
    True
    """
    low, high = KEY_BYTES
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or not low <= nbytes <= high:
        raise InvalidSecret(f"a secret needs {low} to {high} bytes, not {nbytes!r}")
    return SECRET_PREFIX + base64.b64encode(rng.randbytes(nbytes)).decode("ascii")


def generate_token(
    rng: random.Random, *, prefix: str = "", nchars: int = 32, alphabet: str = _HEX
) -> str:
    """A new text secret: ``prefix`` + ``nchars`` characters of ``alphabet`` from ``rng``.

    >>> generate_token(random.Random(0), prefix="pdl_ntf_", nchars=8)
    'pdl_ntf_cd18fc9f'
    """
    return prefix + "".join(rng.choice(alphabet) for _ in range(nchars))


def generate_message_id(rng: random.Random) -> str:
    """A new message id: ``msg_`` + 24 random letters and digits from ``rng``.

    >>> generate_message_id(random.Random(0))[:4], len(generate_message_id(random.Random(0)))
    ('msg_', 28)
    """
    return "msg_" + "".join(rng.choice(_ID_ALPHABET) for _ in range(24))
