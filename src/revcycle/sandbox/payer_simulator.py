"""The payer simulator of the embedded sandbox clearinghouse: answers one received 837 with response files.

Pure logic: bytes in, bytes out. Every decision is a deterministic function of the claim key and a
salt (``sha256(salt | claim key | purpose)`` → a fraction in [0, 1)), so answering the same 837 twice
with the same clock and control numbers gives byte-identical files.

What comes back for one received interchange:

- a 999 accepting every transaction set, or rejecting all of them when the reader reported problems;
- when nothing could be read as a functional group, a TA1 rejecting the interchange instead;
- a 277CA (accepted sets only) rejecting about 6 % of claims (and every claim whose billing NPI fails
  its check digit), accepting the rest with a payer claim number;
- one 835 per payer for the accepted claims (one transaction set per billing provider): about 8 %
  denied (CLP02 4), about 15 % partly paid (one line denied), the rest paid with a CO-45 contractual
  adjustment and sometimes a deductible, coinsurance or copay. Every amount balances at the service,
  claim and transaction levels. Voids (frequency 8) get a 277CA acknowledgment but no 835 line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from revcycle.codes.npi import is_valid_npi
from revcycle.domain import Address
from revcycle.x12.write277ca import (
    VERSION_277CA,
    ClaimAck,
    ClaimAcknowledgment,
    ClaimStatus,
    ProviderAck,
    write_277ca,
)
from revcycle.x12.write835 import (
    VERSION_835,
    Adjustment,
    Remittance,
    RemittanceClaim,
    ServicePayment,
    write_835,
)
from revcycle.x12.write999 import (
    VERSION_999,
    GroupAck,
    InterchangeAck,
    TransactionAck,
    write_999,
    write_ta1,
)
from revcycle.x12.writer import Envelope
from revcycle.x12.x837 import Received837, ReceivedClaim, ReceivedServiceLine, read_837

ResponseKind = Literal["999", "277CA", "835", "TA1"]

REJECT_SHARE = 0.06
DENY_SHARE = 0.08
PARTIAL_SHARE = 0.15

CLEARINGHOUSE_NAME = "REVCYCLE SANDBOX CLEARINGHOUSE"
_CENT = Decimal("0.01")
_ZERO = Decimal("0")
_PAYER_ADDRESS = Address("1 SANDBOX WAY", "SPRINGFIELD", "IL", "627010001")
_PAYER_PHONE = "8005550100"
# CLP06 takes a narrower code list than SBR09: commercial and Blue Cross plans are reported as PPO (12)
_CLP06 = frozenset(
    {
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "AM",
        "CH",
        "DS",
        "HM",
        "LM",
        "MA",
        "MB",
        "MC",
        "OF",
        "TV",
        "VA",
        "WC",
        "ZZ",
    }
)

# (category, status, entity) of a 277CA rejection
_REJECTIONS = (
    ClaimStatus("A7", "21"),  # missing or invalid information
    ClaimStatus("A7", "562", "85"),  # entity's NPI (billing provider)
    ClaimStatus("A3", "21"),  # returned as unprocessable: missing or invalid information
    ClaimStatus("A7", "33", "IL"),  # subscriber and subscriber id not found
)
_NPI_REJECTION = ClaimStatus("A7", "562", "85")
_ACCEPTED = ClaimStatus("A2", "20", "PR")
# (reason, remark) of a whole-claim denial; CO-29 is adjudicated at claim level (no SVC loops)
_DENIALS = (("50", "N115"), ("16", "M51"), ("29", None), ("197", "N54"))
# (reason, remark) of a denied line in a partly paid claim
_LINE_DENIALS = (("97", "M80"), ("16", "N290"), ("16", "M51"))


@dataclass(frozen=True)
class ResponseFile:
    """One file the sandbox puts in the submitter's inbound folder."""

    name: str
    content: bytes
    kind: ResponseKind


def fraction(seed_salt: str, claim_key: str, purpose: str) -> float:
    """A deterministic number in [0, 1) for one decision about one claim."""
    digest = hashlib.sha256(f"{seed_salt}|{claim_key}|{purpose}".encode()).hexdigest()
    return int(digest[:13], 16) / float(16**13)


