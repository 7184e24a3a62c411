"""A reader that stops early (`revcycle x12 parse FILE | head`) gets no traceback on stderr."""

from __future__ import annotations

import subprocess
import sys

from tests.corpus import corpus_dir


def test_output_cut_short_by_its_reader_prints_no_traceback() -> None:
    sample = sorted((corpus_dir() / "835").iterdir())[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "revcycle.cli", "x12", "inspect", str(sample)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the command writes its first line
    stderr = process.stderr.read().decode()
    returncode = process.wait(timeout=300)
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
    assert returncode == 141  # 128 + SIGPIPE
