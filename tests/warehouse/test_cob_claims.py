"""Issue 10, secondary coverage: the primary's 835 bills the next payer, unless the primary crossed it over.

One visit of the synthetic EHR (seed 7, payer SUMMT) is planted with two lines, 99213 for 100.00 and 36415 for
20.00, and a secondary coverage with the state Medicaid (MCDST, export columns ``secondary_*``). It is taken
in, staged, uploaded and accepted by the 277CA; then a planted primary 835 (docs/claim-rules.md, "Secondary
coverage"; X12 005010X222A1 2320/2330B/2430, 005010X221A1 CLP02 and RARC):

- 99213: CO-45 20.00, PR-2 16.00, paid 64.00 (100 - 20 - 16); 36415: CO-45 5.00, PR-2 3.00, paid 12.00;
  claim level PR-1 (deductible) 10.00; CLP04 = 64 + 12 - 10 = 66.00, CLP05 = 16 + 3 + 10 = 29.00.

A patient balance is left (29.00), so the next staging builds the secondary claim to MCDST: SBR01 S; the
primary as other payer (2320 SBR01 P, CAS*PR*1*10, AMT*D*66; 2330B NM109 SUMMT); 2430 SVD*SUMMT*64 and
SVD*SUMMT*12 with their CAS and DTP*573 = the 835's payment date. Balancing (837 TR3 2320 AMT*D note):
CLM02 120 - 2320 CAS 10 - 2430 CAS (20 + 16 + 5 + 3 = 44) = 66 = AMT*D; each line's SV102 - its 2430 CAS = SVD02
(100 - 36 = 64, 20 - 8 = 12).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cob_balance import cob_balance_problems
from intake_records import record_export
from kpi_data import _277ca, _ack, ingest_on
from pyx12_check import pyx12_errors, split_segments
from sqlalchemy import Engine, select
from warehouse_data import cas, clp, remittance, svc, write_remittances

from connectors.payers import registered_payers
from revcycle.claim_versions import record_submission
from revcycle.claims import claim_key_for
from revcycle.next_action import KIND, Action, Kind
from revcycle.sandbox.payer import SandboxConfig, SandboxPayer
from revcycle.submission import SenderIdentity, StagingResult, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.claim_snapshots import decide_open_claims
from revcycle.warehouse.schema import claim, claim_action, claim_version
from revcycle.x12.write835 import RemittanceClaim
from revcycle.x12.write837p import Submitter

NIGHT = date(2026, 11, 20)
T0 = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 21:30 Chicago on the night
T1 = datetime(2026, 11, 21, 3, 40, tzinfo=UTC)
T2 = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)  # the night after the 835
PAID_ON = date(2026, 12, 7)
PRIMARY, SECONDARY = "SUMMT", "MCDST"
SENDER = SenderIdentity(
    sender_id="REVCYCLE01",
    usage_indicator="T",
    submitter=Submitter(name="REVCYCLE BILLING", id="REVCYCLE01", contact_name="BILLING OFFICE", phone="5555550100"),
)


def _visit(secondary: str = SECONDARY, tertiary: str | None = None) -> list[dict[str, str]]:
    """The planted visit: two lines (99213 100.00, 36415 20.00) to SUMMT, with ``secondary`` (and ``tertiary``)
    as further coverages, the patient their subscriber."""
    template = next(iter(generate_charge_rows([registered_payers()[PRIMARY]], encounters=1, seed=7, as_of=NIGHT)))
    assert template["payer_id"] == PRIMARY
    coverage: dict[str, str] = {}
    for rank, payer_id in (("secondary", secondary), ("tertiary", tertiary)):
        if payer_id is None:
            continue
        profile = registered_payers()[payer_id]
        coverage |= {
            f"{rank}_payer_id": payer_id,
            f"{rank}_member_id": profile.make_member_id(random.Random(rank)),  # the payer's member id format
            f"{rank}_claim_filing_indicator": profile.filing_indicator,
            f"{rank}_relationship": "self",
            **{f"{rank}_subscriber_{f}": template[f"patient_{f}"] for f in ("last_name", "first_name", "birth_date")},
            f"{rank}_subscriber_sex": template["patient_sex"],
        }
    base = template | coverage | {f"modifier{i}": "" for i in range(1, 5)} | {"diagnosis_pointers": "1"}
    return [
        base | {"charge_id": "COB-C1", "procedure_code": "99213", "charge_amount": "100.00", "units": "1"},
        base | {"charge_id": "COB-C2", "procedure_code": "36415", "charge_amount": "20.00", "units": "1"},
    ]


def _stage(engine: Engine, outbound: Path, now: datetime) -> StagingResult:
    return stage_claims(
        engine,
        payers=registered_payers(),
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=now.date(),
        created=now,
        now=now,
    )


def _primary_sent(
    engine: Engine, outbound: Path, tertiary: str | None = None, secondary: str = SECONDARY
) -> tuple[str, str, date]:
    """Take the visit in, stage it, upload it and accept it: (primary key, secondary key, date of service)."""
    rows = _visit(secondary, tertiary)
    record_export(engine, rows, batch_date=NIGHT, name="cob.csv")
    primary = claim_key_for(rows[0]["encounter_id"], PRIMARY, rows[0]["billing_npi"])
    second = claim_key_for(rows[0]["encounter_id"], secondary, rows[0]["billing_npi"])
    (sent,) = _stage(engine, outbound, T0).interchanges
    written = (outbound / sent.file_name).read_bytes()
    assert pyx12_errors(written) == []
    # The primary claim names the secondary coverage (2320 SBR01 S, no AMT*D: not adjudicated yet).
    segments = split_segments(written)
    assert [s[1] for s in segments if s[0] == "SBR"] == ["P", "S"] + (["T"] if tertiary else [])
    assert not [s for s in segments if s[:2] == ["AMT", "D"]]
    served = date.fromisoformat(rows[0]["service_date_from"])
    with engine.begin() as conn:
        record_submission(conn, sent.id, sent.file_name, T1)
    ingest_on(engine, _277ca(9301, (_ack(primary, "120.00", True, served),)), "277CA_9301.x12", date(2026, 11, 21))
    return primary, second, served


def _payment(key: str, served: date, status: str = "1", **extra: object) -> RemittanceClaim:
    """The planted primary 835 of the module docstring (CLP02 ``status``, remarks or NM1*TT in ``extra``)."""
    services = (
        svc("99213", "100.00", "64.00", served, cas("CO", "45", "20.00"), cas("PR", "2", "16.00")),
        svc("36415", "20.00", "12.00", served, cas("CO", "45", "5.00"), cas("PR", "2", "3.00")),
    )
    planted = clp(key, status, "120.00", "66.00", "29.00", services=services, adjustments=(cas("PR", "1", "10.00"),))
    return dataclasses.replace(planted, **extra)  # type: ignore[arg-type]


def _load_835(engine: Engine, payment: RemittanceClaim, control: int) -> None:
    data = write_remittances(control, remittance(f"TRACE-{control}", PAID_ON, (payment,)))
    ingest_on(engine, data, f"835_{control}.x12", PAID_ON)


def _actions(engine: Engine, today: date, now: datetime) -> dict[str, str]:
    decide_open_claims(engine, registered_payers().values(), today, now)
    with engine.connect() as conn:
        return {str(k): str(a) for k, a in conn.execute(select(claim_action.c.claim_key, claim_action.c.action))}


def _cas_total(segment: list[str]) -> Decimal:
    """The sum of a CAS segment's amounts (CAS02/03, 05/06 ...: reason, amount triples after the group)."""
    return sum((Decimal(segment[i]) for i in range(3, len(segment), 3) if segment[i]), Decimal(0))


