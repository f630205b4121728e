"""Every scheme, by the same rules: round trips, rotation, tampering, garbage, timestamps."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signing_cases import ALL_CASES, CASE_IDS, CASES, Case

from hooklab.model.errors import ConfigError, InvalidSecret, VerificationError
from hooklab.model.signing import FAR_FUTURE, SCHEMES, get_scheme

TS = 1_700_000_000


def test_timestamp_cases_cover_every_scheme_that_sends_one() -> None:
    assert sorted({c.scheme for c in TIMED}) == ["discord", "hubspot", "paddle", "sendgrid",
                                                 "slack", "standard", "stripe"]


def test_every_scheme_is_registered_under_its_name() -> None:
    assert list(SCHEMES) == ["standard", "stripe", "github", "shopify", "slack", "twilio",
                             "sendgrid", "square", "hubspot", "paddle", "linear", "discord"]
    assert all(get_scheme(name).name == name for name in SCHEMES)


def test_schemes_declare_the_provider_tolerance_and_direction() -> None:
    declared = {name: (s.tolerance, s.direction) for name, s in SCHEMES.items()}
    assert declared == {
        "standard": (300, "both"), "stripe": (300, "past"), "github": (None, "none"),
        "shopify": (None, "none"), "slack": (300, "both"), "twilio": (None, "none"),
        "sendgrid": (None, "none"), "square": (None, "none"), "hubspot": (300, "past"),
        "paddle": (5, "past"), "linear": (60, "both"), "discord": (None, "none"),
    }


def test_url_schemes_declare_their_inputs() -> None:
    assert {n: s.inputs for n, s in SCHEMES.items() if s.inputs} == {
        "twilio": ("url",), "square": ("url",), "hubspot": ("url", "method")}


@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_what_a_scheme_signs_it_verifies(case: Case) -> None:
    body = case.body(b'{"id": "evt_1"}', TS)
    got = case.verify(case.sign(body, TS, "msg_7"), body, TS)
    scheme = get_scheme(case.scheme)
    assert got == ("msg_7" if scheme.id_header else None)


@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_any_rotated_secret_verifies(case: Case) -> None:
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS, secrets=[case.other_sign_key, case.sign_key])
    for key in ([case.verify_key, case.other_verify_key] if case.rotates
                else [case.other_verify_key]):
        case.verify(headers, body, TS, secrets=[key])  # each signature is found
    case.verify(headers, body, TS, secrets=[case.verify_key, case.other_verify_key])
    if not case.rotates:  # one signature, by the first secret only
        with pytest.raises(VerificationError):
            case.verify(headers, body, TS, secrets=[case.verify_key])


@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_a_wrong_key_is_rejected(case: Case) -> None:
    body = case.body(b"{}", TS)
    with pytest.raises(VerificationError, match="no signature matches"):
        case.verify(case.sign(body, TS), body, TS, secrets=[case.other_verify_key])


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.extra], ids=lambda c: c.scheme)
def test_url_schemes_need_the_url_and_sign_it(case: Case) -> None:
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS)
    with pytest.raises(ConfigError, match="^url: the .* scheme signs the request URL"):
        get_scheme(case.scheme).verify(headers, body, secrets=[case.verify_key], now=TS)
    with pytest.raises(VerificationError, match="no signature matches"):
        case.verify(headers, body, TS, url="https://hooks.example.com/other")
    for bad in ("ftp://x/y", "/relative", "https://exa mple.com/", "https://x:99999/"):
        with pytest.raises(ConfigError) as info:
            case.verify(headers, body, TS, url=bad)
        assert info.value.field == "url"


# -- timestamps ------------------------------------------------------------------------------

DATED = [c for c in ALL_CASES if get_scheme(c.scheme).tolerance is not None]


@pytest.mark.parametrize("case", DATED, ids=lambda c: c.scheme)
def test_a_stale_timestamp_is_rejected_past_the_provider_tolerance(case: Case) -> None:
    tolerance = get_scheme(case.scheme).tolerance or 0
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS)
    case.verify(headers, body, TS + tolerance)
    with pytest.raises(VerificationError, match="too old"):
        case.verify(headers, body, TS + tolerance + 1)
    case.verify(headers, body, TS + 3600, tolerance=3600)  # a tolerance overrides it


@pytest.mark.parametrize("case", DATED, ids=lambda c: c.scheme)
def test_a_future_timestamp_is_rejected_in_the_provider_direction(case: Case) -> None:
    scheme = get_scheme(case.scheme)
    tolerance = scheme.tolerance or 0
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS)
    case.verify(headers, body, TS - tolerance)
    if scheme.direction == "both":
        with pytest.raises(VerificationError, match="too new"):
            case.verify(headers, body, TS - tolerance - 1)
    else:  # past only: a little ahead passes, the far future does not
        case.verify(headers, body, TS - tolerance - 3600)
        with pytest.raises(VerificationError, match="too new"):
            case.verify(headers, body, TS - FAR_FUTURE - 1)


UNDATED_WITH_TIME = [CASES["sendgrid"], CASES["discord"]]


@pytest.mark.parametrize("case", UNDATED_WITH_TIME, ids=lambda c: c.scheme)
def test_a_signed_timestamp_the_provider_ignores_is_checked_only_when_asked(case: Case) -> None:
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS)
    case.verify(headers, body, TS + 10**8)  # the provider's SDK checks nothing
    with pytest.raises(VerificationError, match="too old"):
        case.verify(headers, body, TS + 301, tolerance=300)
    with pytest.raises(VerificationError, match="too new"):
        case.verify(headers, body, TS - 301, tolerance=300)


def test_millisecond_schemes_say_so_when_a_timestamp_in_seconds_arrives() -> None:
    import base64
    import hashlib
    import hmac

    case = CASES["hubspot"]  # a sender that signs seconds where HubSpot sends milliseconds
    signed = f"POST{case.extra['url']}{{}}{TS}".encode()
    digest = hmac.new(case.sign_key.encode(), signed, hashlib.sha256).digest()
    headers = {"X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
               "X-HubSpot-Request-Timestamp": str(TS)}
    with pytest.raises(VerificationError, match="too old.*in milliseconds"):
        case.verify(headers, b"{}", TS)  # it verifies, and reads as January 1970


TIMED = [c for c in ALL_CASES if str(TS) in "".join(c.sign(c.body(b"", TS), TS).values())]


@pytest.mark.parametrize("case", TIMED, ids=lambda c: c.scheme)
@pytest.mark.parametrize("stamp", ["NaN", "1.5e9", "+1700000000", "01700000000", "1700000000.0",
                                   "-1", "", "9" * 17, "１７００"])
def test_a_timestamp_that_is_not_a_canonical_integer_is_rejected(case: Case, stamp: str) -> None:
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS)
    changed = {name: value.replace(str(TS), stamp) for name, value in headers.items()}
    with pytest.raises(VerificationError):
        case.verify(changed, body, TS)


@pytest.mark.parametrize("timestamp", [b"NaN", b"1.7e12", b'"1700000000000"', b"true", b"-1",
                                       b"null", b"1700000000000.0", b"Infinity", b"9" * 5000])
def test_linear_refuses_a_body_timestamp_that_is_not_an_integer(timestamp: bytes) -> None:
    case = CASES["linear"]
    body = b'{"webhookTimestamp": %s}' % timestamp
    import hashlib
    import hmac

    headers = {"Linear-Signature": hmac.new(case.sign_key.encode(), body,
                                            hashlib.sha256).hexdigest()}
    with pytest.raises(VerificationError, match="webhookTimestamp|JSON"):
        case.verify(headers, body, TS)
    with pytest.raises(ConfigError, match="linear dates the body itself"):
        case.sign(body, TS)


def test_linear_refuses_a_repeated_body_timestamp() -> None:
    body = b'{"webhookTimestamp": 1700000000000, "webhookTimestamp": 1}'
    with pytest.raises(ConfigError, match="more than once"):
        CASES["linear"].sign(body, TS)


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_generated_keys_sign_and_verify_and_repeat_with_the_seed(case: Case) -> None:
    import random

    scheme = get_scheme(case.scheme)
    keys = scheme.generate_keys(random.Random(5))
    assert keys == scheme.generate_keys(random.Random(5))
    assert keys != scheme.generate_keys(random.Random(6))
    sign_key = keys.get("signing key", keys.get("secret"))
    verify_key = keys.get("verifying key", keys.get("secret"))
    assert sign_key and verify_key
    scheme.check_secret(sign_key, "sign")
    body = case.body(b"{}", TS)
    headers = case.sign(body, TS, secrets=[sign_key])
    case.verify(headers, body, TS, secrets=[verify_key])


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.sign_key != c.verify_key],
                         ids=lambda c: c.scheme)
def test_a_verifying_key_cannot_sign(case: Case) -> None:
    with pytest.raises(InvalidSecret, match="verif"):
        case.sign(b"{}", TS, secrets=[case.verify_key])
    get_scheme(case.scheme).check_secret(case.verify_key, "verify")
    get_scheme(case.scheme).check_secret(case.sign_key, "verify")  # a private key verifies too


# -- properties ------------------------------------------------------------------------------

visible = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_id=visible, timestamp=st.integers(0, 2**40), raw=st.binary(max_size=100),
       data=st.data())
@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_any_changed_byte_of_a_signed_part_is_rejected(
    case: Case, message_id: str, timestamp: int, raw: bytes, data: st.DataObject
) -> None:
    body = case.body(raw, timestamp)
    headers = case.sign(body, timestamp, message_id)
    part = data.draw(st.sampled_from([*case.signature_headers, "body"]), label="part")
    original = body if part == "body" else headers[part].encode("latin-1")
    if not original:
        return
    index = data.draw(st.integers(0, len(original) - 1), label="index")
    changed = bytearray(original)
    changed[index] ^= data.draw(st.integers(1, 255), label="xor")
    if part == "body":
        body = bytes(changed)
    else:
        headers = {**headers, part: changed.decode("latin-1")}
    with pytest.raises(VerificationError):
        case.verify(headers, body, timestamp)


def _header_names(case: Case) -> st.SearchStrategy[str]:
    names = [*case.signature_headers, *(n.upper() for n in case.signature_headers),
             "webhook-id", "x", "content-type"]
    return st.sampled_from(names)


header_values = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60),
    st.builds(lambda p, t: p + t,
              st.sampled_from(["v1,", "v1a,", "t=", "ts=1;h1=", "sha256=", "v0=", "v1=",
                               "a" * 128]),
              st.text(max_size=60)),
    st.integers(0, 2**70).map(str),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), body=st.binary(max_size=50), now=st.floats(0, 2**40))
@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_garbage_headers_only_raise_verification_error(
    case: Case, data: st.DataObject, body: bytes, now: float
) -> None:
    headers = data.draw(st.dictionaries(_header_names(case), header_values, max_size=6))
    with pytest.raises(VerificationError):
        case.verify(headers, body, now)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), raw=st.binary(max_size=60), timestamp=st.integers(0, 2**40))
@pytest.mark.parametrize("case", ALL_CASES, ids=CASE_IDS)
def test_a_signed_message_verifies_anywhere_within_the_tolerance(
    case: Case, data: st.DataObject, raw: bytes, timestamp: int
) -> None:
    scheme = get_scheme(case.scheme)
    tolerance = scheme.tolerance if scheme.tolerance is not None else 10**9
    skew = data.draw(st.floats(-tolerance, tolerance), label="skew")
    body = case.body(raw, timestamp)
    got = case.verify(case.sign(body, timestamp, "msg_x"), body, timestamp + skew)
    assert got == ("msg_x" if scheme.id_header else None)
