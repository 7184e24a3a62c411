"""Done-when 2: every KPI equals a value computed by hand on the small dataset of ``warehouse_data.py``.

The dataset (AS_OF = 2026-06-30; P1 appeal window 60 days, P2 the default 90; P1 fee schedule 99213 = 80.00,
99214 = 120.00):

claim payer charge service    submitted  what happened
C1    P1    100    2026-06-01 2026-06-02 277CA accepted; paid 64 on 06-20 (CO-45 20, PR-2 16)
C2    P1    240    2026-06-05 2026-06-06 warning on its charge (an edit); accepted; paid 160 on 06-25:
                                         99214 150 paid 100 (CO-45 30, PR-1 20), 99213 90 paid 60 (CO-45 30)
C3    P2    300    2026-05-10 2026-05-11 accepted; denied CLP02 4 on 06-10, claim-level CO-50 300
C4    P1    150    2026-04-01 2026-04-02 accepted; paid 0 / PR 0 on 04-20 (a denial), line CO-16 150
C5    P2    500    2026-06-15 2026-06-16 submitted twice; first 277CA rejected, second accepted; open
C6    P2    400    2026-03-01 2026-03-02 999 rejected its interchange; open
C7    P1    250    2026-01-10 2026-01-12 accepted; never paid; open
C8    P1    120    2026-05-20 2026-05-21 accepted; paid 90 on 06-05 (CO-45 30); reversed, paid 120 on 06-15
C9    P2    80     2026-06-28 -          built only

Plus a remittance claim UNKNOWN1 (paid 50) that matches nothing: suspense, in no KPI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, text
from warehouse_data import AS_OF, build_kpi_dataset

from revcycle.warehouse import kpi
from revcycle.warehouse.schema import claim
from revcycle.warehouse.views import VIEWS

D = Decimal


def test_claim_statuses_follow_the_files(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    with warehouse.connect() as conn:
        statuses = dict(conn.execute(claim.select().with_only_columns(claim.c.claim_key, claim.c.status)).all())
    assert statuses == {
        "C1": "paid",
        "C2": "paid",
        "C3": "denied",
        "C4": "denied",
        "C5": "accepted",
        "C6": "rejected",
        "C7": "accepted",
        "C8": "paid",
        "C9": "built",
    }


def test_every_kpi_equals_its_hand_computed_value(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    with warehouse.connect() as conn:
        rates = kpi.claim_rates(conn)
        by_payer = kpi.initial_denials_by_payer(conn)
        by_reason = kpi.initial_denials_by_reason(conn)
        ncr = kpi.net_collection_rate(conn)
        ar_days = kpi.days_in_ar(conn, AS_OF)
        aging = kpi.ar_aging(conn, AS_OF)
        to_payment = kpi.days_to_payment(conn)
        under = kpi.underpayments(conn)
        worklist = kpi.denial_worklist(conn, AS_OF)
        payments = kpi.payments_by_date(conn)

    # Submitted: C1..C8 = 8 (C9 never sent).
    # Clean (one submission, accepted, never rejected, no edit): C1, C3, C4, C7, C8 = 5
    #   (C2 had an edit, C5 was rejected and resubmitted, C6 was rejected by the 999).
    # First pass (first 277CA accepted): C1, C2, C3, C4, C7, C8 = 6 (C5's first was a rejection, C6 had none).
    assert (rates.submitted, rates.clean, rates.first_pass_accepted) == (8, 5, 6)
    assert rates.clean_claim_rate == D(5) / D(8) == D("0.625")
    assert rates.first_pass_acceptance == D(6) / D(8) == D("0.75")

    # First adjudications. P1: C1 100, C2 240, C4 150 (denied), C8 120 (its first posting) -> 1 of 4 claims,
    # 150 of 610 dollars. P2: C3 300 denied -> 1 of 1, 300 of 300.
    assert [(d.payer_id, d.adjudicated_claims, d.denied_claims, d.adjudicated, d.denied) for d in by_payer] == [
        ("P1", 4, 1, D("610.00"), D("150.00")),
        ("P2", 1, 1, D("300.00"), D("300.00")),
    ]
    assert by_payer[0].claim_rate == D("0.25") and by_payer[0].dollar_rate == D(150) / D(610)
    assert by_payer[1].claim_rate == 1 and by_payer[1].dollar_rate == 1

    # By CAS group and reason over 5 adjudicated claims and 910 adjudicated dollars (610 + 300):
    # CO-50 on C3 (300), CO-16 on C4 (150).
    assert [(r.group_code, r.reason_code, r.denied_claims, r.denied) for r in by_reason] == [
        ("CO", "50", 1, D("300.00")),
        ("CO", "16", 1, D("150.00")),
    ]
    assert by_reason[0].claim_rate == D(1) / D(5) and by_reason[0].dollar_rate == D(300) / D(910)
    assert by_reason[1].dollar_rate == D(150) / D(910)

    # Standing postings: C1 (100 charged, 64 paid, CO 20), C2 (240, 160, CO 30 + 30), C3 (300, 0, CO 300),
    # C4 (150, 0, CO 150), C8's correction (120, 120, CO 0); C8's first posting and its reversal cancel out.
    # payments 64 + 160 + 120 = 344; charges 910; CO 20 + 60 + 300 + 150 = 530; NCR = 344 / (910 - 530).
    assert (ncr.payments, ncr.charges, ncr.contractual) == (D("344.00"), D("910.00"), D("530.00"))
    assert ncr.rate == D(344) / D(380)

    # Open insurance A/R: C5 500 + C6 400 + C7 250 = 1150. Charges with service in the 90 days before
    # 2026-06-30 (age 0..89): C1 100, C2 240, C3 300, C5 500, C8 120, C9 80 = 1340 (C4's 2026-04-01 is 90 days
    # old: out). Days in A/R = 1150 / (1340 / 90).
    assert (ar_days.open_ar, ar_days.charges_90_days) == (D("1150.00"), D("1340.00"))
    assert ar_days.days == D("1150.00") / (D("1340.00") / 90)
    assert round(ar_days.days, 2) == D("77.24")

    # Ages since submission on 2026-06-30: C5 06-16 -> 14; C6 03-02 -> 29 + 30 + 31 + 30 = 120 (still 91-120);
    # C7 01-12 -> 19 + 28 + 31 + 30 + 31 + 30 = 169.
    assert [(b.payer_id, b.bucket, b.claims, b.amount) for b in aging] == [
        ("P1", "over 120", 1, D("250.00")),
        ("P2", "0-30", 1, D("500.00")),
        ("P2", "91-120", 1, D("400.00")),
    ]

    # Paid postings, submission -> payment: C1 06-02 -> 06-20 = 18; C2 06-06 -> 06-25 = 19;
    # C8's correction 05-21 -> 06-15 = 25. P1: 62 days over 3 payments. P2 was never paid.
    assert [(d.payer_id, d.payments, d.total_days) for d in to_payment] == [("P1", 3, 62)]
    assert to_payment[0].average_days == D(62) / D(3)

    # Expected = contracted x units - PR. C1 99213: 80 - 16 = 64 = paid. C2 99214: 120 - 20 = 100 = paid;
    # C2 99213: 80 - 0 = 80 > 60 paid -> short 20. C8's correction 99214: 120 = paid (its reversed first
    # posting, 90, no longer stands).
    assert [(u.claim_key, u.procedure_code, u.expected, u.paid, u.shortfall) for u in under] == [
        ("C2", "99213", D("80.00"), D("60.00"), D("20.00"))
    ]

    # Worklist: C3 (P2, 90 days): 06-10 + 90 = 09-08, 70 days left, CO-50 recoverability 40 % ->
    # priority 300 x 0.40 = 120. C4 (P1, 60 days): 04-20 + 60 = 06-19, 11 days past: recoverability 0.
    assert [
        (w.claim_key, w.payer_id, w.reason, w.amount, w.appeal_deadline, w.days_left, w.recoverability_pct, w.priority)
        for w in worklist
    ] == [
        ("C3", "P2", "CO-50", D("300.00"), date(2026, 9, 8), 70, 40, D("120.00")),
        ("C4", "P1", "CO-16", D("150.00"), date(2026, 6, 19), -11, 0, D("0.00")),
    ]

    # Payments by BPR16 date, matched claims, net of the reversal: 04-20 C4 0; 06-05 C8 90;
    # 06-10 C3 0; 06-15 -90 + 120 = 30; 06-20 C1 64 (UNKNOWN1's 50 is not ours); 06-25 C2 160.
    assert payments == [
        (date(2026, 4, 20), D("0.00")),
        (date(2026, 6, 5), D("90.00")),
        (date(2026, 6, 10), D("0.00")),
        (date(2026, 6, 15), D("30.00")),
        (date(2026, 6, 20), D("64.00")),
        (date(2026, 6, 25), D("160.00")),
    ]


def test_the_payer_scorecard_combines_the_kpis(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    with warehouse.connect() as conn:
        card = {s.payer_id: s for s in kpi.payer_scorecard(conn)}
    # P1: submitted C1, C2, C4, C7, C8 = 5, all accepted by their first 277CA; 1 of 4 denied first;
    # paid 64 + 160 + 90 - 90 + 120 = 344; days 62 / 3; open A/R C7 250.
    p1 = card["P1"]
    assert (p1.submitted, p1.first_pass_acceptance, p1.initial_denial_rate, p1.paid, p1.open_ar) == (
        5,
        D(1),
        D("0.25"),
        D("344.00"),
        D("250.00"),
    )
    assert p1.average_days_to_payment == D(62) / D(3)
    # P2: submitted C3, C5, C6 = 3, first pass C3 only; 1 of 1 denied; paid 0; open C5 500 + C6 400.
    p2 = card["P2"]
    assert (p2.submitted, p2.first_pass_acceptance, p2.initial_denial_rate, p2.paid, p2.open_ar) == (
        3,
        D(1) / D(3),
        D(1),
        D("0.00"),
        D("900.00"),
    )
    assert p2.average_days_to_payment is None


def test_the_views_give_the_same_figures(warehouse: Engine) -> None:
    build_kpi_dataset(warehouse)
    today = datetime.now(UTC).date()  # the views' CURRENT_DATE
    with warehouse.connect() as conn:

        def view(name: str) -> list[tuple[object, ...]]:
            return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name}"))]

        assert set(VIEWS) <= {
            r[0]
            for r in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'view'")
                if conn.dialect.name == "sqlite"
                else text("SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()")
            )
        }
        claim_rates = view("kpi_claim_rates")
        assert [r[:3] for r in claim_rates] == [(8, 5, 6)]
        assert round(float(claim_rates[0][3]), 6) == 0.625  # type: ignore[arg-type]
        by_payer = sorted(view("kpi_initial_denials_by_payer"))
        assert [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in by_payer] == [  # type: ignore[call-overload]
            ("P1", 4, 1, 61000, 15000),
            ("P2", 1, 1, 30000, 30000),
        ]
        by_reason = sorted((r[0], r[1], int(r[2]), int(r[3])) for r in view("kpi_initial_denials_by_reason"))  # type: ignore[call-overload]
        assert by_reason == [("CO", "16", 1, 15000), ("CO", "50", 1, 30000)]
        assert [tuple(int(v) for v in r[:3]) for r in view("kpi_net_collection_rate")] == [(34400, 91000, 53000)]  # type: ignore[call-overload]
        assert [(r[0], int(r[1]), int(r[2])) for r in view("kpi_days_to_payment")] == [("P1", 3, 62)]  # type: ignore[call-overload]
        under = view("kpi_underpayments")
        assert [(r[0], r[2], int(r[6]), int(r[7])) for r in under] == [("C2", "99213", 8000, 6000)]  # type: ignore[call-overload]
        assert len(view("kpi_payments_by_date")) == 6
        # Date-dependent views: the same rows as the functions run for today.
        open_ar = view("kpi_days_in_ar")[0]
        assert int(open_ar[0]) == 115000  # type: ignore[call-overload]
        assert int(open_ar[1]) == int(kpi.days_in_ar(conn, today).charges_90_days * 100)  # type: ignore[call-overload]
        aging = sorted((r[0], r[1], int(r[2]), int(r[3])) for r in view("kpi_ar_aging"))  # type: ignore[call-overload]
        assert aging == sorted((b.payer_id, b.bucket, b.claims, int(b.amount * 100)) for b in kpi.ar_aging(conn, today))
        worklist = sorted(r[0] for r in view("kpi_denial_worklist"))
        assert worklist == ["C3", "C4"]
