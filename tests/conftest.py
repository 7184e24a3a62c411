"""Makes the shared test helpers (``tests/corpus.py``) importable as ``from corpus import corpus_dir``."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
