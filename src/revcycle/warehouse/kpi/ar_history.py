"""Open A/R on many dates from one read of the account ledger: the weekly A/R series of the trends.

``ar.open_ar`` measures one date in SQL, and each call rebuilds every account's ledger; thirteen weeks were
thirteen such queries. Here the ledger is read once, dated: each account (its primary claim's charges, date of
service, the day it was first sent, the days it was closed or written off) and its money movements summed per
account and day. A date's balances are the running sums of the movements up to that date, with the rules of
``ar.account_balances`` applied to every account at once in numpy. All of it is integer cents, so each date's
``OpenAR`` equals ``ar.open_ar`` on that date, on either database.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Select, case, func, select
from sqlalchemy.sql import Subquery

from revcycle.domain import ClaimStatus
from revcycle.next_action import Action
from revcycle.warehouse.kpi import ar
from revcycle.warehouse.kpi.common import as_date, cents, posting_facts
from revcycle.warehouse.kpi.units import claim_accounts
from revcycle.warehouse.schema import claim_action, claim_event, patient_payment
from revcycle.warehouse.sqlfunc import local_date

NEVER = np.iinfo(np.int64).max  # the day ordinal of a date that never comes (NULL)
MOVES = ("paid", "adjusted", "to_patient", "denied", "patient_paid")

Ints = NDArray[np.int64]


def _first_sent() -> Subquery:
    """Per claim: the practice date of its first ``submitted`` event (``ar.account_balances`` counts it by then)."""
    return (
        select(claim_event.c.claim_key, func.min(local_date(claim_event.c.occurred_at)).label("sent_on"))
        .where(claim_event.c.status == ClaimStatus.SUBMITTED.value)
        .group_by(claim_event.c.claim_key)
        .subquery("first_sent")
    )


def _closing_days() -> Subquery:
    """Per claim: the first practice dates it was closed (voided, withdrawn) and written off."""
    decided = local_date(claim_action.c.decided_at)
    written_off = Action.WRITTEN_OFF.value
    return (
        select(
            claim_action.c.claim_key,
            func.min(case((claim_action.c.action.in_(ar.CLOSING_ACTIONS), decided))).label("closed_on"),
            func.min(case((claim_action.c.action == written_off, decided))).label("written_off_on"),
        )
        .where(claim_action.c.action.in_((*ar.CLOSING_ACTIONS, written_off)))
        .group_by(claim_action.c.claim_key)
        .subquery("closing_days")
    )


def accounts_query() -> Select[Any]:
    """Every account, one row each: primary claim key, charges, date of service, days sent, closed, written off."""
    accounts = claim_accounts()
    sent = _first_sent()
    closing = _closing_days()
    return (
        select(
            accounts.c.claim_key,
            accounts.c.charge_cents,
            accounts.c.first_service_date,
            sent.c.sent_on,
            closing.c.closed_on,
            closing.c.written_off_on,
        )
        .select_from(
            accounts.outerjoin(sent, sent.c.claim_key == accounts.c.claim_key).outerjoin(
                closing, closing.c.claim_key == accounts.c.claim_key
            )
        )
        .where(accounts.c.primary == 1)
    )


def movements_query() -> Select[Any]:
    """Money moved on each account per day: postings (by posting date) and patient payments, summed.

    Columns: ``account_key``, ``moved_on`` and the cents of ``MOVES``. Undated postings never count (as in
    ``ar.account_balances``, where a NULL date is never on or before the reference date).
    """
    posting = posting_facts()
    moves = (
        ar.posting_moves(claim_accounts(), posting, posting.c.posted_on)
        .union_all(ar.patient_payment_moves(patient_payment.c.payment_date))
        .subquery("account_move")
    )
    account_key, moved_on, *amounts = moves.c
    return (
        select(
            account_key.label("account_key"),
            moved_on.label("moved_on"),
            *(func.sum(column).label(name) for column, name in zip(amounts, MOVES, strict=True)),
        )
        .where(moved_on.is_not(None))
        .group_by(account_key, moved_on)
    )


def _ordinal(value: Any) -> int:
    day = as_date(value)
    return NEVER if day is None else day.toordinal()


@dataclass(frozen=True)
class _Accounts:
    index: dict[str, int]
    charge: Ints
    service: Ints  # day ordinals
    sent: Ints
    closed: Ints
    written_off: Ints


def _read_accounts(conn: Connection) -> _Accounts:
    index: dict[str, int] = {}
    columns: tuple[list[int], ...] = ([], [], [], [], [])
    for row in conn.execute(accounts_query()):
        index[str(row.claim_key)] = len(index)
        values = (
            int(row.charge_cents),
            _ordinal(row.first_service_date),
            _ordinal(row.sent_on),
            _ordinal(row.closed_on),
            _ordinal(row.written_off_on),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    charge, service, sent, closed, written_off = (np.array(c, dtype=np.int64) for c in columns)
    return _Accounts(index, charge, service, sent, closed, written_off)


def _read_movements(conn: Connection, accounts: _Accounts, days: list[int]) -> list[tuple[Ints, Ints]]:
    """Per reference day: the accounts (indexes) and cents that moved after the day before and by that day."""
    codes: list[int] = []
    slots: list[int] = []
    amounts: list[tuple[int, ...]] = []
    for row in conn.execute(movements_query()):
        code = accounts.index.get(str(row.account_key))
        slot = bisect_right(days, _ordinal(row.moved_on) - 1)  # the first reference day on or after the move
        if code is None or slot == len(days):  # no account (never billed), or after the last day
            continue
        codes.append(code)
        slots.append(slot)
        amounts.append(tuple(int(row._mapping[name] or 0) for name in MOVES))
    code_array = np.array(codes, dtype=np.int64)
    slot_array = np.array(slots, dtype=np.int64)
    amount_array = np.array(amounts, dtype=np.int64).reshape(len(amounts), len(MOVES))
    return [(code_array[slot_array == k], amount_array[slot_array == k]) for k in range(len(days))]


def _open_ar_on(accounts: _Accounts, moved: Ints, day: date, included: bool) -> ar.OpenAR:
    """``ar.account_balances`` and ``ar.open_ar_query`` on ``day``, for every account at once."""
    o = day.toordinal()
    paid, adjusted, to_patient, denied, patient_paid = moved.T
    closed = accounts.closed <= o
    written_off = accounts.written_off <= o
    balance = np.where(closed, 0, accounts.charge - paid - adjusted - patient_paid - np.where(written_off, denied, 0))
    owed_by_patient = np.where(closed, 0, to_patient - patient_paid)
    open_cents = np.maximum(balance, 0)
    patient_part = np.where(owed_by_patient <= 0, 0, np.minimum(owed_by_patient, open_cents))
    age = o - accounts.service
    sent = accounts.sent <= o
    insurance = np.where(sent, open_cents - patient_part, 0)
    patient = np.where(sent, patient_part, 0)
    over_90, over_120 = age > 90, age > 120
    recent = (age >= 0) & (age < ar.DAYS_OF_CHARGES)  # every primary claim, sent or not

    def dollars(cents_array: Ints) -> Any:
        return cents(int(cents_array.sum()))

    return ar.OpenAR(
        day,
        dollars(insurance),
        dollars(patient),
        dollars(insurance[over_90]),
        dollars(insurance[over_90] + patient[over_90]),
        dollars(insurance[over_120]),
        dollars(insurance[over_120] + patient[over_120]),
        dollars(accounts.charge[recent]),
        included,
    )


def open_ar_on_days(
    conn: Connection, days: Iterable[date], *, patient_included: bool | None = None
) -> dict[date, ar.OpenAR]:
    """Open A/R on each of ``days``, equal to ``ar.open_ar`` on each, from one read of the account ledger."""
    included = ar.patient_payments_loaded(conn) if patient_included is None else patient_included
    ordered = sorted(set(days))
    ordinals = [day.toordinal() for day in ordered]
    accounts = _read_accounts(conn)
    by_day = _read_movements(conn, accounts, ordinals)
    moved = np.zeros((len(accounts.index), len(MOVES)), dtype=np.int64)
    figures: dict[date, ar.OpenAR] = {}
    for day, (codes, amounts) in zip(ordered, by_day, strict=True):
        np.add.at(moved, codes, amounts)  # running sums: the movements up to this day
        figures[day] = _open_ar_on(accounts, moved, day, included)
    return figures
