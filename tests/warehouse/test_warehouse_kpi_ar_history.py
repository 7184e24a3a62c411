"""Open A/R on many dates from one ledger read (``ar_history``) equals ``ar.open_ar`` run on each date, and the
open A/R, aging, payer A/R and credit balances from one read of the balances (``ar.balances_on``) equal their SQL
queries, on SQLite and on PostgreSQL.

The KPI dataset of ``kpi_data.py`` (claims sent from January to June) with patient payments loaded, and two
changes so that every rule of ``ar.account_balances`` is crossed within the thirteen weeks of the trends:
- A2 becomes A1's secondary claim (same encounter and billing provider, built later): its charges are not A/R,
  its 06-25 payment of 160 counts on A1's account, whose balance turns into a credit;
- V1, 70.00 (service 05-04, sent 05-05), is voided on 06-03: open until 06-02, gone from 06-03.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kpi_data import AS_OF, build_kpi_dataset, load_sample_patient_payments, local_10am
from sqlalchemy import Engine, insert, select, update
from warehouse_data import add_claim

from revcycle.next_action import KIND, Action
from revcycle.warehouse.kpi import ar
from revcycle.warehouse.kpi.ar_history import open_ar_on_days
from revcycle.warehouse.kpi.common import cents, total
from revcycle.warehouse.kpi.trends import week_of
from revcycle.warehouse.schema import claim, claim_action

D = Decimal


def _secondary_and_voided_claims(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(claim)
            .where(claim.c.claim_key == "A2")
            .values(encounter_id="EA1", built_at=datetime(2026, 6, 5, 18, tzinfo=UTC))
        )
        add_claim(conn, "V1", "P1", [("99212", "70")], date(2026, 5, 4), datetime(2026, 5, 5, 15, tzinfo=UTC))
        conn.execute(
            insert(claim_action).values(
                claim_key="V1",
                action=Action.VOIDED.value,
                kind=KIND[Action.VOIDED].value,
                reason="claim V1: test",
                source="test",
                decided_at=local_10am(date(2026, 6, 3)),
            )
        )


def test_open_ar_on_every_week_equals_open_ar_on_each_day(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    load_sample_patient_payments(warehouse)
    _secondary_and_voided_claims(warehouse)
    # The trends' thirteen Sundays (the last week ends on AS_OF), the days around V1's void and A1's credit,
    # a day before any claim and one long after the last.
    sundays = [week_of(AS_OF) - timedelta(weeks=n) + timedelta(days=6) for n in range(1, 13)]
    days = [*sundays, AS_OF, date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 25), date(2025, 12, 1)]
    days.append(date(2026, 12, 31))
    with warehouse.connect() as conn:
        grouped = open_ar_on_days(conn, days)
        one_by_one = {day: ar.open_ar(conn, day) for day in days}
    assert grouped == one_by_one

    # By hand, Sunday 05-31. Sent by then and open: A3 300, A4 150 (denied, written off only on 06-22), A6 400,
    # A7 250, A8 120 (paid 06-05), R1 50 (paid 06-01), S1 60, V1 70 = 1400 insurance. E1: 90, all PR-50, its
    # patient payment comes on 06-01: 90 patient. K1: 100 - 80 paid - 20 paid by the patient on 05-05 = 0.
    # Over 90 days from service (before 03-02): A7 (01-10) 250, also over 120 (before 01-31).
    # Charges of primary claims served 03-03 to 05-31: A3 300, A4 150, A6 400, A8 120, E1 90, K1 100, R1 50,
    # S1 60, V1 70 = 1340.
    may_31 = grouped[date(2026, 5, 31)]
    assert (may_31.insurance, may_31.patient, may_31.over_90, may_31.over_120) == (D(1400), D(90), D(250), D(250))
    assert may_31.charges_90_days == D(1340)
    assert may_31.share_over_90 == D(250) / D(1490)
    # V1 leaves A/R on the day it is voided.
    assert grouped[date(2026, 6, 2)].insurance - grouped[date(2026, 6, 3)].insurance == D(70)


def test_aging_payer_ar_and_credits_from_one_read_equal_their_sql_queries(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    load_sample_patient_payments(warehouse)
    _secondary_and_voided_claims(warehouse)
    days = [date(2026, 4, 12), date(2026, 5, 31), date(2026, 6, 21), AS_OF, date(2026, 12, 31)]
    with warehouse.connect() as conn:
        for day in days:
            read = ar.balances_on(conn, day)
            sql_aging = [
                (r.payer_id, r.bucket, r.accounts, cents(r.insurance_cents), cents(r.patient_cents))
                for r in conn.execute(ar.ar_aging_query(day).order_by("payer_id", "bucket"))
            ]
            aging = [(b.payer_id, b.bucket, b.accounts, b.insurance, b.patient) for b in ar.ar_aging(conn, day, read)]
            assert sorted(aging) == sorted(sql_aging), day
            balances = ar.account_balances(day)
            by_payer = select(balances.c.payer_id, total(balances.c.insurance_cents)).group_by(balances.c.payer_id)
            sql_by_payer = {r[0]: cents(r[1]) for r in conn.execute(by_payer)}
            assert ar.open_by_payer(conn, day, read) == sql_by_payer, day
            assert ar.open_ar(conn, day, balances=read) == ar.open_ar(conn, day), day
            negative = select(balances.c.claim_key, balances.c.balance_cents).where(balances.c.balance_cents < 0)
            sql_credits = sorted((r[0], -cents(r[1])) for r in conn.execute(negative))
            assert [(c[0], c[3]) for c in ar.credit_balances(conn, day, read)] == sql_credits, day
        aging_may_31 = ar.ar_aging(conn, date(2026, 5, 31))
        credits = ar.credit_balances(conn, AS_OF)
    # By hand, 05-31: A7 (service 01-10, 141 days) is P1's only account over 120 days: 250 insurance.
    assert [(b.accounts, b.amount) for b in aging_may_31 if (b.payer_id, b.bucket) == ("P1", "over 120")] == [
        (1, D(250))
    ]
    # By hand, on AS_OF: A1's account (charges 100) got A1's 64 paid and CO-45 20, and its secondary A2's 160
    # paid: 100 - 64 - 20 - 160 = -144. K1: 100 - 80 paid - 40 paid by the patient = -20.
    assert [(key, credit) for key, _payer, _served, credit in credits] == [("A1", D(144)), ("K1", D(20))]
