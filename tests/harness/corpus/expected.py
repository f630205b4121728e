"""The verdict every conformance check must give on every corpus receiver, and why.

This is the ground truth of issue 11's "Done when": hooklab is right on the corpus when,
for every receiver and check, its verdict equals :func:`expected` (in-process and over
HTTP: the ground-truth tests show both answer the same). Each :class:`Expected` carries a
one-line reason grounded in what the receiver does, and the ground-truth tests it rests on
(``module::test``, under ``tests/harness/corpus/``; ``test_corpus_expected.py`` checks that
they exist). Plain data; nothing here asserts anything about hooklab.

The semantics, as issue 11 sets them:

- a rejection is any 4xx; a 5xx is a crash, never a rejection; a 2xx to a forgery is the
  failure. A rejection with another 4xx than the diagram's 401 passes, with a ``note``;
- ``verifies_before_parsing`` compares three answers for one malformed body: signed (the
  parse-failure answer P), forged (FM), and a forged well-formed body (the forgery answer
  F). It *fails* when FM is a 5xx, or when FM equals P and differs from F (parsed first);
  it *passes* when FM equals F and P differs from F (the body's content only mattered once
  the signature held); it is *inconclusive* when P equals F (both 400), since then no
  answer can show the order;
- ``idempotent_redelivery`` and ``resists_unsigned_header_tampering`` need an observer of
  processing: without one they are *skipped: no observer* (:data:`WITHOUT_OBSERVER`). The
  corpus receivers all have one (``GET /_corpus/processed?message_id=ID``);
- a scheme without the thing a check tests (GitHub: no timestamp, one signature; Stripe:
  no "too new" check, no id header) makes the check *skipped* with that reason;
- *blocked by accepts_valid_delivery* would apply to the checks that need a valid
  delivery; no corpus receiver refuses provider-realistic valid deliveries, so none is.

The three new checks issue 11 asks for have proposed names (:data:`NEW_CHECKS`): a large
valid delivery (1 MiB, accepted or 413, never a crash), tampering with unsigned headers,
and one corrupted field in a well-formed signature header.

Example::

    >>> expected("stripe_django", "rejects_missing_signature").status
    'failed'
    >>> expected("github_fastapi", "idempotent_redelivery", observed=False).reason
    'no observer: nothing tells how often the receiver processed a message'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BLOCKED", "CHECKS", "EXPECTED", "FAILED", "INCONCLUSIVE", "NEW_CHECKS", "PASSED",
           "SKIPPED", "TODAY_CHECKS", "VERDICTS", "WITHOUT_OBSERVER", "Expected", "expected"]

PASSED, FAILED, INCONCLUSIVE, SKIPPED, BLOCKED = (
    "passed", "failed", "inconclusive", "skipped", "blocked")
VERDICTS = (PASSED, FAILED, INCONCLUSIVE, SKIPPED, BLOCKED)

#: The checks ``hooklab check`` has today, in report order.
TODAY_CHECKS = (
    "accepts_valid_delivery", "rejects_missing_signature", "rejects_invalid_signature",
    "rejects_stale_timestamp", "rejects_future_timestamp", "accepts_rotated_signatures",
    "rejects_malformed_json", "verifies_before_parsing", "verifies_raw_body",
    "survives_malformed_headers", "acks_within_timeout", "idempotent_redelivery",
)
#: The checks issue 11 adds (proposed names).
NEW_CHECKS = ("accepts_large_delivery", "resists_unsigned_header_tampering",
              "rejects_corrupted_signature_field")
CHECKS = TODAY_CHECKS + NEW_CHECKS


@dataclass(frozen=True)
class Expected:
    """One expected verdict: its status, why, and the ground-truth tests it rests on."""

    status: str
    reason: str
    evidence: tuple[str, ...] = ()
    note: str = ""  # what a passing verdict must still say (e.g. "400, not 401")


def _e(status: str, reason: str, *evidence: str, note: str = "") -> Expected:
    return Expected(status, reason, evidence, note)


_C = "test_corpus_common::"
_STD = "test_corpus_standard::"
_STRIPE = "test_corpus_stripe::"
_GH = "test_corpus_github::"

_VALID = _C + "test_valid_realistic_delivery_is_accepted_and_processed_once"
_REDELIVERY = _C + "test_redelivery_is_acknowledged_and_processed_again"
_FORGERIES = _C + "test_forgeries_get_the_documented_rejection"
_MISSING = _C + "test_missing_signature_header_answer"
_MALFORMED = _C + "test_signed_malformed_json_answer"
_EMPTY = _C + "test_signed_empty_body_answer"
_NON_UTF8 = _C + "test_signed_non_utf8_body_answer"
_FORGED_MALFORMED = _C + "test_forged_malformed_body_gets_the_forgery_answer_unless_non_utf8"
_RAW = _C + "test_bodies_written_unlike_json_dumps_verify_on_their_raw_bytes"
_LARGE = _C + "test_large_valid_delivery_answer"
_FAST = _C + "test_valid_delivery_is_answered_well_within_a_second"


def _common(name: str, status: int, accepted: int) -> dict[str, Expected]:
    """The verdicts every corpus receiver shares (none dedupes; all answer at once)."""
    other = "" if status == 401 else f"rejects with {status}, not 401"
    return {
        "accepts_valid_delivery": _e(
            PASSED, f"provider-realistic valid deliveries get {accepted}", _VALID),
        "rejects_invalid_signature": _e(
            PASSED, f"a wrong secret or a tampered body gets {status}", _FORGERIES,
            note=other),
        "verifies_raw_body": _e(
            PASSED, "verifies the raw bytes: bodies written unlike json.dumps are accepted",
            _RAW),
        "acks_within_timeout": _e(
            PASSED, "answers at once (processing is a counter), far inside 10 s", _FAST),
        "idempotent_redelivery": _e(
            FAILED, f"processes a redelivered message again (twice); {name}'s doc shows no "
            "deduplication", _REDELIVERY),
    }


_STANDARD_DATED = {
    "rejects_stale_timestamp": _e(
        PASSED, "a timestamp over 5 min old gets 400",
        _STD + "test_timestamp_outside_five_minutes_either_way_is_rejected_with_400",
        note="rejects with 400, not 401"),
    "rejects_future_timestamp": _e(
        PASSED, "a timestamp over 5 min ahead gets 400",
        _STD + "test_timestamp_outside_five_minutes_either_way_is_rejected_with_400",
        note="rejects with 400, not 401"),
    "accepts_rotated_signatures": _e(
        PASSED, "a valid v1 signature is accepted wherever it stands in the list",
        _STD + "test_rotated_signature_list_is_accepted_wherever_the_valid_one_stands"),
    "rejects_missing_signature": _e(
        PASSED, "a delivery without webhook-id, -timestamp or -signature gets 400",
        _MISSING, _STD + "test_missing_signed_header_is_rejected_with_400",
        note="rejects with 400, not 401"),
    "resists_unsigned_header_tampering": _e(
        SKIPPED, "standard signs every header that identifies a message (webhook-id is "
        "signed; a new id breaks the signature)"),
}

_PYTHON_STANDARD = _STANDARD_DATED | {
    "verifies_before_parsing": _e(
        FAILED, "a forged non-UTF-8 body gets 500: the library decodes the body before "
        "checking its signature (a forged malformed UTF-8 body gets 400)", _FORGED_MALFORMED),
    "survives_malformed_headers": _e(
        FAILED, "webhook-signature 'garbage', 'v1 ,x' or 'v1,x' gets 500 (ValueError, "
        "binascii.Error escape the doc's except WebhookVerificationError)",
        _STD + "test_malformed_signature_list_crashes_the_python_library_only"),
    "accepts_large_delivery": _e(PASSED, "a valid 1 MiB delivery gets 204", _LARGE),
    "rejects_corrupted_signature_field": _e(
        FAILED, "v1,<signature> with one character replaced by '!' or 'é' gets 500 "
        "(binascii.Error)", _STD + "test_one_corrupted_character_in_a_well_formed_signature"),
}

_STRIPE_SHARED = {
    "rejects_missing_signature": _e(
        FAILED, "a delivery without Stripe-Signature gets 500: the doc reads the header by "
        "subscript (KeyError)", _MISSING),
    "rejects_stale_timestamp": _e(
        PASSED, "a t= over 5 min old gets 400",
        _STRIPE + "test_stale_timestamp_is_rejected_with_400", note="rejects with 400, not 401"),
    "rejects_future_timestamp": _e(
        SKIPPED, "stripe receivers check only timestamps that are too old (a future t= is "
        "accepted)",
        _STRIPE + "test_future_timestamp_is_accepted_because_stripe_checks_only_too_old"),
    "accepts_rotated_signatures": _e(
        PASSED, "a valid v1= is accepted wherever it stands among the v1= values",
        _STRIPE + "test_rotated_v1_list_is_accepted_wherever_the_valid_one_stands"),
    "rejects_malformed_json": _e(
        PASSED, "signed bodies that are not JSON, empty or not UTF-8 get 400 (ValueError)",
        _MALFORMED, _EMPTY, _NON_UTF8, note="answers 400"),
    "verifies_before_parsing": _e(
        INCONCLUSIVE, "a forged malformed body, a forged well-formed one and a signed "
        "malformed one all get 400 (a missing header 500 either way), so no answer shows "
        "the order", _FORGED_MALFORMED, _MALFORMED, _MISSING),
    "survives_malformed_headers": _e(
        FAILED, "Stripe-Signature t=<now>,v1=é… gets 500 (TypeError in "
        "hmac.compare_digest); a missing header gets 500 too",
        _STRIPE + "test_one_corrupted_field_non_ascii_crashes_only_in_v1", _MISSING),
    "accepts_large_delivery": _e(PASSED, "a valid 1 MiB delivery gets 200", _LARGE),
    "resists_unsigned_header_tampering": _e(
        SKIPPED, "stripe sends no id header: the event id is inside the signed body"),
    "rejects_corrupted_signature_field": _e(
        FAILED, "t=<now>,v1=é… gets 500 (TypeError in hmac.compare_digest)",
        _STRIPE + "test_one_corrupted_field_non_ascii_crashes_only_in_v1"),
}

_GITHUB_SHARED = {
    "rejects_stale_timestamp": _e(SKIPPED, "github signs no timestamp, so replays cannot "
                                  "be dated"),
    "rejects_future_timestamp": _e(SKIPPED, "github signs no timestamp"),
    "accepts_rotated_signatures": _e(SKIPPED, "github sends a single signature, so no key "
                                     "rotation"),
    "resists_unsigned_header_tampering": _e(
        INCONCLUSIVE, "a replay under a new X-GitHub-Delivery is processed again, but so is "
        "an identical redelivery: the receiver dedupes by nothing, so whether it trusts the "
        "unsigned id cannot be told (idempotent_redelivery fails)",
        _GH + "test_replay_with_a_new_delivery_id_is_accepted_and_processed_again",
        _REDELIVERY),
}

_GITHUB_DOCS = _GITHUB_SHARED | {
    "rejects_missing_signature": _e(
        PASSED, "a delivery without X-Hub-Signature-256 gets 403", _MISSING,
        note="rejects with 403, not 401"),
    "rejects_malformed_json": _e(
        FAILED, "a signed body that is not JSON gets 500 (json.loads after the doc's check)",
        _MALFORMED, _EMPTY, _NON_UTF8),
    "verifies_before_parsing": _e(
        PASSED, "a forged malformed body gets 403 like any forgery while a signed one gets "
        "500: the body is parsed only after the check", _FORGED_MALFORMED, _MALFORMED),
    "survives_malformed_headers": _e(
        FAILED, "a non-ASCII X-Hub-Signature-256 gets 500 (TypeError: compare_digest(str, "
        "str))", _GH + "test_non_ascii_signature_crashes_compare_digest_but_not_octokit"),
    "rejects_corrupted_signature_field": _e(
        FAILED, "sha256=é… gets 500 (TypeError: compare_digest(str, str))",
        _GH + "test_non_ascii_signature_crashes_compare_digest_but_not_octokit"),
}

EXPECTED: dict[str, dict[str, Expected]] = {
    "standardwebhooks_fastapi": _common("standardwebhooks_fastapi", 400, 204)
    | _PYTHON_STANDARD | {
        "rejects_malformed_json": _e(
            FAILED, "a signed body that is not JSON gets 500 (verify parses it: "
            "JSONDecodeError; empty and non-UTF-8 bodies too)", _MALFORMED, _EMPTY, _NON_UTF8),
    },
    "svix_flask": _common("svix_flask", 400, 204) | _PYTHON_STANDARD | {
        "rejects_malformed_json": _e(
            FAILED, "a signed body that is not JSON is acknowledged 204 (Svix's verify never "
            "parses); a non-UTF-8 one gets 500", _MALFORMED, _EMPTY, _NON_UTF8),
    },
    "standardwebhooks_express": _common("standardwebhooks_express", 400, 200)
    | _STANDARD_DATED | {
        "rejects_malformed_json": _e(
            FAILED, "a signed empty body is acknowledged 200 (the npm verify returns "
            "undefined for it); other non-JSON bodies get 400", _EMPTY, _MALFORMED),
        "verifies_before_parsing": _e(
            INCONCLUSIVE, "a forged malformed body, a forged well-formed one and a signed "
            "malformed one all get 400, so no answer shows the order",
            _FORGED_MALFORMED, _MALFORMED),
        "survives_malformed_headers": _e(
            PASSED, "garbage signature entries and timestamps get 400; Node refuses "
            "header bytes it cannot parse (400, then a reset)",
            _STD + "test_malformed_signature_list_crashes_the_python_library_only",
            _STD + "test_unreadable_timestamp_is_rejected_with_400",
            _C + "test_node_refuses_control_characters_in_a_header_with_400"),
        "accepts_large_delivery": _e(
            PASSED, "a valid 1 MiB delivery is refused with 413 (express.raw() limit 100 kB)",
            _LARGE, note="refuses it with 413"),
        "rejects_corrupted_signature_field": _e(
            PASSED, "v1,<signature> with one character corrupted gets 400",
            _STD + "test_one_corrupted_character_in_a_well_formed_signature",
            note="rejects with 400, not 401"),
    },
    "stripe_flask": _common("stripe_flask", 400, 200) | _STRIPE_SHARED,
    "stripe_django": _common("stripe_django", 400, 200) | _STRIPE_SHARED,
    "github_fastapi": _common("github_fastapi", 403, 202) | _GITHUB_DOCS | {
        "accepts_large_delivery": _e(PASSED, "a valid 1 MiB delivery gets 202", _LARGE),
    },
    "github_aiohttp": _common("github_aiohttp", 403, 202) | _GITHUB_DOCS | {
        "accepts_large_delivery": _e(
            PASSED, "a valid 1 MiB delivery gets 202 (aiohttp refuses one byte more with "
            "413)", _LARGE),
    },
    "octokit_express": _common("octokit_express", 400, 200) | _GITHUB_SHARED | {
        "accepts_valid_delivery": _e(
            PASSED, "provider-realistic valid deliveries get 200 (Octokit refuses any "
            "without X-GitHub-Event with 400)", _VALID,
            _GH + "test_delivery_without_event_header_is_refused_by_octokit_only"),
        "rejects_missing_signature": _e(
            PASSED, "a delivery without X-Hub-Signature-256 gets 400", _MISSING,
            note="rejects with 400, not 401"),
        "rejects_malformed_json": _e(
            PASSED, "signed bodies that are not JSON (empty, non-UTF-8 too) get 400",
            _MALFORMED, _EMPTY, _NON_UTF8, note="answers 400"),
        "verifies_before_parsing": _e(
            INCONCLUSIVE, "a forged malformed body, a forged well-formed one and a signed "
            "malformed one all get 400, so no answer shows the order",
            _FORGED_MALFORMED, _MALFORMED),
        "survives_malformed_headers": _e(
            PASSED, "garbage and non-ASCII signatures get 400; Node refuses header bytes it "
            "cannot parse (400, then a reset)",
            _GH + "test_non_ascii_signature_crashes_compare_digest_but_not_octokit",
            _GH + "test_ascii_garbage_signature_gets_the_documented_rejection",
            _C + "test_node_refuses_control_characters_in_a_header_with_400"),
        "accepts_large_delivery": _e(PASSED, "a valid 1 MiB delivery gets 200", _LARGE),
        "rejects_corrupted_signature_field": _e(
            PASSED, "sha256=é… gets 400 (Octokit compares Buffers)",
            _GH + "test_non_ascii_signature_crashes_compare_digest_but_not_octokit",
            note="rejects with 400, not 401"),
    },
}

_NO_OBSERVER = _e(SKIPPED, "no observer: nothing tells how often the receiver processed a "
                  "message")
#: What changes when the run has no observer of processing.
WITHOUT_OBSERVER = {"idempotent_redelivery": _NO_OBSERVER,
                    "resists_unsigned_header_tampering": _NO_OBSERVER}


def expected(receiver: str, check: str, *, observed: bool = True) -> Expected:
    """The verdict ``check`` must give on ``receiver`` (``observed``: an observer is given).

    A check skipped for its scheme stays skipped without an observer.
    """
    verdict = EXPECTED[receiver][check]
    if not observed and check in WITHOUT_OBSERVER and verdict.status != SKIPPED:
        return WITHOUT_OBSERVER[check]
    return verdict
