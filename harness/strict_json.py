"""Strict JSON: what a receiver accepts as a webhook payload, and what it refuses.

Python's :func:`json.loads` accepts more than RFC 8259 allows: ``NaN``, ``Infinity`` and
``-Infinity``, which a strict receiver (most JavaScript, Go and Rust parsers) answers with
400, so a message carrying them could never be delivered there. It also recurses once per
nesting level, so a deep enough body raises :class:`RecursionError`. :func:`parse_strict`
refuses both with a :class:`MalformedJSON` that says why: non-finite numbers, and nesting
deeper than :data:`MAX_DEPTH` levels (far beyond any real event; Stripe's nest a handful).

Example::

    >>> parse_strict(b'{"type": "invoice.paid", "data": {"amount": 42}}')["data"]
    {'amount': 42}
    >>> parse_strict(b'{"amount": NaN}')
    Traceback (most recent call last):
    ...
    hooklab.harness.strict_json.MalformedJSON: NaN is not JSON (RFC 8259 has no NaN or Infinity)
"""

from __future__ import annotations

import json
from typing import Any

from hooklab.model.errors import HooklabError

__all__ = ["MAX_DEPTH", "MalformedJSON", "json_depth", "parse_strict"]

#: Deepest nesting of arrays and objects a payload may have.
MAX_DEPTH = 64


class MalformedJSON(HooklabError, ValueError):
    """A body that is not strict JSON (bad UTF-8, bad syntax, NaN, too deep)."""


def _refuse_constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def parse_strict(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``body``; :class:`MalformedJSON` if it is not UTF-8, not JSON,
    holds ``NaN``/``Infinity`` (also as a number too large for a float, such as ``1e999``)
    or nests deeper than ``max_depth``.

    >>> parse_strict(b"[" * 65 + b"]" * 65)
    Traceback (most recent call last):
    ...
    hooklab.harness.strict_json.MalformedJSON: nested deeper than 64 levels
    >>> parse_strict(b"1e999")
    Traceback (most recent call last):
    ...
    hooklab.harness.strict_json.MalformedJSON: number 1e999 is out of range (not finite)
    """
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except MalformedJSON:
        raise
    except RecursionError:
        raise MalformedJSON(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # bad UTF-8 (UnicodeDecodeError) or bad syntax
        raise MalformedJSON(str(exc)) from None
    if json_depth(value) > max_depth:
        raise MalformedJSON(f"nested deeper than {max_depth} levels")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedJSON(f"number {text[:40]} is out of range (not finite)")
    return value


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar: 0), without recursion.

    >>> json_depth({"a": [1, {"b": []}]}), json_depth(3)
    (4, 0)
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest
