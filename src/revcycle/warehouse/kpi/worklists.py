"""Worklists: what a person acts on, as views of each claim's next action (``claim_action``) and the warehouse.

- ``rejections``: claims the next-action rules send to a person after a front-end rejection
  (``correct_rejection``), with the 999/TA1/277CA codes and what to fix;
- ``denials``: claims with denied amounts to appeal or correct (``work_denial``), with the denial category,
  the reason and its remark codes, the appeal deadline and a priority;
- ``held``: charge lines held or rejected by validation, with the rules they failed (they have no claim yet,
  so no ``claim_action`` row: the rules would answer ``fix_held_charges``);
- ``silent``: claims past their payer's usual lag with no answer (``inquire``, or ``await_response`` past its
  due date);
- ``credits``: credit balances and overpayments: accounts paid beyond their charges, payments reversed
  with no correction yet, and PLB recoupments.

Every worklist gives its count and its oldest item. Rows name claim keys, charge ids, payer ids, codes,
dates and amounts only; ``phi_rows`` adds the patient for the 0600 CSV of ``revcycle worklist NAME --out``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, or_, select

from revcycle.codes.adjustments import (
    DENIAL_KIND_LABELS,
    PLB_DESCRIPTIONS,
    RECOUPMENT_PLB_REASONS,
    Category,
    DenialKind,
    carc_description,
    rarc_description,
)
from revcycle.codes.claim_status import ACK_999_DESCRIPTIONS, what_to_fix
from revcycle.domain import ClaimStatus
from revcycle.next_action import Action
from revcycle.warehouse.kpi.ar import Balances, credit_balances
from revcycle.warehouse.kpi.common import (
    DateArg,
    as_date,
    categorized_adjustments,
    cents,
    first_of_each,
    integer,
    posting_facts,
    reference_day,
)
from revcycle.warehouse.schema import (
    charge,
    charge_rejection,
    claim,
    claim_action,
    claim_event,
    claim_status,
    denial_reason,
    payer,
    provider_adjustment,
    remark,
    remittance,
    source_file,
)
from revcycle.warehouse.sqlfunc import add_days, days_between, local_date

DEFAULT_APPEAL_DAYS = 90
DEFAULT_RECOVERABILITY_PCT = 50


@dataclass(frozen=True)
class Worklist:
    """One worklist: its rows (no PHI), how many, and the oldest item's date."""

    name: str
    title: str
    what_to_do: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    since: list[date | None]  # per row: the date the item arrived
    keys: list[tuple[str, str]] = field(default_factory=list)  # per row: ("claim" | "charge", key) or ("", "")

    @property
    def count(self) -> int:
        """How many items."""
        return len(self.rows)

    @property
    def oldest(self) -> date | None:
        """The date of the oldest item."""
        dates = [d for d in self.since if d is not None]
        return min(dates) if dates else None


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else "n/a"


# --- front-end rejections ----------------------------------------------------------------------------------------


def rejections_query() -> Select[Any]:
    """Claims whose next action is ``correct_rejection``, with their latest rejection event and 277CA status."""
    latest_event = (
        select(claim_event.c.claim_key, func.max(claim_event.c.id).label("id"))
        .where(claim_event.c.status == ClaimStatus.REJECTED.value)
        .group_by(claim_event.c.claim_key)
        .subquery("latest_rejection")
    )
    event = claim_event.alias("rejection_event")
    latest_status = (
        select(claim_status.c.claim_key, func.max(claim_status.c.id).label("id"))
        .where(claim_status.c.matched, ~claim_status.c.accepted)
        .group_by(claim_status.c.claim_key)
        .subquery("latest_277ca_rejection")
    )
    status = claim_status.alias("rejection_status")
    return (
        select(
            claim_action.c.claim_key,
            claim.c.payer_id,
            claim.c.total_charge_cents,
            func.coalesce(local_date(event.c.occurred_at), local_date(claim_action.c.decided_at)).label("rejected_on"),
            event.c.detail.label("event_detail"),
            status.c.category,
            status.c.status_code,
            status.c.entity,
            claim_action.c.reason,
        )
        .select_from(
            claim_action.join(claim, claim.c.claim_key == claim_action.c.claim_key)
            .outerjoin(latest_event, latest_event.c.claim_key == claim_action.c.claim_key)
            .outerjoin(event, event.c.id == latest_event.c.id)
            .outerjoin(latest_status, latest_status.c.claim_key == claim_action.c.claim_key)
            .outerjoin(status, status.c.id == latest_status.c.id)
        )
        .where(claim_action.c.action == Action.CORRECT_REJECTION.value)
    )


