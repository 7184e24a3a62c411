"""Write a 277CA claim acknowledgment (005010X214).

HL levels: 20 information source (the clearinghouse or payer), 21 information receiver (the submitter),
19 billing provider, PT patient with one claim status per claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    SegmentWriter,
    format_amount,
    format_date,
    format_date_range,
)

VERSION_277CA = "005010X214"


@dataclass(frozen=True)
class ClaimStatus:
    """An STC01 composite: category (A1, A2, A3, A7 …), status code, optional entity code."""

    category: str
    code: str
    entity: str | None = None

    @property
    def composite(self) -> tuple[str, ...]:
        """The components as written."""
        return (self.category, self.code) + ((self.entity,) if self.entity else ())


@dataclass(frozen=True)
class ClaimAck:
    """One claim's acknowledgment (loops 2000D/2200D)."""

    claim_key: str  # TRN02: the 837 CLM01
    total_charge: Decimal
    accepted: bool  # STC03: WQ accepted, U rejected
    status: ClaimStatus
    patient_last_name: str
    patient_first_name: str | None
    member_id: str
    service_date: date
    service_date_end: date | None = None
    payer_claim_number: str | None = None  # REF*1K, for accepted claims
    extra_statuses: tuple[ClaimStatus, ...] = ()  # STC10 / STC11


@dataclass(frozen=True)
class ProviderAck:
    """One billing provider's claims (loops 2000C/2200C)."""

    npi: str
    name: str
    claims: tuple[ClaimAck, ...]
    first_name: str | None = None  # None for an organisation


@dataclass(frozen=True)
class ClaimAcknowledgment:
    """The content of one 277CA transaction set."""

    source_name: str  # NM1*AY: the clearinghouse
    source_id: str
    source_trace: str  # TRN*1 in 2200A
    receiver_name: str  # NM1*41: the submitter of the 837
    receiver_id: str
    batch_trace: str  # TRN*2 in 2200B: identifies the received 837 batch
    received: date  # DTP*050
    processed: date  # DTP*009
    providers: tuple[ProviderAck, ...]
    reference: str  # BHT03


_RECEIVED = ClaimStatus("A1", "19", "PR")  # acknowledgment/receipt: entity acknowledges receipt of claim
_PROVIDER_ACCEPTED = ClaimStatus("A1", "20")  # accepted for processing


def _totals(claims: tuple[ClaimAck, ...]) -> tuple[int, int, Decimal, Decimal]:
    accepted = [c for c in claims if c.accepted]
    rejected = [c for c in claims if not c.accepted]
    zero = Decimal("0")
    return (
        len(accepted),
        len(rejected),
        sum((c.total_charge for c in accepted), zero),
        sum((c.total_charge for c in rejected), zero),
    )


def _quantities(w: SegmentWriter, claims: tuple[ClaimAck, ...], qty_codes: tuple[str, str]) -> None:
    n_ok, n_bad, amt_ok, amt_bad = _totals(claims)
    if n_ok:
        w.segment("QTY", qty_codes[0], str(n_ok))
    if n_bad:
        w.segment("QTY", qty_codes[1], str(n_bad))
    if n_ok:
        w.segment("AMT", "YU", format_amount(amt_ok))
    if n_bad:
        w.segment("AMT", "YY", format_amount(amt_bad))


def write_277ca(
    ack: ClaimAcknowledgment,
    envelope: Envelope,
    transaction_control_number: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """A 277CA interchange acknowledging every claim in ``ack``."""
    if envelope.functional_id_code != "HN" or envelope.version != VERSION_277CA:
        raise ValueError(f"a 277CA envelope needs GS01 HN and GS08 {VERSION_277CA}")
    if not ack.providers or any(not p.claims for p in ack.providers):
        raise ValueError("a 277CA needs at least one provider, each with at least one claim")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    w.open_transaction("277", transaction_control_number, VERSION_277CA)
    processed = format_date(ack.processed)
    w.segment(
        "BHT",
        "0085",
        "08",
        ack.reference,
        format_date(envelope.created.date()),
        envelope.created.strftime("%H%M"),
        "TH",
    )
    hl = 1
    w.segment("HL", str(hl), None, "20", "1")
    w.segment("NM1", "AY", "2", ack.source_name, None, None, None, None, "46", ack.source_id)
    w.segment("TRN", "1", ack.source_trace)
    w.segment("DTP", "050", "D8", format_date(ack.received))
    w.segment("DTP", "009", "D8", processed)
    hl += 1
    receiver_hl = hl
    all_claims = tuple(c for p in ack.providers for c in p.claims)
    w.segment("HL", str(hl), "1", "21", "1")
    w.segment("NM1", "41", "2", ack.receiver_name, None, None, None, None, "46", ack.receiver_id)
    w.segment("TRN", "2", ack.batch_trace)
    total = sum((c.total_charge for c in all_claims), Decimal("0"))
    w.segment("STC", _RECEIVED.composite, processed, "WQ", format_amount(total))
    _quantities(w, all_claims, ("90", "AA"))
    for provider in ack.providers:
        hl += 1
        provider_hl = hl
        w.segment("HL", str(hl), str(receiver_hl), "19", "1")
        if provider.first_name is None:
            w.segment("NM1", "85", "2", provider.name, None, None, None, None, "XX", provider.npi)
        else:
            w.segment("NM1", "85", "1", provider.name, provider.first_name, None, None, None, "XX", provider.npi)
        w.segment("TRN", "1", provider.npi)
        provider_total = sum((c.total_charge for c in provider.claims), Decimal("0"))
        # STC02 is not used at the provider level (2200C)
        w.segment("STC", _PROVIDER_ACCEPTED.composite, None, "WQ", format_amount(provider_total))
        _quantities(w, provider.claims, ("QA", "QC"))
        for claim in provider.claims:
            hl += 1
            w.segment("HL", str(hl), str(provider_hl), "PT")
            w.segment(
                "NM1",
                "QC",
                "1",
                claim.patient_last_name,
                claim.patient_first_name,
                None,
                None,
                None,
                "MI",
                claim.member_id,
            )
            w.segment("TRN", "2", claim.claim_key)
            extra = [s.composite for s in claim.extra_statuses[:2]]
            w.segment(
                "STC",
                claim.status.composite,
                processed,
                "WQ" if claim.accepted else "U",
                format_amount(claim.total_charge),
                None,
                None,
                None,
                None,
                None,
                *extra,
            )
            if claim.accepted and claim.payer_claim_number:
                w.segment("REF", "1K", claim.payer_claim_number)
            qualifier, value = format_date_range(claim.service_date, claim.service_date_end)
            w.segment("DTP", "472", qualifier, value)
    w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()
