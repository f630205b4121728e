"""A sweep's grid and its run plan: which simulations to run, and with which seeds.

A *grid* maps parameter names to the values to try, for example ``failure_rate`` over
``0, 0.1, 0.3`` and ``policy`` over ``svix, hook0``. Its *cells* are the cartesian product,
in the order the parameters were given. Each cell is run ``replications`` times; one cell
and one replication index make one :class:`Run`.

Every run gets its own seed, derived from the sweep's base seed, the cell and the
replication index by SHA-256 over a canonical text of the cell (sorted names, numbers
written so that ``0`` and ``0.0`` agree), never by Python's salted ``hash()``. The same
base seed therefore gives the same seeds on any machine, in any process, in any order of
execution, and adding a value to the grid does not change the seeds of the other cells.
A run's :attr:`Run.run_id` is a digest of the same inputs plus the scenario's name; a
results table keeps it, so a resumed sweep knows which runs are already finished.

Example::

    >>> grid = parse_grid_args(["failure_rate=0,0.5", "policy=svix,hook0"])
    >>> [run.cell for run in plan_runs(grid, replications=1, seed=7)][:2]
    [{'failure_rate': 0, 'policy': 'svix'}, {'failure_rate': 0, 'policy': 'hook0'}]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hooklab.model.errors import ConfigError

__all__ = [
    "Grid",
    "GridFile",
    "Run",
    "Value",
    "canonical_cell",
    "derive_seed",
    "load_grid_file",
    "parse_grid_arg",
    "parse_grid_args",
    "parse_value",
    "plan_runs",
]

#: A grid value: what a flag or a TOML file can spell.
Value = bool | int | float | str

#: A grid is an ordered mapping of parameter name to the values to try.
Grid = dict[str, tuple[Value, ...]]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_RESERVED = frozenset({"run_id", "scenario", "replication", "seed"})


def parse_value(text: str) -> Value:
    """One grid value from its text: an int, a float, ``true``/``false``, or a string.

    >>> parse_value("3"), parse_value("0.25"), parse_value("true"), parse_value("svix")
    (3, 0.25, True, 'svix')
    """
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return number


def parse_grid_arg(text: str) -> tuple[str, tuple[Value, ...]]:
    """One ``--grid NAME=V1,V2,...`` argument as ``(name, values)``.

    >>> parse_grid_arg("failure_rate=0,0.1")
    ('failure_rate', (0, 0.1))
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ConfigError(f"grid {text!r}: expected NAME=V1,V2,... (e.g. failure_rate=0,0.1)",
                          field="grid")
    values = tuple(parse_value(part) for part in rest.split(",") if part.strip())
    return _checked(name, values, where=f"grid {text!r}", error_field="grid")


def parse_grid_args(args: Iterable[str]) -> Grid:
    """A grid from several ``--grid`` arguments, in the order given.

    >>> parse_grid_args(["policy=svix,hook0", "failure_rate=0.1"])
    {'policy': ('svix', 'hook0'), 'failure_rate': (0.1,)}
    """
    grid: Grid = {}
    for text in args:
        name, values = parse_grid_arg(text)
        if name in grid:
            raise ConfigError(f"grid {name}: given twice; list all its values in one flag",
                              field="grid")
        grid[name] = values
    return grid


@dataclass(frozen=True)
class GridFile:
    """What a sweep TOML file holds: a grid, and optionally the sweep's other settings."""

    grid: Grid
    scenario: str | None = None
    replications: int | None = None
    seed: int | None = None
    preset: str | None = None


