"""Ground truth for the Standard Webhooks receivers: the Python library (FastAPI), Svix's
wrapper of it (Flask) and the npm library (Express).

The Python library raises ``ValueError``/``binascii.Error`` on a ``webhook-signature``
entry without a comma or with bad base64 (issue 11 §4: ``garbage``, ``v1 ,x``), and the
documented samples catch only ``WebhookVerificationError``: a 500. The npm library skips
such entries and answers "no matching signature": a 400.
"""

from __future__ import annotations

import time

import pytest

from .client import ReceiverClient, runs
from .deliveries import realistic, standard_signature, wrong_standard_secret

STANDARD = ["standardwebhooks_fastapi", "svix_flask", "standardwebhooks_express"]
PYTHON = {"standardwebhooks_fastapi", "svix_flask"}
ACCEPTED = {"standardwebhooks_fastapi": 204, "svix_flask": 204, "standardwebhooks_express": 200}


def _valid(client: ReceiverClient, **kwargs: object):  # type: ignore[no-untyped-def]
    return realistic("standard", client.receiver.secret, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "mode"), runs(STANDARD))
@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp"])
def test_missing_signed_header_is_rejected_with_400(client: ReceiverClient,
                                                    header: str) -> None:
    assert client.post(_valid(client).with_header(header)).status_code == 400


@pytest.mark.parametrize(("name", "mode"), runs(STANDARD))
@pytest.mark.parametrize("offset", [-361, 361, 10 * 365 * 86400])
def test_timestamp_outside_five_minutes_either_way_is_rejected_with_400(
        client: ReceiverClient, offset: int) -> None:
    delivery = _valid(client, timestamp=int(time.time()) + offset)
    assert client.post(delivery).status_code == 400
    assert client.processed(delivery.message_id) == 0


@pytest.mark.parametrize(("name", "mode"), runs(STANDARD))
@pytest.mark.parametrize("value", ["abc", "NaN", ""])
def test_unreadable_timestamp_is_rejected_with_400(client: ReceiverClient, value: str) -> None:
    assert client.post(_valid(client).with_header("webhook-timestamp", value)).status_code == 400


@pytest.mark.parametrize(("name", "mode"), runs(STANDARD))
@pytest.mark.parametrize("position", [0, 1, 3])
def test_rotated_signature_list_is_accepted_wherever_the_valid_one_stands(
        client: ReceiverClient, name: str, position: int) -> None:
    delivery = _valid(client)
    stamp = int(str(delivery.header("webhook-timestamp")))
    entries = [standard_signature(wrong_standard_secret()[:-4] + f"{n:02d}==", delivery.message_id,
                                  stamp, delivery.body) for n in range(3)]
    entries.insert(position, str(delivery.header("webhook-signature")))
    rotated = delivery.with_header("webhook-signature", " ".join(entries))
    assert client.post(rotated).status_code == ACCEPTED[name]


@pytest.mark.parametrize(("name", "mode"), runs(STANDARD))
@pytest.mark.parametrize(("value", "python_status"), [
    ("garbage", 500), ("v1 ,x", 500), ("v1,x", 500), ("v2", 500), ("v1,", 400)])
def test_malformed_signature_list_crashes_the_python_library_only(
        client: ReceiverClient, name: str, value: str, python_status: int) -> None:
    """No comma (``garbage``, ``v2``, ``v1 ,x``) or bad padding (``v1,x``) is a 500 from the
    Python library; an empty signature (``v1,``) decodes to nothing and is a 400."""
    status = client.post(_valid(client).with_header("webhook-signature", value)).status_code
    assert status == (python_status if name in PYTHON else 400)


@pytest.mark.parametrize(("name", "mode"), runs(STANDARD))
@pytest.mark.parametrize(("corrupt", "python_status"), [("!", 500), ("é", 500), ("==", 400)])
def test_one_corrupted_character_in_a_well_formed_signature(
        client: ReceiverClient, name: str, corrupt: str, python_status: int) -> None:
    """``v1,<base64>`` with one character replaced by one outside base64 (``!``, ``é``):
    the Python library's lenient ``b64decode`` drops it and fails on the padding (500).
    Padding in the middle (``==``) decodes to a short digest (400). The npm library
    compares the text (400)."""
    delivery = _valid(client)
    signature = str(delivery.header("webhook-signature"))
    value = (signature[:10] + corrupt + signature[11:]).encode("utf-8")
    status = client.post(delivery.with_header("webhook-signature", value)).status_code
    assert status == (python_status if name in PYTHON else 400)
    assert client.processed(delivery.message_id) == 0


@pytest.mark.parametrize(("name", "mode"), runs(["svix_flask"]))
def test_svix_library_also_reads_svix_branded_headers(client: ReceiverClient) -> None:
    delivery = _valid(client, svix_headers=True)
    assert client.post(delivery).status_code == 204
    assert client.processed(delivery.message_id) == 1
