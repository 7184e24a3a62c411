"""What the 837P and 837I writers share: the HL tree from the data, parties, COB loops, drugs, quarantine.

Claims are grouped billing provider → subscriber → patient so the HL tree follows the data; a transaction
set holds at most ``max_claims_per_transaction`` claims and a subscriber or patient HL at most 100 claims
(the 2300 loop's repeat limit). HL numbers and SE counts are counted as the segments are written.

Values and delimiters (X12 has no escape character), decided per field:

* Free text (names, addresses, cities, contact names) is rewritten by ``writer.clean_value``: accents
  transliterated (``É`` → ``E``), delimiters replaced by a space, characters outside the X12 extended set
  dropped.
* Identifiers and codes (claim key, member ids, payer ids, NPIs, tax ids, group numbers, prior
  authorisations, original claim numbers, procedure/revenue/diagnosis/modifier codes, NDCs) are never
  rewritten: a claim where one holds a delimiter, a non-ASCII or a control character is quarantined with
  a reason naming the field (never the value), and the interchange is written without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from revcycle.domain import Address, Claim, ClaimLine, OtherPayer, Person, Provider
from revcycle.x12.writer import (
    Delimiters,
    Envelope,
    SegmentWriter,
    format_amount,
    format_date,
    format_decimal,
)

MAX_CLAIMS_PER_HL = 100
MAX_CLAIMS_PER_TRANSACTION = 5000
MAX_LINES_PER_CLAIM = 50


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


@dataclass(frozen=True)
class QuarantinedClaim:
    """A claim left out of an interchange, and why (field names only: no values, no PHI)."""

    claim_key: str
    reasons: tuple[str, ...]


def _identifiers(claim: Claim) -> Iterator[tuple[str, str | None]]:
    """Every identifier or code of a claim, as (field name, value)."""
    yield "claim key (CLM01)", claim.claim_key
    yield "member id", claim.member_id
    yield "payer id", claim.payer_id
    yield "filing indicator", claim.filing_indicator
    yield "group number", claim.group_number
    yield "prior authorization", claim.prior_authorization
    yield "original claim number (REF*F8)", claim.original_claim_number
    yield "type of bill", claim.type_of_bill
    for role, provider in (
        ("billing provider", claim.billing_provider),
        ("rendering provider", claim.rendering_provider),
        ("referring provider", claim.referring_provider),
        ("attending provider", claim.attending_provider),
        ("service facility", claim.service_facility),
    ):
        if provider is not None:
            yield f"{role} NPI", provider.npi
            yield f"{role} tax id", provider.tax_id
            yield f"{role} taxonomy", provider.taxonomy_code
    for n, code in enumerate(claim.diagnoses, start=1):
        yield f"diagnosis {n}", code
    yield "admitting diagnosis", claim.admitting_diagnosis
    for line in claim.lines:
        yield f"line {line.line_number} procedure code", line.procedure_code
        yield f"line {line.line_number} revenue code", line.revenue_code
        yield f"line {line.line_number} NDC", line.ndc
        for modifier in line.modifiers:
            yield f"line {line.line_number} modifier", modifier
    for n, other in enumerate(claim.other_payers, start=1):
        yield f"other payer {n} id", other.payer_id
        yield f"other payer {n} member id", other.member_id
        yield f"other payer {n} group number", other.group_number
        for adj in other.lines:
            yield f"other payer {n} line {adj.line_number} procedure code", adj.procedure_code


def quarantine_reasons(claim: Claim, delimiters: Delimiters) -> list[str]:
    """Why ``claim`` cannot be written unchanged with ``delimiters`` (empty list: it can)."""
    delims = delimiters.all
    fields = [(name, value) for name, value in _identifiers(claim) if value]
    # Most claims are clean: one test over all their identifiers at once, field by field only when it fails.
    joined = "".join(value for _, value in fields)
    if joined.isascii() and joined.isprintable() and delims.isdisjoint(joined):
        return []
    reasons: list[str] = []
    for field_name, value in fields:
        if not value:
            continue
        if any(ch in delims for ch in value):
            reasons.append(f"{field_name} contains an X12 delimiter")
        elif not value.isascii() or not value.isprintable():
            reasons.append(f"{field_name} contains a non-ASCII or control character")
    return reasons


def split_quarantined(claims: Sequence[Claim], delimiters: Delimiters) -> tuple[list[Claim], list[QuarantinedClaim]]:
    """The claims that can be written, and those quarantined with their reasons."""
    good: list[Claim] = []
    held: list[QuarantinedClaim] = []
    for claim in claims:
        reasons = quarantine_reasons(claim, delimiters)
        if reasons:
            held.append(QuarantinedClaim(claim.claim_key, tuple(reasons)))
        else:
            good.append(claim)
    return good, held


def split_refused(
    claims: Sequence[Claim], delimiters: Delimiters, check: Callable[[Claim], None]
) -> tuple[list[Claim], list[QuarantinedClaim]]:
    """The claims the writer takes, and those it would refuse, each reason naming the claim key and the field.

    Refused: an identifier holding a delimiter, a non-ASCII or a control character (``split_quarantined``), or
    a claim failing the writer's own ``check`` (which raises ValueError naming the claim, never a value).
    """
    kept, quarantined = split_quarantined(claims, delimiters)
    refused = [
        QuarantinedClaim(q.claim_key, tuple(f"claim {q.claim_key}: {r}" for r in q.reasons)) for q in quarantined
    ]
    writable: list[Claim] = []
    for claim in kept:
        try:
            check(claim)
        except ValueError as problem:
            refused.append(QuarantinedClaim(claim.claim_key, (str(problem),)))
        else:
            writable.append(claim)
    return writable, refused


# ---------------------------------------------------------------------------------------------------------
# grouping


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
        claim.payer_responsibility,
        claim.patient_is_subscriber,
    )


def _provider_key(claim: Claim) -> tuple[Provider, Address | None]:
    return claim.billing_provider, claim.pay_to_address


def _group(
    claims: Sequence[Claim],
) -> dict[tuple[Provider, Address | None], dict[tuple[Any, ...], _SubscriberGroup]]:
    tree: dict[tuple[Provider, Address | None], dict[tuple[Any, ...], _SubscriberGroup]] = {}
    for claim in claims:
        subscribers = tree.setdefault(_provider_key(claim), {})
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


def ordered(claims: Sequence[Claim]) -> list[Claim]:
    """Claims in HL-tree order, so a transaction split never cuts a group more than needed."""
    out: list[Claim] = []
    for subscribers in _group(claims).values():
        for group in subscribers.values():
            out.extend(group.self_claims)
            for patient in group.dependents.values():
                out.extend(patient.claims)
    return out


# ---------------------------------------------------------------------------------------------------------
# segments


class ClaimBuilder:
    """Writes the HL tree, parties and COB loops; subclasses write the claim (2300) and lines (2400)."""

    institutional = False

    def __init__(self, w: SegmentWriter) -> None:
        self.w = w
        self.hl = 0

    # -- to override ------------------------------------------------------------------------------
    def claim(self, claim: Claim) -> None:
        """Write loop 2300 and everything below it."""
        raise NotImplementedError

    # -- parties ----------------------------------------------------------------------------------
    def next_hl(self) -> str:
        """The next HL id (HL01)."""
        self.hl += 1
        return str(self.hl)

    def name(self, entity: str, provider: Provider, qualifier: str | None = "XX") -> None:
        """An NM1 for a provider (person or organisation) identified by its NPI."""
        ident = provider.npi if qualifier else None
        if provider.is_person:
            self.w.segment(
                "NM1", entity, "1", provider.last_or_org_name, provider.first_name, None, None, None, qualifier, ident
            )
        else:
            self.w.segment("NM1", entity, "2", provider.last_or_org_name, None, None, None, None, qualifier, ident)

    def address(self, address: Address) -> None:
        """N3 and N4."""
        self.w.segment("N3", address.line1, address.line2)
        self.w.segment("N4", address.city, address.state, address.zip_code)

    def person(self, entity: str, person: Person, id_qualifier: str | None, ident: str | None) -> None:
        """NM1, N3, N4 and DMG of a subscriber or patient."""
        self.w.segment(
            "NM1", entity, "1", person.last_name, person.first_name, person.middle_name, None, None, id_qualifier, ident
        )
        self.address(person.address)
        self.w.segment("DMG", "D8", format_date(person.birth_date), person.sex)

    def billing(self, provider: Provider, pay_to: Address | None) -> str:
        """2000A/2010AA (and 2010AB when payments go to another address); returns the HL id."""
        hl = self.next_hl()
        self.w.segment("HL", hl, None, "20", "1")
        if provider.taxonomy_code:
            self.w.segment("PRV", "BI", "PXC", provider.taxonomy_code)
        if self.institutional:
            self.w.segment("NM1", "85", "2", provider.last_or_org_name, None, None, None, None, "XX", provider.npi)
        else:
            self.name("85", provider)
        assert provider.address is not None
        self.address(provider.address)
        self.w.segment("REF", "EI", provider.tax_id)
        if pay_to is not None and pay_to != provider.address:
            self.w.segment("NM1", "87", "2")
            self.address(pay_to)
        return hl

    def subscriber(self, parent: str, group: _SubscriberGroup, claims: list[Claim], has_children: bool) -> str:
        """2000B with 2010BA/2010BB and the subscriber's own claims; returns the HL id."""
        c = group.claim
        hl = self.next_hl()
        self.w.segment("HL", hl, parent, "22", "1" if has_children else "0")
        self.w.segment(
            "SBR",
            c.payer_responsibility,
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
        """2000C/2010CA and the patient's claims."""
        hl = self.next_hl()
        self.w.segment("HL", hl, parent, "23", "0")
        self.w.segment("PAT", group.relationship)
        self.person("QC", group.patient, None, None)
        for claim in claims:
            self.claim(claim)

    # -- claim pieces -----------------------------------------------------------------------------
    def diagnoses(self, claim: Claim) -> None:
        """HI: principal (ABK), admitting (ABJ, 837I) and others (ABF), at most 12 codes per HI segment."""
        codes = [dx.replace(".", "") for dx in claim.diagnoses]
        if self.institutional:
            self.w.segment("HI", ("ABK", codes[0]))
            if claim.admitting_diagnosis:  # 2300 admitting diagnosis: after the principal, before the others
                self.w.segment("HI", ("ABJ", claim.admitting_diagnosis.replace(".", "")))
            others = codes[1:]
            for start in range(0, len(others), 12):
                self.w.segment("HI", *[("ABF", code) for code in others[start : start + 12]])
        else:
            self.w.segment("HI", *[("ABK" if i == 0 else "ABF", code) for i, code in enumerate(codes)])

    def facility(self, entity_loop_provider: Provider | None) -> None:
        """Service facility location (837P 2310C, 837I 2310E): NM1*77, N3, N4."""
        facility = entity_loop_provider
        if facility is None or facility.address is None:
            return
        if facility.npi:
            self.w.segment("NM1", "77", "2", facility.last_or_org_name, None, None, None, None, "XX", facility.npi)
        else:
            self.w.segment("NM1", "77", "2", facility.last_or_org_name)
        self.address(facility.address)

    def other_payers(self, claim: Claim) -> None:
        """2320/2330A/2330B for every payer that adjudicated the claim before this one."""
        for other in claim.other_payers:
            self._other_payer(other)

    def _other_payer(self, other: OtherPayer) -> None:
        w = self.w
        w.segment(
            "SBR",
            other.responsibility,
            other.relationship,
            other.group_number,
            None,
            None,
            None,
            None,
            None,
            other.filing_indicator,
        )
        cas(w, [(a.group, a.reason, a.amount, a.quantity) for a in other.adjustments])
        if other.paid is not None:
            w.segment("AMT", "D", format_amount(other.paid))
        if self.institutional:
            w.segment("OI", None, None, "Y", None, None, "Y")
        else:
            w.segment("OI", None, None, "Y", "P", None, "Y")
        s = other.subscriber
        w.segment("NM1", "IL", "1", s.last_name, s.first_name, s.middle_name, None, None, "MI", other.member_id)
        self.address(s.address)
        w.segment("NM1", "PR", "2", other.payer_name, None, None, None, None, "PI", other.payer_id)
        if not other.lines and other.adjudication_date is not None:
            w.segment("DTP", "573", "D8", format_date(other.adjudication_date))

    def drug(self, line: ClaimLine) -> None:
        """2410: LIN*N4 with the 11-digit NDC and CTP with its quantity and unit."""
        if not line.ndc:
            return
        self.w.segment("LIN", None, "N4", line.ndc.replace("-", ""))
        quantity = line.ndc_quantity if line.ndc_quantity is not None else line.units
        self.w.segment("CTP", None, None, None, format_decimal(quantity), (line.ndc_unit,))

    def line_adjudications(self, claim: Claim, line: ClaimLine, qualifier: str = "HC") -> None:
        """2430 for each other payer's adjudication of ``line``: SVD, CAS, DTP*573."""
        for other in claim.other_payers:
            for adj in other.lines:
                if adj.line_number != line.line_number:
                    continue
                self.w.segment(
                    "SVD",
                    other.payer_id,
                    format_amount(adj.paid),
                    (qualifier, adj.procedure_code, *adj.modifiers[:4]),
                    line.revenue_code if self.institutional else None,
                    format_decimal(adj.units),
                )
                cas(self.w, [(a.group, a.reason, a.amount, a.quantity) for a in adj.adjustments])
                when = adj.adjudication_date or other.adjudication_date
                if when is not None:
                    self.w.segment("DTP", "573", "D8", format_date(when))


def cas(w: SegmentWriter, adjustments: Sequence[tuple[str, str, Any, Any]]) -> None:
    """CAS segments: one per group code, at most six reason/amount/quantity triples each."""
    groups: dict[str, list[tuple[str, str, Any, Any]]] = {}
    for adj in adjustments:
        groups.setdefault(adj[0], []).append(adj)
    for group, items in groups.items():
        for start in range(0, len(items), 6):
            elements: list[str | None] = [group]
            for _, reason, amount, quantity in items[start : start + 6]:
                elements += [reason, format_amount(amount), format_decimal(quantity) if quantity is not None else None]
            w.segment("CAS", *elements)


def write_837(
    claims: Sequence[Claim],
    envelope: Envelope,
    submitter: Submitter,
    receiver_name: str,
    *,
    version: str,
    builder: Callable[[SegmentWriter], ClaimBuilder],
    check: Callable[[Claim], None],
    transaction_control_start: int,
    max_claims_per_transaction: int,
    delimiters: Delimiters,
    newline: bool,
) -> bytes:
    """One 837 interchange (one GS, one or more ST) holding ``claims``; see write_837p / write_837i."""
    if not claims:
        raise ValueError("no claims to write")
    if not 1 <= max_claims_per_transaction <= MAX_CLAIMS_PER_TRANSACTION:
        raise ValueError(f"max_claims_per_transaction must be within 1..{MAX_CLAIMS_PER_TRANSACTION}")
    if envelope.functional_id_code != "HC" or envelope.version != version:
        raise ValueError(f"this 837 envelope needs GS01 HC and GS08 {version}")
    keys = [c.claim_key for c in claims]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate claim keys in one interchange")
    for claim in claims:
        reasons = quarantine_reasons(claim, delimiters)
        if reasons:
            raise ValueError(
                f"claim {claim.claim_key!r} must be quarantined ({'; '.join(reasons)}): use split_quarantined first"
            )
        check(claim)
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    in_order = ordered(claims)
    for offset, start in enumerate(range(0, len(in_order), max_claims_per_transaction)):
        control = transaction_control_start + offset
        w.open_transaction("837", control, version)
        _header(w, envelope, control, submitter, receiver_name)
        b = builder(w)
        for (provider, pay_to), subscribers in _group(in_order[start : start + max_claims_per_transaction]).items():
            provider_hl = b.billing(provider, pay_to)
            for group in subscribers.values():
                for chunk in _chunks(group.self_claims, MAX_CLAIMS_PER_HL):
                    b.subscriber(provider_hl, group, chunk, has_children=False)
                if group.dependents:
                    subscriber_hl = b.subscriber(provider_hl, group, [], has_children=True)
                    for patient in group.dependents.values():
                        for chunk in _chunks(patient.claims, MAX_CLAIMS_PER_HL):
                            b.patient(subscriber_hl, patient, chunk)
        w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()


def _header(w: SegmentWriter, envelope: Envelope, control: int, submitter: Submitter, receiver_name: str) -> None:
    w.segment(
        "BHT",
        "0019",
        "00",
        f"{envelope.isa13}{control:04d}",
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


def check_common(claim: Claim, max_diagnoses: int) -> None:
    """The checks both 837s make; raises ValueError naming the claim key (never PHI)."""
    if not 1 <= len(claim.claim_key) <= 20:
        raise ValueError(f"claim {claim.claim_key!r}: CLM01 must be 1 to 20 characters")
    if not claim.lines or len(claim.lines) > MAX_LINES_PER_CLAIM:
        raise ValueError(f"claim {claim.claim_key}: needs 1 to {MAX_LINES_PER_CLAIM} service lines")
    if not claim.diagnoses or len(claim.diagnoses) > max_diagnoses:
        raise ValueError(f"claim {claim.claim_key}: needs 1 to {max_diagnoses} diagnoses")
    billing = claim.billing_provider
    if billing.address is None or len(billing.address.zip_code) != 9:
        raise ValueError(f"claim {claim.claim_key}: billing provider needs an address with a ZIP+4")
    if not billing.tax_id:
        raise ValueError(f"claim {claim.claim_key}: billing provider needs a tax id")
    if claim.frequency_code in ("7", "8") and not claim.original_claim_number:
        raise ValueError(f"claim {claim.claim_key}: frequency {claim.frequency_code} needs REF*F8")
    if claim.payer_responsibility not in ("P", "S", "T"):
        raise ValueError(f"claim {claim.claim_key}: payer responsibility must be P, S or T")
    if claim.payer_responsibility != "P" and not claim.other_payers:
        raise ValueError(f"claim {claim.claim_key}: a secondary or tertiary claim needs its other payers")
    numbers = {line.line_number for line in claim.lines}
    for other in claim.other_payers:
        if any(adj.line_number not in numbers for adj in other.lines):
            raise ValueError(f"claim {claim.claim_key}: a line adjudication names no line of the claim")
    for line in claim.lines:
        if len(line.modifiers) > 4:
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: more than four modifiers")
        if line.ndc is not None and len(line.ndc.replace("-", "")) != 11:
            raise ValueError(f"claim {claim.claim_key} line {line.line_number}: an NDC has 11 digits")
