"""Serve an ASGI app with uvicorn on a background thread, on loopback, for tests and notebooks.

:class:`LiveServer` binds the socket itself (port 0 by default, so the operating system
picks a free port), runs uvicorn's server on its own event loop in a daemon thread, and
knows its URL before the first request. It stops when its ``with`` block ends, when
:meth:`~LiveServer.stop` is called, or at the latest when the interpreter exits; requests
still hanging then are cancelled after ``grace`` seconds.

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

__all__ = ["LiveServer", "bind_socket", "serve_in_thread"]

T = TypeVar("T")
ASGIApp = Callable[..., Awaitable[None]]


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
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            http="h11",
            lifespan="auto",
            timeout_graceful_shutdown=self._grace,  # type: ignore[arg-type]  # a float works
        )
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


def _stop_server(server: Any, thread: threading.Thread, wait: float = 5.0) -> None:
    server.should_exit = True
    if thread.is_alive() and thread is not threading.current_thread():
        thread.join(wait)
    if thread.is_alive():
        server.force_exit = True
        thread.join(1.0)
