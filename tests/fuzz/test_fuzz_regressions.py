"""Every reproducer the fuzz campaigns left in tests/fuzz/regressions/ passes through its target cleanly.

The folder names the target (parse, ingest, intake); a file is one case, a folder is one case whose files
arrive in name order. A reproducer of a finding not fixed yet is listed in ``KNOWN_OPEN`` with its owner: it
is expected to fail (strict xfail), so the day the fix lands pytest reports it as XPASS, a failure, and the
entry must go. Every file is synthetic (made by fuzz/x12_generate.py or synth.py and then cut or edited).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.engine import InputFile, Runner
from fuzz.targets import make_target

REGRESSIONS = Path(__file__).parent / "regressions"

# path under regressions/ -> why it still fails and who fixes it
KNOWN_OPEN: dict[str, str] = {}


def _reproducers() -> list[object]:
    params = []
    for path in sorted(REGRESSIONS.glob("*/*")):
        if path.suffix == ".md":
            continue
        relative = path.relative_to(REGRESSIONS).as_posix()
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_OPEN[relative])] if relative in KNOWN_OPEN else []
        params.append(pytest.param(path, id=relative, marks=marks))
    return params


def _files(path: Path) -> list[InputFile]:
    if path.is_dir():
        return [InputFile(p.name, p.read_bytes()) for p in sorted(path.iterdir()) if p.is_file()]
    return [InputFile(path.name, path.read_bytes())]


def test_every_known_open_reproducer_exists() -> None:
    missing = [name for name in KNOWN_OPEN if not (REGRESSIONS / name).exists()]
    assert missing == []


@pytest.mark.parametrize("path", _reproducers())
def test_reproducer_passes_its_target(path: Path, tmp_path: Path) -> None:
    target = make_target(path.parent.name)
    runner = Runner(target, tmp_path)
    try:
        result, findings = runner.run_files(_files(path))
    finally:
        runner.close()
    assert [f.headline() for f in findings] == []
    assert result.cases == 1
