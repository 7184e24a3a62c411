"""Writing the answers that fall due: TA1, 999, 277CA and one 835 per payer and release (a payment run).

An 835 carries, per payee (one transaction set each), every CLP loop due from that payer, in the order the
payer decided them, and its provider adjustments (PLB): L6 interest paid on late claims (negative), WO
overpayments recovered (positive), and FB forward balances. BPR02 is never negative: when the claims and
adjustments of a transaction net below zero, the shortfall is deferred with a negative FB (referencing
this remittance's trace number) and recovered with positive FB amounts from the next 835s to that payee.
So every transaction balances: BPR02 = sum of CLP04 - sum of PLB amounts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Literal

from revcycle.domain import Address
from revcycle.sandbox.rolls import ZERO
from revcycle.sandbox.state import (
    LedgerRow,
    PayerState,
    Pending277,
    Pending999,
    PendingClaimStatus,
    PendingEligibility,
    PendingPayment,
    PendingTA1,
    Sender,
)
from revcycle.x12.write271 import VERSION_271, write_271
from revcycle.x12.write277 import VERSION_277, write_277
from revcycle.x12.write277ca import VERSION_277CA, write_277ca
from revcycle.x12.write835 import VERSION_835, ProviderAdjustment, Remittance, write_835
from revcycle.x12.write999 import VERSION_999, InterchangeAck, write_999, write_ta1
from revcycle.x12.writer import Envelope

ResponseKind = Literal["999", "277CA", "835", "TA1", "271", "277"]

PAYER_ADDRESS = Address("1 SANDBOX WAY", "SPRINGFIELD", "IL", "627010001")
PAYER_PHONE = "8005550100"
MAX_PLB_ADJUSTMENTS = 6  # pyx12 4.0.0 takes one PLB segment per transaction set: six adjustments


@dataclass(frozen=True)
class ResponseFile:
    """One file the sandbox puts in the submitter's inbound folder."""

    name: str
    content: bytes
    kind: ResponseKind


def payer_tax_id(payer_id: str) -> str:
    """A 9-digit tax id for a sandbox payer (TRN03 and BPR10 carry it)."""
    return str(int(hashlib.sha256(f"payer|{payer_id}".encode()).hexdigest()[:12], 16) % 10**9).zfill(9)


def safe_name(value: str) -> str:
    """``value`` reduced to letters and digits, for file names."""
    return "".join(ch for ch in value if ch.isalnum()) or "PAYER"


def envelope(sender: Sender, control_number: int, usage: str, created: datetime, gs01: str, version: str) -> Envelope:
    """The envelope of an answer to ``sender``: from the clearinghouse id it sent to, back to the submitter."""
    return Envelope(
        sender_id=sender.clearinghouse_id or "SANDBOX",
        receiver_id=sender.submitter_id or "SUBMITTER",
        interchange_control_number=control_number,
        group_control_number=control_number,
        usage_indicator=usage,
        created=created,
        functional_id_code=gs01,
        version=version,
    )


def render_ta1(item: PendingTA1, control_number: int, usage: str, created: datetime) -> ResponseFile:
    """A TA1 rejecting a received interchange (note 024: no readable group, 025: duplicate ISA13)."""
    env = envelope(item.sender, control_number, usage, created, "HC", item.sender.version or "005010X222A1")
    ack = InterchangeAck(int(item.interchange_control_number), item.interchange_date, "R", item.note_code)
    name = item.name.replace("{control}", f"{control_number:09d}")
    return ResponseFile(name, write_ta1(ack, env), "TA1")


def render_999(item: Pending999, control_number: int, usage: str, created: datetime) -> ResponseFile:
    """The 999 of one received interchange."""
    env = envelope(item.sender, control_number, usage, created, "FA", VERSION_999)
    return ResponseFile(f"999_{item.interchange_control_number}.x12", write_999(item.group, env), "999")


def render_277ca(item: Pending277, control_number: int, usage: str, created: datetime) -> ResponseFile:
    """The 277CA of one received interchange."""
    env = envelope(item.sender, control_number, usage, created, "HN", VERSION_277CA)
    return ResponseFile(f"277CA_{item.interchange_control_number}.x12", write_277ca(item.acknowledgment, env), "277CA")


def render_271(item: PendingEligibility, control_number: int, usage: str, created: datetime) -> ResponseFile:
    """The 271 answering one received 270."""
    env = envelope(item.sender, control_number, usage, created, "HB", VERSION_271)
    return ResponseFile(f"271_{item.interchange_control_number}.x12", write_271(item.reply, env), "271")


def render_277(item: PendingClaimStatus, control_number: int, usage: str, created: datetime) -> ResponseFile:
    """The 277 answering one received 276."""
    env = envelope(item.sender, control_number, usage, created, "HN", VERSION_277)
    return ResponseFile(f"277_{item.interchange_control_number}.x12", write_277(item.reply, env), "277")


def _compact(adjustments: list[ProviderAdjustment]) -> list[ProviderAdjustment]:
    """At most five PLB adjustments (one place kept for FB): past that, same-reason ones merge under the first's
    reference."""
    if len(adjustments) < MAX_PLB_ADJUSTMENTS:
        return adjustments
    merged: dict[str, ProviderAdjustment] = {}
    for adj in adjustments:
        first = merged.get(adj.reason)
        merged[adj.reason] = (
            adj if first is None else ProviderAdjustment(adj.reason, first.amount + adj.amount, first.reference)
        )
    return list(merged.values())


