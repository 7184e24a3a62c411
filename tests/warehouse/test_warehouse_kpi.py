"""Done-when 1 and 4: every KPI equals a value worked out by hand on the dataset of ``kpi_data.py``, on SQLite and
on PostgreSQL.

The dataset is described in kpi_data.py. The period is the 90 days to AS_OF: 2026-04-02 to 2026-06-30 (every
date in Chicago time). Read-only tests share one loaded warehouse per database (``kpi``); the tests that add
data build their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from kpi_data import AS_OF, PHI_VALUES, add_held_encounter, build_kpi_dataset, load_sample_patient_payments
from sqlalchemy import Engine, event, inspect, literal, select, text, update
from sqlalchemy.exc import DBAPIError
from warehouse_databases import empty_warehouse_url

from revcycle.clock import SimulatedClock
from revcycle.next_action import Action, Decision
from revcycle.warehouse import report as report_module
from revcycle.warehouse.actions import ClaimDecision, record_decisions
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.kpi import ar, claims, denials, payments, registry, summary, units, worklists
from revcycle.warehouse.kpi.common import ALL_TIME, Period
from revcycle.warehouse.kpi.facts import facts_read_once
from revcycle.warehouse.kpi.trends import weekly_trends
from revcycle.warehouse.report import collect_report
from revcycle.warehouse.schema import claim_action, source_file
from revcycle.warehouse.sqlfunc import local_date

D = Decimal
PERIOD = Period(date(2026, 4, 2), AS_OF)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def kpi(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The KPI dataset, loaded once per database for the read-only tests of this module."""
    with empty_warehouse_url(request.param, tmp_path_factory) as url:
        engine = create_warehouse_engine(url)
        upgrade_warehouse(engine)
        build_kpi_dataset(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def test_every_registry_figure_equals_its_hand_computed_value(kpi: Engine) -> None:
    with kpi.connect() as conn:
        measured = registry.measure(conn, PERIOD, AS_OF)
    f = measured.figures
    assert set(f) == set(registry.BY_KEY)
    assert not measured.patient_included

    # Clean-claim rate. Entered the edits in the period (first build date, or the held export's date):
    # A1 06-01, A2 06-05, A3 05-10, A5 06-15, A8 05-20, A9 06-28, D1 06-01, E1 05-01, K1 05-05, R1 05-15,
    # S1 05-01, T1 06-15 and the held encounter EH1 06-10 = 13 (A4 04-01, A6 03-20, A7 01-10 are before).
    # Clean (no edit, not held, first submission accepted): A1 A3 A8 D1 E1 K1 R1 S1 T1 = 9. Not clean: A2
    # (a warning), A5 (first 277CA rejected), EH1 (held). A9 is not sent: pending, left out. 9 / 12.
    assert (f["clean_claim_rate"].numerator, f["clean_claim_rate"].denominator) == (9, 12)
    assert f["clean_claim_rate"].value == D("0.75")
    assert f["clean_claim_rate"].note == "1 pending"

    # First-pass acceptance. First submitted in the period: A1 A2 A3 A4(04-02) A5 A8 D1 E1 K1 R1 S1 T1 = 12;
    # all accepted by the 277CA except A5 -> 11 / 12 (A2's warning does not count here).
    assert (f["first_pass_acceptance"].numerator, f["first_pass_acceptance"].denominator) == (11, 12)

    # First-pass resolution. First adjudications dated in the period: A4 04-20, E1 05-20, K1 05-25, R1 06-01,
    # A8 06-05 (its first posting), A3 06-10, A1 06-20, D1 06-22, A2 06-25, T1 06-29 = 10. Not resolved: A3
    # (CO-50) and A4 (CO-16). D1 (deductible) and E1 (PR-50) resolve. 8 / 10.
    assert (f["first_pass_resolution"].numerator, f["first_pass_resolution"].denominator) == (8, 10)
    assert f["first_pass_resolution"].value == D("0.8")

    # Initial denials over claims submitted: the 12 first submitted above; A3 and A4 were denied first
    # (nothing paid, a denial code). 2 / 12. Dollars: 300 + 150 = 450 over 100 + 240 + 300 + 150 + 500 + 120
    # + 200 + 90 + 100 + 50 + 60 + 100 = 2010. A5 and S1 are not adjudicated yet.
    sub = f["initial_denial_rate_submitted"]
    assert (sub.numerator, sub.denominator, sub.note) == (2, 12, "2 not adjudicated yet")
    dollars = f["initial_denial_rate_submitted_dollars"]
    assert (dollars.numerator, dollars.denominator) == (D("450.00"), D("2010.00"))
    assert dollars.value == D(450) / D(2010)

    # Over claims remitted: the 10 first adjudications above, 2 denied; dollars: CLP03 of the first
    # adjudications 150 + 90 + 100 + 50 + 120 + 300 + 100 + 200 + 240 + 100 = 1450, denied 450.
    assert (f["initial_denial_rate_remitted"].numerator, f["initial_denial_rate_remitted"].denominator) == (2, 10)
    remitted = f["initial_denial_rate_remitted_dollars"]
    assert (remitted.numerator, remitted.denominator) == (D("450.00"), D("1450.00"))

    # Denial write-offs: A4 written off on 06-22, its denied 150. Charges with a date of service in the period
    # (every claim is its own account): A1 100, A2 240, A3 300, A5 500, A8 120, A9 80, D1 200, E1 90, K1 100,
    # R1 50, S1 60, T1 100 = 1940. Contractual adjustments posted in the period: A1 20, A2 30 + 30, A8 30 - 30
    # (reversed) + 0, D1 50, T1 20 = 150. Net revenue 1940 - 150 = 1790.
    assert (f["denial_write_offs_net_revenue"].numerator, f["denial_write_offs_net_revenue"].denominator) == (
        D("150.00"),
        D("1790.00"),
    )
    assert f["denial_write_offs_charges"].value == D(150) / D(1940)

    # Net collection rate, insurance only: payments on our claims dated in the period: A1 64, A2 160, A8 90 - 90
    # + 120, K1 80, R1 50 - 50, T1 80 = 504 (UNKNOWN1's 50 is in suspense). 504 / 1790.
    ncr = f["net_collection_rate"]
    assert (ncr.numerator, ncr.denominator, ncr.value) == (D("504.00"), D("1790.00"), D(504) / D(1790))
    assert ncr.qualifier == "insurance only: no patient payments loaded"

    # Cash collected: BPR02 of the 835s dated in the period: D 0, H 0, J 80, K 50, E 90, C 0, F (-90 + 120
    # - PLB 25) 5, A (64 + UNKNOWN1 50) 114, G 0, B (160 - R1's reversal 50) 110, I 80 = 529.
    assert f["cash_collected"].value == D("529.00")

    # Days from first submission to first payment, claims first paid in the period: K1 05-06 -> 05-25 = 19,
    # R1 05-16 -> 06-01 = 16, A8 05-21 -> 06-05 = 15, A1 06-02 -> 06-20 = 18, A2 06-06 -> 06-25 = 19,
    # T1 06-15 (21:30 Chicago) -> 06-29 = 14. Sorted 14 15 16 18 19 19: nearest rank, median = rank
    # ceil(0.5 x 6) = 3 -> 16; 90th = rank ceil(0.9 x 6) = 6 -> 19.
    assert (f["days_to_payment_median"].value, f["days_to_payment_p90"].value) == (D(16), D(19))

    # Open A/R on 06-30, insurance only: A3 300 (denied, not written off), A5 500, A6 400, A7 250, R1 50
    # (reversed), S1 60 = 1560. Days in A/R = 1560 / (1940 / 90). Over 90 days from the date of service: A6
    # (03-20: 102 days) 400 + A7 (01-10: 171 days) 250 = 650; over 120: A7 250.
    assert f["open_ar"].value == D("1560.00")
    assert (f["days_in_ar"].numerator, f["days_in_ar"].denominator) == (D("1560.00"), D("1940.00"))
    assert f["days_in_ar"].value == D(1560) * 90 / D(1940)
    assert round(f["days_in_ar"].value, 1) == D("72.4")
    assert f["ar_over_90"].value == D(650) / D(1560)
    assert f["ar_over_120"].value == D(250) / D(1560)


def test_patient_payments_complete_net_collection_ar_and_credit_balances(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    load_sample_patient_payments(warehouse)
    with warehouse.connect() as conn:
        measured = registry.measure(conn, PERIOD, AS_OF)
        credits = worklists.credits(conn, AS_OF)
    f = measured.figures
    assert measured.patient_included
    # Patient payments in the period: 100 + 90 + 20 + 20 = 230. NCR = (504 + 230) / 1790; cash 529 + 230.
    assert (f["net_collection_rate"].numerator, f["net_collection_rate"].value) == (D("734.00"), D(734) / D(1790))
    assert f["net_collection_rate"].qualifier == "insurance and patient payments"
    assert f["cash_collected"].value == D("759.00")
    # Patient A/R: A1 16 (PR-2), A2 20 (PR-1), D1 150 - 100 = 50, E1 90 - 90 = 0; K1 paid 20 twice on a 20
    # copay: 100 - 80 - 40 = -20, a credit balance, not A/R. Open = 1560 + 86 = 1646; over 90 still 650.
    assert f["open_ar"].value == D("1646.00")
    assert f["days_in_ar"].value == D(1646) * 90 / D(1940)
    assert f["ar_over_90"].value == D(650) / D(1646)
    # Credits, oldest first: K1's credit (dated by its service, 05-05), the PLB WO (06-15), R1's reversal (06-25).
    assert [(row[0], row[2], row[4]) for row in credits.rows] == [
        ("K1", "credit balance", "$20.00"),
        ("A1", "PLB WO", "$25.00"),
        ("R1", "payment reversed", "$50.00"),
    ]
    assert (credits.count, credits.oldest) == (3, date(2026, 5, 5))


def test_a_deductible_only_claim_is_not_a_denial(kpi: Engine) -> None:
    # D1: CLP02 4, nothing paid, CO-45 50 and PR-1 150: the whole allowed amount went to the deductible.
    with kpi.connect() as conn:
        outcomes = denials.initial_outcomes()
        row = conn.execute(select(outcomes).where(outcomes.c.claim_key == "D1")).one()
        balances = ar.account_balances(AS_OF)
        d1 = conn.execute(select(balances).where(balances.c.claim_key == "D1")).one()
    assert (row.denied, row.denial_cents) == (0, 0)
    # Its balance is the patient's: 200 - 50 contractual = 150, all patient responsibility.
    assert (d1.insurance_cents, d1.patient_cents) == (0, 15000)


def test_a_held_encounter_lowers_the_clean_claim_rate(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse, with_held_encounter=False)
    with warehouse.connect() as conn:
        without = claims.clean_claims(conn, PERIOD)
    # Without EH1: 9 clean of 11 decided (A2, A5 not clean; A9 pending).
    assert (without.clean, without.decided, without.held) == (9, 11, 0)
    with warehouse.begin() as conn:
        export = conn.execute(select(source_file.c.id).where(source_file.c.name == "export.csv")).scalar_one()
        add_held_encounter(conn, export)
    with warehouse.connect() as conn:
        held = claims.clean_claims(conn, PERIOD)
    # EH1 entered the edits (its export came on 06-10) and was not clean: 9 / 12 < 9 / 11.
    assert (held.clean, held.decided, held.held, held.entered) == (9, 12, 1, 13)
    assert held.rate is not None and without.rate is not None and held.rate < without.rate


def test_a_denied_claim_stays_in_ar_until_it_is_written_off(kpi: Engine) -> None:
    with kpi.connect() as conn:

        def balance(key: str, day: date) -> int:
            balances = ar.account_balances(day)
            row = conn.execute(select(balances.c.insurance_cents).where(balances.c.claim_key == key)).first()
            return int(row[0]) if row else 0

        # A3: denied on 06-10, next action work_denial: its 300 stays open.
        assert balance("A3", AS_OF) == 30000
        # A4: denied on 04-20, written off on 06-22: open until 06-21, gone from 06-22.
        assert balance("A4", date(2026, 6, 21)) == 15000
        assert balance("A4", date(2026, 6, 22)) == 0


def test_denial_reasons_are_denial_categories_only(kpi: Engine) -> None:
    with kpi.connect() as conn:
        reasons = denials.denials_by_reason(conn, ALL_TIME)
        work = worklists.denial_items(conn, AS_OF)
    # CO-45 (on A1, A2, A8, D1, T1) and PR-50 (E1), PR-1, PR-2, PR-3 are not denial reasons; CO-50 and CO-16 are,
    # each read with its remark code.
    assert [(r.label, r.denial_kind, r.claims, r.amount, r.remarks) for r in reasons] == [
        ("CO-50", "medical_necessity", 1, D("300.00"), ("N115",)),
        ("CO-16", "missing_information", 1, D("150.00"), ("N290",)),
    ]
    # The denial worklist: A3 (work_denial): CO-50, deadline 06-10 + 90 = 09-08, 70 days left, CO-50
    # recoverability 40 % -> priority 300 x 0.40 = 120.
    assert [(w.claim_key, w.reason, w.remarks, w.denied, w.appeal_deadline, w.days_left, w.priority) for w in work] == [
        ("A3", "CO-50", ("N115",), D("300.00"), date(2026, 9, 8), 70, D("120.00"))
    ]


def test_a_2130_chicago_upload_is_dated_that_day(kpi: Engine) -> None:
    # T1 was uploaded at 21:30 on 06-15 in Chicago, 02:30 UTC on 06-16.
    with kpi.connect() as conn:
        first = units.first_submissions()
        t1 = conn.execute(select(first.c.submitted_on).where(first.c.claim_key == "T1")).scalar_one()
        on_15th = claims.first_pass(conn, Period(date(2026, 6, 15), date(2026, 6, 15)))
        on_16th = claims.first_pass(conn, Period(date(2026, 6, 16), date(2026, 6, 16)))
        p2 = [d for d in payments.days_to_payment_by_payer(conn, PERIOD) if d.scope == "P2"]
    assert str(t1)[:10] == "2026-06-15"
    assert on_15th.submitted == 1  # T1
    assert on_16th.submitted == 1  # A5 only (sent at 10:00 on 06-16)
    # Paid 06-29: 14 days after 06-15 (13 if the UTC date were taken).
    assert [(d.claims, d.median) for d in p2] == [(1, 14)]


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 6, 16, 2, 30, tzinfo=UTC),  # 21:30 CDT on 06-15
        datetime(2026, 6, 16, 5, 0, tzinfo=UTC),  # midnight CDT: 06-16
        datetime(2026, 3, 8, 7, 59, tzinfo=UTC),  # 01:59 CST, the minute before daylight saving time
        datetime(2026, 3, 8, 8, 0, tzinfo=UTC),  # 03:00 CDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 00:30 CDT on 11-01
        datetime(2026, 11, 2, 5, 30, tzinfo=UTC),  # 23:30 CST on 11-01, after the change back
        datetime(2026, 12, 31, 23, 59, tzinfo=UTC),  # 17:59 CST
    ],
)
def test_sql_dates_instants_as_the_clock_does(kpi: Engine, instant: datetime) -> None:
    clock = SimulatedClock(instant, "America/Chicago")
    with kpi.connect() as conn:
        sql = conn.execute(select(local_date(literal(instant)))).scalar_one()
    assert str(sql)[:10] == clock.local_date(instant).isoformat()


