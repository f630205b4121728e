"""Records on disk: CSV, JSON Lines or Parquet, streamed while a run goes, and read back
into pandas with one call.

A records path names the attempts file; the deliveries and a small JSON sidecar (the
scenario, seed, summary and outage windows, for plots) sit beside it::

    run.csv               one row per attempt      (AttemptRecord fields)
    run.deliveries.csv    one row per delivery     (DeliveryRecord fields)
    run.meta.json         scenario, seed, summary, outages

The format follows the suffix: ``.csv``, ``.jsonl`` (or ``.ndjson``), ``.parquet``. Parquet
needs the optional ``pyarrow`` extra (``pip install hooklab[parquet]``); without it the
error says so. Rows are written in the order the run produced them and floats in their
shortest exact form, so the same seed gives the same bytes.

Example::

    >>> records_paths("out/run.csv")
    (PosixPath('out/run.csv'), PosixPath('out/run.deliveries.csv'), PosixPath('out/run.meta.json'))
"""  # noqa: E501

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from hooklab.model.errors import ConfigError
from hooklab.model.records import ATTEMPT_FIELDS, DELIVERY_FIELDS, AttemptRecord, DeliveryRecord

__all__ = ["FORMATS", "Records", "RecordWriter", "load_records", "records_paths",
           "write_records"]

#: Suffixes and the format each one means.
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_BATCH = 65_536


def records_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """The attempts, deliveries and meta paths of records path ``path``."""
    p = Path(path)
    _format(p)
    stem = p.name[: -len(p.suffix)]
    return p, p.with_name(f"{stem}.deliveries{p.suffix}"), p.with_name(f"{stem}.meta.json")


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"records path {str(path)!r} must end in one of {', '.join(FORMATS)}"
        )
    return fmt


def _require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError(
            "Parquet records need pyarrow: pip install 'hooklab[parquet]' "
            "(or write .csv / .jsonl)"
        ) from None
    return pyarrow


class _Table:
    """One records file being written (attempts or deliveries)."""

    def __init__(self, path: Path, fmt: str, fields: tuple[str, ...], kinds: dict[str, str]):
        self.path, self.fmt, self.fields, self.kinds = path, fmt, fields, kinds
        self.rows: list[tuple[Any, ...]] = []
        self.writer: Any = None
        if fmt == "parquet":
            pa = _require_pyarrow()
            types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
            self.schema = pa.schema([(f, types[kinds[f]]) for f in fields])
        self.handle: Any = None
        try:  # fail before the run, not after it: open (for Parquet: create) the file now
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot write records file {str(path)!r}: "
                              f"{exc.strerror or exc}") from None
        if fmt == "parquet":
            self.handle.close()
            self.handle = None
        else:
            if fmt == "csv":
                self.writer = csv.writer(self.handle, lineterminator="\n")
                self.writer.writerow(fields)

    def add(self, row: tuple[Any, ...]) -> None:
        rows = self.rows
        rows.append(row)
        if len(rows) >= _BATCH:
            self.flush()

    def add_columns(self, columns: Mapping[str, Any]) -> None:
        """Whole columns, one per field (numpy arrays; ``NaN`` for a missing float): Parquet
        takes them as they are, the text formats row by row as :meth:`add` would."""
        if not columns:
            return
        self.flush()
        if self.fmt != "parquet":
            values = [columns[f].tolist() for f in self.fields]
            for f in _NULLABLE:
                if f in self.fields and self.kinds[f] == "float":
                    i = self.fields.index(f)
                    values[i] = [None if v != v else v for v in values[i]]  # NaN: no value
            for start in range(0, len(values[0]), _BATCH):
                self.rows = list(zip(*(v[start:start + _BATCH] for v in values), strict=True))
                self.flush()
            return
        pa = _require_pyarrow()
        import pyarrow.parquet as pq

        table = pa.Table.from_arrays(
            [pa.array(columns[f], type=self.schema.field(f).type, from_pandas=True)
             for f in self.fields], schema=self.schema)
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.path), self.schema)
        self.writer.write_table(table, row_group_size=_BATCH)

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        if not rows:
            return
        if self.fmt == "csv":
            self.writer.writerows(rows)
        elif self.fmt == "jsonl":
            fields = self.fields
            dumps = json.dumps
            self.handle.write("".join(  # type: ignore[union-attr]
                dumps(dict(zip(fields, row, strict=True)), separators=(",", ":")) + "\n"
                for row in rows))
        else:
            self._parquet(rows)

    def _parquet(self, rows: list[tuple[Any, ...]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(zip(*rows, strict=True))
        table = pa.Table.from_arrays(
            [pa.array(list(c), type=self.schema.field(i).type) for i, c in enumerate(columns)],
            schema=self.schema)
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.path), self.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        self.flush()
        if self.fmt == "parquet":
            if self.writer is None:
                import pyarrow.parquet as pq

                pq.write_table(self.schema.empty_table(), str(self.path))
            else:
                self.writer.close()
        elif self.handle is not None:
            self.handle.close()


_ATTEMPT_KINDS = {"message_id": "str", "endpoint_id": "str", "attempt": "int", "start": "float",
                  "end": "float", "outcome": "str", "status_code": "int", "error": "str",
                  "next_attempt_at": "float", "response_body": "str"}
_DELIVERY_KINDS = {"message_id": "str", "endpoint_id": "str", "event_type": "str",
                   "created_at": "float", "status": "str", "attempts": "int",
                   "finished_at": "float", "reason": "str"}


_NULLABLE = ("error", "next_attempt_at", "finished_at", "reason")


class RecordWriter:
    """A record sink that streams attempts and deliveries to disk as a run produces them.

        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as d:
        ...     w = RecordWriter(os.path.join(d, "r.csv"))
        ...     w.attempt(AttemptRecord("m", "e", 1, 0.0, 0.1, "success", 200, None, None))
        ...     w.close({"seed": 0})
        ...     open(os.path.join(d, "r.csv")).read().splitlines()[1]
        'm,e,1,0.0,0.1,success,200,,,'
    """

    def __init__(self, path: str | Path) -> None:
        attempts, deliveries, meta = records_paths(path)
        fmt = _format(attempts)
        self.meta_path = meta
        self.attempts = _Table(attempts, fmt, ATTEMPT_FIELDS, _ATTEMPT_KINDS)
        try:
            self.deliveries = _Table(deliveries, fmt, DELIVERY_FIELDS, _DELIVERY_KINDS)
        except BaseException:
            self.attempts.close()
            raise

    def attempt(self, record: AttemptRecord) -> None:
        """Write one attempt record."""
        self.attempts.add(record)

    def delivery(self, record: DeliveryRecord) -> None:
        """Write one delivery record."""
        self.deliveries.add(record)

    def columns(self, attempts: Mapping[str, Any], deliveries: Mapping[str, Any]) -> None:
        """Write whole columns of attempts and of deliveries (field name to numpy array, in
        the records' schema; ``NaN`` for a missing float; ``{}`` for none), with no record
        object per row: Parquet writes the arrays, CSV and JSON Lines stream the rows."""
        self.attempts.add_columns(attempts)
        self.deliveries.add_columns(deliveries)

    def close(self, meta: dict[str, Any] | None = None) -> None:
        """Flush and close both files, and write the meta sidecar."""
        self.attempts.close()
        self.deliveries.close()
        if meta is not None:
            self.meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n",
                                      encoding="utf-8")


