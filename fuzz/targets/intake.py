"""Target ``intake``: faulty charge exports through the reader, the GX gate and ``record_intake``.

One case is one export file, taken in as the nightly task does it (``tasks/intake.py`` without Prefect):
``read_charge_export``, the ledger entry, ``validate_charges`` (GX), the rejected-share threshold, then
``record_intake`` with the claims suite as its claim check. The worker keeps GX imported and warm; the
scratch warehouse is reset every chunk, so charge ids repeat across the cases of a chunk the way corrected
exports resend them.

Allowed exceptions: the documented kinds of ``revcycle.errors`` (``RevcycleError``: the unreadable export,
missing columns, a rule GX could not evaluate, the threshold). Any other exception is a finding. The
invariants (``fuzz.invariants.check_intake``) run after every case, also when a documented error stopped it.

Plug point for the file-grain intake (refused exports moved aside with a reason): ``_intake``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fuzz import invariants
from fuzz.csv_cases import AS_OF, charge_export_case
from fuzz.engine import Case, InputFile, Violation
from fuzz.world import Scratch, scratch_warehouse
from revcycle.errors import RevcycleError, ThresholdExceeded
from revcycle.warehouse.schema import charge

_NAMES = ("charges.csv", "export_20240501.csv", "CHARGES.CSV", "epic export.csv")


@dataclass
class IntakeState:
    """One worker's scratch warehouse, export folder and the payers (GX stays imported in the process)."""

    scratch: Scratch
    exports: Path
    payers: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Progress:
    """How far one export got: its ledger id, whether it loaded, its rows and rejections."""

    source_file_id: int | None = None
    loaded: bool = False
    charge_ids: list[str] = field(default_factory=list)
    already_claimed: set[str] = field(default_factory=set)
    rejected_ids: set[str] = field(default_factory=set)


class IntakeTarget:
    """Faulty charge exports into a scratch warehouse through the real reader, gate and intake."""

    name = "intake"
    allowed: tuple[type[BaseException], ...] = (RevcycleError,)

    def __init__(self, chunk_size: int = 50) -> None:
        self.chunk_size = chunk_size
        self.outcomes: Counter[str] = Counter()  # how far each export got (for the tests' sanity checks)

    def open(self, workdir: Path) -> IntakeState:
        from connectors.payers import registered_payers

        exports = workdir / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        return IntakeState(scratch_warehouse(workdir), exports, dict(registered_payers()))

    def reset(self, state: IntakeState, seed: int, chunk: int) -> None:
        state.scratch.open()

    def make_case(self, seed: int, index: int, rng: random.Random) -> Case:
        recipe, data = charge_export_case(rng)
        threshold = 1.0 if rng.random() < 0.7 else 0.05
        return Case(self.name, seed, index, recipe, (InputFile(rng.choice(_NAMES), data),), {"threshold": threshold})

    def run(self, state: IntakeState, case: Case) -> Iterator[list[Violation]]:
        engine = state.scratch.engine
        assert engine is not None, "reset() opens the warehouse"
        item = case.files[0]
        with engine.connect() as conn:
            before = invariants.marks(conn)
        progress = _Progress()
        try:
            self._intake(state, item, case.meta.get("threshold", 1.0), progress)
        except RevcycleError:
            yield self._check(state, before, progress)
            raise
        yield self._check(state, before, progress)

    def _intake(self, state: IntakeState, item: InputFile, threshold: float, progress: _Progress) -> None:
        """One export taken in as ``tasks/intake.intake_export`` does (read, ledger, gate, threshold, record)."""
        from connectors.ehr.csv_export import read_charge_export
        from expectations.gate import charge_rejections, payer_charge_rules
        from expectations.runner import validate_charges
        from revcycle.intake import record_intake
        from revcycle.warehouse.ledger import register_source_file

        engine = state.scratch.engine
        assert engine is not None
        path = state.exports / item.name
        path.write_bytes(item.data)
        export = read_charge_export(path)
        with engine.begin() as conn:
            entry = register_source_file(
                conn, kind="charges", name=path.name, sha256=export.sha256, size=export.size, origin="export"
            )
        progress.source_file_id = entry.id
        if entry.already_loaded:
            progress.source_file_id = None  # nothing new from it: the earlier load was checked then
            self.outcomes["skipped"] += 1
            return
        validation = validate_charges(export.frame, today=AS_OF, payer_rules=payer_charge_rules(state.payers))
        if validation.rejected_share > threshold:
            raise ThresholdExceeded(f"{path.name}: rejected share above the threshold")
        rejections = charge_rejections(validation)
        rows = export.frame.to_dict("records")
        progress.charge_ids = [str(r["charge_id"]) for r in rows]
        progress.rejected_ids = {r.charge_id for r in rejections if r.severity == "error"}
        with engine.connect() as conn:
            progress.already_claimed = {
                cid
                for start in range(0, len(progress.charge_ids), 500)
                for cid in conn.execute(
                    select(charge.c.charge_id).where(
                        charge.c.charge_id.in_(progress.charge_ids[start : start + 500]), charge.c.status == "claimed"
                    )
                ).scalars()
            }
        record_intake(
            engine,
            source_file_id=entry.id,
            rows=rows,
            rejections=rejections,
            payers=state.payers,
            batch_date=AS_OF,
        )
        progress.loaded = True
        self.outcomes["loaded"] += 1

    def _check(self, state: IntakeState, before: invariants.Marks, progress: _Progress) -> list[Violation]:
        assert state.scratch.engine is not None
        with state.scratch.engine.connect() as conn:
            return invariants.check_intake(
                conn,
                before,
                source_file_id=progress.source_file_id,
                loaded=progress.loaded,
                charge_ids=progress.charge_ids,
                already_claimed=progress.already_claimed,
                rejected_ids=progress.rejected_ids,
                payers=state.payers,
            )

    def close(self, state: IntakeState) -> None:
        state.scratch.dispose()
