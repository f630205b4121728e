"""The endpoint registry: where a sender keeps the endpoints it delivers to.

:class:`EndpointRegistry` is the one interface; two stores implement it the same way:

- :class:`MemoryRegistry`, a dict, for tests, the simulator and short scripts;
- :class:`SqliteRegistry`, the embedded default: one ``endpoints`` table in a SQLite file
  in WAL mode (see :mod:`hooklab.model.sqlite`), which the status store and the durable
  outbox may share.

Every operation that changes an endpoint reads it, builds the new :class:`Endpoint` (which
validates itself) and writes it back, inside one transaction for SQLite, so two processes
on one database never lose each other's changes. Errors come from the one hierarchy:
``DuplicateEndpoint``, ``UnknownEndpoint``, ``InvalidURL``, ``InvalidSecret``,
``UnknownPolicy``, and ``StoreError`` for a database that cannot be used.

Example::

    >>> registry = MemoryRegistry()
    >>> _ = registry.register(Endpoint("ep_1", "https://example.com/hooks",
    ...                                ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)))
    >>> registry.disable("ep_1", "manual").disabled_reason
    'manual'
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import fields, replace
from typing import Any, Protocol, runtime_checkable

from . import sqlite
from .endpoints import Endpoint, SigningSecret
from .errors import ConfigError, DuplicateEndpoint, HooklabError, StoreError, UnknownEndpoint

__all__ = ["EndpointRegistry", "MemoryRegistry", "SqliteRegistry"]

_UPDATABLE = frozenset(f.name for f in fields(Endpoint) if f.init) - {"id"}


@runtime_checkable
class EndpointRegistry(Protocol):
    """Register, change, rotate, disable, enable, remove and list endpoints."""

    def register(self, endpoint: Endpoint) -> Endpoint:
        """Add ``endpoint``; DuplicateEndpoint if its id is taken."""
        ...

    def get(self, endpoint_id: str) -> Endpoint:
        """The endpoint with this id; UnknownEndpoint if there is none."""
        ...

    def update(self, endpoint_id: str, **changes: Any) -> Endpoint:
        """Change fields (``url``, ``events``, ``policy``, ``timeout``...); returns the
        new endpoint."""
        ...

    def rotate_secret(
        self, endpoint_id: str, new_secret: str | SigningSecret, *, now: float, grace: float
    ) -> Endpoint:
        """Sign with ``new_secret`` from now on; the old secrets keep signing until
        ``now + grace``."""
        ...

    def disable(self, endpoint_id: str, reason: str) -> Endpoint:
        """Stop delivering to the endpoint, recording why."""
        ...

    def enable(self, endpoint_id: str) -> Endpoint:
        """Deliver to the endpoint again (clears the reason)."""
        ...

    def remove(self, endpoint_id: str) -> None:
        """Forget the endpoint; UnknownEndpoint if there is none."""
        ...

    def list(self, enabled_only: bool = False) -> builtins.list[Endpoint]:
        """Every endpoint (or every enabled one), in registration order."""
        ...

    def matching(self, event_type: str) -> builtins.list[Endpoint]:
        """The enabled endpoints whose event filter accepts ``event_type``."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


