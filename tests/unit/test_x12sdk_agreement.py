"""Our 835 reader agrees with x12sdk 2.2.0 (an independent implementation) on every corpus 835 it can read.

Compared per file: each claim's CLP01 and CLP04 (paid), the sum of its CAS amounts at claim level and at
service level, and the PLB total. x12sdk's models are walked through ``model_dump`` so the test does not
depend on its class names. Files x12sdk cannot read (it raises, or returns no model) are listed with the
reason and must stay unreadable to it: if a new x12sdk release reads them, the test says so.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from corpus import corpus_dir

from revcycle.x12.x835 import read_835

x12sdk_io = pytest.importorskip("x12sdk.io", reason="x12sdk is a dev dependency")

# Checked against the corpus README's x12sdk column.
X12SDK_CANNOT_READ = {
    "derived__multi_plb.edi": "two PLB segments: x12sdk's model allows one",
    "keiron__united_healthcare_legacy_sample.txt": "x12sdk ValidationError on a field value",
    "oopfactory__835_Example1.txt": "BOM/indented file: x12sdk rejects the input",
    "oopfactory__835_WithMultipleInterchanges.txt": "BOM/indented file: x12sdk rejects the input",
    "tigershark__835-example.txt": "4010 file with '~' starting each line: x12sdk returns no model",
}

ZERO = Decimal("0")


def _x12sdk_models(path: Path) -> list[dict[str, Any]]:
    with x12sdk_io.X12ModelReader(str(path)) as reader:
        return [m.model_dump(exclude_none=True) for m in reader.models()]


def _cas_sum(segments: list[dict[str, Any]]) -> Decimal:
    total = ZERO
    for cas in segments:
        for n in range(1, 7):
            amount = cas.get(f"monetary_amount_{n}")
            if amount not in (None, ""):
                total += Decimal(str(amount))
    return total


def _theirs(models: list[dict[str, Any]]) -> tuple[list[tuple[str, Decimal, Decimal, Decimal]], Decimal]:
    claims = []
    plb = ZERO
    for model in models:
        for header in model.get("loop_2000", []):
            for claim in header.get("loop_2100", []):
                clp = claim["clp_segment"]
                services = claim.get("loop_2110", [])
                claims.append(
                    (
                        clp["patient_control_number"],
                        Decimal(str(clp["claim_payment_amount"])),
                        _cas_sum(claim.get("cas_segment", [])),
                        sum((_cas_sum(s.get("cas_segment", [])) for s in services), ZERO),
                    )
                )
        segments = model.get("footer", {}).get("plb_segment") or []
        for plb_seg in segments if isinstance(segments, list) else [segments]:
            for n in range(1, 7):
                amount = plb_seg.get(f"provider_adjustment_amount_{n}")
                if amount not in (None, ""):
                    plb += Decimal(str(amount))
    return claims, plb


def _ours(path: Path) -> tuple[list[tuple[str, Decimal, Decimal, Decimal]], Decimal]:
    read = read_835(path)
    claims = [
        (
            c.patient_control_number,
            c.paid,
            sum((a.amount for a in c.adjustments), ZERO),
            sum((a.amount for s in c.services for a in s.adjustments), ZERO),
        )
        for r in read.remittances
        for c in r.claims
    ]
    plb = sum((p.amount for r in read.remittances for p in r.provider_adjustments), ZERO)
    return claims, plb


def _files() -> list[str]:
    try:
        return sorted(p.name for p in (corpus_dir() / "835").iterdir())
    except pytest.skip.Exception:
        return []


@pytest.mark.parametrize("name", _files() or ["(corpus missing)"])
def test_paid_adjustments_and_plb_agree_with_x12sdk(name: str) -> None:
    path = corpus_dir() / "835" / name
    try:
        models = _x12sdk_models(path)
    except Exception as exc:  # x12sdk's own failure: the file must be one we know it cannot read
        assert name in X12SDK_CANNOT_READ, f"x12sdk now fails on {name}: {type(exc).__name__}"
        return
    if not models:
        assert name in X12SDK_CANNOT_READ, f"x12sdk returned nothing for {name}"
        return
    assert name not in X12SDK_CANNOT_READ, f"x12sdk reads {name} now: compare it"
    their_claims, their_plb = _theirs(models)
    our_claims, our_plb = _ours(path)
    assert their_claims, "x12sdk found no claim"
    assert our_claims == their_claims
    assert our_plb == their_plb


def test_x12sdk_reads_most_corpus_835s() -> None:
    names = _files()
    readable = [n for n in names if n not in X12SDK_CANNOT_READ]
    assert len(names) == 13 and len(readable) == 8
