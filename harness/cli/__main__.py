"""``python -m hooklab.harness.cli``: the same as the ``hooklab`` console script."""

import sys

from .main import main

sys.exit(main())
