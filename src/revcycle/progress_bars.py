"""Rich progress bars for ``revcycle.progress`` on a terminal; nothing at all when output is not a terminal.

On a terminal each stage is one bar (a count with a spinner when its total is not known ahead), drawn on
stderr below the log lines; a pipe, a file or CI gets the one-line progress log only, so captured output stays
plain text. ``REVCYCLE_PROGRESS=off`` turns the bars off on a terminal too.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from revcycle import progress


class CurrentStderr(io.TextIOBase):
    """A stream that writes to whatever ``sys.stderr`` is now.

    Log handlers keep the stream they were given; while bars are drawn, rich replaces ``sys.stderr`` with a
    proxy that prints above the bars, and a handler holding the original stream would tear the display.
    """

    def write(self, text: str) -> int:
        """Write ``text`` to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


class RichBars:
    """A ``progress.Listener`` drawing one rich bar per stage."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.display = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self.tasks: dict[str, Any] = {}

    def begun(self, stage: str, total: int | None) -> None:
        """A bar for ``stage`` (reset when it begins again, for the next export or file)."""
        task = self.tasks.get(stage)
        if task is None:
            self.tasks[stage] = self.display.add_task(stage, total=total)
        else:
            self.display.reset(task, total=total)

    def advanced(self, stage: str, amount: int) -> None:
        """Move ``stage``'s bar by ``amount``."""
        if stage not in self.tasks:
            self.begun(stage, None)
        self.display.advance(self.tasks[stage], amount)

    def ended(self, stage: str) -> None:
        """Show ``stage`` complete: a bar without a total takes what was done as its total."""
        task = self.tasks.get(stage)
        if task is None:
            return
        done = next(t.completed for t in self.display.tasks if t.id == task)
        self.display.update(task, total=done, completed=done)


def wanted(stream: TextIO) -> bool:
    """Whether to draw bars: ``stream`` is a terminal and ``REVCYCLE_PROGRESS`` is not ``off``."""
    if os.environ.get("REVCYCLE_PROGRESS", "").strip().lower() == "off":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def bars_on_terminal() -> Iterator[None]:
    """Draw the stages' bars on stderr while the block runs, when stderr is a terminal."""
    stream = sys.stderr
    if not wanted(stream):
        yield
        return
    bars = RichBars(stream)
    with bars.display, progress.listening(bars):
        yield
