"""Progress of the night's long work, told to whoever listens: the command line draws it as bars.

The work reports what it does in a few named stages (``EXPORTS_READ``, ``CLAIMS_BUILT``, ``FILES_UPLOADED``,
``FILES_DOWNLOADED``, ``REMITTANCES_POSTED``) and does not know who listens. By default nobody does and a
report costs one attribute read. ``revcycle run``, ``demo`` and ``ingest`` install a listener that draws rich
progress bars on a terminal (``revcycle.progress_bars``). Tasks run in threads of the same process, so one
listener per process serves them all; work on Dask workers reports to nobody.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

EXPORTS_READ = "exports read"
CLAIMS_BUILT = "claims built"
FILES_UPLOADED = "files uploaded"
FILES_DOWNLOADED = "files downloaded"
REMITTANCES_POSTED = "remittances posted"


class Listener(Protocol):
    """Who is told: a stage begins (with its total when known), moves on, or ends."""

    def begun(self, stage: str, total: int | None) -> None:
        """``stage`` starts (again) with ``total`` units to do, or an unknown number."""

    def advanced(self, stage: str, amount: int) -> None:
        """``amount`` more units of ``stage`` are done (a stage never begun is begun with no total)."""

    def ended(self, stage: str) -> None:
        """``stage`` has no more work in this step."""


_LISTENER: list[Listener] = []
_LOCK = threading.Lock()


def begin(stage: str, total: int | None = None) -> None:
    """Tell the listener, if any, that ``stage`` starts with ``total`` units (None: not known ahead)."""
    if _LISTENER:
        _LISTENER[0].begun(stage, total)


def advance(stage: str, amount: int = 1) -> None:
    """Tell the listener, if any, that ``amount`` more units of ``stage`` are done."""
    if _LISTENER and amount:
        _LISTENER[0].advanced(stage, amount)


def end(stage: str) -> None:
    """Tell the listener, if any, that ``stage`` has no more work in this step."""
    if _LISTENER:
        _LISTENER[0].ended(stage)


@contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    """Make ``listener`` this process's listener while the block runs (one at a time)."""
    with _LOCK:
        if _LISTENER:
            raise RuntimeError("a progress listener is already installed in this process")
        _LISTENER.append(listener)
    try:
        yield listener
    finally:
        with _LOCK:
            _LISTENER.clear()