def test_a_primary_balance_bills_the_secondary_from_the_835_and_its_sandbox_835_closes_it(
    warehouse: Engine, tmp_path: Path
) -> None:
    outbound = tmp_path / "outbound"
    primary, secondary, served = _primary_sent(warehouse, outbound)
    _load_835(warehouse, _payment(primary, served), 9401)
    assert _actions(warehouse, PAID_ON, T2)[primary] == Action.BILL_NEXT_PAYER.value

    night = _stage(warehouse, outbound, T2)
    assert night.billed_next == [secondary]
    (sent,) = night.interchanges
    assert sent.payer_id == SECONDARY
    written = (outbound / sent.file_name).read_bytes()
    assert pyx12_errors(written) == []
    segments = split_segments(written)
    clm = next(s for s in segments if s[0] == "CLM")
    assert (clm[1], Decimal(clm[2]), clm[5]) == (secondary, Decimal("120"), "11:B:1")
    # 2000B SBR01 S to MCDST; the 2320 loop of the primary: SBR01 P, its claim-level CAS, AMT*D; 2330B SUMMT
    sbr = [s for s in segments if s[0] == "SBR"]
    assert [s[1] for s in sbr] == ["S", "P"]
    start = segments.index(sbr[1])
    loop_2320 = segments[start : next(i for i, s in enumerate(segments) if s[0] == "LX")]
    claim_cas = [s for s in loop_2320 if s[0] == "CAS"]
    assert [(s[1], s[2], Decimal(s[3])) for s in claim_cas] == [("PR", "1", Decimal("10"))]
    (amt_d,) = [Decimal(s[2]) for s in loop_2320 if s[:2] == ["AMT", "D"]]
    assert amt_d == Decimal("66")
    payer_2330b = next(s for s in loop_2320 if s[:2] == ["NM1", "PR"])
    assert (payer_2330b[2], payer_2330b[8], payer_2330b[9]) == ("2", "PI", PRIMARY)
    # 2430 per line: SVD (payer, paid, procedure), the line's CAS, DTP*573 = the 835's payment date
    lines: list[tuple[Decimal, list[list[str]]]] = []
    for s in segments[segments.index(loop_2320[-1]) + 1 :]:
        if s[0] == "SV1":
            lines.append((Decimal(s[2]), []))
        elif s[0] in ("SVD", "CAS", "DTP") and lines:
            lines[-1][1].append(s)
    assert len(lines) == 2
    (charge_1, loop_1), (charge_2, loop_2) = lines
    assert (charge_1, charge_2) == (Decimal("100"), Decimal("20"))
    svd = [next(s for s in loop if s[0] == "SVD") for loop in (loop_1, loop_2)]
    assert [(s[1], Decimal(s[2]), s[3]) for s in svd] == [
        (PRIMARY, Decimal("64"), "HC:99213"),
        (PRIMARY, Decimal("12"), "HC:36415"),
    ]
    assert [s[2:4] for loop in (loop_1, loop_2) for s in loop if s[0] == "DTP"][-1] == ["D8", "20261207"]
    line_cas = [[s for s in loop if s[0] == "CAS"] for loop in (loop_1, loop_2)]
    assert [sorted((s[1], s[2], Decimal(s[3])) for s in found) for found in line_cas] == [
        [("CO", "45", Decimal("20")), ("PR", "2", Decimal("16"))],
        [("CO", "45", Decimal("5")), ("PR", "2", Decimal("3"))],
    ]
    # Balancing to the cent: each line's SV102 - its 2430 CAS = SVD02; CLM02 - 2320 CAS - 2430 CAS = AMT*D
    for (charge, _loop), found, row in zip(lines, line_cas, svd, strict=True):
        assert charge - sum(map(_cas_total, found), Decimal(0)) == Decimal(row[2])
    all_line_cas = sum((_cas_total(s) for found in line_cas for s in found), Decimal(0))
    assert Decimal(clm[2]) - sum(map(_cas_total, claim_cas), Decimal(0)) - all_line_cas == amt_d
    # The same rule as the reusable check (tests/cob_balance.py), which catches an AMT*D off by a cent
    assert cob_balance_problems(written) == []
    assert cob_balance_problems(written.replace(b"AMT*D*66~", b"AMT*D*66.01~")) == [
        f"claim {secondary}: 2320 of {PRIMARY}: CLM02 - 2320 CAS - 2430 CAS != AMT*D"
    ]

    # The secondary is a claim of its own with its version; the primary is billed: staged again, nothing new
    with warehouse.connect() as conn:
        prior = conn.execute(select(claim.c.prior_claim_key).where(claim.c.claim_key == secondary)).scalar_one()
        version_columns = (claim_version.c.version, claim_version.c.frequency_code)
        versions = conn.execute(select(*version_columns).where(claim_version.c.claim_key == secondary)).all()
    assert prior == primary and [tuple(v) for v in versions] == [(1, "1")]
    assert _stage(warehouse, outbound, T2).billed_next == []

    # The sandbox payer (MCDST) answers the secondary: 999, 277CA and an 835 priced from the primary's amounts.
    with warehouse.begin() as conn:
        record_submission(conn, sent.id, sent.file_name, T2)
    answers = SandboxPayer(SandboxConfig(seed_salt="cob")).receive(written, T2)
    assert sorted(a.name.split("_")[0] for a in answers) == ["277CA", "835", "999"]
    for answer in answers:
        assert pyx12_errors(answer.content) == [], answer.name
        ingest_on(warehouse, answer.content, answer.name, date(2026, 12, 9))
    clps = [s for a in answers if a.name.startswith("835") for s in split_segments(a.content) if s[0] == "CLP"]
    assert [(s[1], s[2]) for s in clps] == [(secondary, "2")]  # CLP02 2: processed as secondary
    actions = _actions(warehouse, date(2026, 12, 9), datetime(2026, 12, 10, 3, 30, tzinfo=UTC))
    assert KIND[Action(actions[secondary])] is Kind.FINAL, actions[secondary]
    assert KIND[Action(actions[primary])] is Kind.FINAL, actions[primary]


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({}, "19"),  # CLP02 19: processed as primary, forwarded to additional payer(s)
        ({"remark_codes": ("MA18",)}, "1"),  # MA18: forwarded to the supplemental insurer
        ({"crossover_carrier": ("STATE MEDICAID", SECONDARY)}, "1"),  # NM1*TT: the crossover carrier
    ],
    ids=["clp02-19", "ma18", "nm1-tt"],
)
def test_a_crossed_over_claim_sends_nothing_and_ends_crossed_over(
    warehouse: Engine, tmp_path: Path, extra: dict[str, object], status: str
) -> None:
    outbound = tmp_path / "outbound"
    primary, secondary, served = _primary_sent(warehouse, outbound)
    _load_835(warehouse, _payment(primary, served, status, **extra), 9402)
    assert _actions(warehouse, PAID_ON, T2)[primary] == Action.CROSSED_OVER.value
    night = _stage(warehouse, outbound, T2)
    assert (night.billed_next, night.interchanges) == ([], [])
    with warehouse.connect() as conn:
        assert conn.execute(select(claim.c.claim_key).where(claim.c.claim_key == secondary)).first() is None


