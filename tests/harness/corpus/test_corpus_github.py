"""Ground truth for the GitHub receivers: GitHub's documented check on FastAPI and aiohttp,
and Octokit's middleware in Express.

GitHub's sample compares with ``hmac.compare_digest(str, str)``, which raises ``TypeError``
for a non-ASCII header (issue 11 §4): a 500. Octokit compares Buffers and answers 400, and
refuses a delivery without ``X-GitHub-Event``. GitHub signs only the body: the
``X-GitHub-Delivery`` id can be changed without breaking the signature.
"""

from __future__ import annotations

import pytest

from .client import ReceiverClient, runs
from .deliveries import realistic

GITHUB = ["github_fastapi", "github_aiohttp", "octokit_express"]
ACCEPTED = {"github_fastapi": 202, "github_aiohttp": 202, "octokit_express": 200}


@pytest.mark.parametrize(("name", "mode"), runs(GITHUB))
@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_non_ascii_signature_crashes_compare_digest_but_not_octokit(
        client: ReceiverClient, name: str, encoding: str) -> None:
    delivery = realistic("github", client.receiver.secret)
    signature = str(delivery.header("X-Hub-Signature-256"))
    value = ("sha256=é" + signature[8:]).encode(encoding)
    status = client.post(delivery.with_header("X-Hub-Signature-256", value)).status_code
    assert status == (400 if name == "octokit_express" else 500)
    assert client.processed(delivery.message_id) == 0


@pytest.mark.parametrize(("name", "mode"), runs(GITHUB))
@pytest.mark.parametrize("value", ["garbage", "sha256=", "sha1=" + "0" * 40, "sha256=zz"])
def test_ascii_garbage_signature_gets_the_documented_rejection(
        client: ReceiverClient, value: str) -> None:
    delivery = realistic("github", client.receiver.secret).with_header(
        "X-Hub-Signature-256", value)
    assert client.post(delivery).status_code == client.receiver.bad_signature_status


@pytest.mark.parametrize(("name", "mode"), runs(GITHUB))
def test_delivery_without_event_header_is_refused_by_octokit_only(
        client: ReceiverClient, name: str) -> None:
    delivery = realistic("github", client.receiver.secret).with_header("X-GitHub-Event")
    expected = 400 if name == "octokit_express" else ACCEPTED[name]
    assert client.post(delivery).status_code == expected


@pytest.mark.parametrize(("name", "mode"), runs(GITHUB))
def test_replay_with_a_new_delivery_id_is_accepted_and_processed_again(
        client: ReceiverClient, name: str) -> None:
    """The unsigned id header: same body and signature, new ``X-GitHub-Delivery``."""
    first = realistic("github", client.receiver.secret)
    replay = realistic("github", client.receiver.secret, body=first.body)
    assert replay.header("X-Hub-Signature-256") == first.header("X-Hub-Signature-256")
    assert client.post(first).status_code == ACCEPTED[name]
    assert client.post(replay).status_code == ACCEPTED[name]
    assert (client.processed(first.message_id), client.processed(replay.message_id)) == (1, 1)
