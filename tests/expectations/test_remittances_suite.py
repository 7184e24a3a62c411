"""The remittances suite over parsed 835s: it flags what the TR3 balancing rules flag, and never changes amounts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from expectations.remittances import remittances_frame, validate_remittances
from revcycle.x12.x835 import read_835
from tests.corpus import corpus_dir

# Payment dates in the corpus span decades: "today" far in the future flags them all, which is the point
# of one test; the balancing tests do not look at that rule.
TODAY = date(2026, 11, 23)


def _corpus_835s() -> list[Path]:
    return sorted(p for p in (corpus_dir() / "835").iterdir() if p.is_file() and not p.name.endswith(".md"))


def _levels(findings: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return set(findings)


def _balanced_remittance_text() -> str:
    # A hand-written 5010 835: one claim of two lines. Line 1: 100.00 - CO 20.00 = 80.00; line 2: 50.00 -
    # PR 10.00 = 40.00; claim 150.00 - 30.00 = 120.00; BPR02 120.00 - PLB 0 = 120.00.
    segments = [
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *260101*1200*^*00501*000000001*0*T*:",
        "GS*HP*PAYER*PROVIDER*20260101*1200*1*X*005010X221A1",
        "ST*835*0001",
        "BPR*I*120.00*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20260105",
        "TRN*1*TRACE1*1512345678",
        "DTM*405*20260101",
        "N1*PR*SOME PAYER",
        "N3*1 PAYER WAY",
        "N4*CITY*IL*60601",
        "PER*BL*EDI*TE*5555550100",
        "N1*PE*CLINIC*XX*1234567893",
        "LX*1",
        "CLP*RC0000000000000001*1*150.00*120.00*10.00*12*PAYERCLM1*11*1",
        "SVC*HC:99213*100.00*80.00**1",
        "DTM*472*20251201",
        "CAS*CO*45*20.00",
        "SVC*HC:36415*50.00*40.00**1",
        "DTM*472*20251201",
        "CAS*PR*1*10.00",
        "SE*18*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~".join(segments) + "~"


def test_a_balanced_remittance_passes_every_rule() -> None:
    parsed = read_835(_balanced_remittance_text().encode())
    assert parsed.remittances and not parsed.remittances[0].balance_problems
    validation = validate_remittances(parsed.remittances, today=date(2026, 1, 20))
    assert validation.findings == []
    frame = remittances_frame(parsed.remittances)
    assert sorted(frame["level"].value_counts().items()) == [
        ("adjustment", 2),
        ("claim", 1),
        ("service", 2),
        ("transaction", 1),
    ]


@pytest.mark.parametrize(
    ("old", "new", "rules"),
    [
        # Line 1 paid 81.00: only the line is off (the claim balances charge - adjustments against CLP04).
        ("SVC*HC:99213*100.00*80.00", "SVC*HC:99213*100.00*81.00", {"service_balances"}),
        (
            "CLP*RC0000000000000001*1*150.00*120.00",
            "CLP*RC0000000000000001*1*150.00*119.00",
            {"claim_balances", "transaction_balances"},
        ),  # BPR02 120.00 is no longer the claims' 119.00
        ("BPR*I*120.00*", "BPR*I*121.00*", {"transaction_balances"}),
        ("CAS*CO*45*20.00", "CAS*XX*45*20.00", {"cas_group_code"}),
        ("CLP*RC0000000000000001*1*", "CLP*RC0000000000000001*9*", {"clp02_code"}),
        ("*DA*98765*20260105", "*DA*98765*19990105", {"payment_date_sane"}),
    ],
)
def test_each_defect_is_flagged_by_its_rule(old: str, new: str, rules: set[str]) -> None:
    text = _balanced_remittance_text()
    assert old in text
    parsed = read_835(text.replace(old, new, 1).encode())
    validation = validate_remittances(parsed.remittances, today=date(2026, 1, 20))
    assert {f.rule for f in validation.findings} == rules
    assert all(f.severity == "warning" for f in validation.findings)


def test_the_suite_flags_the_same_claims_as_the_readers_balancing_check() -> None:
    files = _corpus_835s()
    assert len(files) >= 10
    checked = 0
    flagged = 0
    for path in files:
        parsed = read_835(path.read_bytes())
        if not parsed.remittances:
            continue
        validation = validate_remittances(parsed.remittances, today=TODAY)
        from_suite = {
            (
                f.rule.removesuffix("_balances"),
                f.key.split("/")[1].split("@")[0] if f.rule != "transaction_balances" else "",
            )
            for f in validation.findings
            if f.rule.endswith("_balances") or f.rule == "claim_amounts_present"
        }
        from_reader = {(p.level, p.patient_control_number) for r in parsed.remittances for p in r.balance_problems}
        normalised = {("claim", key) if level == "claim_amounts_present" else (level, key) for level, key in from_suite}
        assert normalised == from_reader, path.name
        checked += 1
        flagged += len(from_reader)
    assert checked >= 8
    assert flagged > 0  # the corpus holds unbalanced remittances, so agreement is not agreement on nothing
