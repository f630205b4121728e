"""The suite's Hypothesis home: its example database and caches go to the user's cache
directory (``~/.cache/hooklab/hypothesis-tests``), not ``./.hypothesis`` in the checkout,
unless ``HYPOTHESIS_STORAGE_DIRECTORY`` says where."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import configuration

if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
    _cache = Path(os.getenv("XDG_CACHE_HOME") or Path.home() / ".cache")
    configuration.set_hypothesis_home_dir(_cache / "hooklab" / "hypothesis-tests")
