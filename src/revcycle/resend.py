"""Act on the next-action rules before each staging: resend corrected rejections, send replacements and voids.

Before each staging, the claims whose content may have changed (rejected at the front end, or with charges
revised or added late since their latest version, ``charge_revision``) are rebuilt from their current
charges and payer file (``revcycle.warehouse.claim_snapshots.read_with_rebuilds``) and the rules
(``revcycle.next_action.decide``) are asked what to do (docs/claim-rules.md):

- ``resend_original``: rejected at the front end and the rebuild differs from every rejected version: sent
  again as frequency 1 under the same CLM01.
- ``send_replacement``: adjudicated, and the charges changed since (a corrected line, a late charge), for a
  payer that takes replacements: sent as frequency 7 with REF*F8 = the adjudication's payer claim number.
- ``send_void``: adjudicated and paid, and the EHR cancelled the visit, for a payer that takes voids: sent as
  frequency 8 with REF*F8 = the adjudication's payer claim number, repeating the lines of the version it
  voids (``revcycle.cancellation.void_rows``; late charges stay off it).

Either way the ``claim`` row takes the rebuilt content (lines, total, frequency) and goes back to ``built``
with a ``built`` event naming the version it will be; staging then puts it in that night's interchange and
records the new version (``revcycle.claim_versions``). Late charges become lines of the claim and their hold
is released. Any other decision sends nothing: the night's next-action step records it (for example
``correct_rejection`` for an identical rebuild, ``await_adjudication`` for a claim still in process,
``request_reopening`` for a payer that takes no replacements, ``withdrawn`` for a cancelled claim the payer
never adjudicated or paid nothing on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import Connection, delete, insert, update

from revcycle.cancellation import void_claims
from revcycle.domain import Claim, ClaimStatus
from revcycle.holds import release_holds
from revcycle.intake import claim_line_rows
from revcycle.money import to_cents
from revcycle.next_action import Action, Decision, decide
from revcycle.payers import PayerProfile
from revcycle.rebuild import payer_policy
from revcycle.warehouse.claim_snapshots import changed_claims, read_with_rebuilds
from revcycle.warehouse.schema import charge, claim, claim_event, claim_line

SENDS = (Action.RESEND_ORIGINAL, Action.SEND_REPLACEMENT, Action.SEND_VOID)


def send_corrections(
    conn: Connection, payers: Mapping[str, PayerProfile], batch_date: date, now: datetime
) -> list[str]:
    """Put back to ``built`` every claim the rules resend, replace or void today; returns their keys."""
    candidates = changed_claims(conn)
    if not candidates:
        return []
    snapshots, rebuilt = read_with_rebuilds(conn, payers, candidates)
    voids = void_claims(conn, [s.claim_key for _, s in snapshots if s.cancelled], payers)
    taken = []
    for payer_id, snapshot in snapshots:
        if not snapshot.versions or payer_id not in payers:
            continue
        decision = decide(snapshot, payer_policy(payers[payer_id]), batch_date)
        built = (voids if decision.action is Action.SEND_VOID else rebuilt).get(snapshot.claim_key)
        if built is not None and decision.action in SENDS:
            _take_rebuilt(conn, built, snapshot.versions[-1].number + 1, decision, batch_date, now)
            taken.append(snapshot.claim_key)
    release_holds(conn, taken, now)
    return taken


def _take_rebuilt(
    conn: Connection, built: Claim, version: int, decision: Decision, batch_date: date, now: datetime
) -> None:
    """The claim row takes the rebuilt content and is built again, ready for staging as version ``version``."""
    key = built.claim_key
    frequency = decision.frequency_code or "1"
    sent = replace(built, frequency_code=frequency, original_claim_number=decision.payer_claim_number)
    conn.execute(delete(claim_line).where(claim_line.c.claim_key == key))
    conn.execute(insert(claim_line), claim_line_rows([sent]))
    if decision.action is not Action.SEND_VOID:  # a void repeats what was billed: late charges stay off it
        conn.execute(
            update(charge).where(charge.c.claim_key == key, charge.c.status == "late").values(status="claimed")
        )
    values: dict[str, object] = {
        "frequency_code": frequency,
        "total_charge_cents": to_cents(sent.total_charge),
        "line_count": len(sent.lines),
        "first_service_date": min(line.service_date for line in sent.lines),
        "interchange_id": None,
        "status": ClaimStatus.BUILT.value,
        "status_at": now,
    }
    if decision.payer_claim_number:
        values["payer_claim_number"] = decision.payer_claim_number
    conn.execute(update(claim).where(claim.c.claim_key == key).values(**values))
    conn.execute(
        insert(claim_event).values(
            claim_key=key,
            status=ClaimStatus.BUILT.value,
            occurred_at=now,
            detail=f"batch {batch_date}: {decision.action.value}, version {version} (frequency {frequency})",
        )
    )