def _pick(seed_salt: str, claim_key: str, purpose: str, count: int) -> int:
    return min(int(fraction(seed_salt, claim_key, purpose) * count), count - 1)


def payer_claim_number(claim: ReceivedClaim, seed_salt: str = "") -> str:
    """CLP07 / REF*1K: deterministic per claim key, frequency code and salt."""
    digest = hashlib.sha256(f"{seed_salt}|{claim.claim_key}|{claim.frequency_code}|pcn".encode()).hexdigest()
    return "SB" + str(int(digest[:15], 16) % 10**14).zfill(14)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _service_dates(claim: ReceivedClaim, fallback: date) -> tuple[date, date]:
    dates = [line.service_date for line in claim.lines if line.service_date is not None]
    if not dates:
        return fallback, fallback
    return min(dates), max(dates)


def claim_acknowledgment(claim: ReceivedClaim, seed_salt: str = "") -> tuple[bool, ClaimStatus]:
    """The 277CA verdict on one claim: (accepted, STC01 status)."""
    if not is_valid_npi(claim.billing_npi):
        return False, _NPI_REJECTION
    if fraction(seed_salt, claim.claim_key, "277ca") < REJECT_SHARE:
        return False, _REJECTIONS[_pick(seed_salt, claim.claim_key, "277ca-reason", len(_REJECTIONS))]
    return True, _ACCEPTED


def _paid_line(
    claim_key: str, line: ReceivedServiceLine, seed_salt: str, first: bool, fallback: date
) -> ServicePayment:
    """A paid line: allowed = 55–85 % of charge, CO-45 for the rest, sometimes patient responsibility."""
    rate = Decimal("0.55") + Decimal(_pick(seed_salt, claim_key, f"rate-{line.line_number}", 31)) / 100
    allowed = _cents(line.charge * rate)
    adjustments: list[Adjustment] = []
    if line.charge - allowed:
        adjustments.append(Adjustment("CO", "45", line.charge - allowed))
    kind = _pick(seed_salt, claim_key, "patient-share", 5)
    patient = _ZERO
    if kind == 1 and first:  # copay on the first line
        patient = min(allowed, Decimal((20, 25, 30, 40)[_pick(seed_salt, claim_key, "copay", 4)]))
        reason = "3"
    elif kind == 2:  # coinsurance: 20 % of allowed
        patient = _cents(allowed * Decimal("0.2"))
        reason = "2"
    elif kind == 3 and first:  # deductible on the first line
        patient = min(allowed, Decimal((50, 75, 100)[_pick(seed_salt, claim_key, "deductible", 3)]))
        reason = "1"
    if patient:
        adjustments.append(Adjustment("PR", reason, patient))
    return ServicePayment(
        procedure_code=line.procedure_code,
        charge=line.charge,
        paid=allowed - patient,
        units=line.units,
        service_date=line.service_date or fallback,
        modifiers=line.modifiers,
        adjustments=tuple(adjustments),
        allowed=allowed,
        qualifier=line.qualifier or "HC",
    )


def _denied_line(line: ReceivedServiceLine, reason: str, remark: str | None, fallback: date) -> ServicePayment:
    return ServicePayment(
        procedure_code=line.procedure_code,
        charge=line.charge,
        paid=_ZERO,
        units=line.units,
        service_date=line.service_date or fallback,
        modifiers=line.modifiers,
        adjustments=(Adjustment("CO", reason, line.charge),),
        allowed=_ZERO,
        remark_codes=(remark,) if remark else (),
        qualifier=line.qualifier or "HC",
    )


def _filing_indicator(claim: ReceivedClaim) -> str:
    # CLP06 takes fewer codes than SBR09 (no CI, BL ...): those are reported as 12 (PPO)
    return claim.filing_indicator if claim.filing_indicator in _CLP06 else "12"


