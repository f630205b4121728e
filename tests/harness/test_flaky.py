"""The flaky receiver: each fault of the model carried out, signatures recorded but not
enforced, and the request log written and read back (JSON Lines and SQLite)."""

from __future__ import annotations

import asyncio
import json

import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.flaky import FlakyReceiver
from hooklab.harness.request_log import (
    MemoryRequestLog,
    RequestRecord,
    as_attempt_records,
    open_request_log,
    read_request_log,
)
from hooklab.harness.server import LiveServer
from hooklab.harness.transport import AppChannel, HttpChannel, Response
from hooklab.model.errors import ConfigError, ScenarioError, StoreError
from hooklab.model.faults import ReceiverModel
from hooklab.model.outcomes import Outcome
from hooklab.model.signing import sign_headers
from hooklab.model.status import SqliteStatusStore

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000.0


def headers_for(message_id: str, *, secret: str = SECRET, timestamp: float = NOW) -> dict:
    return sign_headers(b"{}", message_id=message_id, timestamp=int(timestamp),
                        secrets=[secret])


def send(flaky: FlakyReceiver, ids: list[str], *, timeout: float = 2.0,
         headers: dict | None = None) -> list[Response]:
    """POST one request per id, in order, through an in-process channel."""
    async def go():
        channel = AppChannel(flaky)
        try:
            return [await channel.post("http://flaky.test/hook", headers or headers_for(i),
                                       b"{}", timeout=timeout) for i in ids]
        finally:
            await channel.aclose()
    return asyncio.run(go())


def labels(responses: list[Response]) -> list[str]:
    return [r.outcome.label for r in responses]


@pytest.mark.parametrize(
    "faults,expected",
    [
        ("status=503:1:30", Outcome(503, None, 30.0)),
        ("status=429:1:7", Outcome(429, None, 7.0)),
        ("gone=0", Outcome(410)),
        ("unauthorized=0:100", Outcome(401)),
        ("timeout=1", Outcome.transport("timeout")),
        ("reset=1", Outcome.transport("reset")),
        ("truncated=1", Outcome.transport("reset")),
        ("down=0:100", Outcome.transport("connection_refused")),
    ],
)
def test_each_fault_gives_the_answer_the_model_decides(faults, expected):
    flaky = FlakyReceiver(faults, secrets=SECRET, clock=FakeClock(NOW), seed=1)
    (response,) = send(flaky, ["msg_1"], timeout=0.5)
    assert response.outcome == expected
    (record,) = flaky.records()
    assert record.outcome == expected
    assert record.signature_valid is True


