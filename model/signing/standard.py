"""Standard Webhooks: ``v1`` (HMAC-SHA256) and ``v1a`` (Ed25519) in one signature list.

A message carries ``webhook-id``, ``webhook-timestamp`` (integer Unix seconds) and
``webhook-signature``, a space-separated list of ``v1,<base64>`` and ``v1a,<base64>``
entries over ``{id}.{timestamp}.{raw body}`` (Svix sends the same headers with a ``svix-``
prefix; both are read). The key decides the version:

- ``whsec_`` + base64 of 24 to 64 bytes: ``v1``, the decoded bytes are the HMAC key;
- ``whsk_`` + base64 of 64 bytes (32-byte seed, then the 32-byte public key): signs ``v1a``,
  and its public half must belong to its seed;
- ``whpk_`` + base64 of the 32-byte public key: verifies ``v1a`` only.

Several keys give several entries (key rotation); a receiver accepts any one that matches,
``v1`` or ``v1a``. The timestamp is checked both ways, 300 s by default, after the
signature. ``v1a`` is as strict as ``v1``: canonical base64 of exactly 64 bytes, RFC 8032
verification, nothing else accepted.

    >>> scheme = StandardScheme()
    >>> signing, verifying = generate_v1a_keys(random.Random(0)).values()
    >>> headers = scheme.sign(message_id="msg_1", timestamp=10, body=b"{}", secrets=[signing])
    >>> headers["webhook-signature"][:4]
    'v1a,'
    >>> scheme.verify(headers, b"{}", secrets=[verifying], now=10)
    'msg_1'
"""

from __future__ import annotations

import base64
import binascii
import hmac
import random
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from ..errors import InvalidSecret, VerificationError
from ..secrets import SECRET_PREFIX, decode_key, generate_secret
from ._common import (
    DEFAULT_TOLERANCE,
    Direction,
    check_age,
    check_id,
    check_message,
    hmac_digest,
    parse_timestamp,
    require,
    verify_inputs,
)
from ._keys import Use, b64, ed25519_public, ed25519_sign, ed25519_verify, listed, strict_b64decode

__all__ = [
    "SIGNING_PREFIX",
    "VERIFYING_PREFIX",
    "StandardKey",
    "StandardScheme",
    "generate_v1a_keys",
    "parse_standard_key",
]

#: The prefix of a ``v1a`` signing key (``whsk_``) and of its verifying key (``whpk_``).
SIGNING_PREFIX = "whsk_"
VERIFYING_PREFIX = "whpk_"
_FORMATS = "'whsec_' (v1), 'whsk_' or 'whpk_' (v1a) followed by base64"


class StandardKey(NamedTuple):
    """A decoded key: ``v1`` with its HMAC ``key``, or ``v1a`` with ``seed`` (None for a
    verifying key) and ``public``."""

    version: str
    key: bytes = b""
    seed: bytes | None = None
    public: bytes = b""


def parse_standard_key(secret: str, use: Use = "verify") -> StandardKey:
    """The key in ``secret``; InvalidSecret names the expected format.

    >>> parse_standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").version
    'v1'
    >>> try:
    ...     parse_standard_key("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=", "sign")
    ... except ValueError as exc:  # InvalidSecret
    ...     print(exc)
    secret is a v1a verifying key (whpk_); signing needs the whsk_ signing key
    """
    if not isinstance(secret, str):
        raise InvalidSecret(f"secret must be a string, not {type(secret).__name__}")
    key = _parse(secret)
    if use == "sign" and key.version == "v1a" and key.seed is None:
        raise InvalidSecret(
            f"secret is a v1a verifying key ({VERIFYING_PREFIX}); signing needs the "
            f"{SIGNING_PREFIX} signing key"
        )
    return key


@lru_cache(maxsize=256)
def _parse(secret: str) -> StandardKey:
    if secret.startswith(SECRET_PREFIX):
        return StandardKey("v1", key=decode_key(secret, "whsec"))
    for prefix, size in ((SIGNING_PREFIX, 64), (VERIFYING_PREFIX, 32)):
        if secret.startswith(prefix):
            raw = _b64(secret[len(prefix):], prefix)
            if len(raw) != size:
                raise InvalidSecret(f"a {prefix} key is base64 of {size} bytes, not {len(raw)}")
            if size == 32:
                return StandardKey("v1a", public=raw)
            seed, public = raw[:32], raw[32:]
            if ed25519_public(seed) != public:
                raise InvalidSecret(
                    f"the {prefix} key's public half does not belong to its seed"
                )
            return StandardKey("v1a", seed=seed, public=public)
    raise InvalidSecret(f"secret must start with {_FORMATS}")