def write_records(path: str | Path, attempts: Iterable[AttemptRecord],
                  deliveries: Iterable[DeliveryRecord],
                  meta: dict[str, Any] | None = None) -> Path:
    """Write records already in memory (e.g. ``result.attempts``) to ``path``; returns it."""
    writer = RecordWriter(path)
    for a in attempts:
        writer.attempt(a)
    for d in deliveries:
        writer.delivery(d)
    writer.close(meta)
    return Path(path)


class Records(NamedTuple):
    """Records read back: attempts and deliveries as pandas DataFrames, and the meta."""

    attempts: Any
    deliveries: Any
    meta: dict[str, Any] | None


def load_records(path: str | Path) -> Records:
    """Read records written by ``hooklab simulate --records PATH`` into pandas.

    ``deliveries`` is ``None`` if its file is missing; a missing or unreadable attempts file
    is a :class:`~hooklab.model.errors.ConfigError`.
    """
    import pandas as pd

    attempts_path, deliveries_path, meta_path = records_paths(path)
    fmt = _format(attempts_path)
    if not attempts_path.is_file():
        raise ConfigError(f"records file {str(attempts_path)!r} does not exist")

    def read(p: Path, kinds: dict[str, str]) -> Any:
        try:
            if fmt == "csv":
                dtypes = {k: ("string" if v == "str" else "float64" if v == "float" else "Int64")
                          for k, v in kinds.items()}
                return pd.read_csv(p, dtype=dtypes, keep_default_na=False,
                                   na_values={k: [""] for k in kinds if k in _NULLABLE})
            if fmt == "jsonl":
                return pd.read_json(p, lines=True, dtype=False, precise_float=True)
            _require_pyarrow()
            return pd.read_parquet(p)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"cannot read records file {str(p)!r}: {exc}") from None

    attempts = read(attempts_path, _ATTEMPT_KINDS)
    deliveries = read(deliveries_path, _DELIVERY_KINDS) if deliveries_path.is_file() else None
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    return Records(attempts, deliveries, meta)
