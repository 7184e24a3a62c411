"""Write professional claims as an 837P interchange (005010X222A1).

Claims are grouped billing provider → subscriber → patient so the HL tree follows the data; a
transaction set holds at most ``max_claims_per_transaction`` claims and a subscriber or patient HL at
most 100 claims (the 2300 loop's repeat limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revcycle.domain import Address, Claim, ClaimLine, ClaimType, Person, Provider
from revcycle.x12.writer import (
    DEFAULT_DELIMITERS,
    Delimiters,
    Envelope,
    SegmentWriter,
    format_amount,
    format_date,
    format_date_range,
    format_decimal,
)

VERSION_837P = "005010X222A1"
MAX_CLAIMS_PER_HL = 100
MAX_LINES_PER_CLAIM = 50
MAX_DIAGNOSES = 12


@dataclass(frozen=True)
class Submitter:
    """Loop 1000A: who sends the interchange, and whom the receiver calls about it."""

    name: str
    id: str
    contact_name: str
    phone: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if not self.phone and not self.email:
            raise ValueError("a submitter needs a phone number or an e-mail address")


@dataclass
class _PatientGroup:
    relationship: str
    patient: Person
    claims: list[Claim]


@dataclass
class _SubscriberGroup:
    claim: Claim  # the first claim: carries subscriber, payer and SBR values
    self_claims: list[Claim]
    dependents: dict[tuple[Any, ...], _PatientGroup]


def _subscriber_key(claim: Claim) -> tuple[Any, ...]:
    return (
        claim.member_id,
        claim.payer_id,
        claim.payer_name,
        claim.subscriber,
        claim.group_number,
        claim.filing_indicator,
        claim.patient_is_subscriber,
    )


def _group(claims: Sequence[Claim]) -> dict[Provider, dict[tuple[Any, ...], _SubscriberGroup]]:
    tree: dict[Provider, dict[tuple[Any, ...], _SubscriberGroup]] = {}
    for claim in claims:
        subscribers = tree.setdefault(claim.billing_provider, {})
        group = subscribers.setdefault(_subscriber_key(claim), _SubscriberGroup(claim, [], {}))
        if claim.patient_is_subscriber:
            group.self_claims.append(claim)
        else:
            patient = group.dependents.setdefault(
                (claim.relationship, claim.patient), _PatientGroup(claim.relationship, claim.patient, [])
            )
            patient.claims.append(claim)
    return tree


def _chunks(items: list[Claim], size: int) -> list[list[Claim]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _check_claim(claim: Claim) -> None:
    if claim.claim_type is not ClaimType.PROFESSIONAL:
        raise ValueError(f"claim {claim.claim_key}: not a professional claim")
    if not 1 <= len(claim.claim_key) <= 20:
        raise ValueError(f"claim {claim.claim_key!r}: CLM01 must be 1 to 20 characters")
    if not claim.lines or len(claim.lines) > MAX_LINES_PER_CLAIM:
        raise ValueError(f"claim {claim.claim_key}: needs 1 to {MAX_LINES_PER_CLAIM} service lines")
    if not claim.diagnoses or len(claim.diagnoses) > MAX_DIAGNOSES:
        raise ValueError(f"claim {claim.claim_key}: needs 1 to {MAX_DIAGNOSES} diagnoses")
    billing = claim.billing_provider
    if billing.address is None or len(billing.address.zip_code) != 9:
        raise ValueError(f"claim {claim.claim_key}: billing provider needs an address with a ZIP+4")
    if not billing.tax_id:
        raise ValueError(f"claim {claim.claim_key}: billing provider needs a tax id")
    if claim.frequency_code in ("7", "8") and not claim.original_claim_number:
        raise ValueError(f"claim {claim.claim_key}: frequency {claim.frequency_code} needs REF*F8")
    for line in claim.lines:
        if any(not 1 <= p <= len(claim.diagnoses) for p in line.diagnosis_pointers[:4]):
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: bad diagnosis pointer")
        if not line.diagnosis_pointers:
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: no diagnosis pointer")


class _Builder:
    def __init__(self, w: SegmentWriter) -> None:
        self.w = w
        self.hl = 0

    def next_hl(self) -> str:
        self.hl += 1
        return str(self.hl)

    def name(self, entity: str, provider: Provider, qualifier: str = "XX") -> None:
        if provider.is_person:
            self.w.segment(
                "NM1",
                entity,
                "1",
                provider.last_or_org_name,
                provider.first_name,
                None,
                None,
                None,
                qualifier,
                provider.npi,
            )
        else:
            self.w.segment(
                "NM1", entity, "2", provider.last_or_org_name, None, None, None, None, qualifier, provider.npi
            )

    def address(self, address: Address) -> None:
        self.w.segment("N3", address.line1, address.line2)
        self.w.segment("N4", address.city, address.state, address.zip_code)

    def person(self, entity: str, person: Person, id_qualifier: str | None, ident: str | None) -> None:
        self.w.segment(
            "NM1",
            entity,
            "1",
            person.last_name,
            person.first_name,
            person.middle_name,
            None,
            None,
            id_qualifier,
            ident,
        )
        self.address(person.address)
        self.w.segment("DMG", "D8", format_date(person.birth_date), person.sex)

    def billing(self, provider: Provider) -> str:
        hl = self.next_hl()
        self.w.segment("HL", hl, None, "20", "1")
        if provider.taxonomy_code:
            self.w.segment("PRV", "BI", "PXC", provider.taxonomy_code)
        self.name("85", provider)
        assert provider.address is not None
        self.address(provider.address)
        self.w.segment("REF", "EI", provider.tax_id)
        return hl

    def subscriber(self, parent: str, group: _SubscriberGroup, claims: list[Claim], has_children: bool) -> str:
        c = group.claim
        hl = self.next_hl()
        self.w.segment("HL", hl, parent, "22", "1" if has_children else "0")
        self.w.segment(
            "SBR",
            "P",
            "18" if c.patient_is_subscriber else None,
            c.group_number,
            None,
            None,
            None,
            None,
            None,
            c.filing_indicator,
        )
        self.person("IL", c.subscriber, "MI", c.member_id)
        self.w.segment("NM1", "PR", "2", c.payer_name, None, None, None, None, "PI", c.payer_id)
        for claim in claims:
            self.claim(claim)
        return hl

    def patient(self, parent: str, group: _PatientGroup, claims: list[Claim]) -> None:
        hl = self.next_hl()
        self.w.segment("HL", hl, parent, "23", "0")
        self.w.segment("PAT", group.relationship)
        self.person("QC", group.patient, None, None)
        for claim in claims:
            self.claim(claim)

    def claim(self, claim: Claim) -> None:
        w = self.w
        w.segment(
            "CLM",
            claim.claim_key,
            format_amount(claim.total_charge),
            None,
            None,
            (claim.place_of_service, "B", claim.frequency_code),
            "Y",
            "A",
            "Y",
            "Y",
        )
        if claim.prior_authorization:
            w.segment("REF", "G1", claim.prior_authorization)
        if claim.frequency_code in ("7", "8") and claim.original_claim_number:
            w.segment("REF", "F8", claim.original_claim_number)
        codes = [(("ABK" if i == 0 else "ABF"), dx.replace(".", "")) for i, dx in enumerate(claim.diagnoses)]
        w.segment("HI", *codes)
        if claim.referring_provider is not None:
            self.name("DN", claim.referring_provider)
        rendering = claim.rendering_provider
        if rendering is not None and rendering.npi != claim.billing_provider.npi:
            self.name("82", rendering)
            if rendering.taxonomy_code:
                w.segment("PRV", "PE", "PXC", rendering.taxonomy_code)
        for number, line in enumerate(claim.lines, start=1):
            self.line(claim, number, line)

    def line(self, claim: Claim, number: int, line: ClaimLine) -> None:
        pos = line.place_of_service if line.place_of_service not in (None, claim.place_of_service) else None
        self.w.segment("LX", str(number))
        self.w.segment(
            "SV1",
            ("HC", line.procedure_code, *line.modifiers[:4]),
            format_amount(line.charge),
            "UN",
            format_decimal(line.units),
            pos,
            None,
            tuple(str(p) for p in line.diagnosis_pointers[:4]),
        )
        qualifier, value = format_date_range(line.service_date, line.service_date_end)
        self.w.segment("DTP", "472", qualifier, value)


def _write_transaction(
    w: SegmentWriter,
    claims: list[Claim],
    control_number: int,
    envelope: Envelope,
    submitter: Submitter,
    receiver_name: str,
) -> None:
    w.open_transaction("837", control_number, VERSION_837P)
    w.segment(
        "BHT",
        "0019",
        "00",
        f"{envelope.isa13}{control_number:04d}",
        format_date(envelope.created.date()),
        envelope.created.strftime("%H%M"),
        "CH",
    )
    w.segment("NM1", "41", "2", submitter.name, None, None, None, None, "46", submitter.id)
    contact: list[str | None] = ["IC", submitter.contact_name]
    if submitter.phone:
        contact += ["TE", submitter.phone]
    if submitter.email:
        contact += ["EM", submitter.email]
    w.segment("PER", *contact)
    w.segment("NM1", "40", "2", receiver_name, None, None, None, None, "46", envelope.receiver_id)
    b = _Builder(w)
    for provider, subscribers in _group(claims).items():
        provider_hl = b.billing(provider)
        for group in subscribers.values():
            for chunk in _chunks(group.self_claims, MAX_CLAIMS_PER_HL):
                b.subscriber(provider_hl, group, chunk, has_children=False)
            if group.dependents:
                subscriber_hl = b.subscriber(provider_hl, group, [], has_children=True)
                for patient in group.dependents.values():
                    for chunk in _chunks(patient.claims, MAX_CLAIMS_PER_HL):
                        b.patient(subscriber_hl, patient, chunk)
    w.close_transaction()


def _ordered(claims: Sequence[Claim]) -> list[Claim]:
    """Claims in HL-tree order, so a transaction split never cuts a group more than needed."""
    ordered: list[Claim] = []
    for subscribers in _group(claims).values():
        for group in subscribers.values():
            ordered.extend(group.self_claims)
            for patient in group.dependents.values():
                ordered.extend(patient.claims)
    return ordered


def write_837p(
    claims: Sequence[Claim],
    envelope: Envelope,
    submitter: Submitter,
    receiver_name: str,
    transaction_control_start: int = 1,
    max_claims_per_transaction: int = 5000,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """One 837P interchange (one GS, one or more ST) holding ``claims``, all for the same receiver."""
    if not claims:
        raise ValueError("no claims to write")
    if max_claims_per_transaction < 1:
        raise ValueError("max_claims_per_transaction must be at least 1")
    if envelope.functional_id_code != "HC" or envelope.version != VERSION_837P:
        raise ValueError(f"an 837P envelope needs GS01 HC and GS08 {VERSION_837P}")
    keys = [c.claim_key for c in claims]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate claim keys in one interchange")
    for claim in claims:
        _check_claim(claim)
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    ordered = _ordered(claims)
    for offset, start in enumerate(range(0, len(ordered), max_claims_per_transaction)):
        _write_transaction(
            w,
            ordered[start : start + max_claims_per_transaction],
            transaction_control_start + offset,
            envelope,
            submitter,
            receiver_name,
        )
    w.close_group()
    w.close_interchange()
    return w.getvalue()