def test_weekly_trends(kpi: Engine) -> None:
    with kpi.connect() as conn:
        trends = weekly_trends(conn, AS_OF)
    weeks = trends.weeks
    assert (len(weeks), weeks[0], weeks[-1]) == (13, date(2026, 4, 6), date(2026, 6, 29))

    def at(series: list[Decimal | None] | list[Decimal], monday: date) -> Decimal | None:
        return series[weeks.index(monday)]

    # Initial denials over claims remitted, by week of the first adjudication. P1: week of 04-20 A4 denied
    # (1/1); 05-25 K1 (0/1); 06-01 R1 and A8 (0/2). P2: 05-18 E1 (0/1); 06-08 A3 (1/1); 06-29 T1 (0/1).
    p1, p2 = trends.denial_rate_by_payer["P1"], trends.denial_rate_by_payer["P2"]
    assert (at(p1, date(2026, 4, 20)), at(p1, date(2026, 6, 1)), at(p1, date(2026, 4, 27))) == (1, 0, None)
    assert (at(p2, date(2026, 5, 18)), at(p2, date(2026, 6, 8)), at(p2, date(2026, 6, 29))) == (0, 1, 0)
    # Clean-claim rate by week entered: 06-01 A1, D1 clean, A2 edited (2/3); 06-08 EH1 held (0/1); 06-15 T1
    # clean, A5 rejected (1/2); 06-22 only A9, pending: no value.
    assert at(trends.clean_claim_rate, date(2026, 6, 1)) == D(2) / D(3)
    assert at(trends.clean_claim_rate, date(2026, 6, 8)) == 0
    assert at(trends.clean_claim_rate, date(2026, 6, 15)) == D("0.5")
    assert at(trends.clean_claim_rate, date(2026, 6, 22)) is None
    # Cash by week: 06-01 K (50) + E (90) = 140; 06-15 F (5) + A (114) = 119; 06-22 G (0) + B (110) = 110.
    assert [at(trends.cash_collected, date(2026, 6, d)) for d in (1, 15, 22)] == [D(140), D(119), D(110)]
    # Median days to payment by week of first payment: 06-01 R1 16, A8 15 -> rank 1 of 2 -> 15; 06-29 T1 14.
    assert (at(trends.days_to_payment, date(2026, 6, 1)), at(trends.days_to_payment, date(2026, 6, 29))) == (15, 14)
    # A/R over 90 days on Sunday 05-31: sent by then A3 300, A4 150 (denied 04-20, written off only 06-22),
    # A6 400, A7 250, A8 120, R1 50, S1 60 = 1330 insurance (E1, K1: patient only); over 90 days from service:
    # A7 (141 days) 250. On 04-12: A4 150, A6 400, A7 250 (92 days) -> 250 / 800.
    assert at(trends.ar_over_90, date(2026, 5, 25)) == D(250) / D(1330)
    assert at(trends.ar_over_90, date(2026, 4, 6)) == D(250) / D(800)
    for series in (p1, trends.clean_claim_rate, trends.cash_collected, trends.days_to_payment, trends.ar_over_90):
        assert trends.points(series) > 1