def adjudicate(claim: ReceivedClaim, seed_salt: str = "", today: date | None = None) -> RemittanceClaim:
    """The 835 CLP loop for one accepted claim: paid, partly paid or denied, always balanced."""
    fallback = today or date(2000, 1, 1)
    start, end = _service_dates(claim, fallback)
    roll = fraction(seed_salt, claim.claim_key, "835")
    services: tuple[ServicePayment, ...]
    claim_adjustments: tuple[Adjustment, ...] = ()
    if roll < DENY_SHARE:
        reason, remark = _DENIALS[_pick(seed_salt, claim.claim_key, "deny-reason", len(_DENIALS))]
        if reason == "29":
            services = ()
            claim_adjustments = (Adjustment("CO", reason, claim.total_charge),)
        else:
            services = tuple(_denied_line(line, reason, remark, fallback) for line in claim.lines)
    else:
        partial = roll < DENY_SHARE + PARTIAL_SHARE and len(claim.lines) > 1
        denied_index = len(claim.lines) - 1 if partial else -1
        reason, remark = _LINE_DENIALS[_pick(seed_salt, claim.claim_key, "line-reason", len(_LINE_DENIALS))]
        services = tuple(
            _denied_line(line, reason, remark, fallback)
            if i == denied_index
            else _paid_line(claim.claim_key, line, seed_salt, i == 0, fallback)
            for i, line in enumerate(claim.lines)
        )
    line_charges = sum((s.charge for s in services), _ZERO)
    if services and line_charges != claim.total_charge:
        # CLM02 disagrees with the line sum: the difference is not covered (claim-level CO-45 keeps balance)
        claim_adjustments = (Adjustment("CO", "45", claim.total_charge - line_charges),)
    paid = sum((s.paid for s in services), _ZERO)
    patient = sum((a.amount for s in services for a in s.adjustments if a.group == "PR"), _ZERO) + sum(
        (a.amount for a in claim_adjustments if a.group == "PR"), _ZERO
    )
    patient_differs = (claim.patient_last_name, claim.patient_first_name) != (
        claim.subscriber_last_name,
        claim.subscriber_first_name,
    )
    return RemittanceClaim(
        claim_key=claim.claim_key,
        status_code="1" if paid > 0 else "4",
        charge=claim.total_charge,
        paid=paid,
        patient_responsibility=patient,
        filing_indicator=_filing_indicator(claim),
        payer_claim_number=payer_claim_number(claim, seed_salt),
        patient_last_name=claim.patient_last_name,
        patient_first_name=claim.patient_first_name or None,
        member_id=claim.member_id,
        facility_code=claim.place_of_service or "11",
        frequency_code=claim.frequency_code or "1",
        adjustments=claim_adjustments,
        services=services,
        subscriber_last_name=claim.subscriber_last_name if patient_differs else None,
        subscriber_first_name=(claim.subscriber_first_name or None) if patient_differs else None,
        statement_from=start,
        statement_to=end,
    )


def _envelope(
    received: Received837, control_number: int, usage: str, now: datetime, gs01: str, version: str
) -> Envelope:
    return Envelope(
        sender_id=received.receiver_id or "SANDBOX",
        receiver_id=received.sender_id or "SUBMITTER",
        interchange_control_number=control_number,
        group_control_number=control_number,
        usage_indicator=usage,
        created=now,
        functional_id_code=gs01,
        version=version,
    )


def _isa_date(received: bytes) -> datetime | None:
    """ISA09/ISA10 of the received interchange (the TA1 echoes them), when readable."""
    head = received[:106].decode("ascii", errors="replace")
    if len(head) < 106 or not head.startswith("ISA"):
        return None
    parts = head[:-1].split(head[3])
    try:
        return datetime.strptime(parts[9] + parts[10], "%y%m%d%H%M")
    except (IndexError, ValueError):
        return None


def _payer_tax_id(payer_id: str) -> str:
    return str(int(hashlib.sha256(f"payer|{payer_id}".encode()).hexdigest()[:12], 16) % 10**9).zfill(9)


def _safe_name(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum()) or "PAYER"


