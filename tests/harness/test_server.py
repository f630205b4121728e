"""The uvicorn settings hooklab serves with: a connection whose request headers are not all
in within ``header_timeout`` gets 408 and is closed (slowloris), on the first request and
after a keep-alive pause; a request that sends its headers in time is not affected."""

from __future__ import annotations

import socket
import time

import pytest

from hooklab.harness.server import LiveServer, uvicorn_config
from hooklab.model.errors import ConfigError


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = time.monotonic()
    sock.settimeout(limit)
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return data, float("inf")
        if not chunk:
            return data, time.monotonic() - start
        data += chunk


@pytest.mark.network
def test_headers_that_never_finish_get_408_and_the_connection_closes():
    with LiveServer(hello, header_timeout=0.5) as server, socket.create_connection(
            ("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        for _ in range(3):  # one header line now and then: a slowloris client
            time.sleep(0.1)
            sock.sendall(b"X-Slow: 1\r\n")
        data, _ = read_until_closed(sock, 5.0)
        waited = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 408 ")
    assert 0.3 < waited < 3.0


@pytest.mark.network
def test_a_silent_connection_is_closed_at_the_header_deadline():
    with LiveServer(hello, header_timeout=0.5) as server, socket.create_connection(
            ("127.0.0.1", server.port)) as sock:
        data, waited = read_until_closed(sock, 5.0)
    assert data.startswith(b"HTTP/1.1 408 ") and waited < 3.0


@pytest.mark.network
def test_the_deadline_starts_again_for_the_next_request_on_a_kept_alive_connection():
    with LiveServer(hello, header_timeout=0.6) as server, socket.create_connection(
            ("127.0.0.1", server.port)) as sock:
        time.sleep(0.3)  # well inside the deadline
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5.0)
        first = b""
        while not first.endswith(b"\r\n\r\nok"):  # headers and body may come apart
            first += sock.recv(4096)
        time.sleep(0.4)  # the first request's deadline would have passed by now
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the next request stalls
        rest, waited = read_until_closed(sock, 5.0)
    assert first.startswith(b"HTTP/1.1 200 ")
    assert rest.startswith(b"HTTP/1.1 408 ") and 0.4 < waited < 3.0


@pytest.mark.network
def test_requests_that_send_their_headers_in_time_are_answered():
    import httpx

    with LiveServer(hello, header_timeout=0.5) as server, httpx.Client() as client:
        answers = []
        for _ in range(3):
            answers.append(client.get(server.url).status_code)
            time.sleep(0.3)  # keep-alive pauses shorter than uvicorn's 5 s
    assert answers == [200, 200, 200]


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "10", True])
def test_a_bad_header_timeout_names_the_field(value):
    with pytest.raises(ConfigError) as error:
        uvicorn_config(hello, header_timeout=value)
    assert error.value.field == "header_timeout"
    with pytest.raises(ConfigError):
        LiveServer(hello, header_timeout=value)
