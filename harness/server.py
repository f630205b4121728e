"""Serve an ASGI app with uvicorn: on a background thread for tests and notebooks, and the
uvicorn settings every hooklab server uses, with a deadline on request headers.

:class:`LiveServer` binds the socket itself (port 0 by default, so the operating system
picks a free port), runs uvicorn's server on its own event loop in a daemon thread, and
knows its URL before the first request. It stops when its ``with`` block ends, when
:meth:`~LiveServer.stop` is called, or at the latest when the interpreter exits; requests
still hanging then are cancelled after ``grace`` seconds.

:func:`uvicorn_config` is how ``hooklab serve`` and :class:`LiveServer` configure uvicorn.
uvicorn closes an idle keep-alive connection after 5 s, but it gives a connection that is
still sending its request headers all the time it wants: 1,500 connections sending one
header line a second stayed open for good (slowloris). Its h11 protocol is used here with a
deadline: the request line and headers must all arrive within ``header_timeout`` seconds
(default :data:`HEADER_TIMEOUT`) of the connection opening or of its first byte after a
keep-alive pause, or the connection gets ``408`` and is closed. The body has its own
deadline, in the app (:mod:`~hooklab.harness.limits`).

Example::

    >>> import httpx
    >>> async def hello(scope, receive, send):
    ...     if scope["type"] != "http":
    ...         return
    ...     await send({"type": "http.response.start", "status": 204, "headers": []})
    ...     await send({"type": "http.response.body", "body": b""})
    >>> with LiveServer(hello) as server:
    ...     httpx.post(server.url + "/webhook").status_code
    204
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from hooklab.model.errors import ConfigError

__all__ = ["HEADER_TIMEOUT", "LiveServer", "bind_socket", "serve_in_thread", "uvicorn_config"]

T = TypeVar("T")
ASGIApp = Callable[..., Awaitable[None]]
#: Default seconds for a request's line and headers to arrive.
HEADER_TIMEOUT = 10.0
_TIMED_OUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
              b"connection: close\r\ncontent-length: 29\r\n\r\nrequest headers took too long")


class LiveServer:
    """One ASGI app served by uvicorn on ``host:port`` from a background thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        grace: float = 0.5,
        startup_timeout: float = 10.0,
        log_level: str = "warning",
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        if not callable(app):
            raise ConfigError(f"LiveServer needs an ASGI app, not {type(app).__name__}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"port must be an integer from 0 to 65535, not {port!r}")
        if grace < 0 or startup_timeout <= 0:
            raise ConfigError("grace must be >= 0 and startup_timeout > 0")
        self.app = app
        self.host = host
        self._requested_port = port
        self._grace = grace
        self._startup_timeout = startup_timeout
        self._log_level = log_level
        self._header_timeout = _check_header_timeout(header_timeout)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self.port: int = 0

    @property
    def url(self) -> str:
        """``http://host:port``, without a trailing slash."""
        if not self.port:
            raise RuntimeError("the server is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the app runs on (for :meth:`call`)."""
        if self._loop is None:
            raise RuntimeError("the server is not started")
        return self._loop

    def start(self) -> LiveServer:
        """Bind, start serving and wait until uvicorn accepts connections."""
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("the server is already started")
        sock = bind_socket(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        config = uvicorn_config(self.app, header_timeout=self._header_timeout,
                                grace=self._grace, log_level=self._log_level, lifespan="auto")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name=f"hooklab-server-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(self._startup_timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"uvicorn did not start on {self.url}: {self._error!r}")
        weakref.finalize(self, _stop_server, self._server, self._thread)
        return self

    def _run(self, sock: socket.socket) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            task = asyncio.create_task(self._server.serve(sockets=[sock]))
            while not self._server.started and not task.done():
                await asyncio.sleep(0.005)
            self._ready.set()
            await task

        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to start() or kept for stop()
            self._error = exc
        finally:
            self._ready.set()
            sock.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the server's event loop and return its result (thread-safe).

        Useful for app methods that must run where the app runs, such as waiting until a
        receiver's processing queue is drained.
        """
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{coro!r} did not finish within {timeout} s") from None

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread (idempotent)."""
        if self._server is not None and self._thread is not None:
            _stop_server(self._server, self._thread, self._grace + 5.0)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.port else "not started"
        return f"LiveServer({type(self.app).__name__}, {where})"


def serve_in_thread(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> LiveServer:
    """Start serving ``app`` on loopback and return the started :class:`LiveServer`.

    Use it as a context manager so it stops by itself::

        with serve_in_thread(app) as server:
            post(server.url + "/webhook")
    """
    return LiveServer(app, host=host, port=port).start()


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free port) and listening, so its
    URL can be printed before the server runs; a ConfigError names the address when it
    cannot be bound.

    >>> sock = bind_socket("127.0.0.1", 0)
    >>> sock.getsockname()[1] > 0
    True
    >>> sock.close()
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: ASGIApp, *, header_timeout: float = HEADER_TIMEOUT,
                   grace: float = 2.0, log_level: str = "warning", lifespan: str = "on") -> Any:
    """The ``uvicorn.Config`` hooklab serves ``app`` with: h11 with the header deadline,
    no access log, ``grace`` seconds for requests in flight at shutdown.

    >>> config = uvicorn_config(lambda scope, receive, send: None, header_timeout=2.0)
    >>> config.http.header_timeout, config.access_log
    (2.0, False)
    """
    import uvicorn

    return uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan=lifespan,  # type: ignore[arg-type]
        http=_deadline_protocol(_check_header_timeout(header_timeout)),
        timeout_graceful_shutdown=grace,  # type: ignore[arg-type]  # a float works
    )


def _check_header_timeout(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        0 < value < float("inf")
    ):
        raise ConfigError(f"header_timeout must be a number of seconds > 0, not {value!r}",
                          field="header_timeout")
    return float(value)


def _deadline_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers are not all
    there ``header_timeout`` seconds after it opened (or after its first byte following a
    keep-alive pause)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._deadline = self.loop.call_later(header_timeout, self._headers_too_slow)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the headers are in
                self._cancel_deadline()
            elif self._deadline is None and not self.transport.is_closing():
                self._deadline = self.loop.call_later(header_timeout, self._headers_too_slow)

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def _cancel_deadline(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.write(_TIMED_OUT)
                self.transport.close()

    HeaderDeadlineProtocol.header_timeout = header_timeout  # type: ignore[attr-defined]
    return HeaderDeadlineProtocol


def _stop_server(server: Any, thread: threading.Thread, wait: float = 5.0) -> None:
    server.should_exit = True
    if thread.is_alive() and thread is not threading.current_thread():
        thread.join(wait)
    if thread.is_alive():
        server.force_exit = True
        thread.join(1.0)
