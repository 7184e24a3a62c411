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
from revcycle.warehouse.schema import claim, claim_event, claim_line
from revcycle.x12.write835 import (
    Adjustment,
    ProviderAdjustment,
    Remittance,
    RemittanceClaim,
    ServicePayment,
    write_835,
)
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


def remittance(
    trace: str,
    paid_on: date,
    claims: tuple[RemittanceClaim, ...],
    provider_adjustments: tuple[ProviderAdjustment, ...] = (),
) -> Remittance:
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
        provider_adjustments=provider_adjustments,
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


def svc(
    code: str,
    charge: str,
    paid: str,
    on: date,
    *adjustments: Adjustment,
    units: str = "1",
    remarks: tuple[str, ...] = (),
) -> ServicePayment:
    """An SVC loop (``remarks``: its LQ*HE remark codes)."""
    return ServicePayment(
        procedure_code=code,
        charge=Decimal(charge),
        paid=Decimal(paid),
        units=Decimal(units),
        service_date=on,
        adjustments=adjustments,
        remark_codes=remarks,
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
    submitted: date | datetime | None,
    *,
    submissions: int = 1,
    interchange_id: int | None = None,
) -> None:
    """A built claim (lines: procedure code, charge) and its submission events, as intake and upload record them.

    ``submitted`` is an instant, or a date: the upload then happened at 02:00 UTC that day (21:00 the day
    before in Chicago).
    """
    built_at = datetime(service_date.year, service_date.month, service_date.day, 18, 0, tzinfo=UTC)
    if submitted is None or isinstance(submitted, datetime):
        submitted_at = submitted
    else:
        submitted_at = datetime(submitted.year, submitted.month, submitted.day, 2, 0, tzinfo=UTC)
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
            status="submitted" if submitted_at else "built",
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