def test_worklists_list_each_item_with_its_count_and_oldest(kpi: Engine) -> None:
    with kpi.connect() as conn:
        lists = {w.name: w for w in worklists.all_worklists(conn, AS_OF)}
    assert list(lists) == list(worklists.WORKLIST_NAMES)
    rejections = lists["rejections"]
    # A6: the 999 (loaded 03-23) rejected its interchange with code R.
    assert [(r[0], r[2], r[3], r[4]) for r in rejections.rows] == [("A6", "2026-03-23", "999", "R")]
    assert "syntax" in rejections.rows[0][5]
    assert (lists["denials"].count, lists["denials"].oldest) == (1, date(2026, 6, 10))
    held = lists["held"]
    assert [(r[0], r[5], r[6]) for r in held.rows] == [
        ("H1-1", "rejected", "charges: npi_check_digit (billing_npi)"),
        ("H1-2", "held", "encounter held: charge H1-1 rejected"),
    ]
    assert held.oldest == date(2026, 6, 10)
    # Silent: A7 (inquire, sent 01-12: 169 days) and S1 (await_response due 06-01, past); A5's answer is due
    # 07-18, not late.
    silent = lists["silent"]
    assert [(r[0], r[2], r[3]) for r in silent.rows] == [("A7", "2026-01-12", "169"), ("S1", "2026-05-02", "59")]
    assert silent.oldest == date(2026, 1, 12)
    # Credits without patient payments: the PLB WO naming A1's payer claim number, R1's reversal.
    credits = lists["credits"]
    assert [(r[0], r[2], r[3], r[4]) for r in credits.rows] == [
        ("A1", "PLB WO", "2026-06-15", "$25.00"),
        ("R1", "payment reversed", "2026-06-25", "$50.00"),
    ]


