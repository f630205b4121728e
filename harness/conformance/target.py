"""The receiver under test: a URL or an app, reached through the one transport seam.

:func:`open_target` turns what the user gave (a URL string, an ASGI app, a WSGI app) into
a :class:`Target`: the :class:`~hooklab.harness.transport.BlockingChannel` over an
:class:`~hooklab.harness.transport.HttpChannel` or an
:class:`~hooklab.harness.transport.AppChannel` (its ASGI lifespan started), the URL the
requests go to, and the URL a ``curl`` command replays them on (the placeholder
``$RECEIVER_URL`` for an in-process app). The checks send raw
:class:`~hooklab.harness.transport.Request` objects through it and never ask which kind
it is. Over HTTP every request goes on a fresh connection (no keep-alive), so no example
is blamed for what the previous one did to the connection. A URL that refuses the
connection raises :class:`TargetUnreachable`.

Example::

    >>> with open_target("http://127.0.0.1:9/") as target:
    ...     target.url
    'http://127.0.0.1:9/'
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hooklab.model.errors import ConfigError, InvalidURL

from ..transport import (
    IN_PROCESS_URL,
    AppChannel,
    BlockingChannel,
    HttpChannel,
    Request,
    Response,
    app_kind,
)

__all__ = ["KINDS", "Target", "TargetUnreachable", "open_target"]

#: The kinds of receiver a target can be.
KINDS = ("url", "asgi", "wsgi")
#: Where an in-process app's requests go (it answers whatever host it is given).
_BASE = "http://receiver.hooklab.test"


class TargetUnreachable(ConfigError):
    """The target URL refused the connection or does not resolve (the CLI exits 2)."""


class Target:
    """Where the checks' requests go; see the module docstring.

    ``url`` is what a ``curl`` command targets; ``in_process`` says whether the receiver
    is an app called in this process.
    """

    def __init__(self, channel: BlockingChannel, *, url: str, post_url: str,
                 in_process: bool) -> None:
        self.channel = channel
        self.url = url
        self.post_url = post_url
        self.in_process = in_process

    def send(self, request: Request, *, timeout: float) -> Response:
        """POST ``request`` and wait at most ``timeout`` seconds for the answer."""
        response = self.channel.post(self.post_url, request.headers, request.body,
                                     timeout=timeout)
        if not response.connected and not self.in_process:
            raise TargetUnreachable(f"cannot reach {self.url}: {response.detail}")
        return response

    def close(self) -> None:
        """Release sockets, the loop thread and the app's lifespan."""
        self.channel.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Target({self.url!r}, {self.channel.channel!r})"


class _FreshChannel(HttpChannel):
    """An :class:`HttpChannel` whose client keeps no connection alive, closed with it."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._fresh_client = client

    async def aclose(self) -> None:
        await self._fresh_client.aclose()


def _check_url(url: str) -> str:
    import httpx

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad or out-of-range port
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidURL(f"target {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidURL(f"target must be an absolute http(s) URL, not {url!r}")
    return url


def open_target(app_or_url: Any, *, path: str = "/", kind: str | None = None) -> Target:
    """A target for a URL string, an ASGI app or a WSGI app; close it when done.

    ``kind`` (``"url"``, ``"asgi"``, ``"wsgi"``) overrides the guess (a string is a URL,
    an app follows :func:`~hooklab.harness.transport.app_kind`). ``path`` is where an
    in-process app receives webhooks.

    >>> open_target("ftp://example.com")
    Traceback (most recent call last):
    hooklab.model.errors.InvalidURL: target must be an absolute http(s) URL, not 'ftp://example.com'
    """
    if not path.startswith("/"):
        raise ConfigError(f"path must start with '/': {path!r}", field="path")
    if kind is None:
        if isinstance(app_or_url, str):
            kind = "url"
        elif callable(app_or_url):
            kind = app_kind(app_or_url)
        else:
            raise ConfigError(f"target must be a URL, an ASGI app or a WSGI app, "
                              f"not {type(app_or_url).__name__}")
    if kind not in KINDS:
        raise ConfigError(f"unknown target kind {kind!r}; choose url, asgi or wsgi",
                          field="kind")
    if kind == "url":
        import httpx

        url = _check_url(str(app_or_url))
        client = httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_keepalive_connections=0))
        return Target(BlockingChannel(_FreshChannel(client)), url=url, post_url=url,
                      in_process=False)
    app = AppChannel(app_or_url, kind=kind)
    channel = BlockingChannel(app)
    try:
        channel.run(app.start())
    except BaseException:
        channel.close()
        raise
    return Target(channel, url=IN_PROCESS_URL + path, post_url=_BASE + path, in_process=True)
