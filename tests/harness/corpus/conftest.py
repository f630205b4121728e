"""Fixtures for the corpus ground truth: one client per receiver and way of reaching it.

``corpus_client(name, mode)`` opens each receiver once per test session (a server on
loopback for ``mode="http"``, the app object for ``mode="inprocess"``) and closes them all
at the end; tests parametrize ``name`` and ``mode`` with :func:`corpus.client.runs`.
The Express receivers are skipped, with the reason, only when ``node`` or ``npm`` is not
installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from .client import ReceiverClient, open_client
from .serve import RECEIVERS, node_missing


@pytest.fixture(scope="session")
def corpus_client() -> Iterator[Callable[[str, str], ReceiverClient]]:
    """``corpus_client(name, mode)``: the session's client for that receiver."""
    opened: dict[tuple[str, str], ReceiverClient] = {}
    with contextlib.ExitStack() as stack:

        def get(name: str, mode: str) -> ReceiverClient:
            if RECEIVERS[name].kind == "node" and (reason := node_missing()):
                pytest.skip(f"the Express receivers need node and npm: {reason}")
            if (name, mode) not in opened:
                opened[name, mode] = stack.enter_context(open_client(name, mode))
            return opened[name, mode]

        yield get


@pytest.fixture
def client(corpus_client: Callable[[str, str], ReceiverClient], name: str, mode: str,
           ) -> ReceiverClient:
    """The client of the receiver and mode the test is parametrized with."""
    return corpus_client(name, mode)
