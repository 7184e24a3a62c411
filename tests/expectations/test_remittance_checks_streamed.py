"""The remittances suite run in batches while an 835 streams counts what one validation of the whole file counts.

The collect task validates an 835 as the loader reads it (``StreamedRemittanceChecks``, issue 15), in several
GX calls; its failing counts and shares per rule must be those of ``validate_remittances`` over the file
read whole, which is the reference here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from expectations.remittances import StreamedRemittanceChecks, remittances_frame, validate_remittances
from revcycle.x12.x835 import ClaimPayment, Remittance835, RemittanceEnd, iter_835, read_835
from tests.corpus import corpus_dir

# Far from the corpus's payment dates: the date rule fails on some rows, so it is compared too.
TODAY = date(2026, 11, 23)
FILES = 3  # corpus 835s with failing rules compared (each costs a few GX calls)


def _failing_corpus_835s() -> list[Path]:
    found = []
    for path in sorted(p for p in (corpus_dir() / "835").iterdir() if p.is_file() and not p.name.endswith(".md")):
        remittances = read_835(path).remittances
        if sum(len(r.claims) for r in remittances) >= 2 and any(r.balance_problems for r in remittances):
            found.append(path)
        if len(found) == FILES:
            break
    return found


def _streamed(path: Path, batch_rows: int) -> StreamedRemittanceChecks:
    checks = StreamedRemittanceChecks(today=TODAY, batch_rows=batch_rows)
    header: Remittance835 | None = None
    batch: list[ClaimPayment] = []
    for event in iter_835(path):
        if isinstance(event, ClaimPayment):
            batch.append(event)
            if len(batch) == 2:  # as the loader passes them, in batches of claims
                assert header is not None
                checks.claims(header, batch)
                batch = []
        elif isinstance(event, RemittanceEnd):
            if batch and header is not None:
                checks.claims(header, batch)
            batch = []
            checks.end(event)
        else:
            header = event
    return checks


def test_the_corpus_has_835s_with_failing_rules_to_compare() -> None:
    assert len(_failing_corpus_835s()) == FILES


@pytest.mark.parametrize("index", range(FILES))
def test_batched_checks_count_what_the_whole_file_validation_counts(index: int) -> None:
    path = _failing_corpus_835s()[index]
    remittances = read_835(path).remittances
    whole = validate_remittances(remittances, today=TODAY)
    rows = len(remittances_frame(remittances))
    # about three GX calls over the file's rows
    checks = _streamed(path, batch_rows=max(1, rows // 3))

    summary = checks.summary()

    assert checks.validations >= 2
    assert checks.evaluated == rows
    assert {(s.rule, s.column): s.failing for s in summary} == {(s.rule, s.column): s.failing for s in whole.summary}
    assert {(s.rule, s.column): s.failing_share for s in summary} == pytest.approx(
        {(s.rule, s.column): s.failing_share for s in whole.summary}
    )
    assert any(s.failing for s in summary)  # the file does fail some rule: the comparison is not of zeros
