"""Where a sweep's runs execute: this process, a local process pool, or a Dask cluster.

A runner has one method, ``map_unordered(fn, tasks)``, that yields ``fn(task)`` for every
task as each finishes, in whatever order they finish. The sweep (:func:`run_sweep`) never
asks which runner it has; the results are the same, because every run carries its own
seed and the table is written in plan order.

- :class:`LocalRunner` runs in this process with one worker, or in a process pool
  (``forkserver`` start method where available, so no thread of the parent is forked).
- :class:`DaskRunner` submits to a Dask distributed scheduler (``tcp://HOST:PORT``) or to
  a ``dask.distributed.Client`` you already have. Workers need hooklab installed.

On Ctrl-C both runners cancel what has not started and let the caller write what finished.

Example::

    >>> from hooklab.sim.sweep import RunTask, execute_task
    >>> tasks = [RunTask(str(i), _double, None, {"x": i}, 0) for i in range(3)]
    >>> sorted(o.metrics["y"] for o in LocalRunner(workers=1).map_unordered(execute_task, tasks))
    [0, 2, 4]
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from hooklab.model.errors import ConfigError

from .run import RunOutcome, RunTask

__all__ = ["DaskRunner", "LocalRunner", "make_runner"]

Fn = Callable[[RunTask], RunOutcome]

# Numbers this process's Dask sweeps; with the client's id it keeps task keys unique on a
# shared scheduler without drawing global randomness.
_DASK_SWEEPS = itertools.count()


def _double(context: Any, cell: Mapping[str, Any], seed: int) -> dict[str, Any]:
    return {"y": cell["x"] * 2}


def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class LocalRunner:
    """Runs tasks on this machine: in-process with one worker, else in a process pool.

    ``workers=None`` uses every core (``os.cpu_count()``).

        >>> LocalRunner(workers=2).workers
        2
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers {workers}: must be at least 1", field="workers")
        self.workers = workers or os.cpu_count() or 1

    def map_unordered(self, fn: Fn, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Yield ``fn(task)`` for every task as it finishes."""
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
            return
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)), mp_context=_pool_context()
        )
        futures = [pool.submit(fn, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """Runs tasks on a Dask distributed cluster, given its address or a ``Client``.

    A runner given an address connects for each sweep and closes its client afterwards;
    a runner given a client leaves it open.

        >>> DaskRunner("tcp://127.0.0.1:8786").address
        'tcp://127.0.0.1:8786'
    """

    def __init__(self, scheduler: Any, *, connect_timeout: float = 10.0) -> None:
        self.client = None if isinstance(scheduler, str) else scheduler
        self.address = scheduler if isinstance(scheduler, str) else None
        self.connect_timeout = connect_timeout

    def _connect(self) -> Any:
        try:
            from dask.distributed import Client
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError("scheduler needs Dask: pip install 'hooklab[dask]'",
                              field="scheduler") from None
        try:
            return Client(self.address, timeout=self.connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: unknown scheme
            raise ConfigError(
                f"scheduler {self.address!r}: cannot connect to a Dask scheduler ({exc})",
                field="scheduler",
            ) from None

    def map_unordered(self, fn: Fn, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Submit every task to the cluster; yield outcomes as they finish."""
        if not tasks:
            return
        from dask.distributed import as_completed as dask_completed

        client = self.client if self.client is not None else self._connect()
        token = f"{client.id}-{next(_DASK_SWEEPS)}"
        keys = [f"hooklab-run-{token}-{task.run_id}" for task in tasks]
        futures = client.map(fn, tasks, key=keys, pure=False)
        try:
            for future in dask_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)
            if self.client is None:
                client.close()


def make_runner(*, workers: int | None = None, scheduler: str | None = None) -> Any:
    """The runner for ``workers`` local processes or a Dask ``scheduler``'s address: Dask
    if a scheduler is given (then the cluster decides the workers).

    >>> type(make_runner(workers=1)).__name__
    'LocalRunner'
    """
    if scheduler:
        if workers is not None:
            raise ConfigError("workers and scheduler exclude each other (Dask decides)",
                              field="workers")
        if "://" not in scheduler:
            raise ConfigError(
                f"scheduler {scheduler!r}: expected an address like tcp://HOST:PORT",
                field="scheduler",
            )
        return DaskRunner(scheduler)
    return LocalRunner(workers)
