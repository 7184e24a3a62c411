"""The nightly flow end to end on N synthetic charge lines: flow time split per stage, and peak memory.

``python -m benchmarks nightly --lines N`` runs N lines (``--scale S``: 1,000,000 x S lines);
``python -m benchmarks.bench_nightly --lines N [--profile FILE]`` also saves a cProfile of the flow;
``python -m benchmarks.bench_nightly --lines N --postgres`` runs it into a PostgreSQL warehouse, a schema of its
own in the database of ``REVCYCLE_BENCH_POSTGRES_URL`` (dropped afterwards), as production runs, and reports
the CPU of its server processes during the run (set-up included) beside the flow's.

Each night runs in a fresh interpreter (this module with ``--child``), as ``revcycle demo --claims`` does: a
synthetic CSV export (written beforehand by another interpreter, so its memory is not in the figures), the embedded
sandbox clearinghouse (answering at once, ``timing="instant"``), Prefect's temporary API server, then the real
``nightly_revenue_cycle`` flow into a SQLite warehouse. Writing the export and starting Prefect and the sandbox are
set-up and are NOT in the flow time; their seconds are reported beside it.

Stages are timed by wrapping the flow's task functions (and, inside intake, the reader, the GX gate and
``record_intake``) with wall-clock timers in the child; whatever the flow does between them (Prefect's own
bookkeeping, the lease, sub-flow starts) is the "other" row. Stages:

- intake: read the export, GX gate, Data Docs and artifacts (``intake-charge-export`` minus the row below);
- claims build: ``record_intake`` (charges stored, claims built and inserted, holds);
- 837 staging: ``stage-interchanges``;
- upload + sandbox answer: ``upload-claims`` (the sandbox answers inside the upload, in its SFTP threads);
- collect + load: ``collect`` and ``flag-overdue-acknowledgments``;
- report: next actions, held claims, KPIs, the HTML report, needs-attention.

Memory: the child's own peak RSS (``ru_maxrss``, the flow, the in-process sandbox), its peak after each stage
(so the stage that raised it shows), and the peak of the whole process tree (the child plus Prefect's server
subprocess) sampled every 0.2 s with psutil by the parent.

CPU: the CPU seconds of the child (every thread) and of its child processes (Prefect's server) while the flow
runs, and the shortest flow time that CPU allows on the machine's cores (CPU seconds over cores): how much of
a time goal running work side by side could reach at best.

Goals (issue 15, done-when 2): 1M lines under 5 minutes end to end and under 6 GB peak memory.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from benchmarks import Measurement
from benchmarks.bench_ingest_835 import empty_warehouse, server_cpu_seconds
from revcycle.tables import render_table

FULL_LINES = 1_000_000
# The synthetic export averages about 1.9 charge lines per encounter (19k lines for 10k claims); the
# figures report the lines actually written.
LINES_PER_ENCOUNTER = 1.9
STAGES = ("intake", "claims build", "837 staging", "upload + sandbox answer", "collect + load", "report")
# Task objects (module, attribute) of the flow, and the stage each one's run time is counted in.
_TASKS = {
    ("tasks.intake", "intake_export"): "intake",
    ("tasks.submit", "stage_claims"): "837 staging",
    ("tasks.submit", "upload_claims"): "upload + sandbox answer",
    ("tasks.collect", "collect"): "collect + load",
    ("tasks.collect", "flag_overdue_acknowledgments"): "collect + load",
    ("tasks.next_actions", "decide_next_actions"): "report",
    ("tasks.intake", "held_claims"): "report",
    ("tasks.report", "publish_kpis"): "report",
    ("tasks.report", "publish_report"): "report",
    ("tasks.attention", "list_needs_attention"): "report",
}
# The timer whose end closes each stage: the process's peak RSS then is the stage's "peak so far".
_STAGE_END = {
    "intake": "intake: Data Docs",
    "claims build": "claims build",
    "837 staging": "task:stage_claims",
    "upload + sandbox answer": "task:upload_claims",
    "collect + load": "task:flag_overdue_acknowledgments",
    "report": "task:list_needs_attention",
}
# Plain functions inside intake, timed as detail rows (module attribute the task calls).
_DETAILS = {
    ("tasks.intake", "read_for_intake"): "intake: read export",
    # the task imports GX where it validates, so the runner's own attribute is the one to wrap
    ("expectations.runner", "validate_charges"): "intake: GX validation",
    ("tasks.intake", "_publish_validation_reports"): "intake: Data Docs",
    ("tasks.intake", "record_intake"): "claims build",
    ("revcycle.intake", "build_claims"): "claims build: build_claims",
}


class _Timers:
    """Cumulative wall seconds by name, CPU seconds of the calling thread (steadier than wall time on a shared
    machine; the sandbox's SFTP threads are not in it), and the process's peak RSS (MB) when each name last
    finished."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak_after: dict[str, float] = {}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` with its wall time added to ``name``."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - cpu
                self.peak_after[name] = _own_peak_mb()

        return timed


def _own_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _install_timers(timers: _Timers) -> None:
    import importlib

    for module_name, attribute in _TASKS:
        task = getattr(importlib.import_module(module_name), attribute)
        # Prefect calls ``task.fn`` when the task runs, so the timer sees the task body only.
        task.fn = timers.wrap(f"task:{attribute}", task.fn)
    for (module_name, attribute), name in _DETAILS.items():
        module = importlib.import_module(module_name)
        setattr(module, attribute, timers.wrap(name, getattr(module, attribute)))


def _stage_seconds(timers: _Timers) -> dict[str, float]:
    stages = dict.fromkeys(STAGES, 0.0)
    for (_, attribute), stage in _TASKS.items():
        stages[stage] += timers.seconds.get(f"task:{attribute}", 0.0)
    built = timers.seconds.get("claims build", 0.0)
    stages["intake"] -= built
    stages["claims build"] += built
    return stages


def _write_export(
    lines: int, workdir: Path, clock: Any, write_demo_export: Callable[..., Any], payers: Any
) -> dict[str, Any]:
    from revcycle.filemodes import private_dir

    started = time.perf_counter()
    written = write_demo_export(
        ehr_format="csv",
        workdir=workdir,
        export_dir=private_dir(workdir / "exports"),
        encounters_count=max(1, math.ceil(lines / LINES_PER_ENCOUNTER)),
        seed=7,
        defect_rate=0.0,
        payers=payers,
        as_of=clock.today(),
        sent=clock.now().astimezone(clock.timezone),
    )
    return {"lines_written": written.lines, "export_seconds": time.perf_counter() - started}


def child(lines: int, workdir: Path, profile: str | None, *, export_only: bool = False) -> dict[str, Any]:
    """Write the synthetic export of about ``lines`` charge lines into ``workdir`` (``export_only``), or run
    one nightly on the export written there; the figures as a dict.

    The export is written by a process of its own so that its memory is not in the night's peak RSS."""
    from revcycle import cli
    from revcycle.filemodes import private_dir

    workdir = private_dir(workdir)
    cli._log_run_to(cli._prepare_run_environment(workdir))
    from connectors.clearinghouse.sandbox import EmbeddedClearinghouse
    from connectors.payers import registered_payers
    from revcycle.clock import SystemClock
    from revcycle.demo_export import write_demo_export
    from revcycle.settings import Settings

    settings = Settings()
    if export_only:
        return _write_export(lines, workdir, SystemClock(settings.timezone), write_demo_export, registered_payers())
    started = time.perf_counter()
    clearinghouse = EmbeddedClearinghouse(workdir / "clearinghouse", usage_indicator=settings.usage_indicator)
    connection = clearinghouse.start()
    os.environ.update(
        connection.environment(clearinghouse.upload_dir, clearinghouse.inbox_dir, clearinghouse.archive_dir)
    )
    cli._start_prefect_api()
    from flows.nightly import nightly_revenue_cycle
    from tasks.attention import run_result

    timers = _Timers()
    _install_timers(timers)
    setup_seconds = time.perf_counter() - started
    peak_before_flow = _own_peak_mb()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu_before = time.perf_counter(), _tree_cpu_seconds()
    try:
        result = run_result(
            nightly_revenue_cycle(export_dir=str(workdir / "exports"), workdir=str(workdir), return_state=True)
        )
    finally:
        flow_seconds = time.perf_counter() - started
        flow_cpu = _tree_cpu_seconds()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        clearinghouse.stop()
    stages = _stage_seconds(timers)
    stages["other (Prefect, lease, sub-flows)"] = flow_seconds - sum(stages.values())
    return {
        "run": result["run"],
        "flow_seconds": flow_seconds,
        "setup_seconds": setup_seconds,
        "stages": stages,
        "details": {name: timers.seconds.get(name, 0.0) for name in _DETAILS.values()},
        "tasks": {name[len("task:") :]: s for name, s in timers.seconds.items() if name.startswith("task:")},
        "thread_cpu_seconds": dict(timers.cpu),
        "peak_mb": _own_peak_mb(),
        "peak_mb_before_flow": peak_before_flow,
        "peak_mb_after": dict(timers.peak_after),
        "cpu_seconds": time.process_time(),
        "flow_cpu_seconds": {name: flow_cpu[name] - cpu_before[name] for name in flow_cpu},
        "cores": os.cpu_count() or 1,
    }


def _tree_cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process (every thread: the flow, the sandbox's SFTP threads,
    Prefect's) and of its child processes (Prefect's API server)."""
    me = psutil.Process()
    children = 0.0
    for member in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            children += times.user + times.system
    return {"flow process": time.process_time(), "Prefect server": children}


@contextlib.contextmanager
def _warehouse_url(postgres: bool, folder: Path) -> Iterator[str | None]:
    """A fresh PostgreSQL warehouse's URL, or None: the child's own SQLite file in its workdir."""
    if not postgres:
        yield None
        return
    with empty_warehouse("postgresql", folder) as url:
        yield url


def _run_child(lines: int, profile: str | None, postgres: bool = False) -> dict[str, Any]:
    """Run ``child`` in a fresh interpreter, sampling the peak RSS of its whole process tree."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-nightly-") as folder,
        _warehouse_url(postgres, Path(folder)) as url,
    ):
        env = dict(os.environ, REVCYCLE_WAREHOUSE_URL=url) if url else None
        command = [sys.executable, "-m", "benchmarks.bench_nightly", "--child", "--lines", str(lines)]
        command += ["--workdir", str(Path(folder) / "night")]
        written = subprocess.run([*command, "--export-only"], capture_output=True, text=True, check=False)
        if written.returncode != 0:
            tail = (written.stderr.strip().splitlines() or ["?"])[-1]
            raise RuntimeError(f"writing the synthetic export failed (exit {written.returncode}): {tail[:300]}")
        export = json.loads(written.stdout.strip().splitlines()[-1])
        command += ["--profile", profile] if profile else []
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        server_cpu: list[float | None] = [None]
        if url:
            reader = threading.Thread(target=lambda: server_cpu.__setitem__(0, server_cpu_seconds(url, process)))
            reader.start()
        tree_peak = [0.0]
        done = threading.Event()

        def sample() -> None:
            root = psutil.Process(process.pid)
            while not done.wait(0.2):
                try:
                    members = [root, *root.children(recursive=True)]
                    total = 0
                    for member in members:
                        with contextlib.suppress(psutil.Error):
                            total += member.memory_info().rss
                except psutil.Error:
                    break
                tree_peak[0] = max(tree_peak[0], total / 2**20)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stdout, stderr = process.communicate()
        done.set()
        sampler.join()
        if url:
            reader.join()
    lines_out = stdout.strip().splitlines()
    if process.returncode not in (0,) or not lines_out or not lines_out[-1].startswith("{"):
        tail = (stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"the nightly child failed (exit {process.returncode}): {tail[:300]}")
    figures: dict[str, Any] = json.loads(lines_out[-1])
    figures["tree_peak_mb"] = tree_peak[0]
    if server_cpu[0] is not None:
        figures["server_cpu_seconds"] = server_cpu[0]
    figures.update(export)
    return figures