def _rejection(r: Any) -> tuple[str, str, str]:
    """(answered by, codes, what to fix) of a rejection: its latest event ('999 R', 'TA1 024', '277CA A7:21')."""
    kind, _, code = str(r.event_detail or "").partition(" ")
    if kind == "999":
        return "999", code, ACK_999_DESCRIPTIONS.get(code, f"999 code {code}")
    if kind == "TA1":
        return "TA1", code, f"interchange refused by the TA1 (note {code}): fix the envelope and send again"
    if r.category:
        codes = ":".join(str(part) for part in (r.category, r.status_code, r.entity) if part)
        return "277CA", codes, what_to_fix(str(r.category), r.status_code, r.entity)
    return kind or "n/a", code, "see the rejection file"


def rejections(conn: Connection) -> Worklist:
    """Front-end rejections a person must correct, oldest first."""
    rows: list[tuple[str, ...]] = []
    since: list[date | None] = []
    keys: list[tuple[str, str]] = []
    result = sorted(conn.execute(rejections_query()), key=lambda r: (as_date(r.rejected_on) or date.max, r.claim_key))
    for r in result:
        source, codes, fix = _rejection(r)
        day = as_date(r.rejected_on)
        rows.append(
            (str(r.claim_key), str(r.payer_id), _day(day), source, codes, fix, _money(cents(r.total_charge_cents)))
        )
        since.append(day)
        keys.append(("claim", str(r.claim_key)))
    return Worklist(
        "rejections",
        "Front-end rejections (999, TA1, 277CA)",
        "correct the claim (charges or payer setup) as the codes say; the next run resends it as an original",
        ("Claim", "Payer", "Rejected", "By", "Codes", "What to fix", "Charges"),
        rows,
        since,
        keys,
    )


# --- denials -----------------------------------------------------------------------------------------------------


def denials_query(as_of: DateArg) -> Select[Any]:
    """Claims whose next action is ``work_denial``, with their standing posting's denied amount and top reason."""
    day = reference_day(as_of)
    posting = posting_facts()
    latest = (
        select(posting.c.claim_key, func.max(posting.c.id).label("id"))
        .where(posting.c.standing == 1)
        .group_by(posting.c.claim_key)
        .subquery("standing_posting")
    )
    stand = posting.alias("stand")
    cats = categorized_adjustments()
    ranked = (
        select(
            cats.c.remittance_claim_id,
            cats.c.remittance_service_id,
            cats.c.group_code,
            cats.c.reason_code,
            cats.c.denial_kind,
            func.row_number()
            .over(
                partition_by=cats.c.remittance_claim_id,
                order_by=(cats.c.amount_cents.desc(), cats.c.sequence),
            )
            .label("rank"),
        )
        .where(cats.c.category == Category.DENIAL.value)
        .subquery("ranked_denial")
    )
    top = first_of_each(ranked, "remittance_claim_id", "top_denial")
    deadline = func.coalesce(
        claim_action.c.due_on,
        add_days(stand.c.posted_on, func.coalesce(payer.c.appeal_days, DEFAULT_APPEAL_DAYS)),
    )
    days_left = days_between(deadline, day)
    recoverable = func.coalesce(denial_reason.c.recoverability_pct, DEFAULT_RECOVERABILITY_PCT)
    recoverability = case((days_left < 0, 0), else_=recoverable)
    return (
        select(
            claim_action.c.claim_key,
            claim.c.payer_id,
            stand.c.id.label("remittance_claim_id"),
            stand.c.posted_on.label("denied_on"),
            stand.c.denial_cents,
            top.c.remittance_service_id,
            top.c.group_code,
            top.c.reason_code,
            top.c.denial_kind,
            deadline.label("appeal_deadline"),
            days_left.label("days_left"),
            recoverability.label("recoverability_pct"),
            (stand.c.denial_cents * recoverability).label("priority_cent_pct"),
        )
        .select_from(
            claim_action.join(claim, claim.c.claim_key == claim_action.c.claim_key)
            .outerjoin(latest, latest.c.claim_key == claim_action.c.claim_key)
            .outerjoin(stand, stand.c.id == latest.c.id)
            .outerjoin(top, top.c.remittance_claim_id == stand.c.id)
            .outerjoin(denial_reason, denial_reason.c.reason_code == top.c.reason_code)
            .outerjoin(payer, payer.c.payer_id == claim.c.payer_id)
        )
        .where(claim_action.c.action == Action.WORK_DENIAL.value)
    )


