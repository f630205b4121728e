"""Hypothesis as the conformance checks need it: the same examples from every entry point,
and nothing written into the user's working directory.

:func:`hypothesis_quiet` wraps a check's generation in both: :func:`no_local_constants`
(Hypothesis mixes constants from "local", e.g. editable-installed, source files into
generation, so the CLI, the Python API and the pytest plugin would otherwise draw
different examples) and :func:`storage_outside_cwd` (its caches go to the user's cache
directory, not ``./.hypothesis``).

Example::

    >>> with hypothesis_quiet():
    ...     pass
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["hypothesis_quiet", "no_local_constants", "storage_outside_cwd"]


@contextlib.contextmanager
def hypothesis_quiet() -> Iterator[None]:
    """Hypothesis as the checks need it: the same examples everywhere, nothing in the cwd.

    Hypothesis collects constants from "local" source files into generation; which files
    are local depends on the install (editable or wheel) and on what is imported (a
    pytest run imports the user's tests), so the CLI, the Python API and the plugin would
    draw different examples. Hypothesis has no setting for this, so the collector is
    swapped for an empty one while the checks run. Its caches (the Unicode tables) go to
    the user's cache directory instead of ``./.hypothesis``, unless
    ``HYPOTHESIS_STORAGE_DIRECTORY`` or ``set_hypothesis_home_dir`` says where.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(no_local_constants())
        stack.enter_context(storage_outside_cwd())
        yield


@contextlib.contextmanager
def storage_outside_cwd() -> Iterator[None]:
    from hypothesis import configuration

    home = configuration.storage_directory(intent_to_write=False).home_directory
    if os.getenv("HYPOTHESIS_STORAGE_DIRECTORY") or home != Path.cwd() / ".hypothesis":
        yield
        return
    cache = Path(os.getenv("XDG_CACHE_HOME") or Path.home() / ".cache")
    configuration.set_hypothesis_home_dir(cache / "hooklab" / "hypothesis")
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(home)


@contextlib.contextmanager
def no_local_constants() -> Iterator[None]:
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # another Hypothesis: nothing to turn off
        yield
        return
    collect = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if collect is None or cache is None:
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty  # type: ignore[attr-defined]
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = collect  # type: ignore[attr-defined]
        cache.cache.clear()
