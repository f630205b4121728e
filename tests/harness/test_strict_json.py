"""Strict JSON: NaN, Infinity and deep nesting are refused with a reason; every finite JSON
value parses as :func:`json.loads` parses it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hooklab.harness.strict_json import MAX_DEPTH, MalformedJSON, json_depth, parse_strict

finite_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@given(finite_json)
def test_strict_parse_agrees_with_json_on_every_finite_value(value):
    text = json.dumps(value)
    assert parse_strict(text.encode()) == json.loads(text)


@pytest.mark.parametrize("body,reason", [
    (b'{"amount": NaN}', "NaN is not JSON"),
    (b'[Infinity]', "Infinity is not JSON"),
    (b'{"a": -Infinity}', "-Infinity is not JSON"),
    (b'{"a": 1e999}', "number 1e999 is out of range"),
    (b'{"a": -1e400}', "out of range"),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH} levels"),
    (b"[" * 200_000, f"deeper than {MAX_DEPTH} levels"),
    (b"\xff not utf-8", "utf-8"),
    (b'{"a": ', "Expecting value"),
])
def test_non_finite_numbers_deep_nesting_and_bad_bytes_are_refused_with_the_reason(body, reason):
    with pytest.raises(MalformedJSON) as error:
        parse_strict(body)
    assert reason.lower() in str(error.value).lower()


def test_nesting_up_to_the_limit_is_accepted():
    body = b'{"a":' * (MAX_DEPTH - 1) + b"[]" + b"}" * (MAX_DEPTH - 1)
    assert json_depth(parse_strict(body)) == MAX_DEPTH


def test_the_strings_nan_and_infinity_are_ordinary_text():
    assert parse_strict(b'{"n": "NaN", "i": "Infinity"}') == {"n": "NaN", "i": "Infinity"}
