"""Keys of the wrong kind are refused by name; v1a is as strict as v1."""

from __future__ import annotations

import base64
import random

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from signing_cases import CASES, V1A

from hooklab.model.errors import InvalidSecret, VerificationError
from hooklab.model.signing import check_secret, generate_keys, get_scheme, verify

TS = 1_700_000_000


def _pem(key: object, password: bytes | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                             serialization.PrivateFormat.PKCS8, encryption).decode()


def _spki(key: object) -> str:
    der = key.public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)
P384 = ec.generate_private_key(ec.SECP384R1())
P256 = ec.generate_private_key(ec.SECP256R1())
EC_SEC1 = P256.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(
    ("scheme", "use", "secret", "message"),
    [
        ("standard", "sign", V1A.verify_key, "v1a verifying key .whpk_.; signing needs the whsk_"),
        ("standard", "verify", "whpk_" + base64.b64encode(bytes(31)).decode(), "32 bytes, not 31"),
        ("standard", "verify", "whsk_" + base64.b64encode(bytes(64)).decode(),
         "public half does not belong to its seed"),
        ("standard", "verify", "whsk_not base64", "not valid base64"),
        ("standard", "verify", "sk_live_123", "must start with 'whsec_' .v1., 'whsk_' or 'whpk_'"),
        ("sendgrid", "sign", _pem(RSA), "ECDSA P-256 private key in PEM; this is an RSA key"),
        ("sendgrid", "sign", _pem(P384), "this is an EC secp384r1 key"),
        ("sendgrid", "sign", _pem(ed25519.Ed25519PrivateKey.generate()), "an Ed25519 key"),
        ("sendgrid", "sign", _pem(P256, b"pw"), "this one is encrypted"),
        ("sendgrid", "sign", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
         "this PEM is malformed"),
        ("sendgrid", "sign", _spki(P256.public_key()),
         "this is not PEM .a verifying key signs nothing."),
        ("sendgrid", "verify", _spki(RSA.public_key()), "public key .* this is an RSA key"),
        ("sendgrid", "verify", "not-base64!", "this is not base64"),
        ("sendgrid", "verify", base64.b64encode(b"junk").decode(), "this is not a public key"),
        ("discord", "sign", CASES["discord"].verify_key, "public key .64 hex digits., which only"),
        ("discord", "verify", "ab" * 31, "discord keys are hex"),
        ("discord", "verify", "zz" * 32, "discord keys are hex"),
        ("discord", "verify", "00" * 64, "public half does not belong to its seed"),
        ("paddle", "verify", "whsec_not_a_paddle_secret", "must start with 'pdl_ntf_'"),
        ("slack", "verify", "short", "5 characters; needs 8"),
        ("twilio", "verify", "", "0 characters; needs 1"),
        ("hubspot", "verify", " padded-secret ", "surrounding whitespace"),
    ],
)
def test_a_key_of_the_wrong_kind_is_refused_naming_the_expected_format(
    scheme: str, use: str, secret: str, message: str
) -> None:
    with pytest.raises(InvalidSecret, match=message):
        check_secret(secret, scheme, use=use)  # type: ignore[arg-type]


def test_sendgrid_takes_sec1_pem_and_pem_public_keys_too() -> None:
    scheme = get_scheme("sendgrid")
    headers = scheme.sign(message_id="m", timestamp=TS, body=b"[]", secrets=[EC_SEC1])
    public_pem = P256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for key in (_spki(P256.public_key()), public_pem, EC_SEC1):
        scheme.verify(headers, b"[]", secrets=[key], now=TS)


def test_sendgrid_signatures_are_deterministic() -> None:
    scheme = get_scheme("sendgrid")
    key = generate_keys(random.Random(3), "sendgrid")["signing key"]
    first = scheme.sign(message_id="m", timestamp=TS, body=b"[]", secrets=[key])
    assert first == scheme.sign(message_id="m", timestamp=TS, body=b"[]", secrets=[key])


# -- v1a strictness ----------------------------------------------------------------------------


def _v1a_headers(signature: str) -> dict[str, str]:
    headers = V1A.sign(b"{}", TS)
    return {**headers, "webhook-signature": signature}


def _good_v1a() -> str:
    return V1A.sign(b"{}", TS)["webhook-signature"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-3] + chr(ord(s[-3]) + 1) + "==",  # same 64 bytes, padding bits set
        lambda s: s.rstrip("="),  # unpadded
        lambda s: s[:-4],  # 61 bytes
        lambda s: s + "AAAA",  # 67 bytes
        lambda s: s.replace("v1a,", "v1a, "),  # a space splits the entry
        lambda s: s.replace("v1a,", "V1A,"),
        lambda s: s.replace("+", "-").replace("/", "_") if ("+" in s or "/" in s) else s + "!",
    ],
)
def test_v1a_accepts_only_canonical_base64_of_64_bytes(mangle: object) -> None:
    changed = mangle(_good_v1a())  # type: ignore[operator]
    assert changed != _good_v1a()
    with pytest.raises(VerificationError):
        V1A.verify(_v1a_headers(changed), b"{}", TS)


def test_non_canonical_base64_decodes_to_the_same_bytes_and_is_still_rejected() -> None:
    good = _good_v1a()[4:]
    odd = good[:-3] + chr(ord(good[-3]) + 1) + "=="
    assert base64.b64decode(odd, validate=True) == base64.b64decode(good)  # lenient decoders
    with pytest.raises(VerificationError):
        V1A.verify(_v1a_headers("v1a," + odd), b"{}", TS)


def test_v1a_signature_over_another_id_or_timestamp_is_rejected() -> None:
    headers = V1A.sign(b"{}", TS)
    with pytest.raises(VerificationError, match="no signature matches"):
        V1A.verify({**headers, "webhook-id": "msg_other"}, b"{}", TS)
    with pytest.raises(VerificationError, match="no signature matches"):
        V1A.verify({**headers, "webhook-timestamp": str(TS + 1)}, b"{}", TS)


def test_v1a_checks_the_timestamp_both_ways_after_the_signature() -> None:
    headers = V1A.sign(b"{}", TS)
    with pytest.raises(VerificationError, match="too old"):
        V1A.verify(headers, b"{}", TS + 301)
    with pytest.raises(VerificationError, match="too new"):
        V1A.verify(headers, b"{}", TS - 301)


def test_v1a_reads_svix_headers_as_v1_does() -> None:
    svix = {name.replace("webhook", "svix"): value for name, value in V1A.sign(b"{}", TS).items()}
    assert V1A.verify(svix, b"{}", TS) == "msg_1"


def test_a_v1a_signature_is_ignored_by_a_v1_key_and_the_reverse() -> None:
    with pytest.raises(VerificationError, match="no signature of a supported version"):
        verify(V1A.sign(b"{}", TS), b"{}", secrets=[CASES["standard"].verify_key], now=TS)
    v1_headers = CASES["standard"].sign(b"{}", TS)
    with pytest.raises(VerificationError, match="no signature of a supported version"):
        V1A.verify(v1_headers, b"{}", TS)


def test_an_endpoint_signs_so_it_refuses_a_verifying_key() -> None:
    from hooklab.model.endpoints import Endpoint

    with pytest.raises(InvalidSecret, match="whpk_"):
        Endpoint("ep", "https://example.com/hooks", (V1A.verify_key,))
    assert Endpoint("ep", "https://example.com/hooks", (V1A.sign_key,)).secrets
