"""Fixtures shared by the model tests: a status store of each kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hooklab.model.status import MemoryStatusStore, SqliteStatusStore, StatusStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StatusStore]:
    """Each test that takes ``store`` runs once in memory and once on a SQLite file."""
    made: StatusStore = (MemoryStatusStore() if request.param == "memory"
                         else SqliteStatusStore(tmp_path / "status.db"))
    yield made
    made.close()
