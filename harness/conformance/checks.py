"""The named conformance checks: one small function per rule a webhook receiver must keep.

Every check has the same signature, ``check(ctx: CheckContext) -> None``, and a one-line
docstring stating its rule; ``@check`` registers it (:mod:`~hooklab.harness.conformance.
registry`), in the order of this file, which is the report order. The names are stable:
they appear in reports and CI logs. A check draws examples through
:meth:`CheckContext.explore`, sends them with :meth:`CheckContext.expect`, and raises
:class:`CheckSkipped` when the signing scheme makes the rule meaningless (GitHub signs no
timestamp; Stripe checks only "too old").

Example::

    >>> list(CHECKS)[:3]
    ['accepts_valid_delivery', 'rejects_missing_signature', 'rejects_invalid_signature']
    >>> rejects_stale_timestamp.__doc__
    'A timestamp older than the tolerance gets 401.'
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from ..transport import Request
from .context import CheckContext, CheckFailed, CheckSkipped
from .payloads import (
    Style,
    event_types,
    garbage_header_values,
    json_values,
    malformed_bodies,
    reserializations,
    styles,
)
from .registry import CHECKS, check
from .schemes import retime, tamper_signature, with_header

__all__ = [
    "CHECKS", "CHECK_NAMES", "accepts_valid_delivery", "rejects_missing_signature",
    "rejects_invalid_signature", "rejects_stale_timestamp", "rejects_future_timestamp",
    "accepts_rotated_signatures", "rejects_malformed_json", "verifies_before_parsing",
    "verifies_raw_body", "survives_malformed_headers", "acks_within_timeout",
    "idempotent_redelivery",
]

#: Seconds past the tolerance that stale and future timestamps keep, for clock skew.
SKEW_MARGIN = 60
_TEN_YEARS = 10 * 365 * 86400


def _ok(status: int) -> bool:
    return 200 <= status < 300


def _is(code: int) -> Callable[[int], bool]:
    return lambda status: status == code


def _wrong_secrets(ctx: CheckContext) -> st.SearchStrategy[str]:
    if ctx.rules.name == "standard":
        keys = st.binary(min_size=24, max_size=32)
        secrets = keys.map(lambda key: "whsec_" + base64.b64encode(key).decode("ascii"))
    else:
        secrets = st.text("abcdefghijklmnopqrstuvwxyzABCDEF0123456789_", min_size=8,
                          max_size=40)
    return secrets.filter(lambda secret: secret != ctx.secret)


@check
def accepts_valid_delivery(ctx: CheckContext) -> None:
    """A correctly signed, well-formed delivery gets a 2xx."""

    def probe(data: Any, style: Style, event_type: str) -> None:
        request = ctx.delivery(data, style, event_type=event_type)
        ctx.expect(request, _ok, "a 2xx", "valid delivery rejected")

    ctx.explore(probe, data=json_values, style=styles, event_type=event_types)


@check
def rejects_missing_signature(ctx: CheckContext) -> None:
    """Missing signature headers get 401."""

    def probe(data: Any, missing: list[str]) -> None:
        request = ctx.delivery(data)
        for name in missing:
            request = with_header(request, name)
        ctx.expect(request, _is(401), "401", "delivery without signature headers not rejected")

    missing = st.lists(st.sampled_from(ctx.rules.signed_headers), min_size=1, unique=True)
    ctx.explore(probe, data=json_values, missing=missing)


def _tampered(ctx: CheckContext, data: Any, part: str, position: int, wrong: str) -> Request:
    if part == "secret":
        return ctx.delivery(data, secrets=[wrong])
    request = ctx.delivery(data)
    if part == "body":
        bodies = [request.body + b" ", b"\n" + request.body,
                  request.body.replace(b'"data"', b'"data" ', 1)]
        return Request(bodies[position % len(bodies)], request.headers)
    if part == "id" and ctx.rules.id_header:
        return with_header(request, ctx.rules.id_header, ctx.new_message_id())
    if part == "timestamp":
        return retime(ctx.rules, request, str(ctx.now() - 1 - position % 120))
    return tamper_signature(ctx.rules, request, position)


@check
def rejects_invalid_signature(ctx: CheckContext) -> None:
    """A wrong secret, or a tampered body, id, timestamp or signature, gets 401."""

    def probe(data: Any, part: str, position: int, wrong: str) -> None:
        request = _tampered(ctx, data, part, position, wrong)
        ctx.expect(request, _is(401), "401", f"delivery with a forged {part} not rejected")

    ctx.explore(probe, data=json_values, part=st.sampled_from(ctx.rules.tampering),
                position=st.integers(0, 255), wrong=_wrong_secrets(ctx))


@check
def rejects_stale_timestamp(ctx: CheckContext) -> None:
    """A timestamp older than the tolerance gets 401."""
    if not ctx.rules.dated:
        raise CheckSkipped(f"{ctx.rules.name} signs no timestamp, so replays cannot be dated")

    def probe(data: Any, age: int) -> None:
        request = ctx.delivery(data, timestamp=ctx.now() - int(ctx.tolerance) - age)
        ctx.expect(request, _is(401), "401", "stale timestamp accepted")

    ctx.explore(probe, data=json_values, age=st.integers(SKEW_MARGIN, _TEN_YEARS))


@check
def rejects_future_timestamp(ctx: CheckContext) -> None:
    """A timestamp further ahead than the tolerance gets 401."""
    if not ctx.rules.dated:
        raise CheckSkipped(f"{ctx.rules.name} signs no timestamp")
    if not ctx.rules.future_checked:
        raise CheckSkipped(f"{ctx.rules.name} receivers check only timestamps that are too old")

    def probe(data: Any, ahead: int) -> None:
        request = ctx.delivery(data, timestamp=ctx.now() + int(ctx.tolerance) + ahead)
        ctx.expect(request, _is(401), "401", "future timestamp accepted")

    ctx.explore(probe, data=json_values, ahead=st.integers(SKEW_MARGIN, _TEN_YEARS))


@check
def accepts_rotated_signatures(ctx: CheckContext) -> None:
    """Several signatures, of which only one is valid, are accepted wherever it stands."""
    if not ctx.rules.rotation:
        raise CheckSkipped(f"{ctx.rules.name} sends a single signature, so no key rotation")

    def probe(data: Any, wrong: list[str], position: int) -> None:
        secrets = list(wrong)
        secrets.insert(position % (len(wrong) + 1), ctx.secret)
        request = ctx.delivery(data, secrets=secrets)
        where = f"position {secrets.index(ctx.secret) + 1} of {len(secrets)}"
        ctx.expect(request, _ok, "a 2xx", f"valid signature at {where} not accepted")

    wrong = st.lists(_wrong_secrets(ctx), min_size=1, max_size=4, unique=True)
    ctx.explore(probe, data=json_values, wrong=wrong, position=st.integers(0, 4))


@check
def rejects_malformed_json(ctx: CheckContext) -> None:
    """A validly signed body that is not JSON gets 400."""

    def probe(body: bytes) -> None:
        ctx.expect(ctx.delivery(body=body), _is(400), "400", "malformed JSON not answered 400")

    ctx.explore(probe, body=malformed_bodies)


@check
def verifies_before_parsing(ctx: CheckContext) -> None:
    """An invalid signature on a malformed body gets 401, not 400."""

    def probe(body: bytes, forgery: str, wrong: str) -> None:
        if forgery == "secret":
            request = ctx.delivery(body=body, secrets=[wrong])
        else:
            request = with_header(ctx.delivery(body=body), ctx.rules.signature_header)
        ctx.expect(request, _is(401), "401", "malformed body parsed before its signature")

    ctx.explore(probe, body=malformed_bodies, forgery=st.sampled_from(["secret", "missing"]),
                wrong=_wrong_secrets(ctx))


@check
def verifies_raw_body(ctx: CheckContext) -> None:
    """Bodies whose bytes differ from a re-serialization of their JSON verify (raw bytes)."""

    def probe(data: Any, style: Style) -> None:
        request = ctx.delivery(data, style)
        assume(request.body not in reserializations(request.body))
        ctx.expect(request, _ok, "a 2xx", "signature checked on re-serialized JSON")

    ctx.explore(probe, data=json_values, style=styles)


@check
def survives_malformed_headers(ctx: CheckContext) -> None:
    """Garbage in the signature, timestamp and id headers never gets a 5xx."""

    def probe(data: Any, edits: dict[str, list[bytes | None]]) -> None:
        request = ctx.delivery(data)
        for name, values in edits.items():
            original = request.header(name) or b""
            request = with_header(request, name, *[original if v is None else v
                                                    for v in values])
        ctx.expect(request, lambda status: status < 500, "an answer below 500",
                   "malformed header crashed the receiver")

    value = st.none() | garbage_header_values  # None keeps the valid value (a duplicate)
    edits = st.dictionaries(st.sampled_from(ctx.rules.garbage_headers),
                            st.lists(value, max_size=2), min_size=1)
    ctx.explore(probe, data=json_values, edits=edits)


@check
def acks_within_timeout(ctx: CheckContext) -> None:
    """The receiver answers within the sender's timeout, so processing must be async."""

    def probe(data: Any) -> None:
        ctx.expect(ctx.delivery(data), _ok, f"a 2xx within {ctx.timeout:g} s",
                   "valid delivery rejected")

    ctx.explore(probe, data=json_values, max_examples=5)


@check
def idempotent_redelivery(ctx: CheckContext) -> None:
    """The same message delivered twice is acknowledged both times and processed once."""

    def probe(data: Any, resign: bool) -> None:
        first = ctx.delivery(data)
        message_id = ctx.last_message_id
        ctx.expect(first, _ok, "a 2xx", "first delivery rejected")
        second = first
        if resign:  # a retry: same id and body, signed again a second later
            second = ctx.delivery(body=first.body, message_id=message_id,
                                  timestamp=ctx.now() + 1)
        ctx.expect(second, _ok, "a 2xx", "redelivery of an acknowledged message rejected")
        count = ctx.processed(message_id)
        if count is not None and count != 1:
            raise CheckFailed(f"message processed {count} times",
                              f"{message_id} was delivered twice; it must be processed once",
                              second)

    limit = 20 if ctx.observe is not None else None
    ctx.explore(probe, data=json_values, resign=st.booleans(), max_examples=limit)


#: The stable check names, in report order.
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)
