"""hooklab: model, simulate and test webhook delivery.

The distribution's three packages live in the repository's top folders, mapped in
``pyproject.toml``: ``model/`` is :mod:`hooklab.model` (the diagram's lifecycles, signing,
endpoints, retry policies, status), ``sim/`` is :mod:`hooklab.sim` (the SimPy simulator)
and ``harness/`` is :mod:`hooklab.harness` (real HTTP: sender, outbox, receivers,
conformance, and the ``hooklab`` command line in ``harness/cli/``). This file only names
the version.

    >>> import hooklab
    >>> hooklab.__version__ == __import__("importlib.metadata").metadata.version("hooklab")
    True
"""

from importlib.metadata import version as _version

__all__ = ["__version__"]

#: The installed distribution's version (one source: ``pyproject.toml``).
__version__: str = _version("hooklab")
