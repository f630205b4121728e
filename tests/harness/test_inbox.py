"""The receiver's inbox: with a SQLite store a message is committed before its 200, a new
receiver on the same file processes what the last one left, duplicates are recognised
across restarts, and a store that cannot take the message makes the answer 503, not 200."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest

from hooklab.harness.clock import FakeClock
from hooklab.harness.inbox import Event, MemoryInbox, ProcessingRecord, SqliteInbox, dedupe_key
from hooklab.harness.receiver import ReferenceReceiver
from hooklab.model.errors import StoreError
from hooklab.model.signing import sign_headers

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000
BODY = b'{"type": "invoice.paid", "data": {"amount": 42}}'


def signed(message_id: str) -> dict[str, str]:
    return sign_headers(BODY, message_id=message_id, timestamp=NOW, secrets=[SECRET])


def receiver_on(store, handler=None, **kwargs) -> ReferenceReceiver:
    receiver = ReferenceReceiver(SECRET, clock=FakeClock(NOW), store=store, **kwargs)
    receiver.on("*")(handler or (lambda event: None))
    return receiver


async def post_ids(receiver, ids):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver),
                                 base_url="http://r.test") as client:
        return [await client.post("/", headers=signed(i), content=BODY) for i in ids]


def rows(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT message_id, state, processed, body IS NULL FROM inbox "
                            "ORDER BY seq").fetchall()


def test_the_message_is_committed_to_the_store_before_the_200(tmp_path):
    path = tmp_path / "inbox.db"
    seen_at_answer = []

    class Watching(SqliteInbox):
        def add(self, event, *, now):
            queued = super().add(event, now=now)
            seen_at_answer.append(rows(path))  # another connection: only committed rows
            return queued

    receiver = receiver_on(Watching(path))
    (answer,) = asyncio.run(post_ids(receiver, ["msg_1"]))
    assert answer.status_code == 200
    assert seen_at_answer == [[("msg_1", "queued", 0, 0)]]


def test_a_new_receiver_on_the_store_processes_what_the_last_one_left(tmp_path):
    path = tmp_path / "inbox.db"
    first = receiver_on(path, handler=lambda event: (_ for _ in ()).throw(SystemExit))
    first.processor.start = lambda: None  # it dies before processing anything
    answers = asyncio.run(post_ids(first, [f"msg_{i}" for i in range(5)]))
    assert [a.status_code for a in answers] == [200] * 5
    first.close()
    assert [r[1] for r in rows(path)] == ["queued"] * 5

    done = []
    second = receiver_on(path, handler=lambda event: done.append(event.message_id))
    asyncio.run(second.drain())
    assert done == [f"msg_{i}" for i in range(5)]  # oldest first
    assert rows(path) == [(f"msg_{i}", "completed", 1, 1) for i in range(5)]
    again = asyncio.run(post_ids(second, ["msg_3", "msg_9"]))
    asyncio.run(second.drain())
    assert [a.json()["status"] for a in again] == ["duplicate", "queued"]
    assert second.processed_count("msg_3") == 1 and second.processed_count("msg_9") == 1
    second.close()


def test_a_store_that_cannot_take_the_message_answers_503_not_200():
    class Full(MemoryInbox):
        durable = True

        def add(self, event, *, now):
            raise StoreError("inbox.db: database or disk is full")

    receiver = receiver_on(Full())
    (answer,) = asyncio.run(post_ids(receiver, ["msg_1"]))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert receiver.receptions == {"unavailable": 1}


def test_sqlite_inbox_forgets_processed_keys_past_the_window_but_never_queued_ones(tmp_path):
    inbox = SqliteInbox(tmp_path / "inbox.db", dedupe_window=100.0)
    old = Event("msg_old", "a", {}, b"{}", {}, 0.0, "msg_old")
    waiting = Event("msg_waiting", "a", {}, b"{}", {}, 0.0, "msg_waiting")
    assert inbox.add(old, now=0.0) and inbox.add(waiting, now=0.0)
    assert [e.message_id for e in inbox.take(1)] == ["msg_old"]
    inbox.finish(ProcessingRecord("msg_old", "a", "completed", None, None, 0.0, 1.0,
                                  "msg_old"))
    assert not inbox.add(old, now=50.0) and not inbox.add(waiting, now=500.0)
    assert inbox.add(old._replace(received_at=500.0), now=500.0)  # past the window: new
    assert inbox.pending() == 2
    inbox.close()


@pytest.mark.parametrize("make", [MemoryInbox, lambda: SqliteInbox(":memory:")])
def test_take_hands_each_queued_message_out_once(make):
    inbox = make()
    for i in range(3):
        inbox.add(Event(f"m{i}", "a", {}, b"{}", {}, 0.0, f"m{i}"), now=0.0)
    taken = [e.message_id for _ in range(4) for e in inbox.take(1)]
    assert taken == ["m0", "m1", "m2"] and inbox.pending() == 3


def test_dedupe_key_trusts_only_signed_ids():
    assert dedupe_key("standard", "msg_1", b"{}") == "msg_1"
    assert dedupe_key("stripe", "evt_1", b"{}") == "evt_1"
    assert dedupe_key("github", "d-1", b"{}").startswith("sha256:")
    assert dedupe_key("standard", "x" * 300, b"{}").startswith("sha256:")  # too long to keep
    assert dedupe_key("someday", "id", b"{}").startswith("sha256:")  # unknown: not trusted


def test_after_a_restart_only_the_unfinished_messages_are_processed(tmp_path):
    path = tmp_path / "inbox.db"
    first = receiver_on(path)
    asyncio.run(post_ids(first, ["msg_1", "msg_2"]))
    asyncio.run(first.drain())
    first.processor.start = lambda: None  # from here on it acknowledges but never processes
    asyncio.run(post_ids(first, ["msg_3", "msg_4"]))
    first.close()
    done = []
    second = receiver_on(path, handler=lambda event: done.append(event.message_id))
    asyncio.run(second.drain())
    assert done == ["msg_3", "msg_4"]
    assert second.processed == {f"msg_{i}": 1 for i in range(1, 5)}
    second.close()