@dataclass(frozen=True)
class DenialItem:
    """A denied claim to work."""

    claim_key: str
    payer_id: str
    reason: str  # CO-16 style: the largest denial-category adjustment of the standing posting
    denial_kind: str
    remarks: tuple[str, ...]
    denied: Decimal
    denied_on: date | None
    appeal_deadline: date | None
    days_left: int | None
    recoverability_pct: int
    priority: Decimal


def denial_items(conn: Connection, as_of: date) -> list[DenialItem]:
    """Denied claims to work, worth working first first: denied amount × recoverability, then nearest deadline."""
    rows = list(conn.execute(denials_query(as_of)))
    remarks: dict[int, dict[int | None, list[str]]] = defaultdict(lambda: defaultdict(list))
    ids = [int(r.remittance_claim_id) for r in rows if r.remittance_claim_id is not None]
    for start in range(0, len(ids), 500):
        for m in conn.execute(
            select(remark.c.remittance_claim_id, remark.c.remittance_service_id, remark.c.code)
            .where(remark.c.remittance_claim_id.in_(ids[start : start + 500]))
            .order_by(remark.c.sequence)
        ):
            remarks[int(m.remittance_claim_id)][m.remittance_service_id].append(str(m.code))
    items = []
    for r in rows:
        on_posting = remarks.get(int(r.remittance_claim_id), {}) if r.remittance_claim_id is not None else {}
        codes = list(on_posting.get(None, []))
        if r.remittance_service_id is not None:
            codes += on_posting.get(r.remittance_service_id, [])
        items.append(
            DenialItem(
                claim_key=str(r.claim_key),
                payer_id=str(r.payer_id),
                reason=f"{r.group_code}-{r.reason_code}" if r.reason_code else "",
                denial_kind=str(r.denial_kind or ""),
                remarks=tuple(dict.fromkeys(codes)),
                denied=cents(r.denial_cents),
                denied_on=as_date(r.denied_on),
                appeal_deadline=as_date(r.appeal_deadline),
                days_left=None if r.days_left is None else int(r.days_left),
                recoverability_pct=integer(r.recoverability_pct),
                priority=(Decimal(integer(r.priority_cent_pct)) / 10000).quantize(Decimal("0.01")),
            )
        )
    return sorted(items, key=lambda i: (-i.priority, i.appeal_deadline or date.max, i.claim_key))


def _kind_label(kind: str) -> str:
    try:
        return DENIAL_KIND_LABELS[DenialKind(kind)]
    except ValueError:
        return kind


def denials(conn: Connection, as_of: date) -> Worklist:
    """The denial worklist."""
    items = denial_items(conn, as_of)
    rows: list[tuple[str, ...]] = []
    for i in items:
        reason = i.reason
        if i.reason:
            reason = f"{i.reason} {carc_description(i.reason.split('-', 1)[1])}"
        remark_text = "; ".join(f"{code} {rarc_description(code)}" for code in i.remarks)
        rows.append(
            (
                i.claim_key,
                i.payer_id,
                _kind_label(i.denial_kind),
                reason,
                remark_text,
                _money(i.denied),
                _day(i.appeal_deadline),
                "n/a" if i.days_left is None else str(i.days_left),
                f"{i.recoverability_pct}%",
                _money(i.priority),
            )
        )
    return Worklist(
        "denials",
        "Denials to appeal or correct",
        "appeal or correct before the deadline; worth working first at the top (denied amount × recoverability)",
        (
            "Claim",
            "Payer",
            "Category",
            "Reason",
            "Remarks",
            "Denied",
            "Appeal by",
            "Days left",
            "Recoverable",
            "Priority",
        ),
        rows,
        [i.denied_on for i in items],
        [("claim", i.claim_key) for i in items],
    )


# --- held and rejected charges ----------------------------------------------------------------------------------


