"""What ``hooklab send --data`` reads: JSON text, ``@FILE`` or ``@-``, bounded and strict.

A file's size is checked before it is read and no more than the limit is ever read, so a
100 MB file costs nothing before ``--max-payload`` refuses it; the JSON is strict
(:mod:`hooklab.harness.strict_json`: no NaN, no Infinity, no nesting deeper than 64).

Example::

    >>> read_data('{"id": 1}', 100)
    {'id': 1}
"""

from __future__ import annotations

import os
import sys
from typing import Any

from hooklab.model.errors import ConfigError

__all__ = ["read_data", "read_limited"]


def read_data(text: str, limit: int) -> Any:
    """``--data``: JSON text, @FILE or @-, at most ``limit`` bytes (a file's size is
    checked before it is read, and no more than the limit is ever read), strict JSON."""
    from hooklab.harness.strict_json import MalformedJSON, parse_strict

    source, raw = "--data", text.encode("utf-8", "surrogateescape")
    if text.startswith("@"):
        source = text[1:]
        try:
            raw = read_limited(source, limit)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigError(f"cannot read --data file {source!r}: {reason}") from None
    if len(raw) > limit:
        raise ConfigError(f"{source} holds more than {limit} bytes; the largest payload "
                          f"allowed is {limit} bytes (--max-payload)")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"--data file {source!r} is not UTF-8 text") from None
    try:
        return parse_strict(raw)
    except MalformedJSON as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}") from None


def read_limited(source: str, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of a file (``-``: stdin); a regular file larger than
    ``limit`` is refused from its size, unread."""
    if source == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:  # a text stream (tests)
            return sys.stdin.read(limit + 1).encode("utf-8", "surrogateescape")
        return bytes(stdin.read(limit + 1))
    with open(source, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit and os.path.isfile(source):
            raise ConfigError(f"--data file {source!r} is {size} bytes; the largest "
                              f"payload allowed is {limit} bytes (--max-payload)")
        return handle.read(limit + 1)
