"""Target ``ingest``: response files (835, 999, 277CA, TA1, and anything else) into a scratch warehouse.

Each case hands one to three files to ``ingest_file`` one after the other, as arrivals would: a mutant, or
a mutant then its unmutated original (the truncated 835, then the complete one), or the same content twice
(the same bytes, or with other line ends). The invariants of ``fuzz.invariants`` are checked after each
file. ``ingest_file`` is called directly, never ``ingest_files``: that one turns OSError and ValueError into
a "failed" outcome, which would hide exactly what the harness looks for.

Allowed exceptions: the documented kinds of ``revcycle.errors`` (``RevcycleError``). Any other exception
is a finding. When a documented error is raised the invariants are checked first (nothing may be posted from
that file), then the error is re-raised to the engine, which counts it by type.

Plug points for the set-grain loader: ``_ingest`` (what one arrival does) and the statuses and table in
``fuzz.invariants``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fuzz import invariants
from fuzz.corpus import load_corpus
from fuzz.engine import Case, InputFile, Violation
from fuzz.world import Scratch, scratch_warehouse, seed_world
from fuzz.x12_cases import x12_input
from fuzz.x12_generate import Pool
from revcycle.errors import RevcycleError
from revcycle.warehouse.ingest import ingest_file

# Response file names as clearinghouses and payers use them: reused names on purpose.
_NAMES = ("ERA.835", "ERA.835", "remit.835", "999.x12", "ack.999", "277CA.txt", "TA1.x12", "inbound.dat", "ERA.CSV")
_KINDS = ("835", "835", "835", "999", "277CA", "TA1", "837")
_FOLDERS = ("835", "835", "835", "999", "277ca", "837p", "envelope")


@dataclass
class IngestState:
    """One worker's scratch warehouse and inbox."""

    scratch: Scratch
    inbox: Path


class IngestTarget:
    """``ingest_file`` over mutated corpus and generated response files, invariants after every file."""

    name = "ingest"
    allowed: tuple[type[BaseException], ...] = (RevcycleError,)

    def __init__(self, chunk_size: int = 200) -> None:
        self.chunk_size = chunk_size
        self.pool = Pool((), ())
        self.outcomes: Counter[str] = Counter()  # what ingest said, per file (for the tests' sanity checks)

    def open(self, workdir: Path) -> IngestState:
        inbox = workdir / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        return IngestState(scratch_warehouse(workdir), inbox)

    def reset(self, state: IngestState, seed: int, chunk: int) -> None:
        engine = state.scratch.open()
        self.pool = seed_world(engine, seed, chunk)

    def make_case(self, seed: int, index: int, rng: random.Random) -> Case:
        recipe, base, data = x12_input(rng, self.pool, load_corpus(), kinds=_KINDS, folders=_FOLDERS, mutate_share=0.85)
        name = rng.choice(_NAMES)
        roll = rng.random()
        files = [InputFile(name, data)]
        if roll < 0.12 and base != data:
            files.append(InputFile(name, base))  # the complete copy arrives after the damaged one
            recipe += "|then-original"
        elif roll < 0.18:
            files.append(InputFile(rng.choice(_NAMES), data))  # the very same bytes again
            recipe += "|then-same"
        elif roll < 0.24:
            other = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if b"\n" in data else data + b"\r\n"
            files.append(InputFile(name, other))  # the same content, other bytes (a re-download)
            recipe += "|then-crlf"
        return Case(self.name, seed, index, recipe, tuple(files))

    def run(self, state: IngestState, case: Case) -> Iterator[list[Violation]]:
        engine = state.scratch.engine
        assert engine is not None, "reset() opens the warehouse"
        for item in case.files:
            with engine.connect() as conn:
                before = invariants.marks(conn)
            try:
                outcome = self._ingest(state, item)
                self.outcomes[outcome] += 1
            except RevcycleError:
                with engine.connect() as conn:
                    found = invariants.check_ingest(conn, before, None, item.data)
                yield found
                raise
            with engine.connect() as conn:
                yield invariants.check_ingest(conn, before, outcome, item.data)

    def _ingest(self, state: IngestState, item: InputFile) -> str:
        """One arrival: the file lands in the inbox and is ingested; returns the outcome word."""
        path = state.inbox / item.name
        path.write_bytes(item.data)
        assert state.scratch.engine is not None
        return ingest_file(state.scratch.engine, path, origin="sftp").outcome

    def close(self, state: IngestState) -> None:
        state.scratch.dispose()
