"""Progress bars for long work (rich), silent when asked or when output is not a terminal user."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class _Silent:
    def advance(self, amount: float = 1) -> None:
        pass


class _Bar:
    def __init__(self, progress: Progress, task):
        self._progress, self._task = progress, task

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)


@contextlib.contextmanager
def progress_bar(total: float, description: str, enabled: bool = True, unit: str = "") -> Iterator[_Bar | _Silent]:
    """A progress bar showing done/total, rate, elapsed time and ETA; ``bar.advance(n)``."""
    if not enabled:
        yield _Silent()
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total, rate="")
        bar = _Bar(progress, task)

        started = time.perf_counter()

        def advance(amount: float = 1) -> None:
            # the mean rate since the start: rich's own estimate looks at the last 30 s only, and
            # with a chunk of updates done at once every minute it divides a chunk by a few
            # milliseconds between two samples
            progress.advance(task, amount)
            speed = progress.tasks[0].completed / max(time.perf_counter() - started, 1e-9)
            if speed:
                shown = f"{speed:,.0f}" if speed >= 100 else f"{speed:.3g}"
                progress.update(task, rate=f"{shown} {unit}/s" if unit else f"{shown}/s")

        bar.advance = advance
        yield bar
