"""What the intake holds per line and per claim, counted with ``tracemalloc`` (issue 15: a million lines in 6 GB).

At a million lines the night's peak is reached while the claims are built: every row to record and every
built claim are alive together. Before the fourth pass a row to record was a dict of 104 columns (about
3.4 KB with its hash table) and a claim about 3.8 KB (instance dicts; ``Claim`` has more attributes than
CPython's shared instance dicts take, so each got a dict of its own). The bounds below sit between those
figures and the ones measured after (about 180 bytes a row beside the reader's tuple of values, which it
shares; about 2 KB a claim, slotted dataclasses), so a return to either shape fails. ``tracemalloc`` counts
allocations, not timing: the figures do not move with the machine's load.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from connectors.ehr.base import ExportRows, SourceRef
from connectors.ehr.intake import intake_rows
from connectors.payers import registered_payers
from revcycle.claims import build_claims
from revcycle.synth import generate_charge_rows

AS_OF = date(2026, 11, 20)
ROW_BOUND = 500  # bytes per row to record: 3,405 as a dict, 997 with a tuple of its own, 181 sharing the reader's
CLAIM_BOUND = 2_800  # bytes per built claim: 3,787 with instance dicts, 2,072 slotted (measured here)


def _retained(make: Callable[[], Any]) -> tuple[Any, int]:
    """What ``make`` returns and the bytes still allocated for it once it returned."""
    gc.collect()
    tracemalloc.start()
    try:
        made = make()
        gc.collect()
        size, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return made, size


def _charge_rows(encounters: int) -> list[dict[str, str]]:
    payers = list(registered_payers().values())
    return list(generate_charge_rows(payers, encounters=encounters, seed=21, as_of=AS_OF, secondary_share=0.2))


def test_a_row_to_record_shares_the_readers_values() -> None:
    export = ExportRows(path=Path("export.csv"), format="csv", sha256="c" * 64, size=1)
    for number, row in enumerate(_charge_rows(1_500), start=2):
        export.add_row(row, SourceRef("export.csv", f"line {number}"))
    rows, size = _retained(lambda: intake_rows(export))
    assert len(rows) == len(export.rows) > 2_000
    assert size / len(rows) < ROW_BOUND, f"{size / len(rows):.0f} bytes per row"
    assert all(row._values is contract.as_tuple() for row, contract in zip(rows, export.rows, strict=False))


def test_a_built_claim_holds_under_three_kilobytes() -> None:
    rows = _charge_rows(5_000)
    payers = registered_payers()
    built, size = _retained(lambda: build_claims(rows, payers))
    assert len(built.claims) > 4_000
    assert size / len(built.claims) < CLAIM_BOUND, f"{size / len(built.claims):.0f} bytes per claim"