def test_a_failed_crossover_ma19_bills_the_secondary(warehouse: Engine, tmp_path: Path) -> None:
    outbound = tmp_path / "outbound"
    primary, secondary, served = _primary_sent(warehouse, outbound)
    # MA19: "information was not sent to the supplemental insurer" although the 835 names the carrier
    payment = _payment(primary, served, remark_codes=("MA19",), crossover_carrier=("STATE MEDICAID", SECONDARY))
    _load_835(warehouse, payment, 9403)
    assert _actions(warehouse, PAID_ON, T2)[primary] == Action.BILL_NEXT_PAYER.value
    night = _stage(warehouse, outbound, T2)
    assert night.billed_next == [secondary]
    (sent,) = night.interchanges
    written = (outbound / sent.file_name).read_bytes()
    assert pyx12_errors(written) == []
    assert [s[1] for s in split_segments(written) if s[0] == "SBR"] == ["S", "P"]


def test_a_balance_the_secondary_leaves_bills_the_tertiary_from_both_835s(warehouse: Engine, tmp_path: Path) -> None:
    # Coverages SUMMT, then Medicare Part B, then MCDST. The secondary's planted 835 (CLP02 2), by hand:
    # 99213: OA-23 84.00 (what the primary settled: 100 - 16), PR-2 6.00, paid 10.00 (100 - 84 - 6);
    # 36415: OA-23 17.00, PR-2 1.00, paid 2.00 (20 - 17 - 1); CLP04 = 12.00, CLP05 = 7.00 (a balance left).
    outbound = tmp_path / "outbound"
    primary, secondary, served = _primary_sent(warehouse, outbound, tertiary=SECONDARY, secondary="MCRPB")
    _load_835(warehouse, _payment(primary, served), 9404)
    assert _actions(warehouse, PAID_ON, T2)[primary] == Action.BILL_NEXT_PAYER.value
    night = _stage(warehouse, outbound, T2)
    assert night.billed_next == [secondary]
    (sent,) = night.interchanges
    assert [s[1] for s in split_segments((outbound / sent.file_name).read_bytes()) if s[0] == "SBR"] == ["S", "P", "T"]
    with warehouse.begin() as conn:
        record_submission(conn, sent.id, sent.file_name, T2)
    services = (
        svc("99213", "100.00", "10.00", served, cas("OA", "23", "84.00"), cas("PR", "2", "6.00")),
        svc("36415", "20.00", "2.00", served, cas("OA", "23", "17.00"), cas("PR", "2", "1.00")),
    )
    _load_835(warehouse, clp(secondary, "2", "120.00", "12.00", "7.00", services=services), 9405)

    later = datetime(2026, 12, 9, 3, 30, tzinfo=UTC)
    assert _actions(warehouse, PAID_ON, later)[secondary] == Action.BILL_NEXT_PAYER.value
    third = _stage(warehouse, outbound, later)
    tertiary = claim_key_for(*_encounter_and_npi(warehouse, primary, SECONDARY))
    assert third.billed_next == [tertiary]
    (sent,) = third.interchanges
    assert sent.payer_id == SECONDARY
    written = (outbound / sent.file_name).read_bytes()
    assert pyx12_errors(written) == []
    segments = split_segments(written)
    # SBR01 T; the primary's 2320 (P, AMT*D 66) and the secondary's (S, AMT*D 12); two SVDs per line
    assert [s[1] for s in segments if s[0] == "SBR"] == ["T", "P", "S"]
    assert [Decimal(s[2]) for s in segments if s[:2] == ["AMT", "D"]] == [Decimal("66"), Decimal("12")]
    assert [(s[1], Decimal(s[2])) for s in segments if s[0] == "SVD"] == [
        (PRIMARY, Decimal("64")),
        ("MCRPB", Decimal("10")),
        (PRIMARY, Decimal("12")),
        ("MCRPB", Decimal("2")),
    ]
    assert cob_balance_problems(written) == []
    with warehouse.connect() as conn:
        prior = conn.execute(select(claim.c.prior_claim_key).where(claim.c.claim_key == tertiary)).scalar_one()
    assert prior == secondary


def _encounter_and_npi(engine: Engine, key: str, payer_id: str) -> tuple[str, str, str]:
    with engine.connect() as conn:
        row = conn.execute(select(claim.c.encounter_id, claim.c.billing_npi).where(claim.c.claim_key == key)).one()
    return str(row.encounter_id), payer_id, str(row.billing_npi)
