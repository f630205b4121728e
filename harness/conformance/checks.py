"""The named conformance checks: one small function per rule a webhook receiver must keep.

Every check has the same signature, ``check(ctx: CheckContext) -> None``, and a one-line
docstring stating its rule; ``@check`` registers it (:mod:`~hooklab.harness.conformance.
registry`), in the order of this file, which is the report order. The names are stable:
they appear in reports and CI logs. A check runs its explicit adversarial examples
(:mod:`~hooklab.harness.conformance.adversarial`) and then the ones Hypothesis draws,
through :meth:`CheckContext.explore`; it sends them with :meth:`CheckContext.expect` or
:meth:`CheckContext.rejects` (a rejection is any 4xx), and raises :class:`CheckSkipped`
when the rule does not apply (GitHub signs no timestamp; Stripe checks only "too old"; no
observer of processing). The checks in :data:`NEEDS_VALID_DELIVERY` are blocked when
``accepts_valid_delivery`` fails.

Example::

    >>> list(CHECKS)[:3]
    ['accepts_valid_delivery', 'rejects_missing_signature', 'rejects_invalid_signature']
    >>> rejects_stale_timestamp.__doc__
    'A timestamp older than the tolerance is rejected (a 4xx).'
"""

from __future__ import annotations

import base64
import random
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

from hooklab.model.providers import Answer, signing_secret
from hooklab.model.signing import generate_keys

from ..transport import Request
from .adversarial import (
    CORRUPTIONS,
    MALFORMED_BODIES,
    corrupt_field,
    header_garbage,
    signature_fields,
)
from .context import CheckContext, CheckFailed, CheckSkipped
from .payloads import (
    Style,
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
    "idempotent_redelivery", "accepts_large_delivery", "resists_unsigned_header_tampering",
    "rejects_corrupted_signature_field", "answers_handshake", "NEEDS_VALID_DELIVERY",
    "NO_OBSERVER",
]

#: Seconds past the tolerance that stale and future timestamps keep, for clock skew.
SKEW_MARGIN = 60
_TEN_YEARS = 10 * 365 * 86400
#: The reason a check that must see processing gives without an observer.
NO_OBSERVER = "no observer"


def _ok(status: int) -> bool:
    return 200 <= status < 300


def _wrong_secrets(ctx: CheckContext) -> st.SearchStrategy[str]:
    if ctx.rules.name == "standard":
        keys = st.binary(min_size=24, max_size=32)
        secrets = keys.map(lambda key: "whsec_" + base64.b64encode(key).decode("ascii"))
    elif ctx.rules.name == "discord":  # a key pair: any other signing key
        secrets = st.integers(0, 2**32).map(lambda n: _generated_secret(ctx, n))
    else:
        secrets = st.text("abcdefghijklmnopqrstuvwxyzABCDEF0123456789_", min_size=8,
                          max_size=40)
    return secrets.filter(lambda secret: secret != ctx.secret)


def _generated_secret(ctx: CheckContext, n: int) -> str:
    return signing_secret(generate_keys(random.Random(n), ctx.rules.name))


def _a_wrong_secret(ctx: CheckContext) -> str:
    if ctx.rules.name == "standard":
        wrong = "whsec_" + base64.b64encode(bytes(range(24))).decode("ascii")
    elif ctx.rules.name == "discord":
        wrong = _generated_secret(ctx, 1)
    else:
        wrong = "hooklab_wrong_secret_0123456789"
    return wrong if wrong != ctx.secret else _generated_secret(ctx, 2)


def _hostile_bytes(request: Request) -> bool:
    """Whether a header carries bytes an HTTP server may refuse by closing the connection
    (controls, DEL, or anything outside ASCII)."""
    for _, value in request.headers:
        raw = value if isinstance(value, bytes) else value.encode("latin-1", "replace")
        if any(b < 0x20 and b != 0x09 or b >= 0x7F for b in raw):
            return True
    return False


