"""The KPI registry: every figure defined once (name, formula, unit, period, source); the views, the report,
the CLI and docs/kpis.md all come from it.

Sources are cited by publication. This project was written without internet access: the HFMA and MGMA
definitions below are paraphrased from the published texts as cited (the HFMA MAP Keys definitions
document, the HFMA Claim Integrity Task Force report, the MGMA Cost and Revenue Survey glossary), not
quoted; where we depart from a published definition, the ``notes`` say how and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection

from revcycle.warehouse.kpi import ar, claims, denials, payments
from revcycle.warehouse.kpi.common import Figure, Period, rate

PERCENT = "percent"
DAYS = "days"
DOLLARS = "dollars"

SRC_MAP_KEYS = "HFMA MAP Keys (Healthcare Financial Management Association, MAP Keys definitions document)"
SRC_TASK_FORCE = (
    "HFMA Claim Integrity Task Force, 'Standardizing Denial Metrics for Revenue Cycle Benchmarking and "
    "Process Improvement' (HFMA, 2021)"
)
SRC_MGMA = "MGMA Cost and Revenue Survey, glossary of formulas (Medical Group Management Association)"


@dataclass(frozen=True)
class KpiDefinition:
    """One KPI, defined once."""

    key: str
    name: str
    family: str  # claims, denials, ar, payments
    unit: str  # percent, days, dollars
    formula: str
    period: str  # what the period (or the reference date) selects
    source: str
    citation: str  # the source in a few words, for tables
    notes: str = ""
    views: tuple[str, ...] = ()


REGISTRY: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        key="clean_claim_rate",
        name="Clean-claim rate",
        family="claims",
        unit=PERCENT,
        formula="claims clean on first pass ÷ claims that entered the edits",
        period="claims that entered the edits in the period: the day the claim was first built, or for a held "
        "encounter the day its export was received",
        citation="HFMA MAP Key CL-1",
        source=f"{SRC_MAP_KEYS}, Clean Claim Rate (CL-1): claims that pass the edits requiring no manual "
        "intervention ÷ total claims accepted into the claims scrubber tool for billing (paraphrased)",
        notes="The unit is the claim (encounter × payer × billing provider), first version. Clean: no finding of "
        "the charges suite on its charges (an error or a warning: a warning is a touch), not held, and its first "
        "submission accepted by the 999 and the 277CA with no TA1, 999 or 277CA rejection. A held encounter "
        "(encounter × payer, no claim built) counts as a claim that entered the edits and was not clean. Claims "
        "not yet answered and not already known to be unclean are left out until the 277CA answers (shown as "
        "pending). No other touch is counted: revcycle has no manual claim editing.",
        views=("kpi_claim_units", "kpi_clean_claims_weekly"),
    ),
    KpiDefinition(
        key="first_pass_acceptance",
        name="First-pass acceptance",
        family="claims",
        unit=PERCENT,
        formula="claims whose first submission the 999 and the 277CA accepted ÷ claims first submitted and answered",
        period="claims first submitted in the period (upload date, practice timezone)",
        citation="ours (X12 999, 277CA)",
        source="No HFMA MAP Key or MGMA measure; the clearinghouse acceptance rate of the first submission, read "
        "from the ASC X12 999 (005010X231A1) and 277CA (005010X214) answers",
        notes="Front-end acceptance only: edits and holds do not enter it (they do in the clean-claim rate). "
        "Claims sent and not yet answered are shown as pending.",
        views=("kpi_first_pass_by_payer",),
    ),
    KpiDefinition(
        key="first_pass_resolution",
        name="First-pass resolution",
        family="claims",
        unit=PERCENT,
        formula="claims paid, or moved to patient responsibility, on their first adjudication ÷ claims adjudicated",
        period="claims whose first adjudication (835) is dated in the period (BPR16 payment date)",
        citation="ours",
        source="No HFMA MAP Key or MGMA measure; our definition",
        notes="Resolved: the first adjudication carries no denial-category adjustment, on the claim or a line "
        "(docs/denial-codes.md), so a claim whose whole allowed amount went to the deductible resolves. Kept apart "
        "from first-pass acceptance, which only says the payer took the claim in.",
        views=("kpi_first_pass_resolution", "kpi_initial_outcomes"),
    ),
    KpiDefinition(
        key="initial_denial_rate_submitted",
        name="Initial denial rate over claims submitted (count)",
        family="denials",
        unit=PERCENT,
        formula="claims whose first adjudication was a denial ÷ claims first submitted",
        period="claims first submitted in the period",
        citation="HFMA Claim Integrity Task Force",
        source=f"{SRC_TASK_FORCE}: initial denial rate as a percentage of claim volume = total initial denial "
        "claims ÷ total claims submitted (paraphrased)",
        notes="A denial is payment withheld by a denial-category adjustment (nothing paid and a denial adjustment "
        "on the claim or a line); CLP02 alone never makes one. The task force divides a month's initial denials by "
        "the average monthly claims submitted in the three months before it, to allow for payer lag; we follow "
        "the claims submitted in the period instead (a cohort), so the latest periods grow as their claims are "
        "adjudicated (claims not yet adjudicated are shown as pending).",
        views=("kpi_initial_outcomes", "kpi_initial_denials_submitted_weekly"),
    ),
    KpiDefinition(
        key="initial_denial_rate_submitted_dollars",
        name="Initial denial rate over claims submitted (dollars)",
        family="denials",
        unit=PERCENT,
        formula="gross charges of claims whose first adjudication was a denial ÷ gross charges of claims first "
        "submitted",
        period="claims first submitted in the period",
        citation="HFMA Claim Integrity Task Force",
        source=f"{SRC_TASK_FORCE}: initial denial rate as a percentage of claim dollars = total initial denial "
        "claims' gross charges ÷ total claims submitted gross charges (paraphrased)",
        notes="As the count form: a cohort of the period's submissions instead of the three months before.",
        views=("kpi_initial_outcomes", "kpi_initial_denials_submitted_weekly"),
    ),
    KpiDefinition(
        key="initial_denial_rate_remitted",
        name="Initial denial rate over claims remitted (count)",
        family="denials",
        unit=PERCENT,
        formula="claims whose first adjudication was a denial ÷ claims adjudicated for the first time",
        period="first adjudications dated in the period (BPR16 payment date)",
        citation="HFMA MAP Key AR-5",
        source=f"{SRC_MAP_KEYS}, Remittance Denial Rate (AR-5): claims denied ÷ claims remitted (paraphrased)",
        notes="Same denial rule as above. The weekly trend of the report uses this form, per payer.",
        views=("kpi_initial_outcomes", "kpi_initial_denials_remitted_weekly"),
    ),
    KpiDefinition(
        key="initial_denial_rate_remitted_dollars",
        name="Initial denial rate over claims remitted (dollars)",
        family="denials",
        unit=PERCENT,
        formula="charges (CLP03) of first adjudications that denied the claim ÷ charges of first adjudications",
        period="first adjudications dated in the period",
        citation="HFMA MAP Key AR-5",
        source=f"{SRC_MAP_KEYS}, Remittance Denial Rate (AR-5), in dollars (paraphrased)",
        views=("kpi_initial_outcomes", "kpi_initial_denials_remitted_weekly"),
    ),
    KpiDefinition(
        key="denial_write_offs_net_revenue",
        name="Denial write-offs, share of net revenue",
        family="denials",
        unit=PERCENT,
        formula="denied amounts written off ÷ (gross charges − contractual adjustments)",
        period="write-offs decided in the period (next action written_off: the appeal window closed); charges by "
        "date of service and contractual adjustments by payment date in the period",
        citation="HFMA MAP Key AR-6",
        source=f"{SRC_MAP_KEYS}, Denial Write-Offs as a Percentage of Net Patient Service Revenue (AR-6), also "
        f"adopted by the {SRC_TASK_FORCE} (paraphrased)",
        notes="Net patient service revenue comes from a general ledger revcycle does not have: it is approximated "
        "by gross charges less contractual adjustments, and labelled so.",
        views=(),
    ),
    KpiDefinition(
        key="denial_write_offs_charges",
        name="Denial write-offs, share of gross charges",
        family="denials",
        unit=PERCENT,
        formula="denied amounts written off ÷ gross charges",
        period="as above",
        citation="ours (AR-6 over charges)",
        source="A variant of HFMA MAP Key AR-6 over gross charges (ours), for practices without a net revenue figure",
        views=(),
    ),
    KpiDefinition(
        key="net_collection_rate",
        name="Net collection rate (MGMA)",
        family="payments",
        unit=PERCENT,
        formula="payments ÷ (gross charges − contractual adjustments)",
        period="payments dated in the period (835 BPR16, patient payment date), charges by date of service in the "
        "period, contractual adjustments by payment date in the period",
        citation="MGMA",
        source=f"{SRC_MGMA}: adjusted fee-for-service collection percentage, also called net collection "
        "percentage = net fee-for-service revenue (collections) ÷ adjusted fee-for-service charges (gross charges "
        "less contractual adjustments) (paraphrased)",
        notes="Payments are the 835 payments on our claims (net of reversals) plus patient payments from the "
        "patient-payments file (`revcycle patient-payments FILE`, docs/patient-payments.md). Without that file "
        "the figure is insurance only and labelled so. Only contractual-category adjustments are subtracted: "
        "denial write-offs stay in the denominator, as MGMA says. A secondary claim's adjustments are not "
        "subtracted (its charges are the primary's).",
        views=("kpi_net_collection",),
    ),
    KpiDefinition(
        key="cash_collected",
        name="Cash collected",
        family="payments",
        unit=DOLLARS,
        formula="835 payments (BPR02, including amounts in suspense and provider-level adjustments) + patient payments",
        period="money received in the period (BPR16; patient payment date)",
        citation="ours",
        source="Our definition; the numerator of HFMA MAP Key 'Cash Collection as a Percentage of Net Patient "
        "Service Revenue' counts total patient service cash collected the same way",
        views=("kpi_cash_weekly",),
    ),
    KpiDefinition(
        key="days_to_payment_median",
        name="Days to payment, median",
        family="payments",
        unit=DAYS,
        formula="median of (first payment date − first submission date), per claim",
        period="claims first paid in the period",
        citation="ours",
        source="No HFMA MAP Key or MGMA measure; our definition",
        notes="Percentiles by the nearest-rank method (the smallest value with at least p % of the values at or "
        "below it): integer arithmetic on ranks, so SQLite and PostgreSQL agree. With an even count the median "
        "is the lower of the two middle values. The report gives it per payer too.",
        views=("kpi_days_to_payment", "kpi_days_to_payment_weekly"),
    ),
    KpiDefinition(
        key="days_to_payment_p90",
        name="Days to payment, 90th percentile",
        family="payments",
        unit=DAYS,
        formula="90th percentile (nearest rank) of (first payment date − first submission date), per claim",
        period="claims first paid in the period",
        citation="ours",
        source="No HFMA MAP Key or MGMA measure; our definition",
        views=("kpi_days_to_payment",),
    ),
    KpiDefinition(
        key="open_ar",
        name="Open A/R",
        family="ar",
        unit=DOLLARS,
        formula="Σ account balances: charges − payments − contractual and payer adjustments − patient payments − "
        "denials written off",
        period="on the reference date (the period's last day)",
        citation="MGMA",
        source=f"{SRC_MGMA}: accounts receivable, amounts owed by patients and payers, counted from the day a claim "
        "is billed until it is paid, sent to collections or written off (paraphrased)",
        notes="Insurance and patient; denied claims stay in A/R until written off. Without patient payments, "
        "the patient part cannot be known and the figure is insurance only, labelled so. Credit balances are not "
        "A/R (see the credit-balance worklist). docs/warehouse.md gives the balance rule.",
        views=("kpi_account_balances", "kpi_open_ar"),
    ),
    KpiDefinition(
        key="days_in_ar",
        name="Days in A/R (MGMA gross)",
        family="ar",
        unit=DAYS,
        formula="open A/R ÷ (gross charges of the 90 days to the reference date ÷ 90)",
        period="on the reference date; charges by date of service in the 90 days up to it",
        citation="MGMA",
        source=f"{SRC_MGMA}: days of gross fee-for-service charges in accounts receivable = total A/R ÷ (gross "
        "charges × 1/365) over a year (paraphrased); practices commonly average the last three months instead, "
        "as we do",
        notes="With no charges in those 90 days the figure is n/a and says how much is still open.",
        views=("kpi_open_ar",),
    ),
    KpiDefinition(
        key="ar_over_90",
        name="A/R over 90 days (share)",
        family="ar",
        unit=PERCENT,
        formula="open A/R more than 90 days after the date of service ÷ open A/R",
        period="on the reference date",
        citation="HFMA MAP Key AR-1",
        source=f"{SRC_MAP_KEYS}, Aged A/R as a Percentage of Total Billed A/R (AR-1): billed A/R older than 90 "
        "days ÷ total billed A/R (paraphrased)",
        notes="Aged from the date of service (the first date of service of the primary claim), as the benchmarks "
        "age, not from submission.",
        views=("kpi_ar_aging", "kpi_open_ar"),
    ),
    KpiDefinition(
        key="ar_over_120",
        name="A/R over 120 days (share)",
        family="ar",
        unit=PERCENT,
        formula="open A/R more than 120 days after the date of service ÷ open A/R",
        period="on the reference date",
        citation="MGMA",
        source=f"{SRC_MGMA}: accounts receivable aged in buckets of current to 30, 31-60, 61-90, 91-120 and over "
        "120 days; the share over 120 days (paraphrased)",
        views=("kpi_ar_aging", "kpi_open_ar"),
    ),
)

BY_KEY: dict[str, KpiDefinition] = {d.key: d for d in REGISTRY}


@dataclass(frozen=True)
class Measured:
    """Every figure of the registry over one period, and the parts the report shows beside them."""

    period: Period
    as_of: date
    figures: dict[str, Figure]
    patient_included: bool
    open_ar: ar.OpenAR  # on ``as_of``: the report shows its parts beside the figures


def _pct_figure(key: str, numerator: int | Decimal, denominator: int | Decimal, note: str = "") -> Figure:
    return Figure(key, rate(numerator, denominator), numerator, denominator, note=note)


def measure(
    conn: Connection,
    period: Period,
    as_of: date | None = None,
    balances: ar.Balances | None = None,
    initial_denials: Mapping[str, denials.DenialRate] | None = None,
) -> Measured:
    """Every registry figure over ``period`` (A/R on ``as_of``, by default the period's last day).

    ``balances``: the accounts on that day when the caller read them already (``ar.balances_on``).
    ``initial_denials``: the initial denial rates of ``period`` by base (``denials.SUBMITTED``,
    ``denials.REMITTED``) when the caller read them already (``denials.initial_denials_with_total``).
    """
    known = initial_denials or {}
    day = as_of or period.end
    if day is None:
        raise ValueError("an A/R figure needs a reference date: give as_of or a period with an end")
    patient_included = ar.patient_payments_loaded(conn)
    figures: dict[str, Figure] = {}

    clean = claims.clean_claims(conn, period)
    figures["clean_claim_rate"] = _pct_figure(
        "clean_claim_rate", clean.clean, clean.decided, f"{clean.pending} pending" if clean.pending else ""
    )
    first = claims.first_pass(conn, period)
    figures["first_pass_acceptance"] = _pct_figure(
        "first_pass_acceptance",
        first.accepted,
        first.accepted + first.rejected,
        f"{first.pending} pending" if first.pending else "",
    )
    resolution = claims.first_pass_resolution(conn, period)
    figures["first_pass_resolution"] = _pct_figure("first_pass_resolution", resolution.resolved, resolution.adjudicated)

    submitted = known.get(denials.SUBMITTED) or denials.initial_denial_rate(conn, denials.SUBMITTED, period)
    pending = f"{submitted.pending} not adjudicated yet" if submitted.pending else ""
    figures["initial_denial_rate_submitted"] = _pct_figure(
        "initial_denial_rate_submitted", submitted.denied_claims, submitted.claims, pending
    )
    figures["initial_denial_rate_submitted_dollars"] = _pct_figure(
        "initial_denial_rate_submitted_dollars", submitted.denied_charges, submitted.charges, pending
    )
    remitted = known.get(denials.REMITTED) or denials.initial_denial_rate(conn, denials.REMITTED, period)
    figures["initial_denial_rate_remitted"] = _pct_figure(
        "initial_denial_rate_remitted", remitted.denied_claims, remitted.claims
    )
    figures["initial_denial_rate_remitted_dollars"] = _pct_figure(
        "initial_denial_rate_remitted_dollars", remitted.denied_charges, remitted.charges
    )
    write_offs = denials.denial_write_offs(conn, period)
    figures["denial_write_offs_net_revenue"] = Figure(
        "denial_write_offs_net_revenue",
        write_offs.share_of_net_revenue,
        write_offs.written_off,
        write_offs.net_revenue,
        qualifier="net revenue = charges − contractual adjustments",
    )
    figures["denial_write_offs_charges"] = _pct_figure(
        "denial_write_offs_charges", write_offs.written_off, write_offs.charges
    )

    ncr = payments.net_collection_rate(conn, period, patient_included=patient_included)
    figures["net_collection_rate"] = Figure(
        "net_collection_rate", ncr.rate, ncr.payments, ncr.charges - ncr.contractual, qualifier=ncr.qualifier
    )
    cash = payments.cash_collected(conn, period)
    figures["cash_collected"] = Figure(
        "cash_collected",
        cash.total,
        qualifier="" if patient_included else "insurance only: no patient payments loaded",
    )
    days = payments.days_to_payment(conn, period)
    figures["days_to_payment_median"] = Figure(
        "days_to_payment_median", None if days.median is None else Decimal(days.median), note=f"{days.claims} claims"
    )
    figures["days_to_payment_p90"] = Figure(
        "days_to_payment_p90", None if days.p90 is None else Decimal(days.p90), note=f"{days.claims} claims"
    )

    open_ar = ar.open_ar(conn, day, patient_included=patient_included, balances=balances)
    figures["open_ar"] = Figure("open_ar", open_ar.total, qualifier=open_ar.qualifier)
    figures["days_in_ar"] = Figure(
        "days_in_ar",
        open_ar.days,
        open_ar.total,
        open_ar.charges_90_days,
        qualifier=open_ar.qualifier,
        note=open_ar.days_note(),
    )
    figures["ar_over_90"] = Figure("ar_over_90", open_ar.share_over_90, qualifier=open_ar.qualifier)
    figures["ar_over_120"] = Figure("ar_over_120", open_ar.share_over_120, qualifier=open_ar.qualifier)
    return Measured(period, day, figures, patient_included, open_ar)


def format_value(definition: KpiDefinition, figure: Figure) -> str:
    """The figure as a billing manager reads it: 62.5%, 77.2, $1,234.00, or n/a with the reason."""
    value = figure.value
    if value is None:
        shown = "n/a"
    elif definition.unit == PERCENT:
        shown = f"{value:.1%}"
    elif definition.unit == DAYS:
        shown = f"{value:.1f}"
    else:
        shown = f"${value:,.2f}"
    extras = [part for part in (figure.note, figure.qualifier) if part]
    return f"{shown} ({'; '.join(extras)})" if extras else shown


def figure_rows(measured: Measured) -> list[tuple[str, str]]:
    """(name, formatted value) for every registry figure, in registry order."""
    return [(d.name, format_value(d, measured.figures[d.key])) for d in REGISTRY]