def held_charges_query() -> Select[Any]:
    """Charge lines held or rejected by validation, with each rule they failed (one row per rule)."""
    return (
        select(
            charge.c.charge_id,
            charge.c.encounter_id,
            charge.c.payer_id,
            charge.c.procedure_code,
            charge.c.service_date,
            charge.c.charge_cents,
            charge.c.status,
            local_date(source_file.c.received_at).label("held_on"),
            charge_rejection.c.suite,
            charge_rejection.c.rule,
            charge_rejection.c.column_name,
            charge_rejection.c.severity,
        )
        .select_from(
            charge.join(source_file, source_file.c.id == charge.c.source_file_id).outerjoin(
                charge_rejection,
                and_(charge_rejection.c.charge_id == charge.c.charge_id, charge_rejection.c.severity == "error"),
            )
        )
        .where(charge.c.status.in_(("held", "rejected")))
    )


def held_charges(conn: Connection) -> Worklist:
    """Held and rejected charge lines with the rule, oldest first."""
    rules: dict[str, list[str]] = defaultdict(list)
    lines: dict[str, Any] = {}
    rejected_by_encounter: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(held_charges_query()):
        lines.setdefault(str(r.charge_id), r)
        if r.rule:
            where = f"{r.rule} ({r.column_name})" if r.column_name else str(r.rule)
            rules[str(r.charge_id)].append(f"{r.suite}: {where}")
        if r.status == "rejected" and str(r.charge_id) not in rejected_by_encounter[str(r.encounter_id)]:
            rejected_by_encounter[str(r.encounter_id)].append(str(r.charge_id))
    rows: list[tuple[str, ...]] = []
    since: list[date | None] = []
    keys: list[tuple[str, str]] = []
    ordered = sorted(lines.values(), key=lambda r: (as_date(r.held_on) or date.max, str(r.charge_id)))
    for r in ordered:
        charge_id = str(r.charge_id)
        found = "; ".join(dict.fromkeys(rules.get(charge_id, [])))
        if r.status == "held":
            others = [c for c in rejected_by_encounter.get(str(r.encounter_id), []) if c != charge_id]
            found = (
                f"encounter held: charge {', '.join(others)} rejected"
                if others
                else "held with its claim by a claim check (payer rule or claims suite)"
            )
        day = as_date(r.held_on)
        amount = _money(cents(r.charge_cents)) if r.charge_cents is not None else "n/a"
        rows.append(
            (
                charge_id,
                str(r.payer_id),
                str(r.procedure_code),
                _day(as_date(r.service_date)),
                amount,
                str(r.status),
                found or "rejected (rule not recorded)",
                _day(day),
            )
        )
        since.append(day)
        keys.append(("charge", charge_id))
    return Worklist(
        "held",
        "Held and rejected charges",
        "correct the charge in the EHR (or the payer setup) and export it again; a held encounter goes out whole",
        ("Charge", "Payer", "Code", "Service date", "Amount", "Status", "Rule", "Since"),
        rows,
        since,
        keys,
    )


# --- silent claims -----------------------------------------------------------------------------------------------


def silent_claims_query(as_of: DateArg) -> Select[Any]:
    """Claims past their payer's usual lag with no answer: next action ``inquire``, or ``await_response`` past
    its due date (the pipeline sets it to the last submission or inquiry plus the payer's usual lag)."""
    day = reference_day(as_of)
    last_sent = (
        select(claim_event.c.claim_key, func.max(claim_event.c.occurred_at).label("sent_at"))
        .where(claim_event.c.status == ClaimStatus.SUBMITTED.value)
        .group_by(claim_event.c.claim_key)
        .subquery("last_submission")
    )
    sent_on = local_date(last_sent.c.sent_at)
    return (
        select(
            claim_action.c.claim_key,
            claim.c.payer_id,
            claim.c.total_charge_cents,
            sent_on.label("submitted_on"),
            days_between(day, sent_on).label("days_waiting"),
            claim_action.c.due_on,
            claim_action.c.action,
        )
        .select_from(
            claim_action.join(claim, claim.c.claim_key == claim_action.c.claim_key).outerjoin(
                last_sent, last_sent.c.claim_key == claim_action.c.claim_key
            )
        )
        .where(
            or_(
                claim_action.c.action == Action.INQUIRE.value,
                and_(
                    claim_action.c.action == Action.AWAIT_RESPONSE.value,
                    claim_action.c.due_on.is_not(None),
                    claim_action.c.due_on < day,
                ),
            )
        )
    )


