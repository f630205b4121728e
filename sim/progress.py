"""A progress bar for long simulations, on stderr, only when someone is watching.

:class:`RunProgress` shows a rich progress bar once a run has lasted ``after`` wall-clock
seconds (so short runs print nothing), and only on a terminal unless forced. It reads
the wall clock only to decide whether to draw; the simulation never sees it.

Example::

    >>> with RunProgress(enabled=False) as bar:
    ...     bar.update(0.5, "t=1h")
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

__all__ = ["RunProgress"]


class RunProgress:
    """``enabled``: ``True`` always draws, ``False`` never, ``None`` draws on a terminal
    after ``after`` seconds."""

    def __init__(self, *, enabled: bool | None = None, after: float = 2.0,
                 label: str = "simulating") -> None:
        self.enabled = enabled
        self.after = 0.0 if enabled else after
        self.label = label
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> RunProgress:
        return self

    def update(self, fraction: float, detail: str = "") -> None:
        """Move the bar to ``fraction`` (0–1) with a short ``detail``."""
        if self.enabled is False:
            return
        if self.bar is None:
            if self.enabled is None and not sys.stderr.isatty():
                return
            if time.monotonic() - self.started < self.after:
                return
            self._open()
        self.bar.update(self.task, completed=min(max(fraction, 0.0), 1.0) * 1000,
                        detail=detail)

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task(self.label, total=1000, detail="")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()
