"""The shared X12 sample corpus, read at run time from ``$REVCYCLE_SHARED/x12-corpus`` (never copied here).

``REVCYCLE_SHARED`` defaults to ``../shared`` beside the repository, as for the tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from revcycle.errors import ConfigurationError

_REPO = Path(__file__).resolve().parent.parent


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
    """The corpus directory (``$REVCYCLE_SHARED``, default ``../shared``); a clear error when it is absent."""
    shared = os.environ.get("REVCYCLE_SHARED") or str(_REPO.parent / "shared")
    path = Path(shared) / "x12-corpus"
    if not path.is_dir():
        raise ConfigurationError(
            f"no x12-corpus folder under {path.parent.name}/: "
            "set REVCYCLE_SHARED to the folder holding the shared samples"
        )
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