@check
def accepts_valid_delivery(ctx: CheckContext) -> None:
    """A correctly signed, well-formed delivery, as the provider sends it, gets a 2xx."""

    def probe(data: Any, style: Style, event_type: str) -> None:
        request = ctx.delivery(data, style, event_type=event_type)
        ctx.expect(request, _ok, "a 2xx", "valid delivery rejected")

    kinds = ctx.twin.event_types or ("",)
    explicit = [{"data": None, "style": Style(), "event_type": kind} for kind in kinds]
    ctx.explore(probe, explicit=explicit, data=json_values, style=styles,
                event_type=st.sampled_from(kinds))


@check
def rejects_missing_signature(ctx: CheckContext) -> None:
    """Missing signature headers are rejected (a 4xx; the diagram's n12 answers 401)."""

    def probe(data: Any, missing: list[str]) -> None:
        request = ctx.delivery(data)
        for name in missing:
            request = with_header(request, name)
        ctx.rejects(request, "delivery without signature headers not rejected")

    names = ctx.rules.signed_headers
    explicit = [{"data": None, "missing": [name]} for name in names]
    explicit.append({"data": None, "missing": list(names)})
    missing = st.lists(st.sampled_from(names), min_size=1, unique=True)
    ctx.explore(probe, explicit=explicit, data=json_values, missing=missing)


def _tampered(ctx: CheckContext, data: Any, part: str, position: int, wrong: str) -> Request:
    if part == "secret":
        return ctx.delivery(data, secrets=[wrong])
    signed_at = ctx.now()  # read once: a second boundary must not undo the tampering below
    request = ctx.delivery(data, timestamp=signed_at)
    if part == "body":
        bodies = [request.body + b" ", b"\n" + request.body,
                  request.body.replace(b'"hooklab"', b'"hooklab" ', 1)]
        return Request(bodies[position % len(bodies)], request.headers)
    if part == "id" and ctx.rules.id_header:
        return with_header(request, ctx.rules.id_header, ctx.new_message_id())
    if part == "timestamp":
        return retime(ctx.rules, request, str(signed_at - 1 - position % 120))
    return tamper_signature(ctx.rules, request, position)


@check
def rejects_invalid_signature(ctx: CheckContext) -> None:
    """A wrong secret, or a tampered body, id, timestamp or signature, is rejected (a 4xx)."""

    def probe(data: Any, part: str, position: int, wrong: str) -> None:
        request = _tampered(ctx, data, part, position, wrong)
        ctx.rejects(request, f"delivery with a forged {part} not rejected")

    wrong = _a_wrong_secret(ctx)
    explicit = [{"data": None, "part": part, "position": 0, "wrong": wrong}
                for part in ctx.rules.tampering]
    ctx.explore(probe, explicit=explicit, data=json_values,
                part=st.sampled_from(ctx.rules.tampering), position=st.integers(0, 255),
                wrong=_wrong_secrets(ctx))


@check
def rejects_stale_timestamp(ctx: CheckContext) -> None:
    """A timestamp older than the tolerance is rejected (a 4xx)."""
    if not ctx.rules.dated:
        raise CheckSkipped(f"{ctx.rules.name} signs no timestamp, so replays cannot be dated")

    def probe(data: Any, age: int) -> None:
        request = ctx.delivery(data, timestamp=ctx.now() - int(ctx.tolerance) - age)
        ctx.rejects(request, "stale timestamp accepted")

    explicit = [{"data": None, "age": age} for age in (SKEW_MARGIN, _TEN_YEARS)]
    ctx.explore(probe, explicit=explicit, data=json_values,
                age=st.integers(SKEW_MARGIN, _TEN_YEARS))