def respond(
    received_837: bytes,
    *,
    seed_salt: str = "",
    usage_indicator: str,
    now: datetime,
    control_numbers: Callable[[], int],
) -> list[ResponseFile]:
    """The response files for one received 837, in the order a clearinghouse would send them.

    ``control_numbers`` hands out a fresh interchange control number on each call (the caller keeps
    them unique). Nothing is answered when the received file carries no interchange control number.
    """
    received = read_837(received_837)
    icn = received.interchange_control_number
    if not (len(icn) == 9 and icn.isdigit()):
        return []
    if not received.group_control_number.isdigit() or not received.transaction_control_numbers:
        when = _isa_date(received_837) or now
        envelope = _envelope(received, control_numbers(), usage_indicator, now, "HC", received.version)
        ta1 = write_ta1(InterchangeAck(int(icn), when, "R", "024"), envelope)
        return [ResponseFile(f"TA1_{icn}.x12", ta1, "TA1")]

    accepted_sets = not received.problems
    group = GroupAck(
        functional_id_code="HC",
        group_control_number=int(received.group_control_number),
        version=received.version,
        transactions=tuple(
            TransactionAck("837", control, accepted_sets, received.version)
            for control in received.transaction_control_numbers
        ),
    )
    files = [
        ResponseFile(
            f"999_{icn}.x12",
            write_999(group, _envelope(received, control_numbers(), usage_indicator, now, "FA", VERSION_999)),
            "999",
        )
    ]
    if not accepted_sets or not received.claims:
        return files

    today = now.date()
    providers: dict[str, list[ClaimAck]] = {}
    provider_names: dict[str, str] = {}
    accepted: list[ReceivedClaim] = []
    for claim in received.claims:
        ok, status = claim_acknowledgment(claim, seed_salt)
        start, end = _service_dates(claim, today)
        providers.setdefault(claim.billing_npi, []).append(
            ClaimAck(
                claim_key=claim.claim_key,
                total_charge=claim.total_charge,
                accepted=ok,
                status=status,
                patient_last_name=claim.patient_last_name,
                patient_first_name=claim.patient_first_name or None,
                member_id=claim.member_id,
                service_date=start,
                service_date_end=end,
                payer_claim_number=payer_claim_number(claim, seed_salt) if ok else None,
            )
        )
        provider_names.setdefault(claim.billing_npi, claim.billing_name)
        if ok:
            accepted.append(claim)
    ack = ClaimAcknowledgment(
        source_name=CLEARINGHOUSE_NAME,
        source_id=received.receiver_id or "SANDBOX",
        source_trace=icn,
        receiver_name=received.sender_id or "SUBMITTER",
        receiver_id=received.sender_id or "SUBMITTER",
        batch_trace=icn,
        received=today,
        processed=today,
        providers=tuple(ProviderAck(npi, provider_names[npi], tuple(acks)) for npi, acks in providers.items()),
        reference=f"277CA{icn}",
    )
    files.append(
        ResponseFile(
            f"277CA_{icn}.x12",
            write_277ca(ack, _envelope(received, control_numbers(), usage_indicator, now, "HN", VERSION_277CA)),
            "277CA",
        )
    )

    by_payer: dict[str, dict[str, list[ReceivedClaim]]] = {}
    for claim in accepted:
        if claim.frequency_code == "8":
            continue
        by_payer.setdefault(claim.payer_id, {}).setdefault(claim.billing_npi, []).append(claim)
    for payer_id in sorted(by_payer):
        remittances = []
        for number, (npi, claims) in enumerate(by_payer[payer_id].items(), start=1):
            first = claims[0]
            remittances.append(
                Remittance(
                    payer_name=first.payer_name or payer_id,
                    payer_tax_id=_payer_tax_id(payer_id),
                    payer_address=_PAYER_ADDRESS,
                    payer_contact_phone=_PAYER_PHONE,
                    payee_name=first.billing_name,
                    payee_npi=npi,
                    payee_tax_id=first.billing_tax_id or "000000000",
                    trace_number=f"{icn}{number:04d}",
                    payment_date=today,
                    production_date=today,
                    claims=tuple(adjudicate(c, seed_salt, today) for c in claims),
                    payment_method="ACH",
                    receiver_id=received.sender_id or None,
                )
            )
        envelope = _envelope(received, control_numbers(), usage_indicator, now, "HP", VERSION_835)
        files.append(ResponseFile(f"835_{_safe_name(payer_id)}_{icn}.x12", write_835(remittances, envelope), "835"))
    return files
