"""Where the shared X12 sample corpus lives, for tests (never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """The x12-corpus directory under $REVCYCLE_SHARED (default ``<repo>/../shared``).

    When it is absent the calling test is skipped, except under ``CI=true`` where it fails.
    """
    shared = Path(os.environ.get("REVCYCLE_SHARED", str(_REPO.parent / "shared")))
    path = shared / "x12-corpus"
    if not path.is_dir():
        reason = f"X12 corpus not found at {path} (set REVCYCLE_SHARED)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
