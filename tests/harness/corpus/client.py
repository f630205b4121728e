"""One way to talk to a corpus receiver, in-process or over HTTP, for hand-made requests.

:func:`open_client` yields a :class:`ReceiverClient` whose :meth:`~ReceiverClient.post`
sends one :class:`~corpus.deliveries.Delivery` and returns httpx's response, and whose
:meth:`~ReceiverClient.processed` asks the receiver's scaffolding route how often it
processed a message id. In-process, an ASGI app is called through ``httpx.ASGITransport``
and a WSGI app called as a PEP 3333 server would, with app exceptions turned into the 500 a
server answers. Over HTTP every request goes on a fresh connection, so a receiver that
closes a connection after an answer never spoils the next request.

Example::

    >>> with open_client("svix_flask", "inprocess") as client:   # doctest: +SKIP
    ...     client.post(realistic("standard", SECRETS["standard"])).status_code
    204
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from .deliveries import Delivery
from .receivers.scaffold import OBSERVE_PATH
from .serve import RECEIVERS, CorpusReceiver, create_app, serving

__all__ = ["MODES", "ReceiverClient", "open_client", "runs"]

MODES = ("inprocess", "http")
TIMEOUT = 20.0


class ReceiverClient:
    """Sends deliveries to one receiver and reads its processing count."""

    def __init__(self, receiver: CorpusReceiver, mode: str, base_url: str,
                 client: Any) -> None:
        self.receiver = receiver
        self.mode = mode
        self.base_url = base_url
        self._client = client

    def post(self, delivery: Delivery, path: str | None = None) -> httpx.Response:
        """POST ``delivery`` to the receiver's webhook path (or ``path``)."""
        url = self.base_url + (path or self.receiver.path)
        return self._client.post(url, content=delivery.body, headers=list(delivery.headers))

    def processed(self, message_id: str) -> int:
        """How often the receiver processed ``message_id`` (its scaffolding route)."""
        url = self.base_url + OBSERVE_PATH
        answer = self._client.get(url, params={"message_id": message_id})
        answer.raise_for_status()
        count = answer.json()
        assert isinstance(count, int), count
        return count


class _AsgiClient:
    """httpx's ``ASGITransport`` behind a blocking ``post``/``get`` (one loop per call)."""

    def __init__(self, app: Any) -> None:
        self._transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=self._transport, timeout=TIMEOUT) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(call())

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._call("POST", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._call("GET", url, **kwargs)


class _WsgiClient:
    """Calls a WSGI app the way PEP 3333 servers do: header bytes decoded as latin-1.

    (``httpx.WSGITransport`` decodes header values as ASCII, so it cannot carry the
    non-ASCII bytes the crash classes need.) Duplicated headers are joined with commas,
    as Werkzeug's server does.
    """

    def __init__(self, app: Any) -> None:
        self._app = app

    def _environ(self, method: str, url: str, body: bytes,
                 headers: list[tuple[str, str | bytes]]) -> dict[str, Any]:
        parts = urlsplit(url)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)), "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for name, value in headers:
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            key = name.upper().replace("-", "_")
            key = key if key == "CONTENT_TYPE" else "HTTP_" + key
            environ[key] = environ[key] + "," + text if key in environ else text
        return environ

    def _call(self, method: str, url: str, body: bytes = b"",
              headers: list[tuple[str, str | bytes]] | None = None) -> httpx.Response:
        status: list[int] = []
        answer_headers: list[tuple[str, str]] = []

        def start_response(line: str, pairs: list[tuple[str, str]], exc_info: Any = None,
                           ) -> Any:
            status[:] = [int(line.split()[0])]
            answer_headers[:] = pairs
            return lambda data: None

        chunks = self._app(self._environ(method, url, body, headers or []), start_response)
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return httpx.Response(status[0], headers=answer_headers, content=content,
                              request=httpx.Request(method, url))

    def post(self, url: str, *, content: bytes,
             headers: list[tuple[str, str | bytes]]) -> httpx.Response:
        return self._call("POST", url, content, headers)

    def get(self, url: str, *, params: dict[str, str]) -> httpx.Response:
        return self._call("GET", url + "?" + urlencode(params))


@contextlib.contextmanager
def open_client(name: str, mode: str) -> Iterator[ReceiverClient]:
    """A client for receiver ``name``, ``mode`` ``"inprocess"`` or ``"http"``."""
    receiver = RECEIVERS[name]
    if mode == "http":
        no_reuse = httpx.Limits(max_keepalive_connections=0)  # a fresh connection each time
        with serving(name) as served, httpx.Client(timeout=TIMEOUT, trust_env=False,
                                                   limits=no_reuse) as client:
            yield ReceiverClient(receiver, mode, served.url, client)
        return
    app, _ = create_app(name)
    if receiver.kind == "asgi":
        yield ReceiverClient(receiver, mode, "http://testserver", _AsgiClient(app))
    else:
        yield ReceiverClient(receiver, mode, "http://testserver", _WsgiClient(app))


def runs(names: Iterable[str]) -> list[object]:
    """``pytest.param(name, mode)`` for each receiver and each way it can be reached."""
    params: list[object] = []
    for name in names:
        receiver = RECEIVERS[name]
        for mode in MODES:
            if mode == "inprocess" and not receiver.in_process:
                continue
            marks = [pytest.mark.network] if mode == "http" else []
            params.append(pytest.param(name, mode, marks=marks, id=f"{name}-{mode}"))
    return params
