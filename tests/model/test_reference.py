"""docs/reference.md cannot drift: every test vector of a registered scheme is what hooklab signs.

The vector table has one row per vector (scheme name as in ``SCHEMES``, key, inputs,
expected). A row whose scheme is registered is signed with :mod:`hooklab.model.signing`;
a scheme added to the registry is picked up by itself, with no change here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest

from hooklab.model.errors import InvalidSecret
from hooklab.model.signing import SCHEMES, check_secret, sign_headers

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
HEADER = "| scheme | key | inputs | expected |"
_ROW = re.compile(r"\| `(?P<scheme>[a-z0-9-]+)` \| `(?P<key>[^`]+)` \| (?P<inputs>.+) "
                  r"\| `(?P<expected>[^`]+)` \|")  # fmt: skip
_INPUT = re.compile(r"(?P<name>[a-z]+)(?P<ms> \(ms\))? `(?P<value>[^`]*)`")
_INPUT_NAMES = {"id", "timestamp", "body", "url", "method", "param"}


class Vector(NamedTuple):
    scheme: str
    key: str
    inputs: tuple[tuple[str, str], ...]
    expected: str
    line: int

    def sign(self) -> dict[str, str]:
        """The headers hooklab sends for this vector's message."""
        given = dict(self.inputs)
        params = [tuple(v.split("=", 1)) for name, v in self.inputs if name == "param"]
        body = urlencode(params) if params else given.get("body", "")
        kwargs: dict[str, Any] = {
            "message_id": given.get("id", "msg_reference"),
            "timestamp": int(given.get("timestamp", "0")),
            "secrets": [self.key],
            "scheme": self.scheme,
        }
        for extra in ("url", "method"):  # only the schemes that sign a URL take them
            if extra in given:
                kwargs[extra] = given[extra]
        return sign_headers(body.encode("utf-8"), **kwargs)


def _parse_inputs(cell: str, line: int) -> tuple[tuple[str, str], ...]:
    inputs = []
    for match in _INPUT.finditer(cell):
        name, value = match["name"], match["value"]
        assert name in _INPUT_NAMES, f"reference.md:{line}: unknown input {name!r}"
        if match["ms"]:
            assert name == "timestamp" and value.endswith("000"), f"reference.md:{line}"
            value = value[:-3]  # the API takes seconds
        inputs.append((name, value))
    leftover = _INPUT.sub("", cell).replace(",", "").strip()
    assert inputs and not leftover, f"reference.md:{line}: unreadable inputs {cell!r}"
    return tuple(inputs)


def read_vectors(text: str) -> list[Vector]:
    """Every row of the vector table; a row that does not parse fails, never drops out."""
    lines = text.splitlines()
    assert lines.count(HEADER) == 1, "reference.md must hold exactly one vector table"
    start = lines.index(HEADER) + 2  # past the header and the --- row
    vectors = []
    for number, row in enumerate(lines[start:], start=start + 1):
        if not row.startswith("|"):
            break
        match = _ROW.fullmatch(row)
        assert match, f"reference.md:{number}: not a vector row: {row!r}"
        vectors.append(Vector(match["scheme"], match["key"],
                              _parse_inputs(match["inputs"], number), match["expected"],
                              number))
    return vectors


def _tokens(headers: dict[str, str]) -> set[str]:
    values = set(headers.values())
    return values | {t for v in values for t in re.split(r"[\s,;]+", v) if t}


VECTORS = read_vectors(REFERENCE.read_text(encoding="utf-8"))
REGISTERED = [v for v in VECTORS if v.scheme in SCHEMES]


def test_the_vector_table_reads_every_published_vector() -> None:
    assert len(VECTORS) >= 7
    assert {"standard", "github"} <= {v.scheme for v in REGISTERED}


def test_the_reader_rejects_a_row_it_cannot_read() -> None:
    broken = f"{HEADER}\n| --- | --- | --- | --- |\n| `github` | `k` | body `x` | oops |\n"
    with pytest.raises(AssertionError, match="not a vector row"):
        read_vectors(broken)


@pytest.mark.parametrize("vector", REGISTERED, ids=lambda v: f"{v.scheme}-line{v.line}")
def test_each_vector_of_a_registered_scheme_is_what_hooklab_signs(vector: Vector) -> None:
    try:
        check_secret(vector.key, vector.scheme)
    except InvalidSecret as exc:  # e.g. a v1a key before the scheme signs v1a
        pytest.skip(f"{vector.scheme} does not take this kind of key yet: {exc}")
    assert vector.expected in _tokens(vector.sign())


def test_a_wrong_vector_does_not_match() -> None:
    (v1,) = [v for v in REGISTERED if v.expected.startswith("v1,")]
    wrong = v1._replace(inputs=tuple((n, "1614265331" if n == "timestamp" else value)
                                     for n, value in v1.inputs))
    assert v1.expected in _tokens(v1.sign())
    assert v1.expected not in _tokens(wrong.sign())