@check
def rejects_future_timestamp(ctx: CheckContext) -> None:
    """A timestamp further ahead than the tolerance is rejected (a 4xx)."""
    if not ctx.rules.dated:
        raise CheckSkipped(f"{ctx.rules.name} signs no timestamp")
    if not ctx.rules.future_checked:
        raise CheckSkipped(f"{ctx.rules.name} receivers check only timestamps that are too old")

    def probe(data: Any, ahead: int) -> None:
        request = ctx.delivery(data, timestamp=ctx.now() + int(ctx.tolerance) + ahead)
        ctx.rejects(request, "future timestamp accepted")

    explicit = [{"data": None, "ahead": ahead} for ahead in (SKEW_MARGIN, _TEN_YEARS)]
    ctx.explore(probe, explicit=explicit, data=json_values,
                ahead=st.integers(SKEW_MARGIN, _TEN_YEARS))


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

    explicit = [{"data": None, "wrong": [_a_wrong_secret(ctx)], "position": p} for p in (0, 1)]
    wrong = st.lists(_wrong_secrets(ctx), min_size=1, max_size=4, unique=True)
    ctx.explore(probe, explicit=explicit, data=json_values, wrong=wrong,
                position=st.integers(0, 4))


@check
def rejects_malformed_json(ctx: CheckContext) -> None:
    """A validly signed body that is not JSON is rejected (a 4xx; the diagram answers 400)."""

    def probe(body: bytes) -> None:
        ctx.rejects(ctx.delivery(body=body), "malformed JSON not rejected", rule=400)

    ctx.explore(probe, explicit=[{"body": body} for body in MALFORMED_BODIES],
                body=malformed_bodies)


def _forged(ctx: CheckContext, body: bytes | None, forgery: str, wrong: str) -> Request:
    if forgery == "secret":
        return ctx.delivery(body=body, secrets=[wrong])
    return with_header(ctx.delivery(body=body), ctx.rules.signature_header)


@check
def verifies_before_parsing(ctx: CheckContext) -> None:
    """A forged malformed body gets the answer a forged well-formed one gets (verify first)."""
    forgery_answer: dict[str, int] = {}

    def probe(body: bytes, forgery: str, wrong: str) -> None:
        if forgery not in forgery_answer:
            answer = ctx.answer(_forged(ctx, None, forgery, wrong), "an answer")
            forgery_answer[forgery] = answer.status or 0
        forged = forgery_answer[forgery]
        request = _forged(ctx, body, forgery, wrong)
        status = ctx.answer(request, f"the forgery answer {forged}").status or 0
        signed = ctx.answer(ctx.delivery(body=body), "an answer").status or 0
        if forged >= 500:
            ctx.undecided(f"a forged well-formed delivery gets {forged} (a crash, not a "
                          "rejection)")
        elif status != forged:
            response = ctx.last_response
            raise CheckFailed("malformed body parsed before its signature",
                              f"a forged well-formed body gets {forged} but this forged "
                              f"malformed one gets {status} (a signed one gets {signed})",
                              request, response)
        elif 200 <= signed < 300:
            ctx.undecided("a signed malformed body is accepted, so it is never parsed and no "
                          "answer shows the order")
        elif signed != forged:
            ctx.decided()
        else:
            ctx.undecided(f"a signed malformed body, a forged malformed one and a forged "
                          f"well-formed one all get {forged}, so no answer shows the order")

    wrong = _a_wrong_secret(ctx)
    explicit = [{"body": body, "forgery": forgery, "wrong": wrong}
                for body in (b"{", b"\xff\xfe\x00{", b"not json") for forgery in
                ("secret", "missing")]
    ctx.explore(probe, explicit=explicit, body=malformed_bodies,
                forgery=st.sampled_from(["secret", "missing"]), wrong=_wrong_secrets(ctx))


@check
def verifies_raw_body(ctx: CheckContext) -> None:
    """Bodies whose bytes differ from a re-serialization of their JSON verify (raw bytes)."""

    def probe(data: Any, style: Style) -> None:
        request = ctx.delivery(data, style)
        if request.body in reserializations(request.body):
            raise UnsatisfiedAssumption  # hypothesis.assume, also outside a drawn example
        ctx.expect(request, _ok, "a 2xx", "signature checked on re-serialized JSON")

    data = {"text": "é/ü", "amount": 1.5}
    explicit = [{"data": data, "style": style} for style in (
        Style(indent=2, trailing="\n"), Style(escape_slash=True, ascii=True, upper_hex=True),
        Style(key_sep=":", item_sep=",", float_exponent=True), Style(leading=" "))]
    ctx.explore(probe, explicit=explicit, data=json_values, style=styles)