def test_worklists_never_show_phi_but_the_export_does(kpi: Engine) -> None:
    with kpi.connect() as conn:
        lists = worklists.all_worklists(conn, AS_OF)
        exported = {w.name: worklists.phi_rows(conn, w) for w in lists}
    shown = " ".join(" ".join(row) for w in lists for row in w.rows)
    assert not any(value in shown for value in PHI_VALUES)
    assert exported["denials"][0]["patient_last_name"] == "DOE"
    assert exported["held"][0]["encounter_id"] == "EH1"
    assert exported["credits"][1]["member_id"] == "M0001"  # R1


def test_claim_decisions_are_upserted_and_keep_their_date(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    first = datetime(2026, 7, 1, 15, tzinfo=UTC)
    later = datetime(2026, 7, 2, 15, tzinfo=UTC)
    inquire = Decision(Action.INQUIRE, "claim A5: no answer", "test source")
    with warehouse.begin() as conn:
        assert record_decisions(conn, [ClaimDecision("A5", inquire)], first) == 1
    with warehouse.begin() as conn:  # the same action again: decided_at stays; a new action: it moves
        record_decisions(conn, [ClaimDecision("A5", inquire), ClaimDecision("A1", inquire)], later)
        record_decisions(
            conn, [ClaimDecision("A3", Decision(Action.WRITTEN_OFF, "closed", "test"), date(2026, 9, 8))], later
        )
    with warehouse.connect() as conn:
        rows = {
            r.claim_key: r
            for r in conn.execute(select(claim_action).where(claim_action.c.claim_key.in_(["A1", "A3", "A5"])))
        }
    assert (rows["A5"].action, rows["A5"].kind, str(rows["A5"].decided_at)[:10]) == (
        "inquire",
        "pipeline",
        "2026-07-01",
    )
    assert (rows["A1"].action, str(rows["A1"].decided_at)[:10]) == ("inquire", "2026-07-02")
    assert (rows["A3"].action, rows["A3"].kind, str(rows["A3"].decided_at)[:10]) == (
        "written_off",
        "final",
        "2026-07-02",
    )
    assert rows["A3"].due_on == date(2026, 9, 8)


def test_the_same_figures_on_sqlite_and_postgresql(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Done-when 4: the same data gives the same figures, trends and worklists on both databases."""
    results = []
    for dialect in ("sqlite", "postgresql"):
        with empty_warehouse_url(dialect, tmp_path_factory) as url:
            engine = create_warehouse_engine(url)
            try:
                upgrade_warehouse(engine)
                build_kpi_dataset(engine)
                load_sample_patient_payments(engine)
                with engine.connect() as conn:
                    figures = {
                        k: (v.value, v.numerator, v.denominator)
                        for k, v in registry.measure(conn, PERIOD).figures.items()
                    }
                    trends = weekly_trends(conn, AS_OF)
                    lists = [(w.name, w.rows, w.oldest) for w in worklists.all_worklists(conn, AS_OF)]
                    by_payer = denials.initial_denials_by_payer(conn, denials.SUBMITTED, PERIOD)
                    aging = ar.ar_aging(conn, AS_OF)
                results.append((figures, trends, lists, by_payer, aging))
            finally:
                engine.dispose()
    assert results[0] == results[1]


def test_a_days_in_ar_without_recent_charges_says_what_is_open(kpi: Engine) -> None:
    # On 2026-12-31 no claim has a date of service in the 90 days before, and money is still open.
    with kpi.connect() as conn:
        late = ar.open_ar(conn, date(2026, 12, 31), patient_included=False)
    assert late.days is None
    assert late.days_note() == "no charges with a date of service from 2026-10-03 to 2026-12-31; $1,560.00 open"


def test_writing_off_a_claim_moves_it_out_of_ar_and_into_write_offs(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    with warehouse.begin() as conn:
        conn.execute(
            update(claim_action)
            .where(claim_action.c.claim_key == "A3")
            .values(action="written_off", kind="final", decided_at=datetime(2026, 6, 29, 15, tzinfo=UTC))
        )
    with warehouse.connect() as conn:
        write_offs = denials.denial_write_offs(conn, PERIOD)
        open_ar = ar.open_ar(conn, AS_OF, patient_included=False)
    # A4 150 + A3 300 written off; A3's 300 leaves A/R: 1560 - 300.
    assert (write_offs.claims, write_offs.written_off) == (2, D("450.00"))
    assert open_ar.insurance == D("1260.00")


def test_the_report_shows_the_kpi_summary_it_is_handed_and_does_not_read_it_again(
    kpi: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The nightly's publish-kpis task computes the summary just before publish-report (issue 15: it was read
    # twice per night). Without it, the report reads the summary itself: both must show the same rows.
    with kpi.connect() as conn:
        rows = summary.kpi_summary(conn).rows()
        read_itself = collect_report(conn, AS_OF).run_summary

        def read_again(_conn: object) -> summary.KpiSummary:
            raise AssertionError("the report read the KPI summary a second time")

        monkeypatch.setattr(summary, "kpi_summary", read_again)
        handed = collect_report(conn, AS_OF, run_summary=rows).run_summary
    assert handed == read_itself == rows


def test_the_overall_initial_denial_rates_summed_from_the_payers_equal_the_overall_query(kpi: Engine) -> None:
    # The report reads the initial denials per payer once and sums them for the registry's overall figures
    # (issue 15); the overall SQL query they replace must give the same counts, charges and pending claims.
    with kpi.connect() as conn:
        for period in (PERIOD, ALL_TIME):
            for base in (denials.SUBMITTED, denials.REMITTED):
                overall, by_payer = denials.initial_denials_with_total(conn, base, period)
                assert overall == denials.initial_denial_rate(conn, base, period)
                assert by_payer == denials.initial_denials_by_payer(conn, base, period)
                assert overall.claims == sum(r.claims for r in by_payer.values()) > 0
        report = collect_report(conn, AS_OF)
        measured = registry.measure(conn, PERIOD, AS_OF)
    assert report.period == PERIOD
    assert report.measured.figures == measured.figures


def test_the_report_computes_the_shared_facts_once_with_the_same_figures(
    kpi: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # collect_report stores the posting facts and first adjudications once in temporary tables (issue 15,
    # kpi/facts.py); each figure must equal the one its query computes on its own, on both databases.
    statements: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(kpi, "before_cursor_execute", note)
    try:
        with kpi.connect() as conn:
            once = collect_report(conn, AS_OF)
            assert not [name for name in inspect(conn).get_temp_table_names() if name.startswith("kpi_")]
    finally:
        event.remove(kpi, "before_cursor_execute", note)
    # the posting facts' adjudication categories (subquery posting_categories) are computed by one statement,
    # the INSERT that stores them, where every query computed them again before
    computing = [s for s in statements if "posting_categories" in s]
    assert len(computing) == 1 and computing[0].startswith("INSERT INTO kpi_posting")
    monkeypatch.setattr(report_module, "facts_read_once", lambda conn: contextlib.nullcontext())
    with kpi.connect() as conn:
        each = collect_report(conn, AS_OF)
    assert once.denials_by_reason and once.denials_remitted  # figures read from both stored facts
    assert once == each


def test_an_error_while_the_report_is_read_is_the_error_raised(kpi: Engine) -> None:
    # on PostgreSQL a failed statement aborts the transaction: dropping the temporary facts then would fail too,
    # and that second error would hide the first one
    with kpi.connect() as conn, pytest.raises(DBAPIError, match="no_such_table"), facts_read_once(conn):
        conn.execute(text("SELECT * FROM no_such_table"))
    with kpi.connect() as conn:  # the next report on the pool still works
        assert collect_report(conn, AS_OF).denials_remitted
