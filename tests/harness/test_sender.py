"""The sender and its channels: outcome classification in-process and over loopback,
redirects not followed, the 64 KiB cap, Retry-After, retries on an injected clock."""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooklab.harness.clock import FakeClock
from hooklab.harness.flaky import FlakyReceiver
from hooklab.harness.receiver import ReferenceReceiver
from hooklab.harness.sender import Message, Sender, SyncSender, make_message
from hooklab.harness.server import LiveServer
from hooklab.harness.transport import (
    MAX_RESPONSE_BYTES,
    AppChannel,
    Channel,
    HttpChannel,
    Response,
    SimulatedChannel,
    classify_exception,
)
from hooklab.model.endpoints import Endpoint, SigningSecret
from hooklab.model.faults import ReceiverModel
from hooklab.model.outcomes import Outcome, OutcomeKind, classify
from hooklab.model.policy_config import policy_from_config
from hooklab.model.presets import get_policy
from hooklab.model.status import MemoryStatusStore, SqliteStatusStore

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000.0


def endpoint(url: str = "http://receiver.test/webhook", **kwargs) -> Endpoint:
    kwargs.setdefault("secrets", (SigningSecret(SECRET),))
    return Endpoint(kwargs.pop("id", "ep_1"), url, **kwargs)


MESSAGE = Message("msg_1", "invoice.paid", b'{"type":"invoice.paid"}')


