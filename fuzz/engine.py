"""The campaign engine: seeded cases, the outcome of each, findings, and worker processes.

A case is named by ``target:seed:index`` and is rebuilt from those three alone, so any case can be replayed.
Cases are run in *chunks* of consecutive indices; a target's state (a scratch warehouse) is reset at the
start of every chunk, so replaying case ``i`` means replaying its chunk from the start up to ``i``.

What the engine catches, and why: every exception a target raises is looked at. One of the target's
documented types (``Target.allowed``) is an outcome like any other and is counted by type. Anything else is a
finding, recorded with its case id and traceback and reported; the campaign exits non-zero. The engine never
catches ``BaseException`` that is not an ``Exception`` (Ctrl-C stops the campaign), and ``fail_fast``
re-raises the first finding instead of going on.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import random
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Findings kept per chunk in full (with traceback); beyond it only counted.
MAX_FINDINGS_PER_CHUNK = 20
# A case running longer than this is a finding (a hang is a bug too).
DEFAULT_CASE_TIMEOUT = 120.0


@dataclass(frozen=True)
class InputFile:
    """One file a case hands to its target: the name it arrives under and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Case:
    """One generated input: how it was made (``recipe``: sources and mutations, no values) and its files."""

    target: str
    seed: int
    index: int
    recipe: str
    files: tuple[InputFile, ...]
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def case_id(self) -> str:
        """``target:seed:index``, what ``--replay`` takes."""
        return f"{self.target}:{self.seed}:{self.index}"


@dataclass(frozen=True)
class Violation:
    """A broken invariant: its id and what was found (ids, counts and codes; never values from the input)."""

    invariant: str
    detail: str


@dataclass(frozen=True)
class Finding:
    """Something the campaign must report: an unexpected exception, a violation, a hang or a harness error."""

    case_id: str
    recipe: str
    category: str  # "exception", "invariant", "timeout" or "harness"
    name: str  # exception type or invariant id
    detail: str
    trace: str = ""

    def headline(self) -> str:
        """One line naming the case, what went wrong and how to replay it."""
        target, seed, index = self.case_id.split(":")
        line = f"[{self.category}] {self.name} in case {self.case_id} ({self.recipe}): {self.detail}"
        if index.startswith("-"):  # files given by hand
            return line
        return line + f"\n    replay: python -m fuzz --target {target} --seed {seed} --replay {index}"


class CaseTimeout(Exception):
    """A case ran past the per-case time limit."""


class Target(Protocol):
    """What a fuzz target provides to the engine."""

    name: str
    allowed: tuple[type[BaseException], ...]
    chunk_size: int

    def open(self, workdir: Path) -> Any:
        """Per-worker state (a scratch warehouse, warm readers ...), made once."""

    def reset(self, state: Any, seed: int, chunk: int) -> None:
        """Bring the state back to the same starting point at the start of each chunk."""

    def make_case(self, seed: int, index: int, rng: random.Random) -> Case:
        """Case ``index`` of the campaign ``seed``, made only from ``rng`` (itself seeded from both)."""

    def run(self, state: Any, case: Case) -> Iterator[list[Violation]]:
        """Run the case; after each file it yields the invariant violations found (raises what the code raises)."""

    def close(self, state: Any) -> None:
        """Release the per-worker state."""


def case_rng(target: str, seed: int, index: int) -> random.Random:
    """The random source of one case: the same for the same target, seed and index on every machine."""
    return random.Random(f"revcycle-fuzz:{target}:{seed}:{index}")