def load_grid_file(path: str | Path) -> GridFile:
    """Read a sweep file: a ``[grid]`` table of lists, plus optional top-level settings.

    The file looks like::

        scenario = "outage-storm"   # optional, like --scenario
        replications = 5            # optional, like --replications
        seed = 1                    # optional, like --seed
        [grid]
        failure_rate = [0, 0.1, 0.3]
        policy = ["svix", "hook0"]

    Flags given on the command line override these settings.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"grid file {str(path)!r}: cannot read it ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"grid file {str(path)!r}: not valid TOML ({exc})") from None
    table = data.get("grid")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"grid file {str(path)!r}: needs a non-empty [grid] table")
    unknown = sorted(set(data) - {"grid", "scenario", "replications", "seed", "preset"})
    if unknown:
        raise ConfigError(f"grid file {str(path)!r}: unknown setting(s) {', '.join(unknown)}")
    grid: Grid = {}
    for name, raw in table.items():
        items = raw if isinstance(raw, list) else [raw]
        if any(not isinstance(v, bool | int | float | str) for v in items):
            raise ConfigError(
                f"grid file {str(path)!r}: {name} must list numbers, booleans or strings"
            )
        grid[name] = _checked(name, tuple(items), where=f"grid file {str(path)!r}")[1]
    return GridFile(
        grid=grid,
        scenario=_setting(data, "scenario", str, path),
        replications=_setting(data, "replications", int, path),
        seed=_setting(data, "seed", int, path),
        preset=_setting(data, "preset", str, path),
    )


def _setting(data: Mapping[str, Any], key: str, kind: type, path: Path) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ConfigError(f"grid file {str(path)!r}: {key} must be a {kind.__name__}")
    return value


def _checked(name: str, values: tuple[Value, ...], *, where: str,
             error_field: str | None = None) -> tuple[str, tuple[Value, ...]]:  # fmt: skip
    problem = None
    if not _NAME.match(name):
        problem = f"{name!r} is not a parameter name"
    elif name in _RESERVED:
        problem = f"{name!r} is reserved for a results column"
    elif not values:
        problem = f"{name} has no values"
    elif len({_canonical_value(v) for v in values}) != len(values):
        problem = f"{name} lists a value twice"
    if problem is not None:
        raise ConfigError(f"{where}: {problem}", field=error_field)
    return name, values


def _canonical_value(value: Value) -> Value:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical_cell(cell: Mapping[str, Value]) -> str:
    """The text a cell's seed is derived from: sorted names, and ``0.0`` written as ``0``.

    >>> canonical_cell({"policy": "svix", "failure_rate": 0.0})
    '{"failure_rate":0,"policy":"svix"}'
    """
    canon = {name: _canonical_value(cell[name]) for name in sorted(cell)}
    return json.dumps(canon, separators=(",", ":"), allow_nan=False)


def derive_seed(base_seed: int, cell: Mapping[str, Value], replication: int) -> int:
    """The seed of one run: SHA-256 of the base seed, the canonical cell and the replication,
    cut to 63 bits (so it fits a signed 64-bit column).

        >>> derive_seed(0, {"failure_rate": 0.1}, 0) == derive_seed(0, {"failure_rate": 0.1}, 0)
        True
        >>> derive_seed(0, {"failure_rate": 0.1}, 0) != derive_seed(0, {"failure_rate": 0.1}, 1)
        True
    """
    text = f"hooklab-sweep|{base_seed}|{canonical_cell(cell)}|{replication}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class Run:
    """One planned simulation: a cell of the grid, a replication index, its seed and id."""

    run_id: str
    cell: dict[str, Value] = field(hash=False)
    replication: int
    seed: int


def _run_id(scenario: str, base_seed: int, cell: Mapping[str, Value], replication: int) -> str:
    text = f"{scenario}|{base_seed}|{canonical_cell(cell)}|{replication}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def plan_runs(
    grid: Mapping[str, Sequence[Value]],
    *,
    replications: int = 1,
    seed: int = 0,
    scenario: str = "",
) -> list[Run]:
    """Every run of a sweep, cell by cell (cartesian product in grid order), replications
    innermost.

        >>> runs = plan_runs({"failure_rate": [0, 0.5]}, replications=2, seed=1)
        >>> [(r.cell["failure_rate"], r.replication) for r in runs]
        [(0, 0), (0, 1), (0.5, 0), (0.5, 1)]
    """
    if replications < 1:
        raise ConfigError(f"replications {replications}: must be at least 1",
                          field="replications")
    names = list(grid)
    runs: list[Run] = []
    for combo in itertools.product(*(grid[name] for name in names)):
        cell = dict(zip(names, combo, strict=True))
        for rep in range(replications):
            runs.append(
                Run(
                    run_id=_run_id(scenario, seed, cell, rep),
                    cell=cell,
                    replication=rep,
                    seed=derive_seed(seed, cell, rep),
                )
            )
    return runs
