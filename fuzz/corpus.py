"""The shared X12 sample corpus, read at run time from ``$REVCYCLE_SHARED/x12-corpus`` (never copied here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from revcycle.errors import ConfigurationError


@dataclass(frozen=True)
class CorpusFile:
    """One sample: its name relative to the corpus (folder/file, safe to print) and its bytes."""

    name: str
    data: bytes

    @property
    def folder(self) -> str:
        """The corpus folder: 835, 837p, 999, 277ca, envelope ..."""
        return self.name.split("/", 1)[0]


def corpus_dir() -> Path:
    """The corpus directory; a clear error when ``REVCYCLE_SHARED`` does not point at it."""
    shared = os.environ.get("REVCYCLE_SHARED")
    if not shared:
        raise ConfigurationError("set REVCYCLE_SHARED to the folder holding x12-corpus/ (the shared samples)")
    path = Path(shared) / "x12-corpus"
    if not path.is_dir():
        raise ConfigurationError(f"no x12-corpus folder under REVCYCLE_SHARED ({path.parent.name}/)")
    return path


@cache
def load_corpus() -> tuple[CorpusFile, ...]:
    """Every sample file of the corpus (not the README or licences), in name order."""
    root = corpus_dir()
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or relative.startswith("LICENSES/") or "/" not in relative:
            continue
        files.append(CorpusFile(relative, path.read_bytes()))
    if not files:
        raise ConfigurationError("the x12-corpus folder holds no sample files")
    return tuple(files)