def silent_claims(conn: Connection, as_of: date) -> Worklist:
    """Claims the payer has not answered within its usual lag, longest waiting first."""
    result = sorted(
        conn.execute(silent_claims_query(as_of)), key=lambda r: (as_date(r.submitted_on) or date.max, r.claim_key)
    )
    rows: list[tuple[str, ...]] = []
    since: list[date | None] = []
    keys: list[tuple[str, str]] = []
    for r in result:
        sent = as_date(r.submitted_on)
        state = "276 inquiry due" if r.action == Action.INQUIRE.value else "inquired, still no answer"
        rows.append(
            (
                str(r.claim_key),
                str(r.payer_id),
                _day(sent),
                "n/a" if r.days_waiting is None else str(r.days_waiting),
                _day(as_date(r.due_on)),
                state,
                _money(cents(r.total_charge_cents)),
            )
        )
        since.append(sent)
        keys.append(("claim", str(r.claim_key)))
    return Worklist(
        "silent",
        "Claims past their payer's usual lag with no answer",
        "check the claim's status with the payer (276/277 or portal); resend if the payer never received it",
        ("Claim", "Payer", "Sent", "Days waiting", "Answer due", "State", "Charges"),
        rows,
        since,
        keys,
    )


# --- credit balances and overpayments ----------------------------------------------------------------------------


def reversals_pending_query() -> Select[Any]:
    """Payments reversed (CLP02 22) on claims left reversed: no corrected payment posted since."""
    posting = posting_facts()
    latest = (
        select(posting.c.claim_key, func.max(posting.c.id).label("id"))
        .where(posting.c.reversal == 1)
        .group_by(posting.c.claim_key)
        .subquery("latest_reversal")
    )
    rev = posting.alias("reversal")
    return (
        select(claim.c.claim_key, claim.c.payer_id, rev.c.posted_on, rev.c.paid_cents)
        .select_from(claim.join(latest, latest.c.claim_key == claim.c.claim_key).join(rev, rev.c.id == latest.c.id))
        .where(claim.c.status == ClaimStatus.REVERSED.value)
    )


def recoupments_query() -> Select[Any]:
    """PLB adjustments that take money back or carry a debt (WO, FB, 72, B2, J1), with the claim they name."""
    by_key = claim.alias("plb_claim_by_key")
    by_number = claim.alias("plb_claim_by_number")
    return (
        select(
            provider_adjustment.c.id,
            provider_adjustment.c.reason,
            provider_adjustment.c.reference,
            provider_adjustment.c.amount_cents,
            func.coalesce(remittance.c.payment_date, local_date(source_file.c.received_at)).label("posted_on"),
            remittance.c.trace_number,
            func.coalesce(by_key.c.claim_key, by_number.c.claim_key).label("claim_key"),
            func.coalesce(by_key.c.payer_id, by_number.c.payer_id, remittance.c.payer_identifier).label("payer_id"),
        )
        .select_from(
            provider_adjustment.join(remittance, remittance.c.id == provider_adjustment.c.remittance_id)
            .join(source_file, source_file.c.id == remittance.c.source_file_id)
            .outerjoin(by_key, by_key.c.claim_key == provider_adjustment.c.reference)
            .outerjoin(by_number, by_number.c.payer_claim_number == provider_adjustment.c.reference)
        )
        .where(provider_adjustment.c.reason.in_(tuple(RECOUPMENT_PLB_REASONS)))
    )


