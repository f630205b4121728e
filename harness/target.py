"""Targets: the receiver under test, reached over real HTTP or called in-process.

The conformance checks never ask how a request reaches the receiver. A :class:`Target`
takes one :class:`Request` (the exact body bytes and header pairs to send) and returns one
:class:`Response` (status, elapsed seconds, or the transport error). Three kinds exist:

- a URL, reached with httpx over real HTTP (redirects are not followed);
- an ASGI app, called through ``httpx.ASGITransport`` on a private event loop thread, with
  its lifespan started and stopped around the run;
- a WSGI app, called in-process the way ``httpx.WSGITransport`` does.

Every target also renders a ``curl`` command that replays a request; in-process targets use
the placeholder ``$RECEIVER_URL``.

Example::

    >>> with open_target("http://127.0.0.1:9/") as target:
    ...     target.url
    'http://127.0.0.1:9/'
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import shlex
import sys
import threading
import time
from collections.abc import Coroutine
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import httpx

from hooklab.model.errors import ConfigError, InvalidURL

__all__ = [
    "IN_PROCESS_URL",
    "MAX_RESPONSE_BYTES",
    "Request",
    "Response",
    "Target",
    "TargetUnreachable",
    "curl_command",
    "open_target",
]

#: The placeholder a ``curl`` command uses for an in-process target.
IN_PROCESS_URL = "$RECEIVER_URL"
#: A sender reads at most this much of a response body.
MAX_RESPONSE_BYTES = 64 * 1024
_BASE = "http://receiver.hooklab.test"


class TargetUnreachable(ConfigError):
    """The target URL refused the connection or does not resolve (the CLI exits 2)."""


class Request(NamedTuple):
    """One POST to the receiver: the exact bytes and header pairs, in order."""

    body: bytes
    headers: tuple[tuple[str, str | bytes], ...]

    def header(self, name: str) -> str | bytes | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class Response(NamedTuple):
    """What came back: a status code, or ``status=None`` and the transport error."""

    status: int | None
    elapsed: float
    error: str | None = None
    body: bytes = b""

    def describe(self) -> str:
        """``"401"``, ``"no answer within 10 s"`` or ``"ReadError: ..."``."""
        if self.status is not None:
            return f"{self.status} after {self.elapsed:.3f} s"
        return self.error or "no answer"


class Target(Protocol):
    """Where requests go. ``url`` is what a ``curl`` command targets."""

    url: str
    in_process: bool

    def send(self, request: Request, *, timeout: float) -> Response:
        """POST ``request`` and wait at most ``timeout`` seconds for the answer."""
        ...

    def close(self) -> None:
        """Release sockets, threads and the app's lifespan."""
        ...

    def __enter__(self) -> Target: ...

    def __exit__(self, *exc: object) -> None: ...


class _Base:
    url: str
    in_process: bool

    def close(self) -> None:
        pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _raw_headers(request: Request) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value if isinstance(value, bytes)
             else value.encode("latin-1")) for name, value in request.headers]


def _timeout_error(timeout: float) -> str:
    return f"no answer within {timeout:g} s"


