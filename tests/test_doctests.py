"""Every docstring example of every hooklab module runs, and passes.

The examples are the documentation a newcomer reads first, so they are tests like any
other: each module is imported by its installed name and handed to :mod:`doctest`.
Shell examples (``$ hooklab ...``) and ``Example::`` blocks without ``>>>`` are prose.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import hooklab
import hooklab.harness
import hooklab.model
import hooklab.sim

#: Modules that only run as a program (``python -m``): importing them starts the program.
PROGRAMS = {"hooklab.harness.cli.__main__"}


def _module_names() -> list[str]:
    names = ["hooklab"]
    for package in (hooklab.model, hooklab.sim, hooklab.harness):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            if info.name not in PROGRAMS:
                names.append(info.name)
    return sorted(names)


MODULES = _module_names()


def test_every_package_is_walked() -> None:
    assert len(MODULES) > 60
    assert "hooklab.model.signing" in MODULES and "hooklab.sim.summary" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs=vars(module).copy()):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed"
