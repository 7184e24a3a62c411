"""The intake's read path alone: a synthetic CSV export of N lines through ``read_for_intake`` and ``intake_rows``.

``python -m benchmarks.bench_intake_read --lines N [--profile]`` writes the export in one interpreter and reads it
in a fresh one (so the writer's memory is not in the figures), step by step:

- ``scan``: recognising the file (``detect_reader``) and the hash/NUL pass (``scan_export``);
- ``read``: ``read_for_intake`` whole (it recognises and hashes the file again, then parses it);
- ``rows``: ``intake_rows`` (the rows ``record_intake`` takes).

Each step prints CPU seconds, wall seconds and its peak RSS: the high-water mark is reset before each step
(``/proc/self/clear_refs``), so a step's peak is its own above what the earlier steps still hold (``rss_before``).
``--profile`` runs the read path once more under cProfile and prints the functions with the most own time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from benchmarks import Measurement
from revcycle.synth import generate_charge_rows, write_charge_export

T = TypeVar("T")

FULL_LINES = 100_000
AS_OF = date(2024, 3, 11)
_PROFILE_TOP = 25


def write_export(lines: int, path: Path, seed: int = 15) -> int:
    """Write a synthetic CSV export of exactly ``lines`` charge lines (an encounter has one or more)."""
    from connectors.payers import registered_payers

    rows = generate_charge_rows(list(registered_payers().values()), encounters=lines, seed=seed, as_of=AS_OF)
    return write_charge_export(itertools.islice(rows, lines), path)


def _memory_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def child(path: Path) -> list[dict[str, float | str]]:
    """Measure each step of the read path on ``path`` in this interpreter; one dict per step."""
    import time

    from connectors.ehr.csv_export import scan_export
    from connectors.ehr.intake import intake_rows, read_for_intake
    from connectors.ehr.registry import detect_reader

    steps: list[dict[str, float | str]] = []
    kept: list[object] = []

    def step(name: str, function: Callable[[], T]) -> T:
        _reset_peak()
        before = _memory_kb("VmRSS")
        started, cpu = time.perf_counter(), time.process_time()
        result = function()
        steps.append(
            {
                "step": name,
                "cpu": time.process_time() - cpu,
                "wall": time.perf_counter() - started,
                "rss_before_mb": before / 1024,
                "peak_rss_mb": _memory_kb("VmHWM") / 1024,
            }
        )
        kept.append(result)
        return result

    step("scan", lambda: (detect_reader(path), scan_export(path)))
    export = step("read", lambda: read_for_intake(path))
    step("rows", lambda: intake_rows(export))
    return steps


def profile(path: Path) -> str:
    """cProfile of ``read_for_intake`` and ``intake_rows`` on ``path``: the functions with most own time."""
    import cProfile
    import io
    import pstats

    from connectors.ehr.intake import intake_rows, read_for_intake

    profiler = cProfile.Profile()
    profiler.enable()
    intake_rows(read_for_intake(path))
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(_PROFILE_TOP)
    return out.getvalue()


def _run_child(path: Path, *flags: str) -> str:
    env = dict(os.environ, DO_NOT_TRACK="1")
    command = [sys.executable, "-m", "benchmarks.bench_intake_read", "--child", str(path), *flags]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout


def measure(lines: int, with_profile: bool = False) -> tuple[list[dict[str, float | str]], str]:
    """Write an export of ``lines`` lines, then measure (and optionally profile) its read in fresh interpreters."""
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as folder:
        path = Path(folder) / "charges.csv"
        write_export(lines, path)
        steps: list[dict[str, float | str]] = json.loads(_run_child(path).strip().splitlines()[-1])
        profiled = _run_child(path, "--profile") if with_profile else ""
    return steps, profiled


def report(lines: int, steps: list[dict[str, float | str]]) -> str:
    """The steps as a table: CPU s, wall s, RSS before and peak RSS (MB), and CPU µs per line."""
    table = [f"intake read path, {lines:,} lines"]
    table += ["| step | CPU s | wall s | RSS before MB | peak RSS MB | CPU µs/line |", "|---|---|---|---|---|---|"]
    for figures in steps:
        cpu = float(figures["cpu"])
        table.append(
            f"| {figures['step']} | {cpu:.2f} | {float(figures['wall']):.2f} | {float(figures['rss_before_mb']):.0f} "
            f"| {float(figures['peak_rss_mb']):.0f} | {cpu / lines * 1e6:.1f} |"
        )
    return "\n".join(table)


def run(scale: float, lines: int | None = None) -> list[Measurement]:
    """The read path on ``100,000 x scale`` lines (or ``lines``): one figure per step."""
    count = lines or max(100, round(FULL_LINES * scale))
    steps, _ = measure(count)
    return [
        Measurement(
            f"intake read path {count:,} lines: {figures['step']}",
            float(figures["wall"]),
            count,
            "lines",
            float(figures["peak_rss_mb"]),
            {"cpu_seconds": f"{float(figures['cpu']):.2f}"},
        )
        for figures in steps
    ]


def main(argv: list[str] | None = None) -> int:
    """``--lines N`` (default 100,000): print the step table (and ``--profile``: the cProfile top)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_intake_read")
    parser.add_argument("--lines", type=int, default=FULL_LINES)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the read path")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(profile(Path(args.child)) if args.profile else json.dumps(child(Path(args.child))), flush=True)
        return 0
    steps, profiled = measure(args.lines, args.profile)
    print(report(args.lines, steps))
    print(json.dumps(steps))
    if profiled:
        print(profiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
