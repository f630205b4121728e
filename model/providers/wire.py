"""What travels between a provider twin and a receiver: the message, the request, the answer.

A :class:`Message` is one event as a provider sends it: its id, its type, the body bytes and
the headers that belong to the event (GitHub's ``X-GitHub-Event``, Shopify's topic). It is
built once, and every attempt to deliver it carries it unchanged. A :class:`Request` is one
attempt on the wire: the message's body and headers, the provider's own headers, the retry
headers of that attempt and the signature, signed at the attempt's time. An
:class:`Answer` is what the receiver sent back, as a handshake judge reads it.

Headers are kept as ``(name, value)`` pairs in the order they are sent; :func:`header`
looks one up without regard to case, as HTTP does.

    >>> request = Request("POST", "https://example.com/hooks",
    ...                   (("Content-Type", "application/json"),), b"{}")
    >>> request.header("content-type")
    'application/json'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "Headers", "Message", "Request", "header", "header_pairs"]

#: Headers as ``(name, value)`` pairs, in the order they are sent.
Headers = tuple[tuple[str, str], ...]


def header_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
    """Headers as a tuple of ``(name, value)`` pairs, from a mapping or pairs.

    >>> header_pairs({"A": "1"})
    (('A', '1'),)
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(name), str(value)) for name, value in items)


def header(headers: Headers, name: str) -> str | None:
    """The value of header ``name`` (any case), or None; the first one if sent twice.

    >>> header((("X-GitHub-Event", "push"),), "x-github-event")
    'push'
    """
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True)
class Message:
    """One event as a provider sends it; every retry carries it unchanged.

    ``id`` is the provider's id for the delivery (what it passes its scheme as the message
    id, and the value receivers deduplicate on where there is one); ``created`` is when
    the event happened (Unix seconds); ``headers`` are the ones that belong to the event.
    """

    provider: str
    id: str
    event_type: str
    created: int
    body: bytes
    content_type: str
    headers: Headers = ()

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not JSON).

        >>> Message("p", "m", "t", 0, b'{"a": 1}', "application/json").json()
        {'a': 1}
        """
        return json.loads(self.body)


@dataclass(frozen=True)
class Request:
    """One attempt on the wire: method, URL, headers in order, and the raw body."""

    method: str
    url: str
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name``, in any case; None if it is not sent."""
        return header(self.headers, name)

    def header_map(self) -> dict[str, str]:
        """The headers as a dict (names as sent).

        >>> Request("POST", "https://e.example/", (("A", "1"),), b"").header_map()
        {'A': '1'}
        """
        return dict(self.headers)


@dataclass(frozen=True)
class Answer:
    """What a receiver sent back: status code, headers and body bytes."""

    status: int
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of header ``name``, in any case; None if it is not sent.

        >>> Answer(200, (("Content-Type", "text/plain"),)).header("content-type")
        'text/plain'
        """
        return header(self.headers, name)

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx, the only success."""
        return 200 <= self.status < 300
