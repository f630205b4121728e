"""The deterministic adversarial corpus: explicit examples every run sends before any drawn one.

Derandomized Hypothesis runs can miss whole classes of inputs that crash real receivers
(a ``webhook-signature: garbage`` against the Standard Webhooks Python library, a
non-ASCII signature against ``hmac.compare_digest(str, str)``, ``t=<now>,v1=é…`` against
the Stripe SDK). So each check that takes header or body garbage runs these first, the same
in every run:

- :func:`header_garbage`: empty values and values with whitespace inside, known crash
  strings, non-ASCII and non-UTF-8 bytes, duplicated headers, a huge signature list,
  ``NaN``, millisecond and far-future timestamps, per header of the scheme;
- :data:`MALFORMED_BODIES`: a signed empty body, whitespace, truncated JSON, non-UTF-8;
- :func:`signature_fields` and :func:`corrupt_field`: a well-formed signature header with
  one field corrupted (each field in turn), by characters outside every digest alphabet
  so the result can never verify.

Example::

    >>> signature_fields("t=1700000000,v1=ab12")
    [(0, 1), (2, 12), (13, 15), (16, 20)]
    >>> corrupt_field("sha256=00ff", field=1, position=0, char="é")
    'sha256=é0ff'
"""

from __future__ import annotations

import re

from .schemes import SchemeRules

__all__ = ["CORRUPTIONS", "MALFORMED_BODIES", "corrupt_field", "header_garbage",
           "signature_fields"]

#: Characters no digest alphabet (hex, base64) contains: a corrupted field never verifies.
CORRUPTIONS = ("é", "!", "~")
_TEN_YEARS = 10 * 365 * 86400

#: Signed bodies that are not JSON, which every run sends first.
MALFORMED_BODIES: tuple[bytes, ...] = (
    b"", b" ", b"\n", b"{", b'{"type": "invoice.paid"', b"not json", b"\xff\xfe\x00{",
    b'{"a": "\xff"}', b"{'a': 1}", b"[1,]",
)


def header_garbage(rules: SchemeRules, now: int) -> list[dict[str, list[bytes | None]]]:
    """Header edits for ``survives_malformed_headers``: ``{header: values}``, where a value
    ``None`` repeats the valid one (a duplicated header) and an empty list drops it."""
    edits: list[dict[str, list[bytes | None]]] = []
    # HTTP trims surrounding whitespace, so whitespace goes inside the value
    common = [b"", b"v1, x", b"a\tb", b"garbage", "é".encode(), b"\xff\xfe", b"\x7f", b",,,", b"="]
    for name in rules.garbage_headers:
        edits += [{name: [value]} for value in common]
        edits.append({name: [None, None]})
        edits.append({name: [None, b"garbage"]})
    signature = rules.signature_header
    prefix = rules.digest_prefix.encode()
    digest = b"0" * rules.digest_chars
    if rules.name == "standard":
        crashes = [b"v1 ,x", b"v1,x", b"v1,", b"v1,!!!", b"v2,abc", "v1,é".encode(),
                   b"v1," + "é".encode() * 43, b" ".join([b"v1," + b"A" * 44] * 150)]
    elif rules.name == "stripe":
        t = str(now).encode()
        crashes = [b"t=" + t + b",v1=" + "é".encode() * 64, b"t=,v1=", b"t=abc,v1=",
                   b"t=NaN,v1=" + digest, b"t=" + t + b"000,v1=" + digest,
                   b"t=" + str(now + _TEN_YEARS).encode() + b",v1=" + digest,
                   b"t=1,t=2,v1=00", b"t=" + t + b"," + b",".join([b"v1=" + digest] * 150)]
    else:
        crashes = [prefix + "é".encode() * rules.digest_chars, prefix, prefix + b"zz",
                   b"sha1=" + digest[:40], prefix + digest + b"," + prefix + digest]
    edits += [{signature: [value]} for value in crashes]
    if rules.timestamp_header:
        stamps = [b"NaN", str(now * 1000).encode(), str(now + _TEN_YEARS).encode(), b"-1",
                  b"1614265330.9", b"9" * 40, b"0x10", b"1e10"]
        edits += [{rules.timestamp_header: [value]} for value in stamps]
    return edits


def signature_fields(value: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of the fields of a signature header value: the runs
    between ``,``, ``=`` and spaces (version names, timestamps, digests)."""
    return [match.span() for match in re.finditer(r"[^,= ]+", value)]


def corrupt_field(value: str, *, field: int, position: int, char: str) -> str:
    """``value`` with character ``position`` of field ``field`` (both taken modulo the
    count) replaced by ``char``."""
    spans = signature_fields(value)
    if not spans:
        return char
    start, end = spans[field % len(spans)]
    index = start + position % (end - start)
    return value[:index] + char + value[index + 1:]
