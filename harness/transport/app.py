"""In-process receivers: the channel that calls an ASGI or WSGI app object, with no socket.

:class:`AppChannel` answers from an app in the same process: an ASGI app through httpx's
``ASGITransport``, a WSGI app called the way a WSGI server calls it. Which of the two an
app is follows **one rule**, :func:`app_kind`, used by everything in-process (the sender,
the outbox worker, the conformance harness):

1. a coroutine function, or an object whose ``__call__`` is one, is ASGI (decorators that
   set ``__wrapped__`` are looked through);
2. otherwise a callable with exactly two positional parameters (``environ,
   start_response``) and no ``*args`` is WSGI;
3. anything else (``(scope, receive, send)``, a ``def middleware(*args)`` wrapper, a
   signature Python cannot read) is ASGI. A WSGI app behind such a wrapper needs
   ``kind="wsgi"``.

An exception from the app is what a server would make of it: a 500, or a reset for a
connection error (the flaky receiver raises ``ConnectionResetError`` to reset in-process).
WSGI header values are decoded as Latin-1 (as PEP 3333 says servers do, so raw bytes get
through) and repeated headers are joined with commas; the app runs in a thread of its
own, so one that hangs times out and is left behind, as a sender would leave it.
:meth:`AppChannel.start` runs an ASGI app's lifespan startup (and :meth:`AppChannel.aclose`
its shutdown), for apps that start workers there.

Example::

    >>> async def asgi(scope, receive, send): ...
    >>> def wsgi(environ, start_response): ...
    >>> def middleware(*args): return asgi(*args)
    >>> app_kind(asgi), app_kind(wsgi), app_kind(middleware)
    ('asgi', 'wsgi', 'asgi')
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from hooklab.model.errors import ConfigError
from hooklab.model.outcomes import classify

from ..clock import Clock, WallClock
from .base import (
    MAX_RESPONSE_BYTES,
    Headers,
    Response,
    check_max_body,
    check_timeout,
    classify_exception,
    header_pairs,
    no_answer,
    outcome_of,
)

__all__ = ["APP_KINDS", "AppChannel", "app_kind"]

#: The kinds of in-process app a channel can call.
APP_KINDS = ("asgi", "wsgi")


def app_kind(app: Callable[..., Any]) -> str:
    """``"asgi"`` or ``"wsgi"``: the one rule for in-process apps (see the module docstring).

    >>> class Starlette:
    ...     async def __call__(self, scope, receive, send): ...
    >>> class Flask:
    ...     def __call__(self, environ, start_response): ...
    >>> app_kind(Starlette()), app_kind(Flask())
    ('asgi', 'wsgi')
    """
    plain = inspect.isfunction(app) or inspect.ismethod(app) or isinstance(app, type)
    call = app if plain else type(app).__call__  # an object: its class says how it is called
    if inspect.iscoroutinefunction(inspect.unwrap(call)):
        return "asgi"
    try:
        params = list(inspect.signature(app).parameters.values())
    except (TypeError, ValueError):
        return "asgi"
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return "asgi"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return "wsgi" if len(positional) == 2 else "asgi"


class AppChannel:
    """An in-process ASGI or WSGI app (no network); see the module docstring.

    ``kind`` is ``"asgi"``, ``"wsgi"`` or ``"auto"`` (:func:`app_kind`). The app answers
    whatever URL it is given; its path is the request's path.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        kind: str = "auto",
        max_body: int = MAX_RESPONSE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        import httpx

        if not callable(app):
            raise ConfigError(f"AppChannel needs an ASGI or WSGI app, not {app!r}")
        self.kind = app_kind(app) if kind == "auto" else kind
        if self.kind not in APP_KINDS:
            raise ConfigError(f"app kind must be 'asgi', 'wsgi' or 'auto', not {kind!r}",
                              field="kind")
        self.app = app
        self.max_body = check_max_body(max_body)
        self._clock = clock or WallClock()
        self._lifespan: _Lifespan | None = None
        self._client: Any = None
        if self.kind == "asgi":
            self._client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), follow_redirects=False
            )

    async def start(self) -> None:
        """Run an ASGI app's lifespan startup (once); a startup that fails is a
        ConfigError. WSGI apps have none."""
        if self.kind == "asgi" and self._lifespan is None:
            self._lifespan = _Lifespan(self.app)
            await self._lifespan.startup()

    async def post(
        self, url: str, headers: Headers, body: bytes, *, timeout: float
    ) -> Response:
        """POST once to the app; the attempt times out after ``timeout`` seconds."""
        timeout = check_timeout(timeout)
        start = time.perf_counter()
        try:
            if self.kind == "asgi":
                async with asyncio.timeout(timeout):
                    answer = await self._client.post(
                        url, headers=header_pairs(headers), content=bytes(body)
                    )
                status, answer_headers, data = (answer.status_code, dict(answer.headers),
                                                answer.content)
            else:
                status, answer_headers, data = await asyncio.wait_for(
                    _call_wsgi(self.app, url, header_pairs(headers), bytes(body)), timeout)
        except (TimeoutError, OSError) as exc:
            outcome = classify_exception(exc)
            detail = (no_answer(timeout) if outcome.error == "timeout"
                      else f"{type(exc).__name__}: {exc}")
            return Response(outcome, elapsed=time.perf_counter() - start, detail=detail)
        except Exception as exc:  # what a server does with an app's crash
            return Response(classify(500), f"app raised {type(exc).__name__}".encode(),
                            elapsed=time.perf_counter() - start)
        return Response(
            outcome_of(status, answer_headers, self._clock),
            data[: self.max_body],
            len(data) > self.max_body,
            answer_headers,
            time.perf_counter() - start,
        )

    async def aclose(self) -> None:
        """Run the lifespan shutdown if :meth:`start` ran it, and close the client."""
        try:
            if self._lifespan is not None:
                await self._lifespan.shutdown()
        finally:
            if self._client is not None:
                await self._client.aclose()

    def __repr__(self) -> str:
        return f"AppChannel({type(self.app).__name__}, kind={self.kind!r})"


