"""Secondary and tertiary claims in the warehouse: their chain to the primary, the next payer, the standing 835.

A claim billed to a secondary or tertiary payer is its own ``claim`` row (its own CLM01: encounter x payer x
billing NPI) whose ``prior_claim_key`` names the claim whose 835 it was built from. Its charges stay lines of
the primary claim (a charge is a line of one claim row), so it is rebuilt from the primary's charges, then
addressed to each next payer in turn with ``revcycle.x12.cob.secondary_claim`` and that payer's standing 835,
read back from the posting tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import Connection, func, select

from revcycle.charge_export import OTHER_COVERAGES
from revcycle.coverage import coverage_payers
from revcycle.domain import Claim
from revcycle.money import from_cents
from revcycle.payers import PayerProfile
from revcycle.rebuild import LINE_STATUSES, rebuilt_claims
from revcycle.warehouse.kpi.common import posted_on, standing
from revcycle.warehouse.schema import (
    adjustment,
    charge,
    claim,
    remittance,
    remittance_claim,
    remittance_service,
    source_file,
)
from revcycle.warehouse.sqlfunc import json_fields
from revcycle.x12.cob import Coverage, secondary_claim
from revcycle.x12.x835 import Adjustment, ClaimPayment, ServicePayment

_CHUNK = 500
# the fields of a charge row that name its payers, in billing order (revcycle.coverage.coverage_payers)
_COVERAGE_FIELDS = ("payer_id", *(f"{rank}_payer_id" for rank in OTHER_COVERAGES))


def _chunks(keys: Sequence[str]) -> list[Sequence[str]]:
    return [keys[start : start + _CHUNK] for start in range(0, len(keys), _CHUNK)]


def chains(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each claim of ``keys`` with the claims it was built from: (primary key, ..., its own key)."""
    prior: dict[str, str | None] = {}
    wanted = sorted(set(keys))
    while wanted:
        found = []
        for chunk in _chunks(wanted):
            for r in conn.execute(
                select(claim.c.claim_key, claim.c.prior_claim_key).where(claim.c.claim_key.in_(chunk))
            ):
                prior[str(r.claim_key)] = r.prior_claim_key
                if r.prior_claim_key is not None and r.prior_claim_key not in prior:
                    found.append(str(r.prior_claim_key))
        wanted = sorted(set(found))
    out: dict[str, tuple[str, ...]] = {}
    for key in keys:
        if key not in prior:
            continue
        chain = [key]
        while (before := prior.get(chain[-1])) is not None and before not in chain:
            chain.append(before)
        out[key] = tuple(reversed(chain))
    return out


