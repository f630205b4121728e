"""Discord interactions: Ed25519 over ``{timestamp}{raw body}``, hex everywhere.

``X-Signature-Ed25519`` carries the 64-byte signature in lower-case hex and
``X-Signature-Timestamp`` the integer seconds. The keys, in hex:

- to verify: the application's public key (64 hex digits, as the developer portal shows);
- to sign (Discord's side, or a test): a private key of 128 hex digits, the 32-byte seed
  then its public key, checked to belong together. A 64-digit public key cannot sign, and
  is refused by name.

Discord checks no timestamp, so none is checked unless a tolerance is given (then both
ways). Discord deliberately sends invalid signatures and removes an endpoint that accepts
them: a receiver must answer 401. The interaction id is in the signed body; verify returns
None. The first key signs.

    >>> keys = DiscordScheme().generate_keys(random.Random(0))
    >>> headers = DiscordScheme().sign(message_id="i", timestamp=10, body=b'{"type": 1}',
    ...                                secrets=[keys["signing key"]])
    >>> DiscordScheme().verify(headers, b'{"type": 1}', secrets=[keys["verifying key"]],
    ...                        now=10) is None
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from ..errors import InvalidSecret, VerificationError
from ._common import Direction, check_age, check_message, parse_timestamp, require, verify_inputs
from ._keys import Use, ed25519_public, ed25519_sign, ed25519_verify, listed

__all__ = ["DiscordKey", "DiscordScheme", "parse_discord_key"]

_HEX = re.compile(r"[0-9a-fA-F]+")
_LOWER_HEX = re.compile(r"[0-9a-f]{128}")
_FORMATS = ("hex: the application public key (64 digits) verifies, a private key "
            "(128 digits: the 32-byte seed, then the public key) signs")


class DiscordKey(NamedTuple):
    """A decoded key: its ``public`` half and, for a private key, the ``seed``."""

    public: bytes
    seed: bytes | None = None


def parse_discord_key(secret: str, use: Use = "verify") -> DiscordKey:
    """The key in hex ``secret``; InvalidSecret names the expected format.

    >>> try:
    ...     parse_discord_key("ab" * 32, "sign")
    ... except InvalidSecret as exc:
    ...     print(exc)
    secret is a discord public key (64 hex digits), which only verifies; signing needs ...
    """
    if not isinstance(secret, str):
        raise InvalidSecret(f"secret must be a string, not {type(secret).__name__}")
    key = _parse(secret)
    if use == "sign" and key.seed is None:
        raise InvalidSecret("secret is a discord public key (64 hex digits), which only "
                            "verifies; signing needs the 128-digit private key")
    return key


@lru_cache(maxsize=256)
def _parse(secret: str) -> DiscordKey:
    if not _HEX.fullmatch(secret) or len(secret) not in (64, 128):
        raise InvalidSecret(f"discord keys are {_FORMATS}")
    raw = bytes.fromhex(secret)
    if len(raw) == 32:
        return DiscordKey(public=raw)
    seed, public = raw[:32], raw[32:]
    if ed25519_public(seed) != public:
        raise InvalidSecret("the discord private key's public half does not belong to its seed")
    return DiscordKey(public=public, seed=seed)


class DiscordScheme:
    """Discord's Ed25519 interaction signature."""

    name = "discord"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = None
    direction: Direction = "none"
    id_header: str | None = None
    id_signed = True  # the interaction id is in the signed body

    def check_secret(self, secret: str, use: Use = "verify") -> None:
        """Raise InvalidSecret unless ``secret`` is a hex key fit for ``use``."""
        parse_discord_key(secret, use)

    def generate_keys(self, rng: random.Random) -> dict[str, str]:
        """A new key pair from ``rng``: the private (signing) and public (verifying) key."""
        seed = rng.randbytes(32)
        public = ed25519_public(seed)
        return {"signing key": (seed + public).hex(), "verifying key": public.hex()}

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
        """``X-Signature-Ed25519`` (first key) and ``X-Signature-Timestamp``."""
        check_message(message_id, timestamp, body)
        key = parse_discord_key(listed(secrets)[0], "sign")
        signature = ed25519_sign(key.seed or b"", b"%d%s" % (timestamp, bytes(body)))
        return {"X-Signature-Ed25519": signature.hex(), "X-Signature-Timestamp": str(timestamp)}

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
        """Check the signature with any of the keys, then the timestamp if asked."""
        keys = [parse_discord_key(secret) for secret in listed(secrets)]
        found = verify_inputs(headers, body, now, tolerance)
        stamp = "x-signature-timestamp"
        timestamp = parse_timestamp(require(found, stamp), stamp)
        header = "x-signature-ed25519"
        text = require(found, header)
        if not _LOWER_HEX.fullmatch(text):  # Discord sends lower case; one spelling only
            raise VerificationError(f"{header} is not 128 lower-case hex digits")
        signature = bytes.fromhex(text)
        signed = b"%d%s" % (timestamp, bytes(body))
        if not any([ed25519_verify(key.public, signature, signed) for key in keys]):
            raise VerificationError(f"no signature matches: {len(keys)} key(s) tried")
        check_age(timestamp, now, self.tolerance if tolerance is None else tolerance, "none")
        return None
