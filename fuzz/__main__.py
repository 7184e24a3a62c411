"""Run a fuzz campaign: ``python -m fuzz --target parse --cases 1000000 --jobs 2 --seed 1`` (see docs/fuzzing.md).

Prints progress, then per target: cases, files, documented errors, unexpected exceptions, invariant
violations, time and cases per second; then each finding with its case id and the command that replays it.
Exit status 1 when there is any finding, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from fuzz.engine import (
    DEFAULT_CASE_TIMEOUT,
    ChunkResult,
    Finding,
    InputFile,
    Runner,
    jobs_for,
    log_to_file,
    run_jobs,
)
from fuzz.targets import TARGET_NAMES, make_target

PROGRESS_EVERY = 15.0  # seconds between progress lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=(*TARGET_NAMES, "all"), help="repeatable; default all")
    parser.add_argument("--cases", type=int, default=1000, help="cases per target (default 1000)")
    parser.add_argument("--first", type=int, default=0, help="index of the first case (to resume a campaign)")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1: this process)")
    parser.add_argument("--chunk-size", type=int, help="cases per chunk; the scratch warehouse is reset per chunk")
    parser.add_argument("--case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT, help="seconds before a hang")
    parser.add_argument("--replay", type=int, metavar="INDEX", help="replay one case (with its chunk's state)")
    parser.add_argument("--dump", type=Path, metavar="DIR", help="with --replay: write the case's files to DIR")
    parser.add_argument(
        "--file", type=Path, action="append", metavar="PATH", help="run these files (in order) as one case"
    )
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--report", type=Path, help="also write the counts and findings as JSON")
    parser.add_argument("--show", type=int, default=10, help="findings printed in full per kind (default 10)")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first finding (jobs 1 only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the campaign (or the replay) the arguments describe; returns the exit status."""
    args = _parser().parse_args(argv)
    targets = list(TARGET_NAMES) if not args.target or "all" in args.target else list(dict.fromkeys(args.target))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revcycle-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_to_file(workdir / "fuzz.log")
    try:
        if args.replay is not None:
            if len(targets) != 1:
                print("--replay needs exactly one --target", file=sys.stderr)
                return 2
            return replay(targets[0], args.seed, args.replay, workdir, args.chunk_size, args.dump)
        if args.file:
            if len(targets) != 1:
                print("--file needs exactly one --target", file=sys.stderr)
                return 2
            return run_files(targets[0], args.file, workdir, args.seed)
        results = {name: campaign(name, args, workdir) for name in targets}
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print_summary(results, args.show)
    if args.report:
        write_report(args.report, results, args)
    return 1 if any(r.findings or r.finding_counts for r in results.values()) else 0


def _options(name: str, chunk_size: int | None) -> dict[str, object]:
    return {"chunk_size": chunk_size} if chunk_size else {}


def campaign(name: str, args: argparse.Namespace, workdir: Path) -> ChunkResult:
    """Run ``args.cases`` cases of target ``name``, printing progress; returns the merged counts."""
    options = _options(name, args.chunk_size)
    chunk_size = make_target(name, **options).chunk_size
    jobs = jobs_for(name, chunk_size, args.seed, args.cases, args.first)
    total = ChunkResult(name)
    started = time.perf_counter()
    last = [started]

    def progress(chunk: ChunkResult, done: int) -> None:
        total.merge(chunk)
        now = time.perf_counter()
        if now - last[0] >= PROGRESS_EVERY or done == len(jobs):
            last[0] = now
            elapsed = now - started
            print(
                f"{name}: {total.cases:,}/{args.cases:,} cases, {total.unexpected_exceptions} unexpected, "
                f"{total.violations} violations, {elapsed:,.0f} s, {total.cases / elapsed:,.1f} cases/s",
                flush=True,
            )
            for finding in chunk.findings[:3]:
                print("  " + finding.headline().replace("\n", "\n  "), flush=True)

    print(f"{name}: {args.cases:,} cases, seed {args.seed}, {args.jobs} job(s), chunks of {chunk_size}", flush=True)
    if args.jobs <= 1:
        runner = Runner(make_target(name, **options), workdir / name, case_timeout=args.case_timeout)
        try:
            for done, job in enumerate(jobs, start=1):
                progress(
                    runner.run_chunk(job.seed, job.chunk, range(job.start, job.stop), fail_fast=args.fail_fast), done
                )
        finally:
            runner.close()
    else:
        run_jobs(
            jobs,
            processes=args.jobs,
            workdir=workdir,
            case_timeout=args.case_timeout,
            target_options={name: options},
            progress=progress,
        )
    total.seconds = time.perf_counter() - started  # wall time, not the sum over workers
    return total