class _HttpTarget(_Base):
    """A receiver listening on a URL."""

    in_process = False

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a bad or out-of-range port
            httpx.URL(url)
        except (ValueError, httpx.InvalidURL) as exc:
            raise InvalidURL(f"target {url!r} is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidURL(f"target must be an absolute http(s) URL, not {url!r}")
        self.url = url
        self._client = httpx.Client(follow_redirects=False)

    def send(self, request: Request, *, timeout: float) -> Response:
        start = time.perf_counter()
        try:
            with self._client.stream(
                "POST", self.url, content=request.body, headers=_raw_headers(request),
                timeout=timeout,
            ) as answer:
                body = b""
                for chunk in answer.iter_raw():
                    body += chunk
                    if len(body) >= MAX_RESPONSE_BYTES:
                        break
                return Response(answer.status_code, time.perf_counter() - start, None,
                                body[:MAX_RESPONSE_BYTES])
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            reason = str(exc) or type(exc).__name__
            raise TargetUnreachable(f"cannot reach {self.url}: {reason}") from None
        except httpx.TimeoutException:
            return Response(None, time.perf_counter() - start, _timeout_error(timeout))
        except httpx.TransportError as exc:
            return Response(None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._client.close()


class _LoopThread:
    """An event loop running in a daemon thread, so sync callers can await coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="hooklab-asgi-target")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


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


class _AsgiTarget(_Base):
    """An ASGI app (Starlette, FastAPI, the reference receiver) called in-process."""

    in_process = True

    def __init__(self, app: Any, path: str) -> None:
        self.url = IN_PROCESS_URL + path
        self._path = path
        self._loop = _LoopThread()
        self._lifespan = _Lifespan(app)
        try:
            self._client = self._loop.run(self._open(app))
        except BaseException:
            self._loop.close()
            raise

    async def _open(self, app: Any) -> httpx.AsyncClient:
        await self._lifespan.startup()
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=_BASE)

    async def _post(self, request: Request, timeout: float) -> Response:
        start = time.perf_counter()
        call = self._client.post(self._path, content=request.body, headers=_raw_headers(request))
        try:
            answer = await asyncio.wait_for(call, timeout)
        except TimeoutError:
            return Response(None, time.perf_counter() - start, _timeout_error(timeout))
        return Response(answer.status_code, time.perf_counter() - start, None,
                        answer.content[:MAX_RESPONSE_BYTES])

    def send(self, request: Request, *, timeout: float) -> Response:
        response: Response = self._loop.run(self._post(request, timeout))
        return response

    async def _close(self) -> None:
        await self._client.aclose()
        await self._lifespan.shutdown()

    def close(self) -> None:
        try:
            self._loop.run(self._close())
        finally:
            self._loop.close()


class _WsgiTarget(_Base):
    """A WSGI app (Flask, Django) called in-process, in a worker thread so a hanging app
    times out.

    Like ``httpx.WSGITransport``, except that header values are decoded as Latin-1 (as
    PEP 3333 says servers do), since the checks send garbage bytes on purpose, and an
    app that raises answers 500, as a WSGI server would.
    """

    in_process = True

    def __init__(self, app: Any, path: str) -> None:
        self.url = IN_PROCESS_URL + path
        self._path = path
        self._app = app

    def _environ(self, request: Request) -> dict[str, Any]:
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(request.body), "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": self._path,
            "QUERY_STRING": "", "SERVER_NAME": "receiver.hooklab.test", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(request.body)),
        }
        for name, value in request.headers:
            key = name.upper().replace("-", "_")
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            environ[key] = f"{environ[key]},{text}" if key in environ and key[:5] == "HTTP_" \
                else text
        return environ

    def _call(self, request: Request) -> tuple[int, bytes]:
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
            status[:] = [line]
            return lambda data: None

        try:
            result = self._app(self._environ(request), start_response)
            try:
                body = b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()
            return int(status[0].split()[0]), body
        except Exception:
            return 500, b""

    def send(self, request: Request, *, timeout: float) -> Response:
        start = time.perf_counter()
        answer: list[tuple[int, bytes]] = []
        worker = threading.Thread(target=lambda: answer.append(self._call(request)),
                                  daemon=True, name="hooklab-wsgi-target")
        worker.start()
        worker.join(timeout)  # a hanging app is left behind, as a sender would leave it
        elapsed = time.perf_counter() - start
        if not answer or elapsed > timeout:
            return Response(None, elapsed, _timeout_error(timeout))
        code, body = answer[0]
        return Response(code, elapsed, None, body[:MAX_RESPONSE_BYTES])


def _is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(call):
        return True
    try:
        return len(inspect.signature(app).parameters) == 3
    except (TypeError, ValueError):
        return False


def open_target(app_or_url: Any, *, path: str = "/", kind: str | None = None) -> Target:
    """A target for a URL string, an ASGI app or a WSGI app; close it when done.

    ``kind`` (``"url"``, ``"asgi"``, ``"wsgi"``) overrides the guess. ``path`` is where an
    in-process app receives webhooks.

    >>> open_target("ftp://example.com")
    Traceback (most recent call last):
    hooklab.model.errors.InvalidURL: target must be an absolute http(s) URL, not 'ftp://example.com'
    """
    if not path.startswith("/"):
        raise ConfigError(f"path must start with '/': {path!r}")
    if kind is None:
        if isinstance(app_or_url, str):
            kind = "url"
        elif callable(app_or_url):
            kind = "asgi" if _is_asgi(app_or_url) else "wsgi"
        else:
            raise ConfigError(f"target must be a URL, an ASGI app or a WSGI app, "
                              f"not {type(app_or_url).__name__}")
    if kind == "url":
        return _HttpTarget(str(app_or_url))
    if kind == "asgi":
        return _AsgiTarget(app_or_url, path)
    if kind == "wsgi":
        return _WsgiTarget(app_or_url, path)
    raise ConfigError(f"unknown target kind {kind!r}; choose url, asgi or wsgi")


def _shell_bytes(data: bytes) -> str:
    """Quote ``data`` for a POSIX shell: plain single quotes, or ``$'...'`` with escapes."""
    text = data.decode("utf-8", "replace")
    if text.encode("utf-8") == data and all(c.isprintable() or c in "\n\t" for c in text):
        return shlex.quote(text)
    escaped = "".join(
        chr(b) if 0x20 <= b < 0x7F and chr(b) not in "\\'" else f"\\x{b:02x}" for b in data
    )
    return f"$'{escaped}'"


def curl_command(url: str, request: Request, *, timeout: float | None = None) -> str:
    """A ``curl`` command line that sends ``request`` to ``url`` byte for byte.

    >>> print(curl_command("http://127.0.0.1:8000/", Request(b'{"a":1}', (("webhook-id", "m1"),))))
    curl -sS -i -X POST http://127.0.0.1:8000/ -H 'webhook-id: m1' --data-binary '{"a":1}'
    """
    target = f'"{url}"' if url.startswith("$") else shlex.quote(url)
    words = ["curl", "-sS", "-i", "-X", "POST", target]
    if timeout is not None:
        words += ["--max-time", f"{timeout:g}"]
    for name, value in request.headers:
        raw = value if isinstance(value, bytes) else value.encode("latin-1", "replace")
        words += ["-H", _shell_bytes(name.encode("latin-1", "replace") + b": " + raw)]
    if b"\x00" in request.body:
        octal = "".join(f"\\{b:03o}" for b in request.body)
        return f"printf '{octal}' | " + " ".join(words + ["--data-binary", "@-"])
    words += ["--data-binary", _shell_bytes(request.body)]
    return " ".join(words)
