"""Building blocks of the warehouse tests' datasets: claims as intake records them, 835s written by write835."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, insert

from revcycle.domain import Address
from revcycle.money import to_cents
from revcycle.responses import LoadSummary, load_response
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.reference import PayerRow, load_fee_schedule, parse_fee_schedule, sync_payers
from revcycle.warehouse.schema import charge, charge_rejection, claim, claim_event, claim_line, interchange
from revcycle.x12.write277ca import VERSION_277CA, ClaimAck, ClaimAcknowledgment, ProviderAck, write_277ca
from revcycle.x12.write277ca import ClaimStatus as Ack277Status
from revcycle.x12.write835 import Adjustment, Remittance, RemittanceClaim, ServicePayment, write_835
from revcycle.x12.write999 import VERSION_999, GroupAck, TransactionAck, write_999
from revcycle.x12.writer import Envelope

PAYER_ADDRESS = Address("1 PAYER WAY", "SPRINGFIELD", "IL", "627010001")


def envelope(control_number: int, functional_id: str, version: str) -> Envelope:
    """An ISA/GS envelope for a test interchange."""
    return Envelope(
        sender_id="PAYERTEST",
        receiver_id="SUBMITTER",
        interchange_control_number=control_number,
        group_control_number=control_number,
        usage_indicator="T",
        created=datetime(2026, 6, 30, 12, 0, tzinfo=UTC),
        functional_id_code=functional_id,
        version=version,
    )


def remittance(trace: str, paid_on: date, claims: tuple[RemittanceClaim, ...]) -> Remittance:
    """One 835 transaction set from the test payer."""
    return Remittance(
        payer_name="TEST PAYER",
        payer_tax_id="123456789",
        payer_address=PAYER_ADDRESS,
        payer_contact_phone="8005550100",
        payee_name="TEST CLINIC",
        payee_npi="1234567893",
        payee_tax_id="987654321",
        trace_number=trace,
        payment_date=paid_on,
        production_date=paid_on,
        claims=claims,
    )


def clp(
    key: str,
    status: str,
    charge: str,
    paid: str,
    patient: str = "0",
    services: tuple[ServicePayment, ...] = (),
    adjustments: tuple[Adjustment, ...] = (),
) -> RemittanceClaim:
    """A CLP loop with synthetic patient data."""
    return RemittanceClaim(
        claim_key=key,
        status_code=status,
        charge=Decimal(charge),
        paid=Decimal(paid),
        patient_responsibility=Decimal(patient),
        filing_indicator="12",
        payer_claim_number=f"PCN{key}",
        patient_last_name="DOE",
        patient_first_name="JANE",
        member_id="M0001",
        adjustments=adjustments,
        services=services,
    )


def svc(code: str, charge: str, paid: str, on: date, *adjustments: Adjustment, units: str = "1") -> ServicePayment:
    """An SVC loop."""
    return ServicePayment(
        procedure_code=code,
        charge=Decimal(charge),
        paid=Decimal(paid),
        units=Decimal(units),
        service_date=on,
        adjustments=adjustments,
    )


def cas(group: str, reason: str, amount: str) -> Adjustment:
    """A CAS triple."""
    return Adjustment(group, reason, Decimal(amount))


def write_remittances(control_number: int, *remits: Remittance) -> bytes:
    """An 835 interchange holding ``remits``."""
    return write_835(remits, envelope(control_number, "HP", "005010X221A1"))


def ingest(engine: Engine, data: bytes, name: str) -> LoadSummary | None:
    """Register a file by content hash and load it in one transaction, as the flow does; None when seen before."""
    with engine.begin() as conn:
        entry = register_source_file(
            conn, kind="unknown", name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), origin="manual"
        )
        if entry.already_loaded:
            return None
        return load_response(conn, entry.id, data, name)


def add_claim(
    conn: Connection,
    key: str,
    payer_id: str,
    lines: list[tuple[str, str]],
    service_date: date,
    submitted: date | None,
    *,
    submissions: int = 1,
    interchange_id: int | None = None,
) -> None:
    """A built claim (lines: procedure code, charge) and its submission events, as intake and upload record them."""
    built_at = datetime(service_date.year, service_date.month, service_date.day, 18, 0, tzinfo=UTC)
    submitted_at = (
        None if submitted is None else datetime(submitted.year, submitted.month, submitted.day, 2, 0, tzinfo=UTC)
    )
    total = sum(to_cents(Decimal(amount)) for _code, amount in lines)
    conn.execute(
        insert(claim).values(
            claim_key=key,
            encounter_id=f"E{key}",
            payer_id=payer_id,
            claim_type="professional",
            billing_npi="1234567893",
            frequency_code="1",
            total_charge_cents=total,
            line_count=len(lines),
            first_service_date=service_date,
            built_at=built_at,
            interchange_id=interchange_id,
            submitted_at=submitted_at,
            status="submitted" if submitted else "built",
            status_at=submitted_at or built_at,
        )
    )
    conn.execute(
        insert(claim_line),
        [
            {
                "claim_key": key,
                "line_number": number,
                "charge_id": f"{key}-{number}",
                "procedure_code": code,
                "modifiers": "",
                "units": "1",
                "charge_cents": to_cents(Decimal(amount)),
                "service_date": service_date,
            }
            for number, (code, amount) in enumerate(lines, start=1)
        ],
    )
    events = [{"claim_key": key, "status": "built", "occurred_at": built_at, "interchange_id": None}]
    if submitted_at is not None:
        events += [
            {"claim_key": key, "status": "submitted", "occurred_at": submitted_at, "interchange_id": interchange_id}
        ] * submissions
    conn.execute(insert(claim_event), events)


# --- the KPI dataset (tests/warehouse/test_warehouse_kpi.py holds the hand computation) -----------------------

AS_OF = date(2026, 6, 30)
FEE_SCHEDULE_P1 = "procedure_code,contracted_amount\n99213,80.00\n99214,120.00\n"


def _ack(key: str, charge: str, accepted: bool, served: date) -> ClaimAck:
    return ClaimAck(
        claim_key=key,
        total_charge=Decimal(charge),
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


def build_kpi_dataset(engine: Engine) -> None:
    """Nine claims of two payers, loaded through the real loaders (999, 277CA, 835) where a file exists."""
    with engine.begin() as conn:
        sync_payers(
            conn,
            [PayerRow("P1", "PAYER ONE", "CI", 180, appeal_days=60), PayerRow("P2", "PAYER TWO", "MB", 365)],
        )
        load_fee_schedule(conn, "P1", parse_fee_schedule(FEE_SCHEDULE_P1, "p1.csv"), "p1.csv")
        six = conn.execute(
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
                batch_date=date(2026, 3, 2),
                created_at=datetime(2026, 3, 2, tzinfo=UTC),
            )
        ).inserted_primary_key
        assert six is not None
        add_claim(conn, "C1", "P1", [("99213", "100")], date(2026, 6, 1), date(2026, 6, 2))
        add_claim(conn, "C2", "P1", [("99214", "150"), ("99213", "90")], date(2026, 6, 5), date(2026, 6, 6))
        add_claim(conn, "C3", "P2", [("99215", "300")], date(2026, 5, 10), date(2026, 5, 11))
        add_claim(conn, "C4", "P1", [("99213", "150")], date(2026, 4, 1), date(2026, 4, 2))
        add_claim(conn, "C5", "P2", [("99215", "500")], date(2026, 6, 15), date(2026, 6, 16), submissions=2)
        add_claim(conn, "C6", "P2", [("99215", "400")], date(2026, 3, 1), date(2026, 3, 2), interchange_id=six[0])
        add_claim(conn, "C7", "P1", [("99214", "250")], date(2026, 1, 10), date(2026, 1, 12))
        add_claim(conn, "C8", "P1", [("99214", "120")], date(2026, 5, 20), date(2026, 5, 21))
        add_claim(conn, "C9", "P2", [("99212", "80")], date(2026, 6, 28), None)
        # C2's charge carried a validation warning: an edit, so C2 is not a clean claim.
        export = register_source_file(
            conn, kind="charges", name="export.csv", sha256="e" * 64, size=1, origin="export"
        ).id
        conn.execute(
            insert(charge).values(
                charge_id="C2-1",
                source_file_id=export,
                encounter_id="EC2",
                patient_mrn="MRN-SYNTH",
                payer_id="P1",
                procedure_code="99214",
                status="claimed",
                claim_key="C2",
                row_json="{}",
            )
        )
        conn.execute(
            insert(charge_rejection).values(
                charge_id="C2-1",
                source_file_id=export,
                suite="charges",
                rule="modifier_expected",
                expectation="expect_modifier",
                column_name="modifier_1",
                severity="warning",
                created_at=datetime(2026, 6, 5, tzinfo=UTC),
            )
        )

    rejected_999 = write_999(
        GroupAck("HC", 555, "005010X222A1", (TransactionAck("837", "0001", False, "005010X222A1"),)),
        envelope(4001, "FA", VERSION_999),
    )
    first_277 = _277ca(
        4002,
        (
            _ack("C1", "100", True, date(2026, 6, 1)),
            _ack("C2", "240", True, date(2026, 6, 5)),
            _ack("C3", "300", True, date(2026, 5, 10)),
            _ack("C4", "150", True, date(2026, 4, 1)),
            _ack("C5", "500", False, date(2026, 6, 15)),
            _ack("C7", "250", True, date(2026, 1, 10)),
            _ack("C8", "120", True, date(2026, 5, 20)),
        ),
    )
    second_277 = _277ca(4003, (_ack("C5", "500", True, date(2026, 6, 15)),))
    d = date(2026, 6, 1)
    files = {
        "999_555.x12": rejected_999,
        "277CA_1.x12": first_277,
        "277CA_2.x12": second_277,
        # C1 paid 64 of 100 (CO-45 20, PR-2 16); an unknown claim paid 50 goes to suspense
        "835_A.x12": write_remittances(
            3001,
            remittance(
                "TRACE-A",
                date(2026, 6, 20),
                (
                    clp(
                        "C1",
                        "1",
                        "100",
                        "64",
                        "16",
                        (svc("99213", "100", "64", d, cas("CO", "45", "20"), cas("PR", "2", "16")),),
                    ),
                    clp("UNKNOWN1", "1", "50", "50", services=(svc("99212", "50", "50", d),)),
                ),
            ),
        ),
        # C2: 99214 paid 100 of 150 (CO-45 30, PR-1 20); 99213 paid 60 of 90 (CO-45 30)
        "835_B.x12": write_remittances(
            3002,
            remittance(
                "TRACE-B",
                date(2026, 6, 25),
                (
                    clp(
                        "C2",
                        "1",
                        "240",
                        "160",
                        "20",
                        (
                            svc("99214", "150", "100", d, cas("CO", "45", "30"), cas("PR", "1", "20")),
                            svc("99213", "90", "60", d, cas("CO", "45", "30")),
                        ),
                    ),
                ),
            ),
        ),
        # C3 denied at claim level: CLP02 4, CO-50 300
        "835_C.x12": write_remittances(
            3003,
            remittance(
                "TRACE-C", date(2026, 6, 10), (clp("C3", "4", "300", "0", adjustments=(cas("CO", "50", "300"),)),)
            ),
        ),
        # C4 processed with nothing paid and nothing owed by the patient: its line CO-16 150
        "835_D.x12": write_remittances(
            3004,
            remittance(
                "TRACE-D",
                date(2026, 4, 20),
                (clp("C4", "1", "150", "0", services=(svc("99213", "150", "0", d, cas("CO", "16", "150")),)),),
            ),
        ),
        # C8 paid 90 of 120 (CO-45 30) ...
        "835_E.x12": write_remittances(
            3005,
            remittance(
                "TRACE-E",
                date(2026, 6, 5),
                (clp("C8", "1", "120", "90", services=(svc("99214", "120", "90", d, cas("CO", "45", "30")),)),),
            ),
        ),
        # ... then reversed and corrected to 120
        "835_F.x12": write_remittances(
            3006,
            remittance(
                "TRACE-F",
                date(2026, 6, 15),
                (
                    clp("C8", "22", "-120", "-90", services=(svc("99214", "-120", "-90", d, cas("CO", "45", "-30")),)),
                    clp("C8", "1", "120", "120", services=(svc("99214", "120", "120", d),)),
                ),
            ),
        ),
    }
    for name, data in files.items():
        assert ingest(engine, data, name) is not None
