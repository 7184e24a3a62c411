"""The units the KPIs count: a claim's first submission, held encounters, and accounts.

``first_submissions`` is the ONE place that says what a claim's first submission is (DESIGN.md §5: first-pass
and clean-claim figures count first versions only). It is the claim's first ``submitted`` event in
``claim_event`` (and its interchange), bounded by the second one. That is version 1 (``claim_version``, number
1) and its answers: a version is recorded per claim per interchange staged, and the upload of an interchange
records one ``submitted`` event per claim in it, once (``claim_versions.record_submission``), so the n-th
``submitted`` event of a claim is its version n; a resend, a replacement's answers and its 835 come after the
second event and are not counted. ``charge_cents`` is the claim's current total (the schema keeps no total
per version): after a replacement that changed it, it is the replacement's.
``held_units`` is the one place that says which encounters validation held (today: charges held or rejected
that never became a claim; a ``claim_hold`` table would replace it the same way).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, exists, func, literal, null, or_, select
from sqlalchemy.sql import Subquery

from revcycle.domain import ClaimStatus
from revcycle.warehouse.kpi.common import flag
from revcycle.warehouse.schema import charge, charge_rejection, claim, claim_event, source_file
from revcycle.warehouse.sqlfunc import local_date

# First-pass outcomes of a claim's first submission.
ACCEPTED = "accepted"  # accepted by the 277CA, no front-end rejection
REJECTED = "rejected"  # rejected by a TA1, the 999 or the 277CA
PENDING = "pending"  # sent, no answer yet
UNSENT = "unsent"  # built, not uploaded yet
HELD = "held"  # held by validation: never became a claim


def first_submissions() -> Subquery:
    """Per claim: its first submission (event id, instant, practice date, interchange) and when the next began.

    Columns: ``claim_key``, ``event_id``, ``next_event_id`` (the second submission's event, or NULL: the
    first submission's answers are the events between the two), ``submitted_at``, ``submitted_on`` (practice
    timezone), ``interchange_id``, ``charge_cents`` (the claim's current total charge).
    """
    ranked = (
        select(
            claim_event.c.claim_key,
            claim_event.c.id,
            claim_event.c.occurred_at,
            claim_event.c.interchange_id,
            func.row_number().over(partition_by=claim_event.c.claim_key, order_by=claim_event.c.id).label("number"),
        )
        .where(claim_event.c.status == ClaimStatus.SUBMITTED.value)
        .subquery("submission")
    )
    first = (
        select(
            ranked.c.claim_key,
            func.max(case((ranked.c.number == 1, ranked.c.id))).label("event_id"),
            func.max(case((ranked.c.number == 2, ranked.c.id))).label("next_event_id"),
            func.max(case((ranked.c.number == 1, ranked.c.occurred_at))).label("submitted_at"),
            func.max(case((ranked.c.number == 1, ranked.c.interchange_id))).label("interchange_id"),
        )
        .where(ranked.c.number <= 2)
        .group_by(ranked.c.claim_key)
        .subquery("first_submission_events")
    )
    return (
        select(
            first.c.claim_key,
            first.c.event_id,
            first.c.next_event_id,
            first.c.submitted_at,
            local_date(first.c.submitted_at).label("submitted_on"),
            first.c.interchange_id,
            # The current version's total: the schema keeps no total per version (see the module docstring).
            claim.c.total_charge_cents.label("charge_cents"),
        )
        .select_from(first.join(claim, claim.c.claim_key == first.c.claim_key))
        .subquery("first_submission")
    )


def first_pass_outcomes() -> Subquery:
    """Per submitted claim: its first submission and whether the 999/TA1/277CA accepted or rejected it.

    An answer to the first submission is an ``accepted`` or ``rejected`` event after it and before the second
    one; a rejection among them wins. The answers are joined and grouped once per claim, so the outcome is a
    column computed once: as correlated ``EXISTS`` lookups it was evaluated again at every use of the outcome in
    a query (PostgreSQL planned the first-pass query with 14 lookups per claim: docs/scale.md, "The report's
    first-pass queries").
    """
    first = first_submissions()
    answer = claim_event.alias("first_answer")
    answers_first = and_(
        answer.c.claim_key == first.c.claim_key,
        answer.c.status.in_([ClaimStatus.REJECTED.value, ClaimStatus.ACCEPTED.value]),
        answer.c.id > first.c.event_id,
        or_(first.c.next_event_id.is_(None), answer.c.id < first.c.next_event_id),
    )
    rejected = func.max(flag(answer.c.status == ClaimStatus.REJECTED.value))
    accepted = func.max(flag(answer.c.status == ClaimStatus.ACCEPTED.value))
    outcome = case((rejected == 1, literal(REJECTED)), (accepted == 1, literal(ACCEPTED)), else_=literal(PENDING))
    return (
        select(first, outcome.label("outcome"))
        .select_from(first.outerjoin(answer, answers_first))
        .group_by(*first.c)
        .subquery("first_pass")
    )


def edited_claims() -> Any:
    """Claim keys with a finding of the charges suite (error or warning) on one of their charges: a touch."""
    return (
        select(charge.c.claim_key)
        .join(charge_rejection, charge_rejection.c.charge_id == charge.c.charge_id)
        .where(charge.c.claim_key.is_not(None))
    )


def held_units() -> Subquery:
    """Encounters held by validation, per payer, that never became a claim: (encounter, payer, held since, cents).

    Charges rejected by the charges suite hold their whole encounter; a claim check holds the claim's charges.
    Held charges of an encounter that has a claim for that payer (late charges of a claim already built) are
    part of that claim, not a unit of their own.
    """
    has_claim = exists(
        select(claim.c.claim_key).where(
            claim.c.encounter_id == charge.c.encounter_id, claim.c.payer_id == charge.c.payer_id
        )
    )
    return (
        select(
            charge.c.encounter_id,
            charge.c.payer_id,
            func.min(local_date(source_file.c.received_at)).label("held_on"),
            func.count().label("charges"),
            func.coalesce(func.sum(charge.c.charge_cents), 0).label("charge_cents"),
        )
        .select_from(charge.join(source_file, source_file.c.id == charge.c.source_file_id))
        .where(charge.c.status.in_(("held", "rejected")), charge.c.claim_key.is_(None), ~has_claim)
        .group_by(charge.c.encounter_id, charge.c.payer_id)
        .subquery("held_unit")
    )


def claim_units() -> Subquery:
    """Every claim that entered the edits, one row each: built claims (first version) and held encounters.

    Columns: ``claim_key`` (NULL for a held encounter), ``payer_id``, ``entered_on`` (the first build, or the
    day the held charges' export was received), ``submitted_on``, ``held``, ``edited``, ``outcome``
    (accepted, rejected, pending, unsent, held), ``clean`` (not held, no edit, accepted on first submission)
    and ``decided`` (held, edited, or answered: the claims the clean-claim rate counts).
    """
    fp = first_pass_outcomes()
    edited = flag(claim.c.claim_key.in_(edited_claims()))
    outcome = func.coalesce(fp.c.outcome, literal(UNSENT))
    built = select(
        claim.c.claim_key.label("claim_key"),
        claim.c.payer_id.label("payer_id"),
        local_date(claim.c.built_at).label("entered_on"),
        fp.c.submitted_on.label("submitted_on"),
        literal(0).label("held"),
        edited.label("edited"),
        outcome.label("outcome"),
    ).select_from(claim.outerjoin(fp, fp.c.claim_key == claim.c.claim_key))
    held = held_units()
    on_hold = select(
        null().label("claim_key"),
        held.c.payer_id,
        held.c.held_on,
        null(),
        literal(1),
        literal(0),
        literal(HELD),
    )
    units = built.union_all(on_hold).subquery("unit")
    return select(
        units,
        flag(and_(units.c.held == 0, units.c.edited == 0, units.c.outcome == ACCEPTED)).label("clean"),
        flag(or_(units.c.held == 1, units.c.edited == 1, units.c.outcome.in_((ACCEPTED, REJECTED)))).label("decided"),
    ).subquery("claim_unit")


def claim_accounts() -> Subquery:
    """Every claim with its account (encounter x billing provider) and whether it is the account's primary.

    The primary claim is the account's first claim built. A later claim of the same account to another payer
    (a secondary, or a claim sent to the right payer after the wrong one) bills the same services again: its
    charges are not new A/R, only its payments count. Columns: ``claim_key``, ``account_key`` (the primary's
    claim key), ``primary`` (1 or 0), ``encounter_id``, ``payer_id``, ``charge_cents``, ``first_service_date``.
    """
    order = (claim.c.built_at, claim.c.claim_key)
    account = (claim.c.encounter_id, claim.c.billing_npi)
    return select(
        claim.c.claim_key,
        func.first_value(claim.c.claim_key).over(partition_by=account, order_by=order).label("account_key"),
        case((func.row_number().over(partition_by=account, order_by=order) == 1, 1), else_=0).label("primary"),
        claim.c.encounter_id,
        claim.c.payer_id,
        claim.c.total_charge_cents.label("charge_cents"),
        claim.c.first_service_date,
    ).subquery("claim_account")


def primary_claims() -> Subquery:
    """Per account (encounter x billing provider): its primary claim (see ``claim_accounts``).

    Columns: ``claim_key``, ``encounter_id``, ``payer_id``, ``charge_cents``, ``first_service_date``.
    """
    accounts = claim_accounts()
    return (
        select(
            accounts.c.claim_key,
            accounts.c.encounter_id,
            accounts.c.payer_id,
            accounts.c.charge_cents,
            accounts.c.first_service_date,
        )
        .where(accounts.c.primary == 1)
        .subquery("primary_claim")
    )