def report(figures: dict[str, Any]) -> str:
    """The stage table of one night (seconds, share of the flow time, peak RSS after the stage)."""
    flow = figures["flow_seconds"]
    lines = figures["lines_written"]
    after = figures.get("peak_mb_after", {})

    def peak(key: str) -> str:
        return f"{after[key]:,.0f}" if key in after else ""

    rows = [
        (
            name,
            f"{seconds:.1f}",
            f"{100 * seconds / flow:.0f}%",
            f"{1e6 * seconds / lines:.0f}",
            "",
            peak(_STAGE_END.get(name, "")),
        )
        for name, seconds in figures["stages"].items()
    ]
    rows.append(("flow total (no Prefect start-up)", f"{flow:.1f}", "100%", f"{1e6 * flow / lines:.0f}", "", ""))
    details = [(k, k, v) for k, v in figures["details"].items()]
    details += [(f"task {k}", f"task:{k}", v) for k, v in figures.get("tasks", {}).items()]
    cpu = figures.get("thread_cpu_seconds", {})
    rows += [
        (f"  {name}", f"{s:.1f}", f"{100 * s / flow:.0f}%", "", f"{cpu[key]:.1f}" if key in cpu else "", peak(key))
        for name, key, s in details
    ]
    table = render_table(("stage", "seconds", "share", "us/line", "thread CPU s", "peak MB so far"), rows)
    memory = (
        f"peak RSS: flow process {figures['peak_mb']:,.0f} MB "
        f"(before the flow {figures['peak_mb_before_flow']:,.0f} MB), "
        f"process tree {figures['tree_peak_mb']:,.0f} MB; set-up not in the flow time: export "
        f"{figures['export_seconds']:.1f} s, sandbox + Prefect start {figures['setup_seconds']:.1f} s"
    )
    return f"{lines:,} charge lines\n{table}\n{memory}\n{cpu_bound(figures)}"