def _provider_adjustments(
    items: Sequence[PendingPayment], trace: str, owed: list[tuple[str, Decimal]]
) -> list[ProviderAdjustment]:
    """L6 and WO of the items, then FB: defer a negative net, or recover what earlier 835s deferred."""
    adjustments = [ProviderAdjustment("L6", -i.interest, i.reference) for i in items if i.interest]
    adjustments += [ProviderAdjustment("WO", i.recoupment, i.reference) for i in items if i.recoupment]
    adjustments = _compact(adjustments)
    net = sum((c.paid for i in items for c in i.claims), ZERO) - sum((a.amount for a in adjustments), ZERO)
    forward: list[ProviderAdjustment] = []
    if net < 0:
        forward.append(ProviderAdjustment("FB", net, trace))
        owed.append((trace, -net))
    else:
        while owed and net > 0 and len(adjustments) + len(forward) < MAX_PLB_ADJUSTMENTS:
            reference, amount = owed[0]
            taken = min(amount, net)
            forward.append(ProviderAdjustment("FB", taken, reference))
            net -= taken
            if taken == amount:
                owed.pop(0)
            else:
                owed[0] = (reference, amount - taken)
    return adjustments + forward


def render_835(
    items: Sequence[PendingPayment],
    state: PayerState,
    control_number: int,
    usage: str,
    created: datetime,
    payment_date: date,
) -> tuple[ResponseFile, list[LedgerRow]]:
    """One 835 interchange: the items of one payer to one submitter, one transaction set per payee."""
    first = items[0]
    payees: dict[str, list[PendingPayment]] = {}
    for item in items:
        payees.setdefault(item.payee_npi, []).append(item)
    remittances = []
    name = f"835_{safe_name(first.payer_id)}_{payment_date:%Y%m%d}_{control_number:09d}.x12"
    rows: list[LedgerRow] = []
    for number, (npi, group) in enumerate(payees.items(), start=1):
        trace = f"{control_number:09d}{number:04d}"
        owed = state.forward_balances.setdefault(f"{first.payer_id}|{npi}", [])
        adjustments = _provider_adjustments(group, trace, owed)
        if not owed:
            del state.forward_balances[f"{first.payer_id}|{npi}"]
        remittances.append(
            Remittance(
                payer_name=first.payer_name or first.payer_id,
                payer_tax_id=payer_tax_id(first.payer_id),
                payer_address=PAYER_ADDRESS,
                payer_contact_phone=PAYER_PHONE,
                payee_name=group[0].payee_name,
                payee_npi=npi,
                payee_tax_id=group[0].payee_tax_id or "000000000",
                trace_number=trace,
                payment_date=payment_date,
                production_date=payment_date,
                claims=tuple(c for item in group for c in item.claims),
                payment_method="ACH",
                receiver_id=first.sender.submitter_id or None,
                provider_adjustments=tuple(adjustments),
            )
        )
        rows += [
            LedgerRow(
                claim_key=entry.claim_key,
                frequency_code=entry.frequency_code,
                payer_id=first.payer_id,
                payer_kind=item.payer_kind,
                payer_claim_number=entry.payer_claim_number,
                status_code=entry.status_code,
                paid=entry.paid,
                received_date=entry.received_date,
                payment_date=payment_date,
                lag_days=(payment_date - entry.received_date).days,
                event=entry.event,
                file_name=name,
            )
            for item in group
            for entry in item.ledger
        ]
    env = envelope(first.sender, control_number, usage, created, "HP", VERSION_835)
    return ResponseFile(name, write_835(remittances, env), "835"), rows


def render_due(
    due: Sequence[PendingTA1 | Pending999 | Pending277 | PendingPayment | PendingEligibility | PendingClaimStatus],
    state: PayerState,
    usage: str,
    timezone: tzinfo,
    control_numbers: Callable[[], int],
) -> list[ResponseFile]:
    """Every file for ``due`` (answers released at one instant), in the order a clearinghouse sends them."""
    if not due:
        return []
    created = due[0].release_at.astimezone(timezone)
    files: list[ResponseFile] = []
    for item in sorted((i for i in due if isinstance(i, PendingTA1)), key=lambda i: i.seq):
        files.append(render_ta1(item, control_numbers(), usage, created))
    for ack in sorted((i for i in due if isinstance(i, Pending999)), key=lambda i: i.seq):
        files.append(render_999(ack, control_numbers(), usage, created))
    for ca in sorted((i for i in due if isinstance(i, Pending277)), key=lambda i: i.seq):
        files.append(render_277ca(ca, control_numbers(), usage, created))
    for eligibility in sorted((i for i in due if isinstance(i, PendingEligibility)), key=lambda i: i.seq):
        files.append(render_271(eligibility, control_numbers(), usage, created))
    for status in sorted((i for i in due if isinstance(i, PendingClaimStatus)), key=lambda i: i.seq):
        files.append(render_277(status, control_numbers(), usage, created))
    runs: dict[tuple[str, Sender], list[PendingPayment]] = {}
    for pay in sorted((i for i in due if isinstance(i, PendingPayment)), key=lambda i: i.seq):
        runs.setdefault((pay.payer_id, pay.sender), []).append(pay)
    for key in sorted(runs, key=lambda k: (k[0], k[1].submitter_id, k[1].clearinghouse_id)):
        remit, rows = render_835(runs[key], state, control_numbers(), usage, created, created.date())
        files.append(remit)
        state.ledger.extend(rows)
    return files
