"""The ``hooklab`` command line: one leaf package, one module per group of subcommands.

It imports the library (:mod:`hooklab.model`, :mod:`hooklab.sim`, :mod:`hooklab.harness`)
and nothing imports it: it is only the console script's entry point, :func:`main.main`.
Each module maps the domain's errors, which name the field at fault, to its own flags.
"""
