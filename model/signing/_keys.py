"""Keys every scheme family shares: text secrets, Ed25519 seeds, base64 spellings.

- :class:`TextKeyed` gives the HMAC schemes whose secret is a text string (Stripe, GitHub,
  Shopify, Slack, Twilio, Square, HubSpot, Paddle, Linear) their key checks and generation;
- the Ed25519 helpers serve Standard Webhooks ``v1a`` and Discord, with keys cached, since a
  receiver parses the same few keys on every request;
- :func:`strict_b64decode` reads only canonical base64, so one signature has one spelling.
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import InvalidSecret
from ..secrets import TEXT_SECRET_CHARS, decode_text, generate_token

__all__ = [
    "TextKeyed",
    "Use",
    "b64",
    "ed25519_public",
    "ed25519_sign",
    "ed25519_verify",
    "listed",
    "strict_b64decode",
]

#: What a key is for: signing needs the private half of a key pair, verifying does not.
Use = Literal["sign", "verify"]


def listed(secrets: Sequence[str]) -> Sequence[str]:
    """``secrets`` if it is a non-empty list (several during key rotation), not a bare string.

    >>> listed(["s1", "s2"])
    ['s1', 's2']
    """
    if isinstance(secrets, str | bytes) or not secrets:
        raise InvalidSecret("give a non-empty list of secrets (not a bare string)")
    return secrets


def b64(raw: bytes) -> str:
    """Standard base64 with padding, as text.

    >>> b64(b"hi")
    'aGk='
    """
    return base64.b64encode(raw).decode("ascii")


def strict_b64decode(text: str, nbytes: int | None = None) -> bytes | None:
    """The bytes of canonical standard base64 ``text`` (of ``nbytes`` if given), else None.

    >>> strict_b64decode("aGk="), strict_b64decode("aGl="), strict_b64decode("aGk")
    (b'hi', None, None)
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    if b64(raw) != text or (nbytes is not None and len(raw) != nbytes):
        return None
    return raw


class TextKeyed:
    """Keys of the schemes whose secret is a text string used whole as the HMAC key.

    A scheme sets ``secret_prefix`` (the start every secret of its provider has),
    ``min_secret_chars`` and the shape of a generated secret (``token_prefix``,
    ``token_chars``, ``token_alphabet``).

    >>> TextKeyed().keys(["It's a Secret to Everybody"])
    [b"It's a Secret to Everybody"]
    """

    secret_prefix = ""
    min_secret_chars = TEXT_SECRET_CHARS[0]
    token_prefix = ""
    token_chars = 32
    token_alphabet = "0123456789abcdef"

    def keys(self, secrets: Sequence[str]) -> list[bytes]:
        """The HMAC keys of a non-empty list of secrets, in order."""
        return [self.key(secret) for secret in listed(secrets)]

    def key(self, secret: str) -> bytes:
        """The HMAC key of one secret; InvalidSecret names what is wrong with it."""
        return decode_text(secret, min_chars=self.min_secret_chars, prefix=self.secret_prefix)

    def check_secret(self, secret: str, use: Use = "verify") -> None:
        """Raise InvalidSecret unless ``secret`` is well formed (the same for both uses)."""
        self.key(secret)

    def generate_keys(self, rng: random.Random) -> dict[str, str]:
        """A new secret in the provider's usual shape, from ``rng``."""
        token = generate_token(rng, prefix=self.token_prefix, nchars=self.token_chars,
                               alphabet=self.token_alphabet)
        return {"secret": token}


def ed25519_public(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed.

    >>> len(ed25519_public(bytes(32)))
    32
    """
    return _private(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature (RFC 8032, pure: deterministic) of ``data``.

    >>> ed25519_sign(bytes(32), b"x") == ed25519_sign(bytes(32), b"x")
    True
    """
    return _private(seed).sign(data)


def ed25519_verify(public: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``data`` signed by the key whose public half is ``public``.

    >>> ed25519_verify(ed25519_public(bytes(32)), ed25519_sign(bytes(32), b"x"), b"x")
    True
    """
    try:
        _public(public).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache(maxsize=256)
def _private(seed: bytes) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(seed)
    except ValueError:
        raise InvalidSecret(f"an Ed25519 seed is 32 bytes, not {len(seed)}") from None


@lru_cache(maxsize=256)
def _public(public: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        raise InvalidSecret(f"an Ed25519 public key is 32 bytes, not {len(public)}") from None
