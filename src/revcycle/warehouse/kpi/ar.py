"""A/R family: open A/R on a date (insurance and patient), days in A/R (MGMA gross), aging by date of service.

An account is an encounter billed by one provider; its primary claim carries the charges (``units``). On a
reference date D its balance is: the primary claim's charges, once first submitted on or before D,
− payments of every claim of the account posted by D (835 CLP04, net of reversals)
− contractual and other non-denial payer adjustments of the primary claim's postings by D
− patient payments by D (the patient-payments file, by encounter)
− the denied amounts, once the claim was written off by D (next action ``written_off``).
A voided or withdrawn claim has no balance. Denied amounts stay open until written off. The patient part is
what the payer moved to the patient (CAS group PR) less what the patient paid; the rest is insurance A/R.
A negative balance is a credit balance: it is not A/R, it goes on the credit-balance worklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, exists, func, literal, null, select
from sqlalchemy.sql import Subquery

from revcycle.domain import ClaimStatus
from revcycle.next_action import Action
from revcycle.warehouse.kpi.common import DateArg, as_date, cents, integer, posting_facts, rate, reference_day, total
from revcycle.warehouse.kpi.units import claim_accounts, primary_claims
from revcycle.warehouse.schema import claim, claim_action, claim_event, patient_payment, source_file
from revcycle.warehouse.sqlfunc import days_between, local_date

AGING_BUCKETS = ("0-30", "31-60", "61-90", "91-120", "over 120")
DAYS_OF_CHARGES = 90
PATIENT_PAYMENTS_KIND = "patient_payments"
CLOSING_ACTIONS = (Action.VOIDED.value, Action.WITHDRAWN.value)


def patient_payments_loaded(conn: Connection) -> bool:
    """True once a patient-payments file was loaded: patient A/R and collections can then be counted."""
    found = conn.execute(
        select(source_file.c.id)
        .where(source_file.c.kind == PATIENT_PAYMENTS_KIND, source_file.c.status == "loaded")
        .limit(1)
    ).first()
    return found is not None


def posting_moves(accounts: Subquery, posting: Subquery, *leading: Any) -> Select[Any]:
    """Every posting as money moved on its account: ``account_key``, ``leading``, then paid, adjusted (contractual
    and other), moved to the patient, denied, and 0 paid by the patient.

    ``accounts`` is ``claim_accounts()``, ``posting`` is ``posting_facts()``. Every claim's payments count; the
    adjustments only on the primary claim (a secondary's adjustments are its own view of the same services).
    """
    primary = accounts.c.primary == 1
    return select(
        accounts.c.account_key,
        *leading,
        posting.c.paid_cents,
        case((primary, posting.c.contractual_cents + posting.c.other_cents), else_=0),
        case((primary, posting.c.patient_cents), else_=0),
        case((primary, posting.c.denial_cents), else_=0),
        literal(0),
    ).select_from(posting.join(accounts, accounts.c.claim_key == posting.c.claim_key))


def patient_payment_moves(*leading: Any) -> Select[Any]:
    """Every patient payment as money moved on its account, in the columns of ``posting_moves``."""
    # Patient payments are kept by encounter: they go to the encounter's first claim (a primary claim).
    payee = claim.alias("payee")
    first_of_encounter = (
        select(payee.c.claim_key)
        .where(payee.c.encounter_id == patient_payment.c.encounter_id)
        .order_by(payee.c.built_at, payee.c.claim_key)
        .limit(1)
        .scalar_subquery()
    )
    zero = literal(0)
    return select(claim.c.claim_key, *leading, zero, zero, zero, zero, patient_payment.c.amount_cents).select_from(
        patient_payment.join(claim, claim.c.claim_key == first_of_encounter)
    )


def account_balances(as_of: DateArg) -> Subquery:
    """Per account open on ``as_of``: primary claim, payer, date of service, age, insurance and patient cents.

    Columns: ``claim_key`` (the primary claim), ``payer_id``, ``first_service_date``, ``age_days`` (from the
    date of service), ``balance_cents`` (negative: a credit balance), ``insurance_cents``, ``patient_cents``.
    Built as one ledger of money movements per account (the charges, every posting, every patient payment)
    summed in a single pass, so its cost grows with the rows, not with their square. An account counts once its
    primary claim was first submitted: the ledger holds a row per ``submitted`` event of a claim by ``as_of``,
    under the claim's own key, which is its account's key when it is a primary claim (a secondary's rows make
    a group of their own, without charges, left out). Not a lookup of each claim's events: PostgreSQL cannot
    estimate the practice-date condition of one, and compared every claim with every event (docs/scale.md,
    "The report on PostgreSQL").
    """
    day = reference_day(as_of)
    accounts = claim_accounts()
    posting = posting_facts()
    zero = literal(0)
    nothing = null()
    charges = select(
        accounts.c.account_key,
        accounts.c.payer_id,
        accounts.c.first_service_date,
        accounts.c.charge_cents.label("charged"),
        zero.label("sent"),
        zero.label("paid"),
        zero.label("adjusted"),
        zero.label("patient"),
        zero.label("denied"),
        zero.label("patient_paid"),
    ).where(accounts.c.primary == 1)
    submitted = select(claim_event.c.claim_key, nothing, nothing, zero, literal(1), zero, zero, zero, zero, zero).where(
        claim_event.c.status == ClaimStatus.SUBMITTED.value, local_date(claim_event.c.occurred_at) <= day
    )
    postings = posting_moves(accounts, posting, nothing, nothing, zero, zero).where(posting.c.posted_on <= day)
    patients = patient_payment_moves(nothing, nothing, zero, zero).where(patient_payment.c.payment_date <= day)
    ledger = charges.union_all(submitted, postings, patients).subquery("account_ledger")
    account_key = ledger.c.account_key
    decided = local_date(claim_action.c.decided_at) <= day
    closed = exists(
        select(claim_action.c.claim_key).where(
            claim_action.c.claim_key == account_key, claim_action.c.action.in_(CLOSING_ACTIONS), decided
        )
    )
    written_off = exists(
        select(claim_action.c.claim_key).where(
            claim_action.c.claim_key == account_key, claim_action.c.action == Action.WRITTEN_OFF.value, decided
        )
    )
    patient_paid = total(ledger.c.patient_paid)
    balance = case(
        (closed, literal(0)),
        else_=total(ledger.c.charged)
        - total(ledger.c.paid)
        - total(ledger.c.adjusted)
        - patient_paid
        - case((written_off, total(ledger.c.denied)), else_=0),
    )
    # Grouped, so both databases compute each account once (a plain subquery would be inlined into every
    # expression that reads it).
    accounts_open = (
        select(
            account_key.label("claim_key"),
            func.max(ledger.c.payer_id).label("payer_id"),
            func.max(ledger.c.first_service_date).label("first_service_date"),
            days_between(day, func.max(ledger.c.first_service_date)).label("age_days"),
            balance.label("balance_cents"),
            case((closed, literal(0)), else_=total(ledger.c.patient) - patient_paid).label("owed_by_patient_cents"),
        )
        .group_by(account_key)
        # the primary claim was sent by then, and the group is an account's (it has the primary's charges)
        .having(func.max(ledger.c.sent) == 1, func.max(ledger.c.first_service_date).is_not(None))
        .subquery("account")
    )
    open_cents = case((accounts_open.c.balance_cents > 0, accounts_open.c.balance_cents), else_=0)
    patient_part = case(
        (accounts_open.c.owed_by_patient_cents <= 0, literal(0)),
        (accounts_open.c.owed_by_patient_cents >= open_cents, open_cents),
        else_=accounts_open.c.owed_by_patient_cents,
    )
    return select(
        accounts_open.c.claim_key,
        accounts_open.c.payer_id,
        accounts_open.c.first_service_date,
        accounts_open.c.age_days,
        accounts_open.c.balance_cents,
        (open_cents - patient_part).label("insurance_cents"),
        patient_part.label("patient_cents"),
    ).subquery("account_balance")


def _bucket(age: Any) -> Any:
    return case(
        (age <= 30, AGING_BUCKETS[0]),
        (age <= 60, AGING_BUCKETS[1]),
        (age <= 90, AGING_BUCKETS[2]),
        (age <= 120, AGING_BUCKETS[3]),
        else_=AGING_BUCKETS[4],
    )


def ar_aging_query(as_of: DateArg) -> Select[Any]:
    """Open A/R on ``as_of`` per payer and age bucket (days from the date of service): accounts and cents."""
    balances = account_balances(as_of)
    bucket = _bucket(balances.c.age_days).label("bucket")
    return (
        select(
            balances.c.payer_id,
            bucket,
            func.count().label("accounts"),
            total(balances.c.insurance_cents).label("insurance_cents"),
            total(balances.c.patient_cents).label("patient_cents"),
        )
        .where(balances.c.insurance_cents + balances.c.patient_cents > 0)
        .group_by(balances.c.payer_id, bucket)
    )


@dataclass(frozen=True)
class AgingBucket:
    """Open A/R of one payer's accounts in one age bucket (days from the date of service)."""

    payer_id: str
    bucket: str
    accounts: int
    insurance: Decimal
    patient: Decimal

    @property
    def amount(self) -> Decimal:
        """Insurance and patient."""
        return self.insurance + self.patient


@dataclass(frozen=True)
class AccountBalance:
    """One account with money open or a credit balance on a date (a row of ``account_balances``)."""

    claim_key: str
    payer_id: str
    first_service_date: date | None
    age_days: int
    balance_cents: int
    insurance_cents: int
    patient_cents: int


@dataclass(frozen=True)
class Balances:
    """Every account's balance on ``as_of``, read once for the report's aging, payer A/R and credit balances."""

    as_of: date
    accounts: list[AccountBalance]  # those with a balance (open or credit)
    payers: frozenset[str]  # the payers of every account sent by ``as_of``, with a balance or not


def balances_on(conn: Connection, as_of: date) -> Balances:
    """Read ``account_balances(as_of)`` once."""
    payers: set[str] = set()
    accounts = []
    for r in conn.execute(select(account_balances(as_of))):
        payers.add(str(r.payer_id))
        if r.balance_cents:
            accounts.append(
                AccountBalance(
                    str(r.claim_key),
                    str(r.payer_id),
                    as_date(r.first_service_date),
                    integer(r.age_days),
                    integer(r.balance_cents),
                    integer(r.insurance_cents),
                    integer(r.patient_cents),
                )
            )
    return Balances(as_of, accounts, frozenset(payers))


def _read(conn: Connection, as_of: date, balances: Balances | None) -> Balances:
    if balances is None:
        return balances_on(conn, as_of)
    if balances.as_of != as_of:
        raise ValueError(f"balances of {balances.as_of.isoformat()} asked for {as_of.isoformat()}")
    return balances


def _bucket_of(age: int) -> str:
    """The age bucket of ``_bucket`` (SQL), for an age in days."""
    for limit, bucket in zip((30, 60, 90, 120), AGING_BUCKETS, strict=False):
        if age <= limit:
            return bucket
    return AGING_BUCKETS[-1]


def ar_aging(conn: Connection, as_of: date, balances: Balances | None = None) -> list[AgingBucket]:
    """A/R aging by payer and bucket on ``as_of`` (only buckets holding money), by payer then age.

    The figures of ``ar_aging_query`` (the view), from ``balances`` when the caller read them already.
    """
    grouped: dict[tuple[str, str], list[int]] = {}
    for account in _read(conn, as_of, balances).accounts:
        if account.insurance_cents + account.patient_cents > 0:
            sums = grouped.setdefault((account.payer_id, _bucket_of(account.age_days)), [0, 0, 0])
            sums[0] += 1
            sums[1] += account.insurance_cents
            sums[2] += account.patient_cents
    rows = [
        AgingBucket(payer_id, bucket, count, cents(insurance), cents(patient))
        for (payer_id, bucket), (count, insurance, patient) in grouped.items()
    ]
    return sorted(rows, key=lambda b: (b.payer_id, AGING_BUCKETS.index(b.bucket)))


def charges_90_days(as_of: DateArg) -> ColumnElement[Any]:
    """SQL: gross charges of the primary claims with a date of service in the 90 days to ``as_of`` (0: none)."""
    day = reference_day(as_of)
    primary = primary_claims()
    age = days_between(day, primary.c.first_service_date)
    return func.coalesce(
        select(func.sum(primary.c.charge_cents)).where(age >= 0, age < DAYS_OF_CHARGES).scalar_subquery(), 0
    )


def open_ar_query(as_of: DateArg) -> Select[Any]:
    """One row: open insurance and patient A/R on ``as_of``, the parts older than 90 and 120 days (from the
    date of service), gross charges of the 90 days to ``as_of`` (primary claims, by date of service)."""
    balances = account_balances(as_of)
    recent = charges_90_days(as_of)
    both = balances.c.insurance_cents + balances.c.patient_cents
    return select(
        total(balances.c.insurance_cents).label("insurance_cents"),
        total(balances.c.patient_cents).label("patient_cents"),
        total(case((balances.c.age_days > 90, balances.c.insurance_cents), else_=0)).label("insurance_over_90_cents"),
        total(case((balances.c.age_days > 90, both), else_=0)).label("over_90_cents"),
        total(case((balances.c.age_days > 120, balances.c.insurance_cents), else_=0)).label("insurance_over_120_cents"),
        total(case((balances.c.age_days > 120, both), else_=0)).label("over_120_cents"),
        recent.label("charges_90_days_cents"),
    )


@dataclass(frozen=True)
class OpenAR:
    """Open A/R on a date and the figures built on it (MGMA gross days in A/R, aged shares)."""

    as_of: date
    insurance: Decimal
    patient: Decimal
    insurance_over_90: Decimal
    over_90: Decimal
    insurance_over_120: Decimal
    over_120: Decimal
    charges_90_days: Decimal
    patient_included: bool  # False without a patient-payments file: the figures are insurance only

    @property
    def total(self) -> Decimal:
        """The A/R the figures count: insurance and patient, or insurance only without patient payments."""
        return self.insurance + self.patient if self.patient_included else self.insurance

    @property
    def days(self) -> Decimal | None:
        """Open A/R ÷ (charges of the last 90 days ÷ 90); None without charges in those days."""
        return rate(self.total * DAYS_OF_CHARGES, self.charges_90_days)

    @property
    def share_over_90(self) -> Decimal | None:
        """Open A/R older than 90 days from the date of service ÷ open A/R."""
        return rate(self.over_90 if self.patient_included else self.insurance_over_90, self.total)

    @property
    def share_over_120(self) -> Decimal | None:
        """Open A/R older than 120 days from the date of service ÷ open A/R."""
        return rate(self.over_120 if self.patient_included else self.insurance_over_120, self.total)

    @property
    def qualifier(self) -> str:
        """What the A/R includes, for the label."""
        return "insurance and patient" if self.patient_included else "insurance only: no patient payments loaded"

    def days_note(self) -> str:
        """Why days in A/R is missing, with the money still open."""
        if self.charges_90_days:
            return ""
        start = self.as_of - timedelta(days=DAYS_OF_CHARGES - 1)
        return (
            f"no charges with a date of service from {start.isoformat()} to {self.as_of.isoformat()}; "
            f"${self.total:,.2f} open"
        )


def open_ar(
    conn: Connection, as_of: date, *, patient_included: bool | None = None, balances: Balances | None = None
) -> OpenAR:
    """Open A/R on ``as_of``; patient A/R is included once patient payments were loaded.

    With ``balances`` (``balances_on(conn, as_of)``, read already) only the charges of the 90 days are read.
    """
    included = patient_payments_loaded(conn) if patient_included is None else patient_included
    if balances is not None:
        return _open_ar_of(conn, _read(conn, as_of, balances), included)
    row = conn.execute(open_ar_query(as_of)).one()
    return OpenAR(
        as_of,
        cents(row.insurance_cents),
        cents(row.patient_cents),
        cents(row.insurance_over_90_cents),
        cents(row.over_90_cents),
        cents(row.insurance_over_120_cents),
        cents(row.over_120_cents),
        cents(row.charges_90_days_cents),
        included,
    )


def _open_ar_of(conn: Connection, balances: Balances, included: bool) -> OpenAR:
    """``open_ar_query``'s sums over balances read already."""
    insurance = patient = insurance_90 = both_90 = insurance_120 = both_120 = 0
    for a in balances.accounts:
        insurance += a.insurance_cents
        patient += a.patient_cents
        if a.age_days > 90:
            insurance_90 += a.insurance_cents
            both_90 += a.insurance_cents + a.patient_cents
        if a.age_days > 120:
            insurance_120 += a.insurance_cents
            both_120 += a.insurance_cents + a.patient_cents
    recent = conn.execute(select(charges_90_days(balances.as_of))).scalar_one()
    return OpenAR(
        balances.as_of,
        cents(insurance),
        cents(patient),
        cents(insurance_90),
        cents(both_90),
        cents(insurance_120),
        cents(both_120),
        cents(recent),
        included,
    )


def account_balances_view(as_of: DateArg) -> Select[Any]:
    """Every account with money open or a credit balance on ``as_of``, for BI tools."""
    balances = account_balances(as_of)
    return select(balances).where(balances.c.balance_cents != 0)


def open_by_payer(conn: Connection, as_of: date, balances: Balances | None = None) -> dict[str, Decimal]:
    """Open insurance A/R per payer on ``as_of`` (every payer with an account sent by then, 0 included)."""
    read = _read(conn, as_of, balances)
    by_payer = dict.fromkeys(read.payers, 0)
    for account in read.accounts:
        by_payer[account.payer_id] += account.insurance_cents
    return {payer_id: cents(amount) for payer_id, amount in by_payer.items()}


def credit_balances(
    conn: Connection, as_of: date, balances: Balances | None = None
) -> list[tuple[str, str, date | None, Decimal]]:
    """Accounts whose balance is negative on ``as_of``: (claim key, payer, date of service, credit), by claim."""
    return [
        (a.claim_key, a.payer_id, a.first_service_date, -cents(a.balance_cents))
        for a in sorted(_read(conn, as_of, balances).accounts, key=lambda a: a.claim_key)
        if a.balance_cents < 0
    ]
