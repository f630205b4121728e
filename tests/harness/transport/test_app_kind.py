"""One transport seam: one ASGI/WSGI rule, one Response, one response cap, raw headers.

The sender's channel and the conformance harness used to disagree on an ASGI app behind a
``def middleware(*args)`` wrapper (ASGI to one, WSGI to the other); now both ask
:func:`app_kind` and post through the same :class:`AppChannel`.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from hooklab.harness.conformance import open_target, run_checks
from hooklab.harness.receiver import create_receiver
from hooklab.harness.transport import (
    MAX_RESPONSE_BYTES,
    AppChannel,
    BlockingChannel,
    Request,
    app_kind,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


async def _answer(send: Any, status: int, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def asgi_function(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await _answer(send, 204)


class AsgiClass:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await _answer(send, 204)


def star_args_middleware(*args: Any) -> Any:  # hides the ASGI signature entirely
    return asgi_function(*args)


@functools.wraps(asgi_function)
def wrapping_middleware(*args: Any) -> Any:
    return asgi_function(*args)


def wsgi_function(environ: Any, start_response: Any) -> list[bytes]:
    start_response("204 No Content", [])
    return [b""]


class WsgiClass:
    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        return wsgi_function(environ, start_response)


APPS = [
    (asgi_function, "asgi"),
    (AsgiClass(), "asgi"),
    (star_args_middleware, "asgi"),
    (wrapping_middleware, "asgi"),
    (wsgi_function, "wsgi"),
    (WsgiClass(), "wsgi"),
]


@pytest.mark.parametrize(("app", "kind"), APPS)
def test_the_sender_and_the_conformance_harness_agree_on_every_app(app: Any, kind: str) -> None:
    assert app_kind(app) == kind
    assert AppChannel(app).kind == kind
    with open_target(app) as target:
        assert target.channel.channel.kind == kind  # type: ignore[attr-defined]
        response = target.send(Request(b"{}", ()), timeout=5.0)
    assert response.status == 204
    with BlockingChannel(AppChannel(app)) as channel:
        assert channel.post("http://r.test/", {}, b"{}", timeout=5.0).status == 204


def test_a_receiver_behind_a_star_args_middleware_passes_as_asgi() -> None:
    receiver = create_receiver(SECRET)

    def middleware(*args: Any) -> Any:
        return receiver(*args)

    report = run_checks(middleware, secret=SECRET, max_examples=3,
                        checks=["accepts_valid_delivery", "rejects_invalid_signature"])
    assert [r.status for r in report.results] == ["passed", "passed"]


def _big_asgi(size: int) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await _answer(send, 200, b"x" * size)

    return app


def _big_wsgi(size: int) -> Any:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"x" * size]

    return app


@pytest.mark.parametrize("make", [_big_asgi, _big_wsgi])
def test_every_path_reads_at_most_the_one_response_cap(make: Any) -> None:
    app = make(MAX_RESPONSE_BYTES + 10)
    answer = asyncio.run(AppChannel(app).post("http://r.test/", {}, b"", timeout=5.0))
    assert (len(answer.body), answer.truncated) == (MAX_RESPONSE_BYTES, True)
    with open_target(app) as target:
        answer = target.send(Request(b"", ()), timeout=5.0)
    assert (len(answer.body), answer.truncated) == (MAX_RESPONSE_BYTES, True)
    small = asyncio.run(AppChannel(make(5)).post("http://r.test/", {}, b"", timeout=5.0))
    assert (small.body, small.truncated) == (b"xxxxx", False)


def test_raw_header_pairs_reach_an_asgi_app_as_sent() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.extend(scope["headers"])
            await _answer(send, 204)

    pairs = (("webhook-id", "a"), ("Webhook-Id", b"b\xff"), ("x-odd", b"\x01 \x7f"))
    with open_target(app) as target:
        target.send(Request(b"{}", pairs), timeout=5.0)
    sent = [(k, v) for k, v in seen if k in (b"webhook-id", b"x-odd")]
    assert sent == [(b"webhook-id", b"a"), (b"webhook-id", b"b\xff"), (b"x-odd", b"\x01 \x7f")]


def test_raw_header_pairs_reach_a_wsgi_app_as_latin_1_joined_by_commas() -> None:
    seen: dict[str, str] = {}

    def app(environ: Any, start_response: Any) -> list[bytes]:
        seen.update({k: v for k, v in environ.items() if k.startswith("HTTP_WEBHOOK")})
        start_response("204 No Content", [])
        return [b""]

    pairs = (("webhook-id", "a"), ("Webhook-Id", b"b\xff"))
    with open_target(app) as target:
        assert target.send(Request(b"{}", pairs), timeout=5.0).status == 204
    assert seen == {"HTTP_WEBHOOK_ID": "a,b\xff"}


def test_an_app_that_is_not_callable_is_a_config_error() -> None:
    from hooklab.model.errors import ConfigError

    with pytest.raises(ConfigError, match="must be a URL"):
        open_target(42)
    with pytest.raises(ConfigError, match="ASGI or WSGI app"):
        AppChannel(42)  # type: ignore[arg-type]
