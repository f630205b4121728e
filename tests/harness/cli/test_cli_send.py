"""``hooklab send`` under hostile ``--data``: deep nesting, NaN and Infinity, sizes."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from hooklab.harness.cli.main import main

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def db(tmp_path: Path, capsys: Any) -> Path:
    path = tmp_path / "hooks.db"
    assert main(["endpoints", "add", "https://a.example.test/", "--secret", SECRET,
                 "--db", str(path)]) == 0
    capsys.readouterr()
    return path


def send(db: Path, capsys: Any, *args: str) -> tuple[int, str]:
    try:
        code = main(["send", "--type", "invoice.paid", "--db", str(db), *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox_messages").fetchone()[0])


@pytest.mark.parametrize("data", [
    "[" * 100_000 + "]" * 100_000,   # RecursionError in json.loads
    "[" * 65 + "]" * 65,             # deeper than any receiver should be asked to parse
    '{"a": ' * 5000 + "1" + "}" * 5000,
])
def test_deeply_nested_data_exits_2_without_a_traceback(db: Path, capsys: Any,
                                                        data: str) -> None:
    code, err = send(db, capsys, "--data", data, "--max-payload", "10000000")
    assert code == 2 and "nested deeper than" in err and "Traceback" not in err
    assert err.count("\n") == 1 and stored(db) == 0


@pytest.mark.parametrize("data", ['{"amount": NaN}', "[Infinity]", '{"x": -Infinity}',
                                  '{"big": 1e999}'])
def test_nan_and_infinity_are_refused_as_no_strict_receiver_takes_them(
        db: Path, capsys: Any, data: str) -> None:
    code, err = send(db, capsys, "--data", data)
    assert code == 2 and "not valid JSON" in err and stored(db) == 0


def test_a_data_file_over_the_limit_is_refused_by_its_size_unread(
        db: Path, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # 100 MB, sparse: reading it would show
    reads: list[int] = []
    real_open = open

    def spying_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        handle = real_open(file, mode, *a, **k)
        if str(file) == str(big):
            read = handle.read
            handle = _Spy(handle, lambda n=-1: reads.append(n) or read(n))
        return handle

    monkeypatch.setattr("builtins.open", spying_open)
    code, err = send(db, capsys, "--data", f"@{big}", "--max-payload", "1000")
    assert code == 2 and "104857600 bytes" in err and "largest payload" in err
    assert reads == [] and stored(db) == 0


class _Spy:
    def __init__(self, handle: Any, read: Any) -> None:
        self._handle, self.read = handle, read

    def __enter__(self) -> _Spy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def test_stdin_is_read_up_to_the_limit_only(db: Path, capsys: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    class Endless:  # a stream that never ends: only a bounded read returns
        def read(self, n: int = -1) -> bytes:
            asked.append(n)
            if n is None or n < 0:
                raise AssertionError("asked to read stdin to its end")
            return b"[" + b"1," * (n // 2)

    class Stdin:
        buffer = Endless()

        def read(self, n: int = -1) -> str:
            raise AssertionError("stdin read as text, unbounded")

    monkeypatch.setattr(sys, "stdin", Stdin())
    code, err = send(db, capsys, "--data", "@-", "--max-payload", "1000")
    assert code == 2 and "more than 1000 bytes" in err
    assert asked and max(asked) <= 1001


def test_data_within_the_limit_is_still_sent(db: Path, capsys: Any, tmp_path: Path) -> None:
    data = tmp_path / "ok.json"
    data.write_text('{"amount": 42, "nested": [[[1]]]}')
    code, err = send(db, capsys, "--data", f"@{data}", "--max-payload", "1000")
    assert code == 0, err
    assert stored(db) == 1