# -- WSGI ---------------------------------------------------------------------------------


class _Headers(dict[str, str]):
    """Response headers with case-insensitive ``get``, like httpx's."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


def _environ(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    parts = urlsplit(url)
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0), "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": parts.path or "/",
        "QUERY_STRING": parts.query, "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    for raw_name, raw_value in headers:
        key = raw_name.decode("latin-1").upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
        text = raw_value.decode("latin-1")
        repeated = key in environ and key[:5] == "HTTP_"
        environ[key] = f"{environ[key]},{text}" if repeated else text
    return environ


def _run_wsgi(app: Callable[..., Any], environ: dict[str, Any]
              ) -> tuple[int, _Headers, bytes]:
    status: list[str] = []
    answer_headers = _Headers()

    def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
        status[:] = [line]
        answer_headers.clear()
        answer_headers.update((k.lower(), v) for k, v in headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return int(status[0].split()[0]), answer_headers, body


async def _call_wsgi(app: Callable[..., Any], url: str, headers: list[tuple[bytes, bytes]],
                     body: bytes) -> tuple[int, _Headers, bytes]:
    """Call a WSGI app in a daemon thread of its own (a hanging one is left behind)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[int, _Headers, bytes]] = loop.create_future()
    environ = _environ(url, headers, body)

    def settle(outcome: Any, failed: bool) -> None:
        if not done.done():
            (done.set_exception if failed else done.set_result)(outcome)

    def work() -> None:
        outcome: Any
        try:
            outcome, failed = _run_wsgi(app, environ), False
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome, failed = exc, True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome, failed)

    threading.Thread(target=work, daemon=True, name="hooklab-wsgi-app").start()
    return await done


# -- the ASGI lifespan ----------------------------------------------------------------------


class _Lifespan:
    """The ASGI lifespan protocol, run so apps that start workers at startup work."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": {}}
        with contextlib.suppress(Exception):  # an app without lifespan may raise on it
            await self._app(scope, self._inbox.get, self._outbox.put)
        await self._outbox.put({"type": "unsupported"})  # or it simply returned

    async def _step(self, event: str) -> None:
        await self._inbox.put({"type": f"lifespan.{event}"})
        message = await self._outbox.get()
        if message["type"] == f"lifespan.{event}.failed":
            raise ConfigError(f"the app's lifespan {event} failed: {message.get('message', '')}")
        if message["type"] == "unsupported":
            self._task = None

    async def startup(self) -> None:
        self._task = asyncio.ensure_future(self._main())
        await self._step("startup")

    async def shutdown(self) -> None:
        if self._task is not None:
            await self._step("shutdown")
            await self._task