async def echo_app(scope, receive, send):
    """Answers by path: /status/CODE, /big, /redirect, /retry-after/VALUE, /hang."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"text/plain")]
    body = b"ok"
    status = 200
    if path.startswith("/status/"):
        status = int(path.rsplit("/", 1)[1])
    elif path == "/big":
        body = b"x" * (3 * MAX_RESPONSE_BYTES)
    elif path == "/redirect":
        status, headers = 302, [(b"location", b"/status/200")]
    elif path.startswith("/retry-after/"):
        status = 429
        headers.append((b"retry-after", path.split("/", 2)[2].replace("_", " ").encode()))
    elif path == "/hang":
        while (await receive())["type"] != "http.disconnect":
            pass
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def post(channel: Channel, url: str, *, timeout: float = 5.0) -> Response:
    async def go():
        try:
            return await channel.post(url, {"webhook-id": "msg_1"}, b"{}", timeout=timeout)
        finally:
            await channel.aclose()
    return asyncio.run(go())


CODES = {
    OutcomeKind.SUCCESS: [200, 201, 204],
    OutcomeKind.REDIRECT: [301, 302, 307, 308],
    OutcomeKind.GONE: [410],
    OutcomeKind.THROTTLED: [429, 502, 503, 504],
    OutcomeKind.CLIENT_ERROR: [400, 401, 404, 422],
    OutcomeKind.SERVER_ERROR: [500, 501, 599],
}
CASES = [(code, kind) for kind, codes in CODES.items() for code in codes]


@pytest.mark.parametrize("code,kind", CASES)
def test_app_channel_classifies_every_status_class(code, kind):
    answer = post(AppChannel(echo_app), f"http://r.test/status/{code}")
    assert answer.outcome == Outcome(code) and answer.outcome.kind is kind


@pytest.fixture(scope="module")
def echo_server():
    with LiveServer(echo_app) as server:
        yield server.url


@pytest.mark.network
@pytest.mark.parametrize("code,kind", [(200, OutcomeKind.SUCCESS), (302, OutcomeKind.REDIRECT),
                                       (410, OutcomeKind.GONE), (503, OutcomeKind.THROTTLED),
                                       (404, OutcomeKind.CLIENT_ERROR),
                                       (500, OutcomeKind.SERVER_ERROR)])
def test_http_channel_classifies_status_classes_over_loopback(echo_server, code, kind):
    assert post(HttpChannel(), f"{echo_server}/status/{code}").outcome.kind is kind


@pytest.mark.network
def test_redirects_are_not_followed(echo_server):
    answer = post(HttpChannel(), f"{echo_server}/redirect")
    assert answer.outcome == Outcome(302)
    assert answer.headers["location"] == "/status/200"


@pytest.mark.network
def test_response_body_is_read_up_to_64_kib(echo_server):
    answer = post(HttpChannel(), f"{echo_server}/big")
    assert answer.outcome.kind is OutcomeKind.SUCCESS
    assert len(answer.body) == MAX_RESPONSE_BYTES == 65536
    assert answer.truncated
    small = post(HttpChannel(), f"{echo_server}/status/200")
    assert (small.body, small.truncated) == (b"ok", False)


@pytest.mark.network
def test_retry_after_is_read_as_seconds_or_http_date(echo_server):
    seconds = post(HttpChannel(), f"{echo_server}/retry-after/120")
    assert seconds.outcome == Outcome(429, None, 120.0)
    when = email.utils.formatdate(time.time() + 90, usegmt=True).replace(" ", "_")
    dated = post(HttpChannel(), f"{echo_server}/retry-after/{when}")
    assert dated.outcome.status_code == 429
    assert 80 <= dated.outcome.retry_after <= 91


@pytest.mark.network
def test_hanging_receiver_times_out_within_the_attempt_timeout(echo_server):
    started = time.monotonic()
    answer = post(HttpChannel(), f"{echo_server}/hang", timeout=0.2)
    assert answer.outcome == Outcome.transport("timeout")
    assert time.monotonic() - started < 3.0


@pytest.mark.network
def test_refused_connection_is_classified():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = post(HttpChannel(), f"http://127.0.0.1:{port}/")
    assert answer.outcome == Outcome.transport("connection_refused")


@pytest.mark.network
@pytest.mark.parametrize("fault,error", [("reset=1", "reset"), ("truncated=1", "reset"),
                                         ("down=0:100000", "reset")])
def test_connection_faults_of_a_real_server_are_transport_errors(fault, error):
    with LiveServer(FlakyReceiver(fault)) as server:
        answer = post(HttpChannel(), server.url + "/")
    assert answer.outcome == Outcome.transport(error)


@pytest.mark.network
def test_tls_failure_is_classified(echo_server):
    answer = post(HttpChannel(), echo_server.replace("http://", "https://") + "/status/200")
    assert answer.outcome == Outcome.transport("tls")


def test_transport_exceptions_map_to_error_kinds():
    def chained(outer: BaseException, inner: BaseException) -> BaseException:
        outer.__cause__ = inner
        return outer

    cases = {
        "dns": chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
        "connection_refused": chained(httpx.ConnectError("All connection attempts failed"),
                                      OSError("All connection attempts failed")),
        "reset": httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "timeout": httpx.ReadTimeout("timed out"),
        "tls": chained(httpx.ConnectError("x"), __import__("ssl").SSLError(1, "WRONG_VERSION")),
    }
    for error, exc in cases.items():
        assert classify_exception(exc) == Outcome.transport(error), error


def test_app_channel_turns_app_crashes_into_500_and_resets_into_reset():
    async def crash(scope, receive, send):
        raise KeyError("bug")

    async def reset(scope, receive, send):
        raise ConnectionResetError

    async def hang(scope, receive, send):
        await asyncio.sleep(3600)

    assert post(AppChannel(crash), "http://r.test/").outcome == Outcome(500)
    assert post(AppChannel(reset), "http://r.test/").outcome == Outcome.transport("reset")
    assert post(AppChannel(hang), "http://r.test/", timeout=0.05).outcome == Outcome.transport(
        "timeout")


def test_app_channel_runs_wsgi_apps():
    def wsgi(environ, start_response):
        start_response("503 Service Unavailable", [("Retry-After", "7")])
        return [environ["wsgi.input"].read()]

    channel = AppChannel(wsgi)
    assert channel.kind == "wsgi"
    answer = post(channel, "http://r.test/")
    assert (answer.outcome, answer.body) == (Outcome(503, None, 7.0), b"{}")


# -- the sender ------------------------------------------------------------------------------


class Recorder:
    """A channel that records what it is given and answers from a script."""

    def __init__(self, answers: list[Outcome], clock: FakeClock) -> None:
        self.answers, self.clock, self.calls = list(answers), clock, []

    async def post(self, url, headers, body, *, timeout):
        self.calls.append((url, dict(headers), body, timeout, self.clock.now()))
        outcome = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Response(outcome, b"nope" if outcome.kind is not OutcomeKind.SUCCESS else b"")

    async def aclose(self):
        pass


def deliver(sender: Sender, target: Endpoint, message: Message = MESSAGE, **kwargs):
    return asyncio.run(sender.deliver(target, message, **kwargs))


def test_six_attempt_diagram_schedule_runs_in_milliseconds_on_a_fake_clock():
    clock = FakeClock(NOW)
    channel = Recorder([classify(500)], clock)
    sender = Sender(channel, clock=clock, seed=0)
    started = time.monotonic()
    record = deliver(sender, endpoint())
    assert time.monotonic() - started < 2.0  # 31 minutes of backoff, no real waiting
    assert (record.status, record.attempts, record.reason) == ("failed", 6, "exhausted")
    assert clock.sleeps == list(get_policy("diagram").schedule()) == [60, 120, 240, 480, 960]
    assert [call[4] - NOW for call in channel.calls] == [0, 60, 180, 420, 900, 1860]


def test_every_attempt_keeps_the_message_id_and_is_signed_afresh():
    clock = FakeClock(NOW)
    channel = Recorder([classify(503), Outcome.transport("timeout"), classify(200)], clock)
    record = deliver(Sender(channel, clock=clock, seed=0), endpoint())
    assert (record.status, record.attempts) == ("delivered", 3)
    ids = {headers["webhook-id"] for _, headers, _, _, _ in channel.calls}
    stamps = [int(headers["webhook-timestamp"]) for _, headers, _, _, _ in channel.calls]
    assert ids == {"msg_1"}
    assert stamps == [int(NOW), int(NOW) + 60, int(NOW) + 180]
    assert {body for _, _, body, _, _ in channel.calls} == {MESSAGE.body}
    assert {timeout for *_, timeout, _ in channel.calls} == {15.0}  # the default timeout


def test_attempts_and_state_changes_are_recorded_in_the_status_store(tmp_path):
    clock = FakeClock(NOW)
    store = SqliteStatusStore(tmp_path / "status.sqlite")
    channel = Recorder([classify(502), Outcome.transport("reset"), classify(204)], clock)
    deliver(Sender(channel, clock=clock, store=store, seed=0), endpoint())
    attempts = store.attempts(message_id="msg_1")
    assert [(a.attempt, a.outcome, a.status_code, a.error) for a in attempts] == [
        (1, "throttled", 502, None), (2, "connection", 0, "reset"), (3, "success", 204, None)]
    assert [a.next_attempt_at for a in attempts] == [NOW + 60, NOW + 180, None]
    assert attempts[0].response_body == "nope"
    history = [change.target for change in store.history("msg_1", "ep_1")]
    assert history[-2:] == ["delivered", "end"]
    store.close()


def test_gone_stops_at_once_and_tells_the_caller():
    clock = FakeClock(NOW)
    gone = []
    sender = Sender(Recorder([classify(410)], clock), clock=clock, on_gone=gone.append)
    record = deliver(sender, endpoint())
    assert (record.status, record.attempts, record.reason) == ("failed", 1, "gone")
    assert [e.id for e in gone] == ["ep_1"] and clock.sleeps == []


def test_disabled_endpoint_gets_no_attempt_and_the_reason_is_kept():
    clock = FakeClock(NOW)
    channel = Recorder([classify(200)], clock)
    target = endpoint(enabled=False, disabled_reason="manual")
    record = deliver(Sender(channel, clock=clock), target)
    assert (record.status, record.attempts, record.reason) == ("failed", 0, "disabled: manual")
    assert channel.calls == []


def test_retry_after_lengthens_the_backoff_as_the_policy_says():
    clock = FakeClock(NOW)
    policy = policy_from_config({"delays": [10, 10], "retry_after": "max"})
    channel = Recorder([classify(429, 100.0), classify(503, 100.0), classify(200)], clock)
    record = deliver(Sender(channel, clock=clock, policy=policy), endpoint())
    assert record.status == "delivered"
    assert clock.sleeps == [100.0, 10.0]  # Hook0's max mode honours Retry-After on 429 only


def test_already_tracked_message_is_not_sent_twice():
    clock = FakeClock(NOW)
    channel = Recorder([classify(200)], clock)
    sender = Sender(channel, clock=clock)
    first, again = deliver(sender, endpoint()), deliver(sender, endpoint())
    assert first == again and len(channel.calls) == 1


def test_rotated_endpoint_signs_with_every_active_secret():
    clock = FakeClock(NOW)
    channel = Recorder([classify(200)], clock)
    new = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    target = endpoint().rotated(new, now=NOW, grace=60.0)
    deliver(Sender(channel, clock=clock), target)
    assert len(channel.calls[0][1]["webhook-signature"].split()) == 2


SCRIPT_STEPS = st.one_of(st.sampled_from([200, 204, 301, 400, 410, 429, 500, 503]),
                         st.sampled_from(["timeout", "reset", "connection_refused"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(SCRIPT_STEPS, min_size=1, max_size=8),
       max_attempts=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_attempts_never_exceed_policy_limit_and_every_delivery_ends(script, max_attempts, seed):
    clock = FakeClock(NOW)
    policy = policy_from_config({"preset": "svix", "max_attempts": max_attempts})
    model = ReceiverModel(script=tuple(script))
    channel = SimulatedChannel(model, clock=clock, seed=seed)
    store = MemoryStatusStore()
    record = deliver(Sender(channel, clock=clock, store=store, policy=policy, seed=seed),
                     endpoint())
    attempts = store.attempts(message_id="msg_1")
    assert 1 <= record.attempts == len(attempts) <= max_attempts
    assert record.status in ("delivered", "failed")
    kinds = [a.outcome for a in attempts]
    if record.status == "delivered":
        assert kinds[-1] == "success" and "success" not in kinds[:-1]
    else:
        assert "success" not in kinds
        assert record.reason == "gone" if kinds[-1] == "gone" else len(kinds) == max_attempts
    for a in attempts:
        if a.next_attempt_at is not None:
            low, high = policy.delay_bounds(a.attempt, Outcome(a.status_code, a.error))
            assert low <= a.next_attempt_at - a.end <= high


def test_same_seed_gives_the_same_attempt_records():
    def run_once():
        clock = FakeClock(NOW)
        model = ReceiverModel.parse("status=500:0.5 timeout=0.2")
        store = MemoryStatusStore()
        sender = Sender(SimulatedChannel(model, clock=clock, seed=7), clock=clock, store=store,
                        seed=7, policy=get_policy("svix"))
        asyncio.run(sender.deliver_many(endpoint(), [
            Message(f"msg_{i}", "a.b", b"{}") for i in range(20)], concurrency=1))
        return store.attempts()

    assert run_once() == run_once()


@pytest.mark.network
@pytest.mark.parametrize("scheme,secret", [("standard", SECRET),
                                           ("stripe", "whsec_stripe_like_text_secret"),
                                           ("github", "It's a Secret to Everybody")])
def test_real_sender_delivers_to_the_reference_receiver_over_loopback(scheme, secret):
    receiver = ReferenceReceiver(secret, scheme=scheme)
    receiver.on("*")(lambda event: None)
    with LiveServer(receiver) as server:
        target = endpoint(server.url + "/webhook", secrets=(SigningSecret(secret),),
                          scheme=scheme)
        message = make_message("invoice.paid", {"amount": 1}, message_id="msg_live")
        with SyncSender() as sender:
            record = sender.deliver(target, message)
            assert sender.store.attempts()[0].status_code == 200
        server.call(receiver.drain())
    assert (record.status, record.attempts) == ("delivered", 1)
    expected_id = "sha256:" if scheme == "stripe" else "msg_live"
    assert any(k.startswith(expected_id) for k in receiver.processed)


def test_sync_sender_works_inside_a_running_event_loop():
    async def notebook_cell():
        with SyncSender(SimulatedChannel(ReceiverModel())) as sender:
            return sender.deliver(endpoint(), MESSAGE).status

    assert asyncio.run(notebook_cell()) == "delivered"


def test_make_message_builds_a_json_body():
    message = make_message("invoice.paid", {"n": 1})
    assert message.id.startswith("msg_") and json.loads(message.body)["type"] == "invoice.paid"
