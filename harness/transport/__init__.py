"""hooklab.harness.transport: the one seam between a delivery and its receiver.

A :class:`Channel` takes one request (URL, headers, raw body) and gives back one
:class:`Response`; the sender, the outbox worker and the conformance harness talk only to
it, and never ask which channel they have. One module per idea:

- ``base.py``: the protocol, :class:`Response`, :class:`Request` (raw header pairs:
  repeats, bytes), the response cap :data:`MAX_RESPONSE_BYTES`, outcome classification;
- ``http.py``: :class:`HttpChannel`, real HTTP with httpx;
- ``app.py``: :class:`AppChannel`, an ASGI or WSGI app in-process, and :func:`app_kind`,
  the one rule that tells them apart;
- ``simulated.py``: :class:`SimulatedChannel`, the simulator's fault model as a receiver;
- ``blocking.py``: :class:`BlockingChannel`, any channel for code without an event loop;
- ``curl.py``: :func:`curl_command`, a request as a command line that replays it;
- ``ssrf.py``: the SSRF guard real HTTP connects through.

Example::

    >>> import asyncio
    >>> from hooklab.harness.clock import FakeClock
    >>> from hooklab.model.faults import ReceiverModel
    >>> channel = SimulatedChannel(ReceiverModel.parse("script=500,200"), clock=FakeClock())
    >>> [asyncio.run(channel.post("http://r.test/", {"webhook-id": "m"}, b"{}",
    ...                           timeout=5.0)).describe() for _ in range(2)]
    ['500 after 0.000 s', '200 after 0.000 s']
"""

from __future__ import annotations

from .app import AppChannel, app_kind
from .base import (
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    Channel,
    Headers,
    Request,
    Response,
    classify_exception,
    message_id_of,
)
from .blocking import BlockingChannel
from .curl import IN_PROCESS_URL, curl_command
from .http import HttpChannel
from .simulated import SimulatedChannel

__all__ = [
    "IN_PROCESS_URL",
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "AppChannel",
    "BlockingChannel",
    "Channel",
    "Headers",
    "HttpChannel",
    "Request",
    "Response",
    "SimulatedChannel",
    "app_kind",
    "classify_exception",
    "curl_command",
    "message_id_of",
]