@check
def survives_malformed_headers(ctx: CheckContext) -> None:
    """Garbage in the signature, timestamp and id headers never gets a 5xx."""

    def probe(data: Any, edits: dict[str, list[bytes | None]]) -> None:
        request = ctx.delivery(data)
        for name, values in edits.items():
            original = request.header(name) or b""
            request = with_header(request, name, *[original if v is None else v
                                                    for v in values])
        response = ctx.send(request)
        if response.status is None and response.outcome.error != "timeout" and (
                _hostile_bytes(request)):
            ctx.note("closes the connection on header bytes HTTP does not allow")
            return
        ctx.expect_answered(request, response, lambda status: status < 500,
                            "an answer below 500", "malformed header crashed the receiver")

    value = st.none() | garbage_header_values  # None keeps the valid value (a duplicate)
    edits = st.dictionaries(st.sampled_from(ctx.rules.garbage_headers),
                            st.lists(value, max_size=2), min_size=1)
    explicit = [{"data": None, "edits": edit} for edit in header_garbage(ctx.rules, ctx.now())]
    ctx.explore(probe, explicit=explicit, data=json_values, edits=edits)


@check
def acks_within_timeout(ctx: CheckContext) -> None:
    """The receiver answers within the sender's timeout, so processing must be async."""

    def probe(data: Any) -> None:
        ctx.expect(ctx.delivery(data), _ok, f"a 2xx within {ctx.timeout:g} s",
                   "valid delivery rejected")

    ctx.explore(probe, explicit=[{"data": None}], data=json_values, max_examples=5)


def _need_observer(ctx: CheckContext) -> None:
    if ctx.observe is None:
        raise CheckSkipped(f"{NO_OBSERVER}: nothing tells how often the receiver processed a "
                           "message")


@check
def idempotent_redelivery(ctx: CheckContext) -> None:
    """The same message delivered twice is acknowledged both times and processed once."""
    _need_observer(ctx)

    def probe(data: Any, resign: bool) -> None:
        if ctx.inconclusive_reasons:  # the observer cannot see this receiver's processing
            return
        first = ctx.delivery(data)
        message_id = ctx.last_message_id
        ctx.expect(first, _ok, "a 2xx", "first delivery rejected")
        second = first
        if resign:  # a retry: same id and body, signed again a second later
            second = ctx.delivery(body=first.body, message_id=message_id,
                                  timestamp=ctx.now() + 1)
        ctx.expect(second, _ok, "a 2xx", "redelivery of an acknowledged message rejected")
        count = ctx.processed(message_id) or 0
        if count > 1:
            raise CheckFailed(f"message processed {count} times",
                              f"{message_id} was delivered twice; it must be processed once",
                              second)
        if count == 0:  # acknowledged twice, yet never seen processed
            ctx.undecided(f"the observer never counted an acknowledged message as processed "
                          f"within {ctx.settle:g} s (does it key messages by another id?)")
        else:
            ctx.decided()

    explicit = [{"data": None, "resign": resign} for resign in (False, True)]
    ctx.explore(probe, explicit=explicit, data=json_values, resign=st.booleans(),
                max_examples=20)


@check
def accepts_large_delivery(ctx: CheckContext) -> None:
    """A large valid delivery (1 MiB by default) gets a 2xx or 413, never a crash."""
    small = ctx.delivery("")
    pad = max(ctx.large_body - len(small.body), 0)
    marker = b'"hooklab": ""'
    if marker not in small.body:
        raise CheckSkipped("the provider's payload has no room for padding")
    body = small.body.replace(marker, b'"hooklab": "' + b"x" * pad + b'"', 1)
    request = ctx.delivery(body=body, message_id=ctx.last_message_id)
    response = ctx.send(request)
    if response.status == 413:
        ctx.note("refuses it with 413")
        return
    size = f"a valid delivery of {len(body)} bytes"
    ctx.expect_answered(request, response, _ok, "a 2xx or 413", f"{size} not accepted")