def credits(conn: Connection, as_of: date, balances: Balances | None = None) -> Worklist:
    """Credit balances and overpayments to reconcile, oldest first (``balances``: read already, or None)."""
    entries: list[tuple[date | None, tuple[str, ...], tuple[str, str]]] = []
    for key, payer_id, served, amount in credit_balances(conn, as_of, balances):
        entries.append(
            (
                served,
                (
                    key,
                    payer_id,
                    "credit balance",
                    _day(served),
                    _money(amount),
                    "payments and adjustments exceed the charges: refund or correct the posting",
                ),
                ("claim", key),
            )
        )
    for r in conn.execute(reversals_pending_query()):
        day = as_date(r.posted_on)
        entries.append(
            (
                day,
                (
                    str(r.claim_key),
                    str(r.payer_id),
                    "payment reversed",
                    _day(day),
                    _money(-cents(r.paid_cents)),
                    "the payer took the payment back (CLP02 22) and sent no corrected payment yet",
                ),
                ("claim", str(r.claim_key)),
            )
        )
    for r in conn.execute(recoupments_query()):
        day = as_date(r.posted_on)
        description = PLB_DESCRIPTIONS.get(str(r.reason), str(r.reason))
        reference = f" (reference {r.reference})" if r.reference and not r.claim_key else ""
        entries.append(
            (
                day,
                (
                    str(r.claim_key or ""),
                    str(r.payer_id or ""),
                    f"PLB {r.reason}",
                    _day(day),
                    _money(cents(r.amount_cents)),
                    f"{description}; 835 trace {r.trace_number}{reference}",
                ),
                ("claim", str(r.claim_key)) if r.claim_key else ("", ""),
            )
        )
    entries.sort(key=lambda e: (e[0] or date.max, e[1]))
    return Worklist(
        "credits",
        "Credit balances and overpayments",
        "reconcile: refund a true overpayment, or post the recoupment against its claim",
        ("Claim", "Payer", "Kind", "Date", "Amount", "Detail"),
        [e[1] for e in entries],
        [e[0] for e in entries],
        [e[2] for e in entries],
    )


WORKLIST_NAMES = ("rejections", "denials", "held", "silent", "credits")


def worklist(conn: Connection, name: str, as_of: date, balances: Balances | None = None) -> Worklist:
    """The worklist ``name`` (one of WORKLIST_NAMES) on ``as_of`` (``balances``: the accounts, read already)."""
    if name == "rejections":
        return rejections(conn)
    if name == "denials":
        return denials(conn, as_of)
    if name == "held":
        return held_charges(conn)
    if name == "silent":
        return silent_claims(conn, as_of)
    if name == "credits":
        return credits(conn, as_of, balances)
    raise ValueError(f"unknown worklist {name!r}; one of {', '.join(WORKLIST_NAMES)}")


def all_worklists(conn: Connection, as_of: date, balances: Balances | None = None) -> list[Worklist]:
    """Every worklist, in the order of WORKLIST_NAMES (``balances``: the accounts on ``as_of``, read already)."""
    return [worklist(conn, name, as_of, balances) for name in WORKLIST_NAMES]


# --- the patient-identifying export ------------------------------------------------------------------------------

PHI_COLUMNS = (
    "encounter_id",
    "patient_mrn",
    "patient_last_name",
    "patient_first_name",
    "patient_birth_date",
    "member_id",
)


def phi_rows(conn: Connection, work: Worklist) -> list[dict[str, str]]:
    """The worklist's rows with the patient of each (from the charge export row): PHI, for a 0600 file only."""
    claim_keys = sorted({key for kind, key in work.keys if kind == "claim"})
    charge_ids = sorted({key for kind, key in work.keys if kind == "charge"})
    by_claim: dict[str, str] = {}
    by_charge: dict[str, str] = {}
    for start in range(0, len(claim_keys), 500):
        chunk = claim_keys[start : start + 500]
        first_charge = (
            select(charge.c.claim_key, func.min(charge.c.charge_id).label("charge_id"))
            .where(charge.c.claim_key.in_(chunk))
            .group_by(charge.c.claim_key)
            .subquery()
        )
        for r in conn.execute(
            select(first_charge.c.claim_key, charge.c.row_json).join(
                charge, charge.c.charge_id == first_charge.c.charge_id
            )
        ):
            by_claim[str(r.claim_key)] = str(r.row_json)
    for start in range(0, len(charge_ids), 500):
        chunk = charge_ids[start : start + 500]
        for r in conn.execute(select(charge.c.charge_id, charge.c.row_json).where(charge.c.charge_id.in_(chunk))):
            by_charge[str(r.charge_id)] = str(r.row_json)
    out = []
    for row, (kind, key) in zip(work.rows, work.keys, strict=True):
        source = by_claim.get(key) if kind == "claim" else by_charge.get(key) if kind == "charge" else None
        patient = json.loads(source) if source else {}
        record = dict(zip(work.headers, row, strict=True))
        record.update({column: str(patient.get(column, "")) for column in PHI_COLUMNS})
        out.append(record)
    return out


def held_charges_view() -> Select[Any]:
    """The held-charges worklist for BI tools: one row per charge and failed rule (no encounter id)."""
    query = held_charges_query()
    return query.with_only_columns(*[c for c in query.selected_columns if c.name != "encounter_id"])
