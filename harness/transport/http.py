"""Real HTTP: the channel that posts over the network with httpx.

:class:`HttpChannel` posts once and never follows a redirect. The whole attempt has one
deadline (the connect phase its own, shorter one if given), at most ``max_body`` bytes of
the answer are read, and every transport failure becomes one of the error kinds of
:data:`~hooklab.model.outcomes.TRANSPORT_ERRORS` (timeout, connection_refused, reset, tls,
dns). A failure to connect says so (``connected=False``), in the operating system's words.
The outbox worker hands it a client whose connections go through the SSRF guard
(:func:`~hooklab.harness.transport.ssrf.guarded_transport`).

Example::

    >>> import asyncio
    >>> channel = HttpChannel()
    >>> answer = asyncio.run(channel.post("http://127.0.0.1:9/", {}, b"{}", timeout=5.0))
    >>> answer.outcome.error, answer.connected, answer.detail
    ('connection_refused', False, '[Errno 111] Connection refused')
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING

from hooklab.model.endpoints import mask_url
from hooklab.model.errors import InvalidURL

from ..clock import Clock, WallClock
from .base import (
    MAX_RESPONSE_BYTES,
    Headers,
    Response,
    check_max_body,
    check_timeout,
    classify_exception,
    connect_reason,
    header_pairs,
    no_answer,
    outcome_of,
    read_capped,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpChannel"]


class HttpChannel:
    """Real HTTP with an ``httpx.AsyncClient``; see the module docstring.

    ``connect_timeout`` bounds the TCP and TLS handshake (never beyond the attempt's
    timeout); ``client`` lets a caller share a client (it is then not closed here).

    >>> HttpChannel().max_body
    65536
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        max_body: int = MAX_RESPONSE_BYTES,
        connect_timeout: float | None = None,
        verify: bool | ssl.SSLContext = True,
        clock: Clock | None = None,
    ) -> None:
        import httpx

        self.max_body = check_max_body(max_body)
        self.connect_timeout = connect_timeout
        self._clock = clock or WallClock()  # for Retry-After given as an HTTP date
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            follow_redirects=False, verify=verify, trust_env=False
        )
        self._httpx = httpx

    async def post(
        self, url: str, headers: Headers, body: bytes, *, timeout: float
    ) -> Response:
        """POST once; never follows a redirect, never reads past ``max_body``."""
        httpx = self._httpx
        timeout = check_timeout(timeout)
        connect = min(timeout, self.connect_timeout or timeout)
        start = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                async with self._client.stream(
                    "POST",
                    url,
                    headers=header_pairs(headers),
                    content=bytes(body),
                    timeout=httpx.Timeout(timeout, connect=connect),
                    follow_redirects=False,
                ) as answer:
                    data, truncated = await read_capped(answer.aiter_raw(), self.max_body)
                    return Response(
                        outcome_of(answer.status_code, answer.headers, self._clock),
                        data,
                        truncated,
                        dict(answer.headers),
                        time.perf_counter() - start,
                    )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            shown = mask_url(url)  # credentials in the URL stay out of the message
            raise InvalidURL(f"cannot POST to {shown!r}: {str(exc).replace(url, shown)}"
                             ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return Response(classify_exception(exc), elapsed=time.perf_counter() - start,
                            detail=connect_reason(exc), connected=False)
        except (httpx.TransportError, OSError, TimeoutError, ssl.SSLError) as exc:
            outcome = classify_exception(exc)
            detail = (no_answer(timeout) if outcome.error == "timeout"
                      else f"{type(exc).__name__}: {exc}")
            return Response(outcome, elapsed=time.perf_counter() - start, detail=detail)

    async def aclose(self) -> None:
        """Close the client if this channel made it."""
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"HttpChannel(max_body={self.max_body})"
