"""Ground truth for the Stripe SDK receivers (Flask and Django, as Stripe's docs show).

``construct_event`` raises ``SignatureVerificationError`` or ``ValueError`` for most bad
input, which the samples answer 400, but (issue 11 §4) a well-formed header whose ``v1``
value holds a non-ASCII character reaches ``hmac.compare_digest(str, str)``: a
``TypeError``, so a 500. Stripe checks only timestamps that are too old.
"""

from __future__ import annotations

import time

import pytest

from .client import ReceiverClient, runs
from .deliveries import realistic, signed, stripe_header

STRIPE = ["stripe_flask", "stripe_django"]


def _valid(client: ReceiverClient, **kwargs: object):  # type: ignore[no-untyped-def]
    return realistic("stripe", client.receiver.secret, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "mode"), runs(STRIPE))
def test_stale_timestamp_is_rejected_with_400(client: ReceiverClient) -> None:
    delivery = _valid(client, timestamp=int(time.time()) - 361)
    assert client.post(delivery).status_code == 400
    assert client.processed(delivery.message_id) == 0


@pytest.mark.parametrize(("name", "mode"), runs(STRIPE))
def test_future_timestamp_is_accepted_because_stripe_checks_only_too_old(
        client: ReceiverClient) -> None:
    delivery = _valid(client, timestamp=int(time.time()) + 3600)
    assert client.post(delivery).status_code == 200
    assert client.processed(delivery.message_id) == 1


@pytest.mark.parametrize(("name", "mode"), runs(STRIPE))
@pytest.mark.parametrize("position", [0, 1, 2])
def test_rotated_v1_list_is_accepted_wherever_the_valid_one_stands(
        client: ReceiverClient, position: int) -> None:
    delivery = _valid(client)
    stamp = int(time.time())
    right = stripe_header(client.receiver.secret, stamp, delivery.body).split(",")[1]
    wrong = [stripe_header(f"whsec_rotatedAway{n}", stamp, delivery.body).split(",")[1]
             for n in range(2)]
    wrong.insert(position, right)
    rotated = delivery.with_header("Stripe-Signature", ",".join([f"t={stamp}", *wrong]))
    assert client.post(rotated).status_code == 200


@pytest.mark.parametrize(("name", "mode"), runs(STRIPE))
@pytest.mark.parametrize("field", ["v1", "t"])
def test_one_corrupted_field_non_ascii_crashes_only_in_v1(client: ReceiverClient,
                                                          field: str) -> None:
    """``t=<now>,v1=é…`` is a 500 (TypeError in compare_digest); ``t=é…`` is parsed inside
    the SDK's try and answered 400."""
    delivery = _valid(client)
    stamp, v1 = str(delivery.header("Stripe-Signature")).split(",")
    value = f"{stamp},v1=é{v1[4:]}" if field == "v1" else f"t=é{stamp[3:]},{v1}"
    status = client.post(delivery.with_header("Stripe-Signature",
                                              value.encode("latin-1"))).status_code
    assert status == (500 if field == "v1" else 400)
    assert client.processed(delivery.message_id) == 0


@pytest.mark.parametrize(("name", "mode"), runs(STRIPE))
@pytest.mark.parametrize("value", ["garbage", "t=abc,v1=00", "t=,v1=", "v1=00", "t=1"])
def test_malformed_signature_header_is_rejected_with_400(client: ReceiverClient,
                                                         value: str) -> None:
    assert client.post(_valid(client).with_header("Stripe-Signature", value)).status_code == 400


@pytest.mark.parametrize(("name", "mode"), runs(STRIPE))
@pytest.mark.parametrize("body", [b"[1]", b"1", b'"event"', b"null"])
def test_signed_json_that_is_not_an_object_crashes_the_sdk(client: ReceiverClient,
                                                           body: bytes) -> None:
    """Beyond today's checks: the SDK calls ``values.get`` on whatever JSON it parsed."""
    delivery = signed("stripe", body=body, secret=client.receiver.secret)
    assert client.post(delivery).status_code == 500