class _Registry:
    """The operations, written once over five storage primitives."""

    def _atomic(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def _load(self, endpoint_id: str) -> Endpoint | None:
        raise NotImplementedError

    def _insert(self, endpoint: Endpoint) -> None:
        raise NotImplementedError

    def _replace(self, endpoint: Endpoint) -> None:
        raise NotImplementedError

    def _delete(self, endpoint_id: str) -> bool:
        raise NotImplementedError

    def _all(self) -> builtins.list[Endpoint]:
        raise NotImplementedError

    def register(self, endpoint: Endpoint) -> Endpoint:
        if not isinstance(endpoint, Endpoint):
            raise ConfigError(f"{endpoint!r} is not an Endpoint")
        with self._atomic():
            if self._load(endpoint.id) is not None:
                raise DuplicateEndpoint(f"endpoint {endpoint.id!r} is already registered")
            self._insert(endpoint)
        return endpoint

    def get(self, endpoint_id: str) -> Endpoint:
        endpoint = self._load(endpoint_id)
        if endpoint is None:
            raise UnknownEndpoint(f"endpoint {endpoint_id!r} is not registered")
        return endpoint

    def update(self, endpoint_id: str, **changes: Any) -> Endpoint:
        unknown = sorted(set(changes) - _UPDATABLE)
        if unknown:
            raise ConfigError(
                f"cannot update {', '.join(unknown)} of an endpoint; "
                f"updatable fields: {', '.join(sorted(_UPDATABLE))}"
            )
        return self._change(endpoint_id, lambda e: replace(e, **changes))

    def rotate_secret(
        self, endpoint_id: str, new_secret: str | SigningSecret, *, now: float, grace: float
    ) -> Endpoint:
        return self._change(endpoint_id, lambda e: e.rotated(new_secret, now=now, grace=grace))

    def disable(self, endpoint_id: str, reason: str) -> Endpoint:
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError("disabling an endpoint needs a non-empty reason")
        return self._change(
            endpoint_id, lambda e: replace(e, enabled=False, disabled_reason=reason)
        )

    def enable(self, endpoint_id: str) -> Endpoint:
        return self._change(endpoint_id, lambda e: replace(e, enabled=True, disabled_reason=None))

    def remove(self, endpoint_id: str) -> None:
        with self._atomic():
            if not self._delete(endpoint_id):
                raise UnknownEndpoint(f"endpoint {endpoint_id!r} is not registered")

    def list(self, enabled_only: bool = False) -> builtins.list[Endpoint]:
        endpoints = self._all()
        return [e for e in endpoints if e.enabled] if enabled_only else endpoints

    def matching(self, event_type: str) -> builtins.list[Endpoint]:
        return [e for e in self._all() if e.enabled and e.filter.matches(event_type)]

    def close(self) -> None:
        pass

    def _change(self, endpoint_id: str, how: Any) -> Endpoint:
        with self._atomic():
            endpoint = how(self.get(endpoint_id))
            self._replace(endpoint)
        return endpoint

    def __enter__(self) -> _Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryRegistry(_Registry):
    """Endpoints in a dict: nothing survives the process.

        >>> MemoryRegistry().list()
        []
    """

    def __init__(self) -> None:
        self._endpoints: dict[str, Endpoint] = {}
        self._lock = threading.RLock()

    def _atomic(self) -> AbstractContextManager[Any]:
        return self._lock

    def _load(self, endpoint_id: str) -> Endpoint | None:
        return self._endpoints.get(endpoint_id)

    def _insert(self, endpoint: Endpoint) -> None:
        self._endpoints[endpoint.id] = endpoint

    _replace = _insert

    def _delete(self, endpoint_id: str) -> bool:
        return self._endpoints.pop(endpoint_id, None) is not None

    def _all(self) -> builtins.list[Endpoint]:
        with self._lock:
            return list(self._endpoints.values())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secrets TEXT NOT NULL,
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    disabled_reason TEXT,
    policy TEXT NOT NULL,
    timeout REAL NOT NULL,
    scheme TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS endpoints_enabled ON endpoints (enabled);
"""
_COLUMNS = "id, url, secrets, events, enabled, disabled_reason, policy, timeout, scheme"


class SqliteRegistry(_Registry):
    """Endpoints in the ``endpoints`` table of a SQLite file (created on open).

    Secrets are stored in full (a sender needs them) and never appear in a repr or an error.

        >>> with SqliteRegistry(":memory:") as registry:
        ...     registry.list()
        []
    """

    def __init__(self, path: str | os.PathLike[str] | sqlite.Database, *,
                 timeout: float = sqlite.BUSY_TIMEOUT) -> None:
        db, self._owns = sqlite.open_shared(path, timeout=timeout, schema=_SCHEMA)
        self.path, self._conn, self._lock = db.path, db.conn, db.lock

    def close(self) -> None:
        if not self._owns:  # a shared Database is closed by its owner
            return
        with self._lock, sqlite.errors(self.path):
            self._conn.close()

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        with self._lock, sqlite.errors(self.path), sqlite.transaction(self._conn, self.path):
            yield

    def _load(self, endpoint_id: str) -> Endpoint | None:
        with self._lock, sqlite.errors(self.path):
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM endpoints WHERE id = ?", (endpoint_id,)
            ).fetchone()
        return None if row is None else self._endpoint(row)

    def _insert(self, endpoint: Endpoint) -> None:
        try:
            self._conn.execute(
                f"INSERT INTO endpoints ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _row(endpoint),
            )
        except sqlite3.IntegrityError:
            raise DuplicateEndpoint(f"endpoint {endpoint.id!r} is already registered") from None

    def _replace(self, endpoint: Endpoint) -> None:
        row = _row(endpoint)
        self._conn.execute(
            "UPDATE endpoints SET url = ?, secrets = ?, events = ?, enabled = ?, "
            "disabled_reason = ?, policy = ?, timeout = ?, scheme = ? WHERE id = ?",
            (*row[1:], row[0]),
        )

    def _delete(self, endpoint_id: str) -> bool:
        cursor = self._conn.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,))
        return cursor.rowcount > 0

    def _all(self) -> builtins.list[Endpoint]:
        with self._lock, sqlite.errors(self.path):
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM endpoints ORDER BY rowid"
            ).fetchall()
        return [self._endpoint(row) for row in rows]

    def _endpoint(self, row: tuple[Any, ...]) -> Endpoint:
        try:
            secrets = tuple(SigningSecret(v, e) for v, e in json.loads(row[2]))
            return Endpoint(
                id=row[0],
                url=row[1],
                secrets=secrets,
                events=tuple(json.loads(row[3])),
                enabled=bool(row[4]),
                disabled_reason=row[5],
                policy=row[6],
                timeout=row[7],
                scheme=row[8],
            )
        except (ValueError, TypeError, HooklabError) as exc:
            raise StoreError(f"{self.path}: endpoint {row[0]!r} is stored corrupt: {exc}") from None


def _row(endpoint: Endpoint) -> tuple[Any, ...]:
    secrets = json.dumps([[s.value, s.expires_at] for s in endpoint.secrets])
    return (
        endpoint.id,
        endpoint.url,
        secrets,
        json.dumps(list(endpoint.events)),
        int(endpoint.enabled),
        endpoint.disabled_reason,
        endpoint.policy,
        endpoint.timeout,
        endpoint.scheme,
    )
