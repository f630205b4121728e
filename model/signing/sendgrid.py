"""SendGrid Event Webhook: ECDSA P-256 with SHA-256 over ``{timestamp}{raw body}``.

SendGrid holds the private key and signs; ``X-Twilio-Email-Event-Webhook-Signature`` carries
the base64 DER signature and ``X-Twilio-Email-Event-Webhook-Timestamp`` the integer seconds.
The keys:

- to sign: an ECDSA P-256 private key in PEM (``BEGIN PRIVATE KEY`` or ``BEGIN EC PRIVATE
  KEY``, unencrypted), read from a file;
- to verify: the base64 SubjectPublicKeyInfo the dashboard shows (a PEM public or private
  key works too).

A key of another kind (RSA, another curve, an encrypted or malformed PEM) is an
:class:`~hooklab.model.errors.InvalidSecret` naming the expected format. Signing is
deterministic (RFC 6979), so the same key and message give the same signature. SendGrid's
SDK checks no timestamp, so none is checked unless a tolerance is given (then both ways).
The event ids are in the signed body; verify returns None. The first key signs.

    >>> keys = SendGridScheme().generate_keys(random.Random(0))
    >>> headers = SendGridScheme().sign(message_id="m", timestamp=10, body=b"[]",
    ...                                 secrets=[keys["signing key"]])
    >>> SendGridScheme().verify(headers, b"[]", secrets=[keys["verifying key"]], now=10) is None
    True
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Mapping, Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import InvalidSecret, VerificationError
from ._common import Direction, check_age, check_message, parse_timestamp, require, verify_inputs
from ._keys import Use, b64, listed, strict_b64decode

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SendGridScheme", "private_key", "public_key"]

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_ALGORITHM = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SIGN_FORMAT = "an unencrypted ECDSA P-256 private key in PEM"
_VERIFY_FORMAT = "the base64 ECDSA P-256 public key (SubjectPublicKeyInfo) SendGrid shows"


def _kind(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"an EC {key.curve.name} key"
    name = type(key).__name__.replace("PrivateKey", "").replace("PublicKey", "")
    return f"an {name} key"


def _p256(key: object, expected: str) -> None:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) or not (
        isinstance(key.curve, ec.SECP256R1)
    ):
        raise InvalidSecret(f"sendgrid needs {expected}; this is {_kind(key)}")


@lru_cache(maxsize=64)
def private_key(secret: str) -> ec.EllipticCurvePrivateKey:
    """The signing key in a PEM ``secret``; InvalidSecret names the expected format.

    >>> try:
    ...     private_key("MFkwEwYHKoZIzj0CAQ")
    ... except InvalidSecret as exc:
    ...     print(exc)
    sendgrid signs with an unencrypted ECDSA P-256 private key in PEM; this is not PEM ...
    """
    if not isinstance(secret, str) or "-----BEGIN" not in secret or "PRIVATE KEY" not in secret:
        raise InvalidSecret(f"sendgrid signs with {_SIGN_FORMAT}; this is not PEM "
                            "(a verifying key signs nothing)")
    try:
        key = serialization.load_pem_private_key(secret.encode("ascii"), password=None)
    except TypeError:
        raise InvalidSecret(f"sendgrid signs with {_SIGN_FORMAT}; this one is encrypted") from None
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise InvalidSecret(f"sendgrid signs with {_SIGN_FORMAT}; this PEM is malformed") from None
    _p256(key, _SIGN_FORMAT)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@lru_cache(maxsize=64)
def public_key(secret: str) -> ec.EllipticCurvePublicKey:
    """The verifying key in ``secret`` (base64 SubjectPublicKeyInfo, or PEM).

    >>> try:
    ...     public_key("not a key")
    ... except InvalidSecret as exc:
    ...     print(exc)
    sendgrid verifies with the base64 ECDSA P-256 public key ...; this is not base64
    """
    if not isinstance(secret, str):
        raise InvalidSecret(f"secret must be a string, not {type(secret).__name__}")
    if "PRIVATE KEY" in secret:
        return private_key(secret).public_key()
    try:
        if "-----BEGIN" in secret:
            key: object = serialization.load_pem_public_key(secret.encode("ascii"))
        else:
            der = base64.b64decode(secret.encode("ascii"), validate=True)
            key = serialization.load_der_public_key(der)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidSecret(f"sendgrid verifies with {_VERIFY_FORMAT}; "
                            "this is not base64") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidSecret(f"sendgrid verifies with {_VERIFY_FORMAT}; "
                            "this is not a public key") from None
    _p256(key, _VERIFY_FORMAT)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


class SendGridScheme:
    """SendGrid's signed Event Webhook (ECDSA P-256)."""

    name = "sendgrid"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = None
    direction: Direction = "none"
    id_header: str | None = None
    id_signed = True  # sg_event_id is in the signed body

    def check_secret(self, secret: str, use: Use = "verify") -> None:
        """Raise InvalidSecret unless ``secret`` is a P-256 key fit for ``use``."""
        (private_key if use == "sign" else public_key)(secret)

    def generate_keys(self, rng: random.Random) -> dict[str, str]:
        """A new key pair from ``rng``: the PEM signing key and the base64 verifying key."""
        key = ec.derive_private_key(rng.randrange(1, _P256_ORDER), ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"signing key": pem.strip(), "verifying key": b64(der)}

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
        """The signature (first key) and timestamp headers."""
        check_message(message_id, timestamp, body)
        key = private_key(listed(secrets)[0])
        signature = key.sign(b"%d%s" % (timestamp, bytes(body)), _ALGORITHM)
        return {SIGNATURE_HEADER: b64(signature), TIMESTAMP_HEADER: str(timestamp)}

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
        """Check the ECDSA signature with any of the keys, then the timestamp if asked."""
        keys = [public_key(secret) for secret in listed(secrets)]
        found = verify_inputs(headers, body, now, tolerance)
        stamp = TIMESTAMP_HEADER.lower()
        timestamp = parse_timestamp(require(found, stamp), stamp)
        header = SIGNATURE_HEADER.lower()
        signature = strict_b64decode(require(found, header))
        if signature is None:
            raise VerificationError(f"{header} is not canonical base64")
        signed = b"%d%s" % (timestamp, bytes(body))
        if not any([_verifies(key, signature, signed) for key in keys]):
            raise VerificationError(f"no signature matches: {len(keys)} key(s) tried")
        check_age(timestamp, now, self.tolerance if tolerance is None else tolerance, "none")
        return None


def _verifies(key: ec.EllipticCurvePublicKey, signature: bytes, signed: bytes) -> bool:
    try:
        key.verify(signature, signed, _ALGORITHM)
    except (InvalidSignature, ValueError):
        return False
    return True
