"""A request as a ``curl`` command line that sends it again, byte for byte.

A conformance finding carries the request that broke the rule; :func:`curl_command` turns
that :class:`~hooklab.harness.transport.base.Request` into a shell command a person can
paste: every header pair in order (repeats and raw bytes kept, quoted with ``$'...'``
where they are not printable), the exact body (through ``printf`` when it holds NUL
bytes). An in-process receiver has no URL, so its commands use the placeholder
:data:`IN_PROCESS_URL`.

Example::

    >>> print(curl_command("$RECEIVER_URL/hooks", Request(b"{}", (("x-bad", b"\\xff"),))))
    curl -sS -i -X POST "$RECEIVER_URL/hooks" -H $'x-bad: \\xff' --data-binary '{}'
"""

from __future__ import annotations

import shlex

from .base import Request

__all__ = ["IN_PROCESS_URL", "curl_command"]

#: The placeholder a ``curl`` command uses for an in-process receiver.
IN_PROCESS_URL = "$RECEIVER_URL"


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
