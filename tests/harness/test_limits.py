"""Request limits: 413 from Content-Length before a byte is read and mid-read past the cap,
503 past the requests or body bytes in flight, 408 past the body deadline; whatever
happens, every byte reserved is given back."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooklab.harness.limits import RETRY_AFTER, Admission, Body, Limits, Refusal, read_limited
from hooklab.model.errors import ConfigError


class Receive:
    """An ASGI ``receive`` handing out ``chunks``, counting how often it was called."""

    def __init__(self, chunks: list[bytes], *, hang: bool = False) -> None:
        self.chunks = list(chunks)
        self.hang = hang
        self.calls = 0

    async def __call__(self) -> dict:
        self.calls += 1
        if not self.chunks:
            if self.hang:
                await asyncio.sleep(3600)
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks) or self.hang}


def read(admission: Admission, chunks: list[bytes], length: int | None = None, **kw):
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    receive = Receive(chunks, **kw)
    return asyncio.run(read_limited(receive, headers, admission)), receive


def test_a_declared_length_over_the_cap_is_413_before_reading_anything():
    admission = Admission(Limits(max_body=100, max_buffered=1000))
    outcome, receive = read(admission, [b"x" * 101], length=101)
    assert isinstance(outcome, Refusal) and outcome.status == 413
    assert receive.calls == 0 and admission.buffered == 0
    assert (b"connection", b"close") in outcome.headers()


def test_a_chunked_body_running_past_the_cap_is_413_at_the_chunk_that_passes_it():
    admission = Admission(Limits(max_body=100, max_buffered=1000))
    outcome, receive = read(admission, [b"x" * 60, b"x" * 60, b"x" * 60])
    assert isinstance(outcome, Refusal) and outcome.status == 413
    assert receive.calls == 2 and admission.buffered == 0


def test_a_body_within_the_cap_is_read_and_its_bytes_stay_reserved_until_released():
    admission = Admission(Limits(max_body=100, max_buffered=1000))
    outcome, _ = read(admission, [b"a" * 40, b"b" * 60], length=100)
    assert outcome == Body(b"a" * 40 + b"b" * 60, 100) and admission.buffered == 100
    admission.release(outcome.reserved)
    assert admission.buffered == 0


def test_a_body_that_does_not_fit_the_budget_is_503_with_retry_after():
    admission = Admission(Limits(max_body=100, max_buffered=150))
    assert admission.reserve(100)  # another request's body, still held
    declared, receive = read(admission, [b"x" * 60], length=60)
    chunked, _ = read(admission, [b"x" * 30, b"x" * 30])
    for outcome in (declared, chunked):
        assert isinstance(outcome, Refusal) and outcome.status == 503
        assert (b"retry-after", str(RETRY_AFTER).encode()) in outcome.headers()
    assert receive.calls == 0 and admission.buffered == 100 and admission.refused == 2


def test_requests_past_max_concurrency_are_503_until_one_leaves():
    admission = Admission(Limits(max_concurrency=2))
    assert admission.enter() is None and admission.enter() is None
    refused = admission.enter()
    assert refused is not None and refused.status == 503 and refused.retry_after == RETRY_AFTER
    admission.leave()
    assert admission.enter() is None and admission.active == 2


def test_a_body_that_does_not_arrive_in_time_is_408_and_its_bytes_are_released():
    admission = Admission(Limits(max_body=100, max_buffered=1000, body_timeout=0.05))
    outcome, _ = read(admission, [b"x" * 10], hang=True)
    assert isinstance(outcome, Refusal) and outcome.status == 408
    assert admission.buffered == 0


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1" * 30, b""])
def test_an_unreadable_content_length_is_400(value):
    refusal = Limits().refuse_length(value)
    assert refusal is not None and refusal.status == 400


chunk_lists = st.lists(st.integers(0, 80).map(lambda n: b"x" * n), max_size=5)


@settings(max_examples=200, deadline=None)
@given(bodies=st.lists(st.tuples(chunk_lists, st.booleans(), st.booleans()), max_size=8),
       max_body=st.integers(1, 150), spare=st.integers(0, 200))
def test_every_reserved_byte_is_given_back_whatever_the_outcome(bodies, max_body, spare):
    admission = Admission(Limits(max_body=max_body, max_buffered=max_body + spare,
                                 body_timeout=0.01))
    held = []
    for chunks, declare, hang in bodies:
        length = sum(map(len, chunks)) if declare else None
        outcome, _ = read(admission, chunks, length, hang=hang)
        if isinstance(outcome, Body):
            assert len(outcome.data) <= max_body
            held.append(outcome.reserved)
        assert admission.buffered == sum(held) <= admission.limits.max_buffered
    for reserved in held:
        admission.release(reserved)
    assert admission.buffered == 0


@pytest.mark.parametrize("kwargs,field", [
    ({"max_body": 0}, "max_body"), ({"max_concurrency": -1}, "max_concurrency"),
    ({"max_buffered": 10, "max_body": 20}, "max_buffered"), ({"max_body": 1.5}, "max_body"),
    ({"body_timeout": 0}, "body_timeout"), ({"body_timeout": float("inf")}, "body_timeout"),
])
def test_a_bad_limit_fails_at_construction_naming_its_field(kwargs, field):
    with pytest.raises(ConfigError) as error:
        Limits(**kwargs)
    assert error.value.field == field and str(error.value).startswith(field)
