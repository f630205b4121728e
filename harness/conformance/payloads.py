"""Payloads: Hypothesis strategies for webhook bodies whose exact bytes matter.

A receiver must check the signature over the bytes it received, so the checks send JSON
written many ways: key orders, spacing, indentation, escapes (``\\u00e9`` for ``é``,
``\\/`` for ``/``), exponents on floats, leading and trailing whitespace. A
:class:`Style` says how to write a value and :func:`encode` writes it; a re-serialization
by ``json.dumps`` usually gives different bytes, which is the point.

The module also draws bodies that are not JSON at all, and garbage header values that HTTP
can still carry (no NUL, CR or LF, no surrounding whitespace).

Example::

    >>> encode({"b": 1, "a": "é/"}, Style(key_sep=":", item_sep=",", ascii=True))
    b'{"b":1,"a":"\\\\u00e9/"}'
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from hypothesis import strategies as st

__all__ = [
    "Style",
    "encode",
    "event_types",
    "garbage_header_values",
    "is_json",
    "json_values",
    "malformed_bodies",
    "reserializations",
    "styles",
]

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                  "\r": "\\r", "\t": "\\t"}


class Style(NamedTuple):
    """How to write JSON: separators, indentation, escapes and surrounding whitespace."""

    key_sep: str = ": "
    item_sep: str = ", "
    indent: int | None = None
    ascii: bool = False
    upper_hex: bool = False
    escape_slash: bool = False
    float_exponent: bool = False
    leading: str = ""
    trailing: str = ""


def _string(text: str, style: Style) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char == "/" and style.escape_slash:
            out.append("\\/")
        elif code < 0x20 or (code > 0x7E and style.ascii):
            units = [code] if code < 0x10000 else [
                0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
            for unit in units:
                text_hex = f"{unit:04X}" if style.upper_hex else f"{unit:04x}"
                out.append("\\u" + text_hex)
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _write(value: Any, style: Style, depth: int) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text + "E0" if style.float_exponent and "e" not in text else text
    if isinstance(value, str):
        return _string(value, style)
    if isinstance(value, dict):
        items = [_string(k, style) + style.key_sep + _write(v, style, depth + 1)
                 for k, v in value.items()]
        return _container("{", items, "}", style, depth)
    items = [_write(v, style, depth + 1) for v in value]
    return _container("[", items, "]", style, depth)


def _container(open_: str, items: list[str], close: str, style: Style, depth: int) -> str:
    if not items:
        return open_ + close
    if style.indent is None:
        return open_ + style.item_sep.join(items) + close
    inner = "\n" + " " * (style.indent * (depth + 1))
    outer = "\n" + " " * (style.indent * depth)
    return open_ + inner + (style.item_sep.rstrip() + inner).join(items) + outer + close


def encode(value: Any, style: Style | None = None) -> bytes:
    """``value`` written as UTF-8 JSON in ``style``.

    >>> encode([1.5, "a/b"], Style(indent=1, escape_slash=True, float_exponent=True))
    b'[\\n 1.5E0,\\n "a\\\\/b"\\n]'
    """
    style = style or Style()
    text = style.leading + _write(value, style, 0) + style.trailing
    return text.encode("utf-8")


def is_json(body: bytes) -> bool:
    """Whether ``body`` is JSON to a lenient *or* a strict parser (UTF-8, no NaN).

    >>> is_json(b' {"a": [1, 2.5e3]} '), is_json(b"{'a': 1}"), is_json(b"NaN")
    (True, False, True)
    """
    try:
        json.loads(body)
        return True
    except ValueError:
        pass
    try:
        json.loads(body.decode("utf-8"))
        return True
    except ValueError:
        return False


def reserializations(body: bytes) -> set[bytes]:
    """The bytes common ``json.dumps`` calls give for ``body``'s value (to differ from).

    >>> sorted(reserializations(b'{"a":1}'))
    [b'{"a": 1}', b'{"a":1}']
    """
    value = json.loads(body)
    out = set()
    for sort_keys in (False, True):
        for ensure_ascii in (False, True):
            for separators in ((", ", ": "), (",", ":")):
                out.add(json.dumps(value, sort_keys=sort_keys, ensure_ascii=ensure_ascii,
                                   separators=separators).encode("utf-8"))
    return out


_text = st.text(st.characters(codec="utf-8"), max_size=12)  # no lone surrogates
_big_ints = st.sampled_from([2**53 + 1, 2**63, -(2**63) - 1, 2**64 + 7, 10**30, -(10**25)])
_scalars = (
    st.none() | st.booleans() | st.integers() | _big_ints
    | st.floats(allow_nan=False, allow_infinity=False) | _text
)

#: Any JSON value: nested objects and arrays of unicode text, big numbers, floats.
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)

#: Event type names such as ``invoice.paid``.
event_types = st.from_regex(r"[a-z]{1,10}(\.[a-z_]{1,10}){0,2}", fullmatch=True)

_spaces = st.text(" \t\r\n", max_size=3)

#: Ways to write JSON; ``Style()`` (json.dumps's own) is the simplest example.
styles = st.builds(
    Style,
    key_sep=st.sampled_from([": ", ":", " : ", ":\t"]),
    item_sep=st.sampled_from([", ", ",", " ,", ",  "]),
    indent=st.none() | st.integers(0, 4),
    ascii=st.booleans(),
    upper_hex=st.booleans(),
    escape_slash=st.booleans(),
    float_exponent=st.booleans(),
    leading=_spaces,
    trailing=_spaces,
)


def _truncated(body: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, max(len(body) - 1, 0)).map(lambda n: body[:n])


_near_json = st.sampled_from([
    b"", b" ", b"{", b"}", b"[1,]", b'{"a": 1,}', b"{'a': 1}", b'{"a": }', b"undefined",
    b"a=1&b=2", b"<xml/>", b'{"a": "\xff"}', b"\xef\xbb", b'{"a": 01}', b'"unterminated',
    b'{"a" 1}', b"[1 2]", b"True", b"nul",
])

#: Bodies that no JSON parser accepts (truncated JSON, near misses, random bytes).
malformed_bodies = st.one_of(
    _near_json,
    json_values.filter(lambda v: isinstance(v, dict | list)).map(encode).flatmap(_truncated),
    st.binary(max_size=64),
    _text.map(lambda t: t.encode("utf-8")),
).filter(lambda body: not is_json(body))

_header_bytes = st.sampled_from(
    [bytes([b]) for b in range(1, 256) if b not in (0x0A, 0x0B, 0x0C, 0x0D)]
)
_near_values = st.sampled_from([
    "v1,", "v1,!!!", "v2,abc", "v1 ,x", "t=", "t=abc,v1=", "t=1,t=2,v1=00", "sha256=",
    "sha256=zz", "-1", "1e10", "9" * 40, "1614265330.9", "0x10", "msg with spaces", ",,,",
    "=", "v1," + "A" * 10000,
]).map(str.encode)

#: Header values HTTP can carry that mean nothing: random bytes and near misses.
garbage_header_values = st.one_of(
    _near_values,
    st.lists(_header_bytes, max_size=40).map(b"".join),
).map(lambda value: value.strip(b" \t"))
