"""Both endpoint registries behave alike; SQLite survives a reopen and names a bad file."""

from __future__ import annotations

import doctest
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hooklab.model import registry as registry_module
from hooklab.model import sqlite as sqlite_module
from hooklab.model.endpoints import Endpoint, SigningSecret
from hooklab.model.errors import (
    ConfigError,
    DuplicateEndpoint,
    InvalidSecret,
    InvalidURL,
    StoreError,
    UnknownEndpoint,
    UnknownPolicy,
)
from hooklab.model.registry import EndpointRegistry, MemoryRegistry, SqliteRegistry

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def endpoint(endpoint_id: str = "ep_1", **changes: object) -> Endpoint:
    fields: dict[str, object] = {"id": endpoint_id, "url": f"https://example.com/{endpoint_id}",
                                 "secrets": (SigningSecret(SECRET),)}
    fields.update(changes)
    return Endpoint(**fields)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "sqlite"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EndpointRegistry]:
    store: EndpointRegistry = (
        MemoryRegistry() if request.param == "memory" else SqliteRegistry(tmp_path / "h.db")
    )
    yield store
    store.close()


def test_both_stores_implement_the_interface(registry: EndpointRegistry) -> None:
    assert isinstance(registry, EndpointRegistry)


def test_register_then_get_returns_an_equal_endpoint(registry: EndpointRegistry) -> None:
    ep = endpoint(events=("invoice.*", "customer.created"), policy="svix", timeout=2.5,
                  secrets=(SigningSecret(OTHER), SigningSecret(SECRET, expires_at=12.5)))
    registry.register(ep)
    assert registry.get("ep_1") == ep
    assert registry.get("ep_1").accepts("invoice.paid")


def test_duplicate_ids_are_rejected(registry: EndpointRegistry) -> None:
    registry.register(endpoint())
    with pytest.raises(DuplicateEndpoint, match="ep_1"):
        registry.register(endpoint(url="https://other.example/"))
    assert registry.get("ep_1").url == "https://example.com/ep_1"


def test_unknown_ids_are_named(registry: EndpointRegistry) -> None:
    for call in (lambda: registry.get("nope"), lambda: registry.disable("nope", "x"),
                 lambda: registry.enable("nope"), lambda: registry.remove("nope"),
                 lambda: registry.update("nope", timeout=1.0),
                 lambda: registry.rotate_secret("nope", OTHER, now=0, grace=1)):
        with pytest.raises(UnknownEndpoint, match="'nope'"):
            call()


def test_update_validates_and_keeps_the_old_endpoint_on_error(
    registry: EndpointRegistry,
) -> None:
    registry.register(endpoint())
    assert registry.update("ep_1", url="http://new.example/x", policy="hook0").policy == "hook0"
    for changes, error in (({"url": "ftp://x/"}, InvalidURL), ({"policy": "nope"}, UnknownPolicy),
                           ({"secrets": (SigningSecret("whsec_x"),)}, InvalidSecret),
                           ({"id": "ep_2"}, ConfigError), ({"colour": "red"}, ConfigError)):
        with pytest.raises(error):
            registry.update("ep_1", **changes)
    assert registry.get("ep_1") == endpoint(url="http://new.example/x", policy="hook0")


def test_rotation_with_grace_is_stored(registry: EndpointRegistry) -> None:
    registry.register(endpoint())
    rotated = registry.rotate_secret("ep_1", OTHER, now=100.0, grace=60.0)
    stored = registry.get("ep_1")
    assert stored == rotated
    assert [(s.value, s.expires_at) for s in stored.secrets] == [(OTHER, None), (SECRET, 160.0)]
    assert [s.value for s in stored.active_secrets(159.0)] == [OTHER, SECRET]
    assert [s.value for s in stored.active_secrets(160.0)] == [OTHER]
    with pytest.raises(InvalidSecret):
        registry.rotate_secret("ep_1", "whsec_bad", now=0.0, grace=1.0)


def test_disable_and_enable_keep_the_reason_in_step(registry: EndpointRegistry) -> None:
    registry.register(endpoint())
    registry.register(endpoint("ep_2"))
    assert registry.disable("ep_1", "410 Gone").disabled_reason == "410 Gone"
    stored = registry.get("ep_1")
    assert (stored.enabled, stored.disabled_reason) == (False, "410 Gone")
    assert [e.id for e in registry.list(enabled_only=True)] == ["ep_2"]
    with pytest.raises(ConfigError):
        registry.disable("ep_2", "  ")
    enabled = registry.enable("ep_1")
    assert (enabled.enabled, enabled.disabled_reason) == (True, None)
    assert registry.get("ep_1") == enabled


def test_list_keeps_registration_order_and_remove_forgets(registry: EndpointRegistry) -> None:
    for name in ("ep_c", "ep_a", "ep_b"):
        registry.register(endpoint(name))
    registry.update("ep_c", timeout=3.0)
    assert [e.id for e in registry.list()] == ["ep_c", "ep_a", "ep_b"]
    registry.remove("ep_a")
    assert [e.id for e in registry.list()] == ["ep_c", "ep_b"]
    with pytest.raises(UnknownEndpoint):
        registry.get("ep_a")


def test_matching_returns_enabled_subscribers_only(registry: EndpointRegistry) -> None:
    registry.register(endpoint("all"))
    registry.register(endpoint("invoices", events=("invoice.*",)))
    registry.register(endpoint("off", enabled=False))
    assert [e.id for e in registry.matching("invoice.paid")] == ["all", "invoices"]
    assert [e.id for e in registry.matching("customer.created")] == ["all"]


def test_sqlite_registry_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with SqliteRegistry(path) as first:
        first.register(endpoint(events=("a.*",)))
        first.rotate_secret("ep_1", OTHER, now=0.0, grace=5.0)
    with SqliteRegistry(path) as second:
        assert second.get("ep_1") == endpoint(events=("a.*",)).rotated(OTHER, now=0.0, grace=5.0)
        mode = second._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_two_connections_on_one_file_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with SqliteRegistry(path) as a, SqliteRegistry(path) as b:
        a.register(endpoint())
        with pytest.raises(DuplicateEndpoint):
            b.register(endpoint())
        b.disable("ep_1", "manual")
        assert a.get("ep_1").disabled_reason == "manual"


def test_a_corrupt_database_file_is_a_store_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a sqlite database, just bytes" * 100)
    with pytest.raises(StoreError, match="garbage.db"):
        SqliteRegistry(path)
    with pytest.raises(StoreError, match="directory"):
        SqliteRegistry(tmp_path)
    with pytest.raises(StoreError, match="cannot open"):
        SqliteRegistry(tmp_path / "missing" / "h.db")


def test_a_corrupt_row_is_a_store_error_naming_the_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with SqliteRegistry(path) as store:
        store.register(endpoint())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE endpoints SET url = 'gopher://x', secrets = '[[\"whsec_x\", null]]'")
    conn.commit()
    conn.close()
    with SqliteRegistry(path) as store, pytest.raises(StoreError, match="'ep_1'"):
        store.list()


def test_a_locked_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with SqliteRegistry(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with SqliteRegistry(path, timeout=0.05) as store, pytest.raises(
            StoreError, match="locked"
        ):
            store.register(endpoint())
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize("module", [registry_module, sqlite_module])
def test_module_examples_run(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
