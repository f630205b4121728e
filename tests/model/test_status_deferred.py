"""A deferred (batched) SQLite status store checks every move as the plain one does."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooklab.model.errors import IllegalTransition
from hooklab.model.status import SqliteStatusStore


def test_deferred_store_still_rejects_a_move_off_the_machine_edges(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.db")
    store.add("m", "e", "t", created_at=0.0)
    with pytest.raises(IllegalTransition), store.deferred():
        store.move("m", "e", "event_occurred", now=0.0)
        store.move("m", "e", "delivered", now=0.0)
    assert store.get("m", "e").state == "start"  # the whole batch rolled back
    assert store.history("m", "e") == []