def test_script_applies_to_each_messages_attempts_in_turn():
    flaky = FlakyReceiver("script=500,timeout,503,200", clock=FakeClock(NOW))
    responses = send(flaky, ["a", "b", "a", "a", "b", "a", "a"], timeout=0.3)
    assert labels(responses) == ["500", "500", "timeout", "503", "timeout", "200", "200"]
    assert [(r.message_id, r.attempt) for r in flaky.records()] == [
        ("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("a", 4), ("a", 5)]


def test_status_mix_follows_the_seed():
    def answers(seed):
        flaky = FlakyReceiver("status=500:0.4 status=503:0.2", seed=seed, clock=FakeClock())
        return labels(send(flaky, [f"m{i}" for i in range(40)]))

    first = answers(7)
    assert first == answers(7)
    assert {"500", "503", "200"} <= set(first)
    assert first != answers(8)


def test_down_and_gone_windows_count_from_the_receivers_start():
    clock = FakeClock(NOW)
    flaky = FlakyReceiver("down=10:20 gone=30", clock=clock)
    seen = []
    for at in (5, 15, 25, 35):
        clock.advance(at - (clock.now() - NOW))
        seen += labels(send(flaky, [f"m{at}"]))
    assert seen == ["200", "connection_refused", "200", "410"]


def test_latency_is_waited_on_the_receivers_clock():
    clock = FakeClock(NOW)
    flaky = FlakyReceiver("latency=2.5", clock=clock)
    assert labels(send(flaky, ["m"])) == ["200"]
    assert clock.sleeps == [2.5]
    assert flaky.records()[0].latency == 2.5


def test_capacity_overflow_answers_503_while_full():
    clock = FakeClock(NOW)
    flaky = FlakyReceiver("capacity=1:503:9 latency=1", clock=clock)

    async def concurrently():
        channel = AppChannel(flaky)
        results = await asyncio.gather(*(
            channel.post("http://f/", headers_for(f"m{i}"), b"{}", timeout=5) for i in range(3)))
        await channel.aclose()
        return results

    outcomes = sorted(r.outcome.label for r in asyncio.run(concurrently()))
    assert outcomes == ["200", "503", "503"]
    assert {r.retry_after for r in flaky.records() if r.status == 503} == {9.0}


def test_bad_signatures_are_recorded_but_faults_still_apply():
    flaky = FlakyReceiver("status=500:1", secrets=SECRET, clock=FakeClock(NOW))
    forged = headers_for("msg_1", secret="whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    (response,) = send(flaky, ["msg_1"], headers=forged)
    assert response.outcome == Outcome(500)
    (record,) = flaky.records()
    assert record.signature_valid is False and "no signature matches" in record.signature_error
    assert record.headers["webhook-id"] == "msg_1"


def test_reject_invalid_answers_401_to_bad_signatures():
    flaky = FlakyReceiver(secrets=SECRET, clock=FakeClock(NOW), reject_invalid=True)
    assert labels(send(flaky, ["m"], headers={"webhook-id": "m"})) == ["401"]
    assert labels(send(flaky, ["m"])) == ["200"]


def test_signatures_are_not_checked_without_secrets():
    flaky = FlakyReceiver(clock=FakeClock(NOW))
    send(flaky, ["m"], headers={"x": "y"})
    (record,) = flaky.records()
    assert record.signature_valid is None and record.message_id.startswith("body:")


@pytest.mark.parametrize("suffix", [".jsonl", ".sqlite"])
def test_request_log_round_trips_through_its_file(tmp_path, suffix):
    path = tmp_path / f"requests{suffix}"
    flaky = FlakyReceiver("script=503,timeout,200", secrets=SECRET, clock=FakeClock(NOW),
                          log=path)
    send(flaky, ["m1", "m1", "m1"], timeout=0.3)
    written = flaky.records()
    flaky.close()
    read = read_request_log(path)
    assert read == written
    assert [(r.attempt, r.status, r.error, r.latency) for r in read] == [
        (1, 503, None, 0.0), (2, None, "timeout", None), (3, 200, None, 0.0)]
    assert [a.outcome for a in as_attempt_records(read, "ep_1")] == [
        "throttled", "timeout", "success"]
    if suffix == ".jsonl":  # plain JSON, readable by other tools
        assert all(json.loads(line) for line in path.read_text().splitlines())


def test_request_log_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_request_log(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="use a .jsonl"):
        open_request_log(tmp_path / "requests.csv")
    corrupt = tmp_path / "bad.jsonl"
    corrupt.write_text('{"seq": 1}\n')
    with pytest.raises(StoreError, match="bad.jsonl:1"):
        read_request_log(corrupt)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"seq": 1}\n\xff\xfe garbage\n')
    with pytest.raises(StoreError, match="binary.jsonl:1"):  # the first bad line, by number
        read_request_log(binary)
    binary.write_bytes(b"\xff\xfe garbage\n")
    with pytest.raises(StoreError, match="binary.jsonl:1: not a request record"):
        read_request_log(binary)
    text = tmp_path / "notes.db"
    text.write_text("hello")
    with pytest.raises(ConfigError, match="neither"):
        read_request_log(text)
    store = tmp_path / "status.sqlite"
    SqliteStatusStore(store).close()
    with pytest.raises(StoreError, match="no requests table"):
        read_request_log(store)


def test_request_record_outcome_maps_receiver_faults_to_what_a_sender_sees():
    record = RequestRecord(1, 0.0, "POST", "/", "m", 1, {}, None, 200, "truncated")
    assert record.outcome == Outcome.transport("reset")
    assert MemoryRequestLog().records() == []


@pytest.mark.parametrize(
    "kwargs,error",
    [({"model": "status=700:1"}, ScenarioError), ({"model": "nonsense=1"}, ScenarioError),
     ({"model": 3}, ConfigError), ({"reject_invalid": True}, ConfigError),
     ({"log": "requests.txt"}, ConfigError), ({"secrets": "whsec_bad"}, ConfigError),
     ({"max_hang": 0}, ConfigError), ({"remember": 0}, ConfigError),
     ({"max_body": 0}, ConfigError), ({"log_max_bytes": 10}, ConfigError)],
)
def test_configuration_mistakes_fail_at_construction(kwargs, error):
    with pytest.raises(error):
        FlakyReceiver(**kwargs)


def test_model_may_be_given_as_a_table():
    flaky = FlakyReceiver({"status": {"code": 503, "rate": 1.0}})
    assert flaky.model == ReceiverModel.parse("status=503:1")


@pytest.mark.network
def test_hang_over_http_ends_when_the_sender_gives_up():
    flaky = FlakyReceiver("timeout=1", secrets=SECRET)
    with LiveServer(flaky) as server:
        async def go():
            channel = HttpChannel()
            try:
                return await channel.post(server.url, headers_for("m", timestamp=0), b"{}",
                                          timeout=0.2)
            finally:
                await channel.aclose()
        response = asyncio.run(go())
    assert response.outcome == Outcome.transport("timeout")
    (record,) = flaky.records()
    assert (record.error, record.latency, record.signature_valid) == ("timeout", None, False)


def test_attempt_counts_are_kept_for_the_most_recently_seen_ids_only():
    flaky = FlakyReceiver("script=500,200", clock=FakeClock(NOW), remember=2)
    responses = send(flaky, ["a", "b", "c", "a", "c", "c"])
    assert len(flaky.attempts) <= 2
    # "a" was forgotten when "c" came, so it starts its script again; "c" goes on
    assert labels(responses) == ["500", "500", "500", "500", "200", "200"]
    assert [(r.message_id, r.attempt) for r in flaky.records()][3:] == [
        ("a", 1), ("c", 2), ("c", 3)]


def test_thirty_thousand_ids_leave_at_most_remember_counters_and_a_bounded_log():
    flaky = FlakyReceiver(clock=FakeClock(NOW), remember=1000, log_max_bytes=200_000)
    for i in range(30_000):
        flaky.decide("POST", "/", {"webhook-id": f"msg_{i}", "x-pad": "p" * 100}, b"{}")
    assert len(flaky.attempts) == 1000 and "msg_29999" in flaky.attempts
    kept = flaky.records()
    assert kept[-1].message_id == "msg_29999"
    assert sum(len(json.dumps(r._asdict(), separators=(",", ":"))) for r in kept) <= 200_000


def test_requests_the_limits_refuse_are_answered_and_logged_without_asking_the_model():
    flaky = FlakyReceiver("status=500:1", secrets=SECRET, clock=FakeClock(NOW), max_body=10,
                          max_buffered=10)
    async def go():
        channel = AppChannel(flaky)
        try:
            return await channel.post("http://flaky.test/hook", headers_for("big"),
                                      b"x" * 11, timeout=2.0)
        finally:
            await channel.aclose()
    response = asyncio.run(go())
    assert response.outcome.status_code == 413
    (record,) = flaky.records()
    assert (record.message_id, record.attempt, record.status, record.fault) == (
        "big", 1, 413, "limit")
    assert record.signature_valid is None and flaky.admission.buffered == 0


def test_the_request_log_never_holds_a_query_token_or_an_authorization_value():
    flaky = FlakyReceiver("", secrets=SECRET, clock=FakeClock(NOW))

    async def go():
        channel = AppChannel(flaky)
        try:
            headers = {**headers_for("m1"), "Authorization": "Basic dTpodW50ZXIy"}
            await channel.post("http://flaky.test/hook?token=s3cr3t&tenant=7", headers, b"{}",
                               timeout=2.0)
        finally:
            await channel.aclose()
    asyncio.run(go())
    (record,) = flaky.records()
    assert record.path == "/hook?token=***&tenant=7"
    assert record.headers["authorization"] == "Basic ***"
    assert "s3cr3t" not in json.dumps(record._asdict())
