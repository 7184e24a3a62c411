"""Act on ``bill_next_payer`` before each staging: build the secondary (or tertiary) claim from the standing 835.

When a payer's 835 leaves a balance (patient responsibility or denied amounts) and the encounter has a coverage
after that payer (the export's ``secondary_*`` and ``tertiary_*`` columns), the rules
(``revcycle.next_action.decide``) say ``bill_next_payer`` unless the payer crossed the claim over itself
(CLP02 19-21, RARC MA18/N89/MA07, an NM1*TT crossover carrier; MA19 says the crossover failed). The claim to
the next payer is then built with ``revcycle.x12.cob.secondary_claim`` from the claim as adjudicated and its
835: SBR01 S (or T), the adjudicating payer's 2320 CAS and AMT*D, its 2330B, each line's 2430 SVD, CAS and
DTP*573. It is its own claim (CLM01 = encounter x next payer x billing NPI, ``claims.claim_key_for``), an
original (frequency 1) whose ``prior_claim_key`` names the claim it follows; staging sends it and records its
versions like any other claim, and the next payer's 835 closes it (docs/claim-rules.md, "Secondary coverage").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import Connection, insert, select

from revcycle.claims import claim_key_for
from revcycle.domain import Claim, ClaimStatus
from revcycle.money import to_cents
from revcycle.next_action import Action, decide
from revcycle.payers import PayerProfile
from revcycle.rebuild import payer_policy, rebuilt_claims
from revcycle.warehouse.claim_snapshots import read_with_rebuilds
from revcycle.warehouse.cob_chain import billed_after, cob_claims, next_payers, standing_payment
from revcycle.warehouse.schema import claim, claim_action, claim_event

ADJUDICATED = (ClaimStatus.PAID.value, ClaimStatus.PARTIALLY_PAID.value, ClaimStatus.DENIED.value)


def _adjudicated_as(conn: Connection, key: str, payers: Mapping[str, PayerProfile]) -> Claim | None:
    """The claim ``key`` as its payer adjudicated it: a primary from its charges, a secondary from its chain."""
    if key in (cob := cob_claims(conn, [key], payers)):
        return cob[key]
    found = rebuilt_claims(conn, [key], payers)
    return found[0] if found else None


def _insert_cob_claim(conn: Connection, built: Claim, prior_key: str, batch_date: date, now: datetime) -> None:
    """The next payer's claim row and its ``built`` event; its lines stay the primary's ``claim_line`` rows."""
    conn.execute(
        insert(claim).values(
            claim_key=built.claim_key,
            encounter_id=built.encounter_id,
            payer_id=built.payer_id,
            claim_type=built.claim_type.value,
            billing_npi=built.billing_provider.npi,
            frequency_code=built.frequency_code,
            total_charge_cents=to_cents(built.total_charge),
            line_count=len(built.lines),
            first_service_date=min(line.service_date for line in built.lines),
            built_at=now,
            status=ClaimStatus.BUILT.value,
            status_at=now,
            prior_claim_key=prior_key,
        )
    )
    conn.execute(
        insert(claim_event).values(
            claim_key=built.claim_key,
            status=ClaimStatus.BUILT.value,
            occurred_at=now,
            detail=f"batch {batch_date}: bill_next_payer after claim {prior_key} (SBR01 {built.payer_responsibility})",
        )
    )


def bill_next_payers(
    conn: Connection, payers: Mapping[str, PayerProfile], batch_date: date, now: datetime
) -> list[str]:
    """Build, ready for staging, the claim to the next payer of every claim the rules bill on; returns their keys.

    The candidates are the claims whose recorded next action (``claim_action``, decided after the night's loads)
    is ``bill_next_payer``; each is decided again on ``batch_date`` before its next payer's claim is built.
    """
    # the claims the night's next-action step found to bill on (claim_action), still adjudicated: decided again
    # below on a fresh snapshot, so a reversal or a change since then sends nothing
    marked = select(claim_action.c.claim_key).where(claim_action.c.action == Action.BILL_NEXT_PAYER.value)
    adjudicated = list(
        conn.execute(
            select(claim.c.claim_key).where(claim.c.status.in_(ADJUDICATED), claim.c.claim_key.in_(marked))
        ).scalars()
    )
    pending = {key: payer for key, (payer, billed) in next_payers(conn, adjudicated).items() if not billed}
    if not pending:
        return []
    existing = set(conn.execute(select(claim.c.claim_key)).scalars())
    snapshots, _rebuilt = read_with_rebuilds(conn, payers, sorted(pending))
    built_keys = []
    for payer_id, snapshot in snapshots:
        key = snapshot.claim_key
        if payer_id not in payers or pending.get(key) not in payers:
            continue  # no payer file: the rule stays bill_next_payer on the worklist, nothing is built
        if decide(snapshot, payer_policy(payers[payer_id]), batch_date).action is not Action.BILL_NEXT_PAYER:
            continue
        current = _adjudicated_as(conn, key, payers)
        adjudication = standing_payment(conn, key)
        if current is None or adjudication is None:
            continue
        next_key = claim_key_for(current.encounter_id, pending[key], current.billing_provider.npi)
        if next_key in existing:
            continue
        try:
            built = billed_after(current, next_key, adjudication[0], adjudication[1], payers)
        except ValueError:
            continue  # a reversal or incomplete amounts: the rules decide again after the next 835
        _insert_cob_claim(conn, built, key, batch_date, now)
        existing.add(next_key)
        built_keys.append(next_key)
    return built_keys