def cpu_bound(figures: dict[str, Any]) -> str:
    """The CPU the flow took and the shortest flow time that CPU allows on this machine's cores.

    No schedule of the same work runs faster than its CPU seconds divided by the cores, so this says how much
    of a time goal parallelism alone could reach and how much must come from doing less work."""
    spent = figures.get("flow_cpu_seconds")
    if not spent:
        return "CPU: not measured"
    total = sum(spent.values())
    cores = int(figures.get("cores", 1))
    parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in spent.items())
    per_line = 1e3 * total / figures["lines_written"]
    return (
        f"CPU during the flow: {total:.1f} s ({parts}), {per_line:.2f} ms per line; "
        f"on {cores} cores no schedule of this work takes under {total / cores:.1f} s"
    )


def run(
    scale: float, lines: int | None = None, profile: str | None = None, postgres: bool = False
) -> list[Measurement]:
    """One nightly on ``1,000,000 x scale`` charge lines (or ``lines``); one figure, stages in its notes."""
    figures = _run_child(lines or max(100, round(FULL_LINES * scale)), profile, postgres)
    print(report(figures), flush=True)
    if "server_cpu_seconds" in figures:
        print(
            f"PostgreSQL server CPU during the run (set-up included): {figures['server_cpu_seconds']:.1f} s", flush=True
        )
    print(json.dumps(figures), flush=True)
    notes = {f"stage {k}": f"{v:.1f}" for k, v in figures["stages"].items()}
    notes |= {f"detail {k}": f"{v:.1f}" for k, v in figures["details"].items()}
    notes |= {"tree_peak_mb": f"{figures['tree_peak_mb']:.0f}", "cpu_seconds": f"{figures['cpu_seconds']:.0f}"}
    notes |= {f"flow cpu {k}": f"{v:.1f}" for k, v in figures.get("flow_cpu_seconds", {}).items()}
    if "server_cpu_seconds" in figures:
        notes["postgresql server cpu (run)"] = f"{figures['server_cpu_seconds']:.1f}"
    lines_written = figures["lines_written"]
    return [
        Measurement(
            f"nightly flow {lines_written:,} lines",
            figures["flow_seconds"],
            lines_written,
            "lines",
            figures["peak_mb"],
            notes,
        )
    ]


def main(argv: list[str] | None = None) -> int:
    """``--lines N`` (default 1,000,000): run one night and print its table and JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_nightly")
    parser.add_argument("--lines", type=int, default=FULL_LINES)
    parser.add_argument("--profile", help="save a cProfile of the flow (its main thread) to this file")
    parser.add_argument("--postgres", action="store_true", help="a PostgreSQL warehouse (REVCYCLE_BENCH_POSTGRES_URL)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.lines, Path(args.workdir), args.profile, export_only=args.export_only)), flush=True)
        return 0
    run(1.0, lines=args.lines, profile=args.profile, postgres=args.postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())