@dataclass
class ChunkResult:
    """What one chunk of cases did: counts by outcome, findings (first ones in full), time."""

    target: str
    cases: int = 0
    files: int = 0
    documented: Counter[str] = field(default_factory=Counter)
    recipes: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    finding_counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the process running the chunk (what sizes a campaign on a busy machine)

    def merge(self, other: ChunkResult) -> None:
        """Add another chunk's counts and findings to this one."""
        self.cases += other.cases
        self.files += other.files
        self.documented.update(other.documented)
        self.recipes.update(other.recipes)
        self.findings.extend(other.findings)
        self.finding_counts.update(other.finding_counts)
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds

    @property
    def unexpected_exceptions(self) -> int:
        """Cases that raised something outside the documented types (timeouts and harness errors included)."""
        return sum(n for key, n in self.finding_counts.items() if not key.startswith("invariant:"))

    @property
    def violations(self) -> int:
        """Invariant violations found."""
        return sum(n for key, n in self.finding_counts.items() if key.startswith("invariant:"))


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout in the case when it runs past ``seconds`` (main thread on Unix only; else no limit)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _expired(_signum: int, _frame: Any) -> None:
        raise CaseTimeout(f"the case ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, float(seconds or 0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _short(error: BaseException) -> str:
    """The exception's first line, without the SQL and bound values a database error carries.

    The inputs are synthetic or public, yet a finding names the failure, not the data (the replay shows all).
    """
    lines = str(error).strip().splitlines()
    text = lines[0].split(" [SQL:")[0] if lines else ""
    return f"{type(error).__name__}: {text[:240]}"


class Runner:
    """Runs cases of one target in this process against one per-worker state."""

    def __init__(self, target: Target, workdir: Path, *, case_timeout: float | None = DEFAULT_CASE_TIMEOUT) -> None:
        self.target = target
        self.workdir = workdir
        self.case_timeout = case_timeout
        self.state = target.open(workdir)

    def close(self) -> None:
        """Release the target's state."""
        self.target.close(self.state)

    def run_chunk(
        self,
        seed: int,
        chunk: int,
        indices: Sequence[int],
        *,
        fail_fast: bool = False,
        on_case: Callable[[int, Case | None, list[Finding]], None] | None = None,
    ) -> ChunkResult:
        """Reset the state for ``chunk`` and run cases ``indices`` (in order) of campaign ``seed``.

        ``on_case(index, case, findings)`` sees every case; ``case`` is None when its generator failed.
        """
        result = ChunkResult(self.target.name)
        started = time.perf_counter()
        cpu_started = time.process_time()
        self.target.reset(self.state, seed, chunk)
        for index in indices:
            found = self.run_case(seed, index, result, fail_fast=fail_fast)
            if on_case is not None:
                on_case(index, found[0], found[1])
        result.seconds = time.perf_counter() - started
        result.cpu_seconds = time.process_time() - cpu_started
        return result

    def run_case(
        self, seed: int, index: int, result: ChunkResult, *, fail_fast: bool = False
    ) -> tuple[Case | None, list[Finding]]:
        """Make and run one case, adding its outcome to ``result``; returns the case and its findings."""
        name = self.target.name
        result.cases += 1
        try:
            case = self.target.make_case(seed, index, case_rng(name, seed, index))
        except Exception as error:
            # The generators only call the project's writers with valid values: a failure is the harness's.
            finding = Finding(
                f"{name}:{seed}:{index}",
                "(generator)",
                "harness",
                type(error).__name__,
                _short(error),
                traceback.format_exc(),
            )
            self._record(result, [finding], fail_fast)
            return None, [finding]
        return case, self.execute(case, result, fail_fast=fail_fast)

    def execute(self, case: Case, result: ChunkResult, *, fail_fast: bool = False) -> list[Finding]:
        """Run a made case (generated, or files given by hand), adding its outcome to ``result``."""
        findings: list[Finding] = []
        case_id = case.case_id
        result.recipes[case.recipe.split("|")[0]] += 1
        result.files += len(case.files)
        try:
            with _time_limit(self.case_timeout):
                for violations in self.target.run(self.state, case):
                    findings.extend(
                        Finding(case_id, case.recipe, "invariant", v.invariant, v.detail) for v in violations
                    )
        except CaseTimeout as error:
            findings.append(Finding(case_id, case.recipe, "timeout", "CaseTimeout", str(error), traceback.format_exc()))
        except self.target.allowed as error:
            result.documented[type(error).__name__] += 1
        except Exception as error:
            findings.append(
                Finding(case_id, case.recipe, "exception", type(error).__name__, _short(error), traceback.format_exc())
            )
        self._record(result, findings, fail_fast)
        return findings

    def run_files(self, files: Sequence[InputFile], *, seed: int = 0) -> tuple[ChunkResult, list[Finding]]:
        """Run files given by hand (a reproducer) as one case, on the state of chunk 0 of campaign ``seed``."""
        result = ChunkResult(self.target.name)
        self.target.reset(self.state, seed, 0)
        case = Case(self.target.name, seed, -1, "files:" + "+".join(f.name for f in files), tuple(files))
        result.cases += 1
        return result, self.execute(case, result)

    @staticmethod
    def _record(result: ChunkResult, findings: list[Finding], fail_fast: bool) -> None:
        for finding in findings:
            result.finding_counts[f"{finding.category}:{finding.name}"] += 1
            if len(result.findings) < MAX_FINDINGS_PER_CHUNK:
                result.findings.append(finding)
        if findings and fail_fast:
            first = findings[0]
            raise FuzzFailure(first.headline() + ("\n" + first.trace if first.trace else ""))


class FuzzFailure(AssertionError):
    """Raised by ``fail_fast`` on the first finding."""


# ---------------------------------------------------------------------------------------------------------
# campaigns over several processes


@dataclass(frozen=True)
class Job:
    """One unit of work for a worker process: a chunk of one target's cases."""

    target: str
    seed: int
    chunk: int
    start: int
    stop: int


def log_to_file(path: Path) -> None:
    """Send the code's log records (warnings and up) to a capped file instead of the terminal.

    The loaders log a warning per unmatched acknowledgment: millions of lines over a campaign. Logs are not
    findings; exceptions and invariants are.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=1)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


_RUNNERS: dict[str, Runner] = {}
_WORKDIR: list[Path] = []


def _worker_init(workdir: str, case_timeout: float | None, target_options: dict[str, Any]) -> None:
    # Ctrl-C goes to the parent, which terminates the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    path = Path(workdir) / f"worker-{multiprocessing.current_process().pid}"
    path.mkdir(parents=True, exist_ok=True)
    _WORKDIR[:] = [path]
    log_to_file(path / "fuzz.log")
    _OPTIONS.clear()
    _OPTIONS.update(target_options)
    _OPTIONS["case_timeout"] = case_timeout


_OPTIONS: dict[str, Any] = {}


def _runner(target_name: str) -> Runner:
    runner = _RUNNERS.get(target_name)
    if runner is None:
        from fuzz.targets import make_target

        target = make_target(target_name, **_OPTIONS.get(target_name, {}))
        runner = Runner(target, _WORKDIR[0] / target_name, case_timeout=_OPTIONS.get("case_timeout"))
        _RUNNERS[target_name] = runner
    return runner


def _run_job(job: Job) -> ChunkResult:
    return _runner(job.target).run_chunk(job.seed, job.chunk, range(job.start, job.stop))


def jobs_for(target: Target | str, chunk_size: int, seed: int, cases: int, first: int = 0) -> list[Job]:
    """The chunks covering cases ``first`` .. ``first + cases - 1`` (aligned on chunk boundaries)."""
    name = target if isinstance(target, str) else target.name
    out = []
    index = first
    end = first + cases
    while index < end:
        chunk = index // chunk_size
        stop = min(end, (chunk + 1) * chunk_size)
        out.append(Job(name, seed, chunk, index, stop))
        index = stop
    return out


def run_jobs(
    jobs: Sequence[Job],
    *,
    processes: int,
    workdir: Path,
    case_timeout: float | None,
    target_options: dict[str, Any],
    progress: Callable[[ChunkResult, int], None],
) -> None:
    """Run ``jobs`` on ``processes`` worker processes (spawned), calling ``progress`` with each chunk's result.

    A worker that dies (killed, out of memory) fails the campaign with BrokenProcessPool instead of hanging it.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_worker_init, initargs=(str(workdir), case_timeout, target_options)
    ) as pool:
        pending = [pool.submit(_run_job, job) for job in jobs]
        for done, future in enumerate(as_completed(pending), start=1):
            progress(future.result(), done)