def replay(name: str, seed: int, index: int, workdir: Path, chunk_size: int | None, dump: Path | None) -> int:
    """Replay case ``index``: its chunk's state is rebuilt by running the chunk's earlier cases first."""
    target = make_target(name, **_options(name, chunk_size))
    chunk = index // target.chunk_size
    first = chunk * target.chunk_size
    runner = Runner(target, workdir / name, case_timeout=None)
    shown: list[Finding] = []

    def keep(at: int, case: object, findings: list[Finding]) -> None:
        if at != index:
            return
        shown.extend(findings)
        if case is None:  # the generator itself failed: the finding says how, there are no files
            print(f"case {name}:{seed}:{index}: its generator raised")
            return
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            for number, item in enumerate(case.files, start=1):  # type: ignore[attr-defined]
                (dump / f"{name}-{seed}-{index}-{number}-{item.name}").write_bytes(item.data)
        print(f"case {name}:{seed}:{index}: {case.recipe}")  # type: ignore[attr-defined]
        for number, item in enumerate(case.files, start=1):  # type: ignore[attr-defined]
            print(f"  file {number}: {item.name}, {len(item.data)} bytes")

    try:
        if index > first:
            print(f"rebuilding the state: cases {first}..{index - 1} of chunk {chunk}")
        runner.run_chunk(seed, chunk, range(first, index + 1), on_case=keep)
    finally:
        runner.close()
    for finding in shown:
        print(finding.headline())
        if finding.trace:
            print(finding.trace)
    if not shown:
        print("no finding: the case passes")
    return 1 if shown else 0


def run_files(name: str, paths: list[Path], workdir: Path, seed: int) -> int:
    """Run files given by hand through a target as one case and print what it found."""
    runner = Runner(make_target(name), workdir / name, case_timeout=None)
    try:
        result, findings = runner.run_files([InputFile(p.name, p.read_bytes()) for p in paths], seed=seed)
    finally:
        runner.close()
    for finding in findings:
        print(finding.headline())
        if finding.trace:
            print(finding.trace)
    if result.documented:
        print("documented error: " + ", ".join(result.documented))
    print("no finding" if not findings else f"{len(findings)} finding(s)")
    return 1 if findings else 0


def print_summary(results: dict[str, ChunkResult], show: int) -> None:
    """The counts per target, then the findings grouped by kind (the first ``show`` of each in full)."""
    print()
    header = f"{'target':8} {'cases':>10} {'files':>10} {'documented':>10} {'unexpected':>10} {'violations':>10} "
    print(header + f"{'seconds':>9} {'cases/s':>9} {'cpu s':>9} {'cases/cpu s':>11}")
    for name, r in results.items():
        rate = r.cases / r.seconds if r.seconds else 0.0
        cpu_rate = r.cases / r.cpu_seconds if r.cpu_seconds else 0.0
        print(
            f"{name:8} {r.cases:>10,} {r.files:>10,} {sum(r.documented.values()):>10,} {r.unexpected_exceptions:>10,} "
            f"{r.violations:>10,} {r.seconds:>9,.0f} {rate:>9,.1f} {r.cpu_seconds:>9,.0f} {cpu_rate:>11,.1f}"
        )
    for name, r in results.items():
        if r.documented:
            print(f"{name}: documented errors: " + ", ".join(f"{k} {v}" for k, v in r.documented.most_common()))
        if not r.finding_counts:
            continue
        print(f"\n{name}: findings by kind")
        for kind, count in r.finding_counts.most_common():
            print(f"  {kind}: {count}")
        shown: Counter[str] = Counter()
        for finding in r.findings:
            key = f"{finding.category}:{finding.name}"
            if shown[key] < show:
                shown[key] += 1
                print("  " + finding.headline().replace("\n", "\n  "))


def write_report(path: Path, results: dict[str, ChunkResult], args: argparse.Namespace) -> None:
    """The counts and the findings kept in full, as JSON."""
    report = {
        "seed": args.seed,
        "jobs": args.jobs,
        "targets": {
            name: {
                "cases": r.cases,
                "files": r.files,
                "seconds": round(r.seconds, 1),
                "cases_per_second": round(r.cases / r.seconds, 1) if r.seconds else None,
                "cpu_seconds": round(r.cpu_seconds, 1),
                "cases_per_cpu_second": round(r.cases / r.cpu_seconds, 1) if r.cpu_seconds else None,
                "documented_errors": dict(r.documented),
                "unexpected_exceptions": r.unexpected_exceptions,
                "invariant_violations": r.violations,
                "finding_counts": dict(r.finding_counts),
                "sources": dict(r.recipes),
                "findings": [
                    {"case": f.case_id, "recipe": f.recipe, "category": f.category, "name": f.name, "detail": f.detail}
                    for f in r.findings
                ],
            }
            for name, r in results.items()
        },
    }
    path.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