def _coverage_payers(conn: Connection, roots: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per primary claim, the payers billed in turn (its first charge row's coverages)."""
    found: dict[str, tuple[str, ...]] = {}
    for chunk in _chunks(sorted(set(roots))):
        # only each claim's first charge (lowest id) is read, and of it only the payer fields: parsing the whole
        # row in Python was half of this read (about 1 KB of JSON a claim)
        first = (
            select(func.min(charge.c.charge_id).label("charge_id"))
            .where(charge.c.claim_key.in_(chunk), charge.c.status.in_(LINE_STATUSES))
            .group_by(charge.c.claim_key)
        )
        rows, fields = json_fields(conn.dialect.name, charge, charge.c.row_json, _COVERAGE_FIELDS)
        query = select(charge.c.claim_key, *fields).select_from(rows).where(charge.c.charge_id.in_(first))
        for claim_key, *values in conn.execute(query):
            found[str(claim_key)] = coverage_payers(dict(zip(_COVERAGE_FIELDS, values, strict=True)))
    return found


def next_payers(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """Per claim of ``keys`` that has a coverage after its payer: (that next payer's id, already billed?)."""
    linked = chains(conn, keys)
    payers_of = _coverage_payers(conn, [chain[0] for chain in linked.values()])
    billed: set[str] = set()
    for chunk in _chunks(sorted(linked)):
        billed.update(
            str(k)
            for k in conn.execute(select(claim.c.prior_claim_key).where(claim.c.prior_claim_key.in_(chunk))).scalars()
        )
    out: dict[str, tuple[str, bool]] = {}
    for key, chain in linked.items():
        coverage = payers_of.get(chain[0], ())
        if len(chain) < len(coverage):
            out[key] = (coverage[len(chain)], key in billed)
    return out


def standing_payment(conn: Connection, claim_key: str) -> tuple[ClaimPayment, date] | None:
    """The claim's standing 835 adjudication as an 835 claim payment, with its payment date; None without one."""
    head = conn.execute(
        select(
            remittance_claim.c.id,
            remittance_claim.c.status_code,
            remittance_claim.c.charge_cents,
            remittance_claim.c.paid_cents,
            remittance_claim.c.patient_responsibility_cents,
            remittance_claim.c.payer_claim_number,
            posted_on().label("posted_on"),
        )
        .select_from(
            remittance_claim.join(remittance, remittance.c.id == remittance_claim.c.remittance_id).join(
                source_file, source_file.c.id == remittance.c.source_file_id
            )
        )
        .where(standing(remittance_claim), remittance_claim.c.claim_key == claim_key)
        .order_by(remittance_claim.c.id.desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    services: dict[int, ServicePayment] = {}
    for r in conn.execute(
        select(remittance_service)
        .where(remittance_service.c.remittance_claim_id == head.id)
        .order_by(remittance_service.c.sequence)
    ):
        services[int(r.id)] = ServicePayment(
            segment=int(r.sequence),
            qualifier=str(r.qualifier),
            code=str(r.procedure_code),
            modifiers=tuple(m for m in str(r.modifiers).split(":") if m),
            charge=from_cents(int(r.charge_cents)),
            paid=from_cents(int(r.paid_cents)),
            units=Decimal(r.units) if r.units else None,
        )
    payment = ClaimPayment(
        segment=0,
        patient_control_number=claim_key,
        status=str(head.status_code),
        charge=from_cents(int(head.charge_cents)),
        paid=from_cents(int(head.paid_cents)),
        patient_responsibility=from_cents(int(head.patient_responsibility_cents)),
        filing_indicator="",
        payer_claim_number=head.payer_claim_number or "",
        services=list(services.values()),
    )
    for r in conn.execute(
        select(adjustment).where(adjustment.c.remittance_claim_id == head.id).order_by(adjustment.c.sequence)
    ):
        item = Adjustment(
            str(r.group_code),
            str(r.reason_code),
            from_cents(int(r.amount_cents)),
            Decimal(r.quantity) if r.quantity else None,
        )
        owner = services.get(int(r.remittance_service_id)) if r.remittance_service_id is not None else None
        (owner.adjustments if owner is not None else payment.adjustments).append(item)
    paid_on = head.posted_on
    return payment, paid_on if isinstance(paid_on, date) else date.fromisoformat(str(paid_on)[:10])


def next_coverage(built: Claim, payers: Mapping[str, PayerProfile]) -> Coverage | None:
    """The coverage ``built`` goes to next: its first other payer that has not adjudicated it."""
    other = next((o for o in built.other_payers if o.paid is None), None)
    if other is None:
        return None
    profile = payers.get(other.payer_id)
    return Coverage(
        payer_id=other.payer_id,
        payer_name=profile.name if profile is not None else other.payer_name,
        filing_indicator=other.filing_indicator,
        member_id=other.member_id,
        subscriber=other.subscriber,
        relationship=other.relationship,
        group_number=other.group_number,
        responsibility=other.responsibility,
    )


def billed_after(
    built: Claim, key: str, payment: ClaimPayment, paid_on: date, payers: Mapping[str, PayerProfile]
) -> Claim:
    """``built`` (adjudicated by ``payment``) addressed to its next coverage as the original claim ``key``.

    Raises ValueError (claim keys only) when it names no next coverage or the 835 cannot carry COB amounts.
    """
    coverage = next_coverage(built, payers)
    if coverage is None:
        raise ValueError(f"claim {built.claim_key}: no coverage is left to bill after its payer")
    cob = secondary_claim(built, payment, coverage, paid_on)
    return dataclasses.replace(cob, claim_key=key, frequency_code="1", original_claim_number=None)


def cob_claims(conn: Connection, keys: Sequence[str], payers: Mapping[str, PayerProfile]) -> dict[str, Claim]:
    """Each secondary or tertiary claim of ``keys`` rebuilt: its primary from the charges, then each payer's 835.

    A claim whose chain no longer rebuilds (charges changed so the primary is held, an 835 reversed) is absent.
    """
    linked = {key: chain for key, chain in chains(conn, keys).items() if len(chain) > 1}
    roots = {c.claim_key: c for c in rebuilt_claims(conn, [chain[0] for chain in linked.values()], payers)}
    payments: dict[str, tuple[ClaimPayment, date] | None] = {}
    out: dict[str, Claim] = {}
    for key, chain in sorted(linked.items()):
        current = roots.get(chain[0])
        for before, after in pairwise(chain):
            if current is None:
                break
            if before not in payments:
                payments[before] = standing_payment(conn, before)
            adjudicated = payments[before]
            if adjudicated is None:
                current = None
                break
            try:
                current = billed_after(current, after, adjudicated[0], adjudicated[1], payers)
            except ValueError:
                current = None
        if current is not None:
            out[key] = current
    return out