def _b64(text: str, prefix: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidSecret(f"secret after {prefix!r} is not valid base64") from None


def generate_v1a_keys(rng: random.Random) -> dict[str, str]:
    """A new ``v1a`` key pair from ``rng``: the ``whsk_`` signing key and ``whpk_`` verifying key.

    >>> keys = generate_v1a_keys(random.Random(1))
    >>> list(keys), keys == generate_v1a_keys(random.Random(1))
    (['signing key', 'verifying key'], True)
    """
    seed = rng.randbytes(32)
    public = ed25519_public(seed)
    return {
        "signing key": SIGNING_PREFIX + b64(seed + public),
        "verifying key": VERIFYING_PREFIX + b64(public),
    }


class StandardScheme:
    """Standard Webhooks ``v1`` and ``v1a`` (also Svix's, whose headers start ``svix-``)."""

    name = "standard"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = DEFAULT_TOLERANCE
    direction: Direction = "both"
    id_header: str | None = "webhook-id"
    id_signed = True

    def check_secret(self, secret: str, use: Use = "verify") -> None:
        """Raise InvalidSecret unless ``secret`` is a ``whsec_``, ``whsk_`` (or, to verify,
        ``whpk_``) key."""
        parse_standard_key(secret, use)

    def generate_keys(self, rng: random.Random) -> dict[str, str]:
        """A new ``whsec_`` secret (see :func:`generate_v1a_keys` for a ``v1a`` pair)."""
        return {"secret": generate_secret(rng)}

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
        """``webhook-id``, ``webhook-timestamp`` and one ``v1,``/``v1a,`` entry per secret."""
        check_message(message_id, timestamp, body)
        keys = [parse_standard_key(secret, "sign") for secret in listed(secrets)]
        signed = b"%s.%d.%s" % (message_id.encode("ascii"), timestamp, bytes(body))
        entries = [
            "v1," + b64(hmac_digest(key.key, signed))
            if key.version == "v1"
            else "v1a," + b64(ed25519_sign(key.seed or b"", signed))
            for key in keys
        ]
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(entries),
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
        """Check a signature, then that the timestamp is within ``tolerance`` of ``now``."""
        keys = [parse_standard_key(secret, "verify") for secret in listed(secrets)]
        found = verify_inputs(headers, body, now, tolerance)
        prefix = "svix" if "svix-id" in found and "webhook-id" not in found else "webhook"
        message_id = check_id(require(found, f"{prefix}-id"), f"{prefix}-id")
        stamp = f"{prefix}-timestamp"
        timestamp = parse_timestamp(require(found, stamp), stamp)
        header = f"{prefix}-signature"
        tokens = require(found, header).split()
        signed = b"%s.%d.%s" % (message_id.encode("ascii"), timestamp, bytes(body))
        _match_entries(tokens, keys, signed, header)
        check_age(timestamp, now, self.tolerance if tolerance is None else tolerance, "both")
        return message_id


def _match_entries(
    tokens: Sequence[str], keys: Sequence[StandardKey], signed: bytes, header: str
) -> None:
    """Any ``v1`` entry against every ``whsec_`` key, any ``v1a`` entry against every
    Ed25519 key; all pairs are tried (no early exit) and HMACs compared in constant time."""
    v1 = [t[3:].encode("ascii") for t in tokens if t.startswith("v1,")]
    v1a = [strict_b64decode(t[4:], 64) for t in tokens if t.startswith("v1a,")]
    macs = [b64(hmac_digest(k.key, signed)).encode("ascii") for k in keys if k.version == "v1"]
    publics = [k.public for k in keys if k.version == "v1a"]
    if not (v1 and macs) and not (v1a and publics):
        raise VerificationError(f"{header} holds no signature of a supported version")
    hits = [hmac.compare_digest(given, mac) for given in v1 for mac in macs]
    hits += [ed25519_verify(p, s, signed) for s in v1a if s is not None for p in publics]
    if not any(hits):
        raise VerificationError(
            f"no signature matches: {len(v1) + len(v1a)} signature(s) in {header}, "
            f"{len(keys)} secret(s) tried"
        )
