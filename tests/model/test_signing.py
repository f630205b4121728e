"""Payload signing: reference vectors, secrets, verification rules and their properties."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.model.errors import ConfigError, InvalidSecret, UnknownScheme, VerificationError
from hooklab.model.signing import (
    MAX_HEADER_CHARS,
    check_secret,
    generate_message_id,
    generate_secret,
    get_scheme,
    sign_headers,
    verify,
)

# Reference vectors from webhook-facts.md.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
STRIPE_SECRET = "whsec_test_secret_for_stripe"
SECRET_OF = {"standard": SW_SECRET, "stripe": STRIPE_SECRET, "github": GH_SECRET}
OTHER_SECRET = {
    "standard": "whsec_" + base64.b64encode(bytes(range(32))).decode(),
    "stripe": "whsec_another_stripe_secret",
    "github": "another GitHub secret",
}


def _vector_headers() -> dict[str, str]:
    return {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": SW_SIGNATURE}


def _signed(scheme: str, body: bytes = SW_BODY, secrets: object = None) -> dict[str, str]:
    secrets = [SECRET_OF[scheme]] if secrets is None else secrets
    return get_scheme(scheme).sign(
        message_id=SW_ID,
        timestamp=SW_TS,
        body=body,
        secrets=secrets,  # type: ignore[arg-type]
    )


def _verify(scheme: str, headers: object, body: bytes = SW_BODY, **kw: object) -> str:
    kw.setdefault("secrets", [SECRET_OF[scheme]])
    kw.setdefault("now", SW_TS)
    return get_scheme(scheme).verify(headers, body, **kw)  # type: ignore[arg-type]


# -- reference vectors -------------------------------------------------------------------


def test_standard_vector_signs_to_the_published_signature() -> None:
    assert _signed("standard") == _vector_headers()


def test_standard_vector_verifies_and_returns_the_message_id() -> None:
    assert verify(_vector_headers(), SW_BODY, secrets=[SW_SECRET], now=SW_TS) == SW_ID


def test_github_vector_signs_and_verifies() -> None:
    headers = sign_headers(
        GH_BODY, message_id="d1", timestamp=0, secrets=[GH_SECRET], scheme="github"
    )
    assert headers == {"X-GitHub-Delivery": "d1", "X-Hub-Signature-256": GH_SIGNATURE}
    assert _verify("github", {"x-hub-signature-256": GH_SIGNATURE}, GH_BODY) is None
    assert _verify("github", headers, GH_BODY, now=10**9) == "d1"  # no timestamp: no expiry


def test_stripe_signs_t_dot_body_with_the_secret_text_as_key() -> None:
    import hashlib
    import hmac

    digest = hmac.new(STRIPE_SECRET.encode(), b"%d.%s" % (SW_TS, SW_BODY), hashlib.sha256)
    assert _signed("stripe") == {"Stripe-Signature": f"t={SW_TS},v1={digest.hexdigest()}"}
    assert _verify("stripe", _signed("stripe")) is None


# -- schemes and secrets -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["svix", "", "Standard", None])
def test_unknown_scheme_names_the_valid_ones(name: object) -> None:
    with pytest.raises(UnknownScheme, match="standard, stripe, github") as info:
        get_scheme(name)  # type: ignore[arg-type]
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_standard_secret_sizes_within_bounds_are_accepted(nbytes: int) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * nbytes).decode()
    assert check_secret(secret) == secret


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "23 bytes"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "65 bytes"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "not valid base64"),  # bad padding
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w", "not valid base64"),  # urlsafe alphabet
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSé", "not valid base64"),
        ("whsec_", "0 bytes"),
        (b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must be a string"),
    ],
)
def test_malformed_standard_secret_is_rejected_naming_the_problem(
    secret: str, problem: str
) -> None:
    with pytest.raises(InvalidSecret, match=problem):
        check_secret(secret)


@pytest.mark.parametrize("scheme", ["stripe", "github"])
@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("short", "5 characters"),
        ("x" * 1025, "1025 characters"),
        (" padded secret ", "whitespace"),
        ("tab\tsecret", "control"),
    ],
)
def test_malformed_text_secret_is_rejected(scheme: str, secret: str, problem: str) -> None:
    with pytest.raises(InvalidSecret, match=problem):
        check_secret(secret, scheme)


def test_stripe_key_is_not_base64_decoded() -> None:
    # "whsec_" + base64 is a fine Stripe secret, but the two schemes must derive different keys.
    assert check_secret(SW_SECRET, "stripe") == SW_SECRET
    assert _signed("stripe", secrets=[SW_SECRET]) != _signed("stripe", secrets=[STRIPE_SECRET])
    digest = _signed("standard")["webhook-signature"]
    with pytest.raises(VerificationError):
        _verify("stripe", {"Stripe-Signature": f"t={SW_TS},v1={digest}"}, secrets=[SW_SECRET])


def test_generated_secret_is_valid_and_reproducible() -> None:
    first = generate_secret(random.Random(7), 32)
    assert first == generate_secret(random.Random(7), 32)
    assert first != generate_secret(random.Random(8), 32)
    assert check_secret(first) == first
    assert len(base64.b64decode(first[6:])) == 32
    for bad in (23, 65, True):
        with pytest.raises(InvalidSecret):
            generate_secret(random.Random(7), bad)


def test_generated_message_id_is_reproducible() -> None:
    assert generate_message_id(random.Random(1)) == generate_message_id(random.Random(1))
    assert generate_message_id(random.Random(1)).startswith("msg_")


@pytest.mark.parametrize("secrets", [[], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
def test_sign_needs_a_list_of_secrets(secrets: object) -> None:
    with pytest.raises(InvalidSecret, match="non-empty list"):
        _signed("standard", secrets=secrets)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message_id", "timestamp"),
    [("", 1), ("has space", 1), ("msg\n", 1), ("m", -1), ("m", 1.5), ("m", 10**16)],
)
def test_sign_rejects_a_bad_message_id_or_timestamp(message_id: str, timestamp: int) -> None:
    with pytest.raises(ConfigError):
        sign_headers(b"", message_id=message_id, timestamp=timestamp, secrets=[SW_SECRET])


# -- verification rules ---------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "ok"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_standard_rejects_stale_and_future_timestamps(offset: int, ok: bool) -> None:
    if ok:
        assert _verify("standard", _vector_headers(), now=SW_TS + offset) == SW_ID
    else:
        word = "too old" if offset > 0 else "too new"
        with pytest.raises(VerificationError, match=word):
            _verify("standard", _vector_headers(), now=SW_TS + offset)


def test_tolerance_is_configurable() -> None:
    assert _verify("standard", _vector_headers(), now=SW_TS + 3000, tolerance=3600) == SW_ID
    with pytest.raises(VerificationError, match="too old"):
        _verify("standard", _vector_headers(), now=SW_TS + 11, tolerance=10)
    with pytest.raises(ConfigError):
        _verify("standard", _vector_headers(), tolerance=-1)


def test_stripe_rejects_only_stale_timestamps() -> None:
    headers = _signed("stripe")
    assert _verify("stripe", headers, now=SW_TS - 10_000) is None
    with pytest.raises(VerificationError, match="too old"):
        _verify("stripe", headers, now=SW_TS + 301)


@pytest.mark.parametrize(
    "timestamp",
    [
        "1614265330.9",
        "+1614265330",
        " 1614265330",
        "1614265330 ",
        "01614265330",
        "-1",
        "1e9",
        "",
        "0x60",
        "1614265330\n",
        "１６１４２６５３３０",
        "9" * 5000,
    ],
)
def test_non_canonical_timestamp_is_rejected(timestamp: str) -> None:
    with pytest.raises(VerificationError):
        _verify("standard", {**_vector_headers(), "webhook-timestamp": timestamp})
    header = _signed("stripe")["Stripe-Signature"].replace(str(SW_TS), timestamp)
    with pytest.raises(VerificationError):
        _verify("stripe", {"Stripe-Signature": header})


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(missing: str) -> None:
    headers = _vector_headers()
    del headers[missing]
    with pytest.raises(VerificationError, match=f"missing {missing} header"):
        _verify("standard", headers)


def test_headers_match_case_insensitively_and_svix_prefix_is_accepted() -> None:
    upper = {name.upper(): value for name, value in _vector_headers().items()}
    assert _verify("standard", upper) == SW_ID
    svix = {name.replace("webhook", "Svix"): value for name, value in _vector_headers().items()}
    assert _verify("standard", svix) == SW_ID
    as_bytes = {name.encode(): value.encode() for name, value in _vector_headers().items()}
    assert _verify("standard", as_bytes) == SW_ID


def test_the_same_header_twice_is_rejected() -> None:
    with pytest.raises(VerificationError, match="more than once"):
        _verify("standard", {**_vector_headers(), "Webhook-Id": SW_ID})


def test_wrong_secret_body_or_id_is_rejected() -> None:
    with pytest.raises(VerificationError, match="no signature matches"):
        _verify("standard", _vector_headers(), secrets=[OTHER_SECRET["standard"]])
    with pytest.raises(VerificationError, match="no signature matches"):
        _verify("standard", _vector_headers(), body=b'{"test":2432232314}')  # re-serialized
    with pytest.raises(VerificationError, match="no signature matches"):
        _verify("standard", {**_vector_headers(), "webhook-id": "msg_other"})


def test_signatures_of_other_versions_are_ignored() -> None:
    headers = {**_vector_headers(), "webhook-signature": "v1a,abc v2," + SW_SIGNATURE[3:]}
    with pytest.raises(VerificationError, match="no signature of a supported version"):
        _verify("standard", headers)


def test_non_utf8_body_is_signed_as_raw_bytes() -> None:
    body = b"\xff\xfe\x00binary"
    for scheme in SECRET_OF:
        assert _verify(scheme, _signed(scheme, body), body) in (SW_ID, None)
        with pytest.raises(VerificationError):
            _verify(scheme, _signed(scheme, body), body[:-1])


def test_body_must_be_bytes_not_a_decoded_string() -> None:
    with pytest.raises(TypeError, match="raw bytes"):
        _verify("standard", _vector_headers(), body=SW_BODY.decode())  # type: ignore[arg-type]


def test_oversized_or_non_ascii_headers_are_rejected() -> None:
    huge = SW_SIGNATURE + " v1," + "A" * MAX_HEADER_CHARS
    with pytest.raises(VerificationError, match="longer than"):
        _verify("standard", {**_vector_headers(), "webhook-signature": huge})
    with pytest.raises(VerificationError, match="not ASCII"):
        _verify("standard", {**_vector_headers(), "webhook-id": "msg_é"})
    with pytest.raises(VerificationError, match="not ASCII"):
        _verify("standard", {**_vector_headers(), "webhook-id": b"msg_\xff"})
    with pytest.raises(VerificationError, match="not ASCII"):
        _verify("standard", {**_vector_headers(), "webhook-id": "msg_\udcff"})


# -- rotation --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["standard", "stripe"])
def test_signing_with_several_secrets_gives_one_signature_each(scheme: str) -> None:
    both = [OTHER_SECRET[scheme], SECRET_OF[scheme]]
    headers = _signed(scheme, secrets=both)
    for secret in both:
        assert _verify(scheme, headers, secrets=[secret]) in (SW_ID, None)


def test_github_signs_with_the_first_secret_and_verifies_with_any() -> None:
    headers = _signed("github", secrets=[GH_SECRET, OTHER_SECRET["github"]])
    assert _verify("github", headers, secrets=[GH_SECRET]) == SW_ID
    assert _verify("github", headers, secrets=[OTHER_SECRET["github"], GH_SECRET]) == SW_ID
    with pytest.raises(VerificationError):
        _verify("github", headers, secrets=[OTHER_SECRET["github"]])


@settings(max_examples=60)
@given(
    others=st.lists(
        st.sampled_from(
            ["v1,AAAA", "v1,", "v1a,xyz", "garbage", "v2,abc=", "v1," + "B" * 43 + "="]
        ),
        max_size=5,
    ),
    position=st.integers(min_value=0, max_value=5),
)
def test_valid_signature_verifies_in_any_position(others: list[str], position: int) -> None:
    tokens = list(others)
    tokens.insert(min(position, len(tokens)), SW_SIGNATURE)
    assert (
        _verify("standard", {**_vector_headers(), "webhook-signature": " ".join(tokens)}) == SW_ID
    )
