"""The KPI dataset: fifteen claims and a held encounter over six months, loaded through the real loaders.

tests/warehouse/test_warehouse_kpi.py holds the hand computation of every figure. Reference date AS_OF =
2026-06-30 (a Tuesday); the period is the 90 days to it, 2026-04-02 to 2026-06-30. Practice timezone
America/Chicago (UTC-5 in summer). Claims are built at 13:00 and uploaded at 10:00 Chicago time on the dates
below (so the UTC date is the local date), except T1, uploaded at 21:30 in Chicago on 06-15 (02:30 UTC on
06-16). Every claim is its own encounter (E + key) and account; charges are one line each unless told.

claim payer charge service  sent   what happened
A1    P1    100    06-01    06-02  accepted; 06-20 paid 64 (CO-45 20, PR-2 16)
A2    P1    240    06-05    06-06  a warning on its charge (an edit); accepted; 06-25 paid 160: 99214 150 paid 100
                                   (CO-45 30, PR-1 20), 99213 90 paid 60 (CO-45 30)
A3    P2    300    05-10    05-11  accepted; 06-10 CLP02 4, paid 0, line CO-50 300 with RARC N115; next action
                                   work_denial (deadline: 06-10 + P2's 90 days)
A4    P1    150    04-01    04-02  accepted; 04-20 CLP02 1, paid 0, line CO-16 150 with RARC N290; next action
                                   written_off, decided 06-22 (P1's 60-day appeal window closed 06-19)
A5    P2    500    06-15    06-16  first 277CA rejected (A7:21); sent again 06-18, accepted; no 835
A6    P2    400    03-20    03-21  the 999 (loaded 03-23) rejected its interchange; next action correct_rejection
A7    P1    250    01-10    01-12  accepted; no 835; next action inquire
A8    P1    120    05-20    05-21  accepted; 06-05 paid 90 (CO-45 30); 06-15 reversed and paid 120; the same 835
                                   takes back $25 by PLB WO naming A1's payer claim number (PCNA1)
A9    P2    80     06-28    -      built, not sent
D1    P1    200    06-01    06-02  accepted; 06-22 CLP02 4, paid 0: CO-45 50, PR-1 150 (all to the deductible)
E1    P2    90     05-01    05-02  accepted; 05-20 CLP02 1, paid 0: PR-50 90 (a signed ABN: patient liability)
K1    P1    100    05-05    05-06  accepted; 05-25 paid 80 (PR-3 20)
R1    P1    50     05-15    05-16  accepted; 06-01 paid 50; reversed 06-25 (in A2's 835), no correction
S1    P2    60     05-01    05-02  accepted; no 835; next action await_response due 06-01 (past)
T1    P2    100    06-15    06-15  uploaded 21:30 Chicago; accepted; 06-29 paid 80 (CO-45 20)
EH1   P2    held encounter: charge H1-1 100.00 rejected (npi_check_digit, billing_npi), H1-2 28.00 held with
            it; export received 06-10

Plus a remittance claim UNKNOWN1 (paid 50, in A1's 835) that matches nothing: suspense. Patient payments
(load_patient_payments, only in the tests that say so): P-1 ED1 06-26 $100, P-2 EE1 06-01 $90, P-3 EK1
05-05 $20, P-4 EK1 06-10 $20.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import Connection, Engine, insert, select, update
from warehouse_data import add_claim, cas, clp, envelope, ingest, remittance, svc, write_remittances

from revcycle.next_action import KIND, Action
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.patient_payments import load_patient_payments
from revcycle.warehouse.reference import PayerRow, load_fee_schedule, parse_fee_schedule, sync_payers
from revcycle.warehouse.schema import (
    charge,
    charge_rejection,
    claim,
    claim_action,
    claim_event,
    interchange,
    source_file,
)
from revcycle.x12.write277ca import VERSION_277CA, ClaimAck, ClaimAcknowledgment, ProviderAck, write_277ca
from revcycle.x12.write277ca import ClaimStatus as Ack277Status
from revcycle.x12.write835 import ProviderAdjustment
from revcycle.x12.write999 import VERSION_999, GroupAck, TransactionAck, write_999

AS_OF = date(2026, 6, 30)
FEE_SCHEDULE_P1 = "procedure_code,contracted_amount\n99213,80.00\n99214,120.00\n"
PHI_VALUES = ("DOE", "JANE", "M0001", "1980-02-03", "19800203", "MRN-SYNTH")
PATIENT_PAYMENTS_CSV = (
    "payment_id,encounter_id,payment_date,amount,method\n"
    "P-1,ED1,2026-06-26,100.00,card\n"
    "P-2,EE1,2026-06-01,90.00,cash\n"
    "P-3,EK1,2026-05-05,20.00,card\n"
    "P-4,EK1,2026-06-10,20.00,check\n"
)


def local_10am(day: date) -> datetime:
    """10:00 in Chicago in summer (15:00 UTC): the UTC date is the local date."""
    return datetime.combine(day, time(15, 0), tzinfo=UTC)


def _patient_row(key: str, encounter: str) -> str:
    return json.dumps(
        {
            "charge_id": f"{key}-1",
            "encounter_id": encounter,
            "patient_mrn": "MRN-SYNTH",
            "patient_last_name": "DOE",
            "patient_first_name": "JANE",
            "patient_birth_date": "1980-02-03",
            "member_id": "M0001",
        },
        sort_keys=True,
    )


def _claimed_charges(conn: Connection, export_id: int, keys: list[str]) -> None:
    """One charge row per claim (its first line), with synthetic patient data in row_json."""
    rows = conn.execute(
        select(claim.c.claim_key, claim.c.encounter_id, claim.c.payer_id).where(claim.c.claim_key.in_(keys))
    )
    conn.execute(
        insert(charge),
        [
            {
                "charge_id": f"{r.claim_key}-1",
                "source_file_id": export_id,
                "encounter_id": r.encounter_id,
                "patient_mrn": "MRN-SYNTH",
                "payer_id": r.payer_id,
                "procedure_code": "99213",
                "status": "claimed",
                "claim_key": r.claim_key,
                "row_json": _patient_row(r.claim_key, r.encounter_id),
            }
            for r in rows
        ],
    )


def _ack(key: str, charge_amount: str, accepted: bool, served: date) -> ClaimAck:
    return ClaimAck(
        claim_key=key,
        total_charge=Decimal(charge_amount),
        accepted=accepted,
        status=Ack277Status("A2", "20", "PR") if accepted else Ack277Status("A7", "21"),
        patient_last_name="DOE",
        patient_first_name="JANE",
        member_id="M0001",
        service_date=served,
        payer_claim_number=f"PCN{key}" if accepted else None,
    )


def _277ca(control_number: int, acks: tuple[ClaimAck, ...]) -> bytes:
    ack = ClaimAcknowledgment(
        source_name="TEST CLEARINGHOUSE",
        source_id="CH01",
        source_trace=str(control_number),
        receiver_name="SUBMITTER",
        receiver_id="SUBMITTER",
        batch_trace=str(control_number),
        received=AS_OF,
        processed=AS_OF,
        providers=(ProviderAck("1234567893", "TEST CLINIC", acks),),
        reference=f"277CA{control_number}",
    )
    return write_277ca(ack, envelope(control_number, "HN", VERSION_277CA))


def ingest_on(engine: Engine, data: bytes, name: str, day: date) -> None:
    """Load a response file as received at 10:00 Chicago on ``day`` (its events and ledger row dated then)."""
    assert ingest(engine, data, name) is not None
    moment = local_10am(day)
    with engine.begin() as conn:
        file_id = conn.execute(select(source_file.c.id).where(source_file.c.name == name)).scalar_one()
        conn.execute(update(source_file).where(source_file.c.id == file_id).values(received_at=moment))
        conn.execute(update(claim_event).where(claim_event.c.source_file_id == file_id).values(occurred_at=moment))


def _action(conn: Connection, key: str, action: Action, decided: date, due_on: date | None = None) -> None:
    conn.execute(
        insert(claim_action).values(
            claim_key=key,
            action=action.value,
            kind=KIND[action].value,
            reason=f"claim {key}: test",
            source="test",
            decided_at=local_10am(decided),
            due_on=due_on,
        )
    )


def build_kpi_dataset(engine: Engine, *, with_held_encounter: bool = True) -> None:
    """The dataset of the module docstring (without EH1 when ``with_held_encounter`` is False)."""
    d = date
    with engine.begin() as conn:
        sync_payers(
            conn,
            [PayerRow("P1", "PAYER ONE", "CI", 180, appeal_days=60), PayerRow("P2", "PAYER TWO", "MB", 365)],
        )
        load_fee_schedule(conn, "P1", parse_fee_schedule(FEE_SCHEDULE_P1, "p1.csv"), "p1.csv")
        a6_interchange = conn.execute(
            insert(interchange).values(
                control_number=555,
                file_name="837P_555.x12",
                payer_id="P2",
                transaction_type="837P",
                usage_indicator="T",
                claim_count=1,
                total_charge_cents=40000,
                sha256="5" * 64,
                size=1,
                state="uploaded",
                batch_date=d(2026, 3, 21),
                created_at=local_10am(d(2026, 3, 21)),
            )
        ).inserted_primary_key
        assert a6_interchange is not None
        sent = local_10am
        add_claim(conn, "A1", "P1", [("99213", "100")], d(2026, 6, 1), sent(d(2026, 6, 2)))
        add_claim(conn, "A2", "P1", [("99214", "150"), ("99213", "90")], d(2026, 6, 5), sent(d(2026, 6, 6)))
        add_claim(conn, "A3", "P2", [("99215", "300")], d(2026, 5, 10), sent(d(2026, 5, 11)))
        add_claim(conn, "A4", "P1", [("99213", "150")], d(2026, 4, 1), sent(d(2026, 4, 2)))
        add_claim(conn, "A5", "P2", [("99215", "500")], d(2026, 6, 15), sent(d(2026, 6, 16)))
        add_claim(
            conn,
            "A6",
            "P2",
            [("99215", "400")],
            d(2026, 3, 20),
            sent(d(2026, 3, 21)),
            interchange_id=a6_interchange[0],
        )
        add_claim(conn, "A7", "P1", [("99214", "250")], d(2026, 1, 10), sent(d(2026, 1, 12)))
        add_claim(conn, "A8", "P1", [("99214", "120")], d(2026, 5, 20), sent(d(2026, 5, 21)))
        add_claim(conn, "A9", "P2", [("99212", "80")], d(2026, 6, 28), None)
        add_claim(conn, "D1", "P1", [("99214", "200")], d(2026, 6, 1), sent(d(2026, 6, 2)))
        add_claim(conn, "E1", "P2", [("99213", "90")], d(2026, 5, 1), sent(d(2026, 5, 2)))
        add_claim(conn, "K1", "P1", [("99213", "100")], d(2026, 5, 5), sent(d(2026, 5, 6)))
        add_claim(conn, "R1", "P1", [("99212", "50")], d(2026, 5, 15), sent(d(2026, 5, 16)))
        add_claim(conn, "S1", "P2", [("99212", "60")], d(2026, 5, 1), sent(d(2026, 5, 2)))
        # 21:30 on 2026-06-15 in Chicago (CDT, UTC-5) is 02:30 UTC on 2026-06-16.
        add_claim(conn, "T1", "P2", [("99213", "100")], d(2026, 6, 15), datetime(2026, 6, 16, 2, 30, tzinfo=UTC))
        export = register_source_file(
            conn, kind="charges", name="export.csv", sha256="e" * 64, size=1, origin="export"
        ).id
        conn.execute(update(source_file).where(source_file.c.id == export).values(received_at=sent(d(2026, 6, 10))))
        _claimed_charges(
            conn, export, ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "D1", "E1", "K1", "R1", "S1", "T1"]
        )
        # A2's charge carried a validation warning: an edit, so A2 is not a clean claim.
        conn.execute(
            insert(charge_rejection).values(
                charge_id="A2-1",
                source_file_id=export,
                suite="charges",
                rule="modifier_expected",
                expectation="expect_modifier",
                column_name="modifier1",
                severity="warning",
                created_at=sent(d(2026, 6, 5)),
            )
        )
        if with_held_encounter:
            add_held_encounter(conn, export)
        _action(conn, "A3", Action.WORK_DENIAL, d(2026, 6, 10))
        _action(conn, "A4", Action.WRITTEN_OFF, d(2026, 6, 22))
        _action(conn, "A5", Action.AWAIT_RESPONSE, d(2026, 6, 18), due_on=d(2026, 7, 18))
        _action(conn, "A6", Action.CORRECT_REJECTION, d(2026, 3, 23))
        _action(conn, "A7", Action.INQUIRE, d(2026, 2, 15))
        _action(conn, "S1", Action.AWAIT_RESPONSE, d(2026, 5, 2), due_on=d(2026, 6, 1))

    served = d(2026, 6, 1)
    ingest_on(
        engine,
        write_999(
            GroupAck("HC", 555, "005010X222A1", (TransactionAck("837", "0001", False, "005010X222A1"),)),
            envelope(4001, "FA", VERSION_999),
        ),
        "999_555.x12",
        d(2026, 3, 23),
    )
    accepted = [
        ("A1", "100", d(2026, 6, 1)),
        ("A2", "240", d(2026, 6, 5)),
        ("A3", "300", d(2026, 5, 10)),
        ("A4", "150", d(2026, 4, 1)),
        ("A7", "250", d(2026, 1, 10)),
        ("A8", "120", d(2026, 5, 20)),
        ("D1", "200", d(2026, 6, 1)),
        ("E1", "90", d(2026, 5, 1)),
        ("K1", "100", d(2026, 5, 5)),
        ("R1", "50", d(2026, 5, 15)),
        ("S1", "60", d(2026, 5, 1)),
        ("T1", "100", d(2026, 6, 15)),
    ]
    first_277 = _277ca(
        4002,
        (*(_ack(k, c, True, s) for k, c, s in accepted), _ack("A5", "500", False, d(2026, 6, 15))),
    )
    ingest_on(engine, first_277, "277CA_1.x12", d(2026, 6, 17))
    with engine.begin() as conn:  # A5 corrected and sent again
        conn.execute(
            insert(claim_event).values(claim_key="A5", status="submitted", occurred_at=local_10am(d(2026, 6, 18)))
        )
    ingest_on(engine, _277ca(4003, (_ack("A5", "500", True, d(2026, 6, 15)),)), "277CA_2.x12", d(2026, 6, 19))

    files = [
        (
            "835_D.x12",
            d(2026, 4, 20),
            remittance(
                "TRACE-D",
                d(2026, 4, 20),
                (
                    clp(
                        "A4",
                        "1",
                        "150",
                        "0",
                        services=(svc("99213", "150", "0", served, cas("CO", "16", "150"), remarks=("N290",)),),
                    ),
                ),
            ),
        ),
        (
            "835_H.x12",
            d(2026, 5, 20),
            remittance(
                "TRACE-H",
                d(2026, 5, 20),
                (clp("E1", "1", "90", "0", "90", (svc("99213", "90", "0", served, cas("PR", "50", "90")),)),),
            ),
        ),
        (
            "835_J.x12",
            d(2026, 5, 25),
            remittance(
                "TRACE-J",
                d(2026, 5, 25),
                (clp("K1", "1", "100", "80", "20", (svc("99213", "100", "80", served, cas("PR", "3", "20")),)),),
            ),
        ),
        (
            "835_K.x12",
            d(2026, 6, 1),
            remittance(
                "TRACE-K", d(2026, 6, 1), (clp("R1", "1", "50", "50", services=(svc("99212", "50", "50", served),)),)
            ),
        ),
        (
            "835_E.x12",
            d(2026, 6, 5),
            remittance(
                "TRACE-E",
                d(2026, 6, 5),
                (clp("A8", "1", "120", "90", services=(svc("99214", "120", "90", served, cas("CO", "45", "30")),)),),
            ),
        ),
        (
            "835_C.x12",
            d(2026, 6, 10),
            remittance(
                "TRACE-C",
                d(2026, 6, 10),
                (
                    clp(
                        "A3",
                        "4",
                        "300",
                        "0",
                        services=(svc("99215", "300", "0", served, cas("CO", "50", "300"), remarks=("N115",)),),
                    ),
                ),
            ),
        ),
        (
            "835_F.x12",
            d(2026, 6, 15),
            remittance(
                "TRACE-F",
                d(2026, 6, 15),
                (
                    clp(
                        "A8",
                        "22",
                        "-120",
                        "-90",
                        services=(svc("99214", "-120", "-90", served, cas("CO", "45", "-30")),),
                    ),
                    clp("A8", "1", "120", "120", services=(svc("99214", "120", "120", served),)),
                ),
                (ProviderAdjustment("WO", Decimal("25"), "PCNA1"),),
            ),
        ),
        (
            "835_A.x12",
            d(2026, 6, 20),
            remittance(
                "TRACE-A",
                d(2026, 6, 20),
                (
                    clp(
                        "A1",
                        "1",
                        "100",
                        "64",
                        "16",
                        (svc("99213", "100", "64", served, cas("CO", "45", "20"), cas("PR", "2", "16")),),
                    ),
                    clp("UNKNOWN1", "1", "50", "50", services=(svc("99212", "50", "50", served),)),
                ),
            ),
        ),
        (
            "835_G.x12",
            d(2026, 6, 22),
            remittance(
                "TRACE-G",
                d(2026, 6, 22),
                (
                    clp(
                        "D1",
                        "4",
                        "200",
                        "0",
                        "150",
                        (svc("99214", "200", "0", served, cas("CO", "45", "50"), cas("PR", "1", "150")),),
                    ),
                ),
            ),
        ),
        (
            "835_B.x12",
            d(2026, 6, 25),
            remittance(
                "TRACE-B",
                d(2026, 6, 25),
                (
                    clp(
                        "A2",
                        "1",
                        "240",
                        "160",
                        "20",
                        (
                            svc("99214", "150", "100", served, cas("CO", "45", "30"), cas("PR", "1", "20")),
                            svc("99213", "90", "60", served, cas("CO", "45", "30")),
                        ),
                    ),
                    clp("R1", "22", "-50", "-50", services=(svc("99212", "-50", "-50", served),)),
                ),
            ),
        ),
        (
            "835_I.x12",
            d(2026, 6, 29),
            remittance(
                "TRACE-I",
                d(2026, 6, 29),
                (clp("T1", "1", "100", "80", services=(svc("99213", "100", "80", served, cas("CO", "45", "20")),)),),
            ),
        ),
    ]
    for number, (name, day, content) in enumerate(files, start=3001):
        ingest_on(engine, write_remittances(number, content), name, day)


def add_held_encounter(conn: Connection, export: int) -> None:
    """EH1: charge H1-1 rejected by the charges suite, H1-2 held with its encounter (export of 06-10)."""
    for charge_id, code, cents, status in (("H1-1", "99213", 10000, "rejected"), ("H1-2", "85025", 2800, "held")):
        conn.execute(
            insert(charge).values(
                charge_id=charge_id,
                source_file_id=export,
                encounter_id="EH1",
                patient_mrn="MRN-SYNTH",
                payer_id="P2",
                procedure_code=code,
                service_date=date(2026, 6, 9),
                charge_cents=cents,
                status=status,
                claim_key=None,
                row_json=_patient_row(charge_id.split("-")[0], "EH1"),
            )
        )
    conn.execute(
        insert(charge_rejection).values(
            charge_id="H1-1",
            source_file_id=export,
            suite="charges",
            rule="npi_check_digit",
            expectation="expect_npi_check_digit",
            column_name="billing_npi",
            severity="error",
            created_at=local_10am(date(2026, 6, 10)),
        )
    )


def load_sample_patient_payments(engine: Engine) -> None:
    """The patient payments of the module docstring."""
    with engine.begin() as conn:
        result = load_patient_payments(conn, PATIENT_PAYMENTS_CSV.encode(), "patient_payments.csv")
    assert (result.loaded, result.refused) == (4, [])