@check
def resists_unsigned_header_tampering(ctx: CheckContext) -> None:
    """A replay under a new unsigned id header is not processed again."""
    dedupe = ctx.twin.dedupe
    if dedupe is None or dedupe.where != "header":
        raise CheckSkipped(f"{ctx.twin.name} sends no id header: the event id is inside the "
                           "signed body")
    if dedupe.signed:
        raise CheckSkipped(f"{ctx.twin.name} signs its id header ({dedupe.name}): a new id "
                           "breaks the signature")
    _need_observer(ctx)

    def probe(data: Any) -> None:
        first = ctx.delivery(data)
        original = ctx.last_message_id
        ctx.expect(first, _ok, "a 2xx", "valid delivery rejected")
        ctx.expect(first, _ok, "a 2xx", "redelivery of an acknowledged message rejected")
        if (ctx.processed(original) or 0) > 1:
            ctx.undecided(f"an identical redelivery is processed again too: the receiver "
                          f"dedupes by nothing, so whether it trusts the unsigned {dedupe.name}"
                          " cannot be told (see idempotent_redelivery)")
            return
        replay_id = ctx.new_message_id()
        replay = with_header(first, dedupe.name, replay_id)
        ctx.expect(replay, lambda status: status < 500, "an answer below 500",
                   "replay under a new id crashed the receiver")
        if (ctx.processed(replay_id) or 0) > 0:
            raise CheckFailed(f"replay under a new {dedupe.name} processed again",
                              f"{dedupe.name} is not signed: anyone who saw one delivery can "
                              "replay it under a new id; dedupe on the signed body instead",
                              replay)
        ctx.decided()

    ctx.explore(probe, explicit=[{"data": None}], data=json_values, max_examples=2)


@check
def rejects_corrupted_signature_field(ctx: CheckContext) -> None:
    """A well-formed signature header with one field corrupted is rejected (a 4xx)."""
    name = ctx.rules.signature_header

    def probe(data: Any, field: int, position: int, char: str) -> None:
        request = ctx.delivery(data)
        value = request.header(name) or ""
        text = value if isinstance(value, str) else value.decode("latin-1")
        corrupted = corrupt_field(text, field=field, position=position, char=char)
        forged = with_header(request, name, corrupted.encode("utf-8"))
        ctx.rejects(forged, "signature header with a corrupted field not rejected")

    fields = len(signature_fields(_text(ctx.delivery().header(name))))
    explicit = [{"data": None, "field": field, "position": position, "char": char}
                for field in range(fields) for position in (0, 5) for char in CORRUPTIONS]
    ctx.explore(probe, explicit=explicit, data=json_values, field=st.integers(0, fields - 1),
                position=st.integers(0, 63), char=st.sampled_from(CORRUPTIONS))


@check
def answers_handshake(ctx: CheckContext) -> None:
    """The provider's handshake (Slack's url_verification, Discord's PING) is answered."""
    handshake = ctx.twin.handshake
    if handshake is None:
        raise CheckSkipped(f"{ctx.twin.name} sends no handshake")
    message = ctx.twin.handshake_message(random.Random(0), ctx.now())
    wire = ctx.twin.request(message, secrets=[ctx.secret], now=ctx.now(), url=ctx.target.url)
    request = Request(message.body, tuple(wire.headers))
    response = ctx.expect(request, lambda status: True, "an answer", "handshake not answered")
    answer = Answer(response.status or 0, tuple(response.headers.items()), response.body)
    verdict = handshake.judge(message, answer)
    if not verdict.passed:
        raise CheckFailed(f"{handshake.name} handshake not answered as "
                          f"{ctx.twin.title} requires", verdict.reason, request, response)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("latin-1")


#: The checks that need a valid delivery: blocked when ``accepts_valid_delivery`` fails.
NEEDS_VALID_DELIVERY = frozenset({
    "accepts_rotated_signatures", "verifies_raw_body", "acks_within_timeout",
    "idempotent_redelivery", "accepts_large_delivery", "resists_unsigned_header_tampering",
})


#: The stable check names, in report order.
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)
