"""The warehouse report: one self-contained HTML page with inline SVG charts, or the same figures as text tables.

No PHI: only claim keys, charge ids, payer ids, codes, dates, counts and amounts. The page loads nothing (no
script, font, stylesheet or image from anywhere), so it opens offline and from an artifact link. Every KPI
comes from the registry (``revcycle.warehouse.kpi.registry``, docs/kpis.md), with its period and source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

from sqlalchemy import Connection

from revcycle.clock import clock_in_force
from revcycle.codes.adjustments import DENIAL_KIND_LABELS, DenialKind, carc_description, rarc_description
from revcycle.tables import render_table
from revcycle.warehouse.kpi import ar, denials, payments, registry, summary, trends, worklists
from revcycle.warehouse.kpi.common import Period
from revcycle.warehouse.kpi.coverage import CoverageReport, coverage_report, hold_kind
from revcycle.warehouse.kpi.facts import facts_read_once

CHART_IDS = ("chart-denials-reason", "chart-denials-payer", "chart-ar-aging", "chart-payments", "payer-scorecard")
TREND_IDS = ("trend-denial-rate", "trend-clean-claim-rate", "trend-cash", "trend-days-to-payment", "trend-ar-over-90")
WORKLIST_ROWS = 25
DEFAULT_PERIOD_DAYS = 90
DEFAULT_STATUS_LAG_DAYS = 30  # REVCYCLE_STATUS_INQUIRY_AFTER_DAYS's default


@dataclass(frozen=True)
class ReportData:
    """Every figure the report shows."""

    as_of: date
    period: Period
    measured: registry.Measured
    run_summary: list[tuple[str, str]]
    denials_by_reason: list[denials.ReasonDenials]
    denials_submitted: dict[str, denials.DenialRate]
    denials_remitted: dict[str, denials.DenialRate]
    open_ar: ar.OpenAR
    aging: list[ar.AgingBucket]
    days_to_payment: list[payments.DaysToPayment]
    payments_by_date: list[tuple[date, Decimal]]
    scorecard: list[summary.PayerScore]
    worklists: list[worklists.Worklist]
    underpayments: list[payments.Underpayment]
    trends: trends.Trends
    coverage: CoverageReport | None = None


def default_period(as_of: date) -> Period:
    """The period a report covers unless told: the 90 days to the reference date."""
    return Period.days_to(as_of, DEFAULT_PERIOD_DAYS)


def collect_report(
    conn: Connection,
    as_of: date,
    period: Period | None = None,
    status_lag_days: int = DEFAULT_STATUS_LAG_DAYS,
    run_summary: Sequence[tuple[str, str]] | None = None,
) -> ReportData:
    """Read every figure of the report from the warehouse: ``period`` (default the 90 days to ``as_of``).

    Claims past their lag are those with no 835 ``status_lag_days`` after their upload, at the clock in force.
    ``run_summary``: ``summary.kpi_summary(conn).rows()`` when the caller computed it already on this warehouse
    (the nightly publishes it just before the report); otherwise it is read here.
    """
    with facts_read_once(conn):
        return _collect(conn, as_of, period or default_period(as_of), status_lag_days, run_summary)


def _collect(
    conn: Connection, as_of: date, span: Period, status_lag_days: int, run_summary: Sequence[tuple[str, str]] | None
) -> ReportData:
    # Read once, shown in their own tables and again in the figures, the scorecard and the credits worklist.
    balances = ar.balances_on(conn, as_of)
    remitted_total, remitted = denials.initial_denials_with_total(conn, denials.REMITTED, span)
    submitted_total, submitted = denials.initial_denials_with_total(conn, denials.SUBMITTED, span)
    initial = {denials.REMITTED: remitted_total, denials.SUBMITTED: submitted_total}
    measured = registry.measure(conn, span, as_of, balances, initial)
    days_to_payment = payments.days_to_payment_by_payer(conn, span)
    return ReportData(
        as_of=as_of,
        period=span,
        measured=measured,
        run_summary=list(run_summary) if run_summary is not None else summary.kpi_summary(conn).rows(),
        denials_by_reason=denials.denials_by_reason(conn, span),
        denials_submitted=submitted,
        denials_remitted=remitted,
        open_ar=measured.open_ar,
        aging=ar.ar_aging(conn, as_of, balances),
        days_to_payment=days_to_payment,
        payments_by_date=payments.payments_by_date(conn),
        scorecard=summary.payer_scorecard(
            conn, span, as_of, balances, remitted=remitted, days_to_payment=days_to_payment
        ),
        worklists=worklists.all_worklists(conn, as_of, balances),
        underpayments=payments.underpayments(conn),
        trends=trends.weekly_trends(conn, as_of),
        coverage=coverage_report(conn, clock_in_force(), status_lag_days),
    )


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _days(value: int | Decimal | None) -> str:
    return "n/a" if value is None else f"{value}"


def _kind(kind: str) -> str:
    try:
        return DENIAL_KIND_LABELS[DenialKind(kind)]
    except ValueError:
        return kind


# --- tables shared by text and HTML --------------------------------------------------------------------------


def _kpi_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = []
    for d in registry.REGISTRY:
        figure = data.measured.figures[d.key]
        rows.append((d.name, registry.format_value(d, figure), d.citation))
    return ("KPI", "Value", "Source (docs/kpis.md)"), rows


def _reason_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = [
        (
            r.label,
            _kind(r.denial_kind),
            carc_description(r.reason_code),
            ", ".join(f"{code} ({rarc_description(code)})" for code in r.remarks),
            str(r.claims),
            _money(r.amount),
        )
        for r in data.denials_by_reason
    ]
    return ("Reason", "Category", "What it means", "Remark codes", "Claims", "Denied"), rows


def _payer_denials_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    payers = sorted(set(data.denials_submitted) | set(data.denials_remitted))
    rows = []
    for p in payers:
        sub = data.denials_submitted.get(p)
        rem = data.denials_remitted.get(p)
        rows.append(
            (
                p,
                str(sub.claims) if sub else "0",
                _pct(sub.claim_rate) if sub else "n/a",
                _pct(sub.dollar_rate) if sub else "n/a",
                str(rem.claims) if rem else "0",
                _pct(rem.claim_rate) if rem else "n/a",
                _pct(rem.dollar_rate) if rem else "n/a",
            )
        )
    headers = (
        "Payer",
        "Submitted",
        "Denied / submitted",
        "$ / submitted",
        "Remitted",
        "Denied / remitted",
        "$ / remitted",
    )
    return headers, rows


def _aging_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = [(b.payer_id, b.bucket, str(b.accounts), _money(b.insurance), _money(b.patient)) for b in data.aging]
    return ("Payer", "Days from service", "Accounts", "Insurance", "Patient"), rows


def _days_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = [(d.scope, str(d.claims), _days(d.median), _days(d.p90)) for d in data.days_to_payment]
    return ("Payer", "Claims paid", "Median days", "90th percentile"), rows


def _scorecard_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    headers = (
        "Payer",
        "First submissions",
        "First-pass acceptance",
        "Initial denials (remitted)",
        "Paid",
        "Median days to pay",
        "Open insurance A/R",
    )
    rows = [
        (
            s.payer_id,
            str(s.submitted),
            _pct(s.first_pass_acceptance),
            _pct(s.initial_denial_rate),
            _money(s.paid),
            _days(s.median_days_to_payment),
            _money(s.open_ar),
        )
        for s in data.scorecard
    ]
    return headers, rows


def _underpaid_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = [
        (u.claim_key, u.payer_id, u.procedure_code, _money(u.expected), _money(u.paid), _money(u.shortfall))
        for u in data.underpayments
    ]
    return ("Claim", "Payer", "Code", "Expected", "Paid", "Short"), rows


def worklist_heading(work: worklists.Worklist) -> str:
    """``Denials to appeal or correct: 12 items, oldest 2026-04-02``."""
    oldest = f", oldest {work.oldest.isoformat()}" if work.oldest else ""
    return f"{work.title}: {work.count} {'item' if work.count == 1 else 'items'}{oldest}"


def shown_rows(rows: Sequence[Sequence[str]], limit: int = WORKLIST_ROWS) -> tuple[list[Sequence[str]], str]:
    """The rows to show and, when some are left out, the sentence that says so."""
    if len(rows) <= limit:
        return list(rows), ""
    return list(rows[:limit]), f"Showing the first {limit} of {len(rows)} rows."


# --- text -----------------------------------------------------------------------------------------------------


def render_text(data: ReportData) -> str:
    """The report as terminal tables."""
    parts = [
        f"Revenue-cycle report as of {data.as_of.isoformat()}, period {data.period.describe()}"
        " (dates in the practice's timezone)",
        render_table(*_kpi_table(data)),
        "Run summary (whole warehouse)",
        render_table(("Count", "Value"), data.run_summary),
        "Initial denials by reason (denial categories only; first adjudications in the period)",
        render_table(*_reason_table(data), right_align_from=4),
        "Initial denial rate by payer: over claims submitted (HFMA Claim Integrity Task Force) and over claims "
        "remitted (HFMA MAP Key AR-5)",
        render_table(*_payer_denials_table(data)),
        f"A/R aging by date of service on {data.as_of.isoformat()} ({data.open_ar.qualifier})",
        render_table(*_aging_table(data), right_align_from=2),
        "Days from first submission to first payment (claims first paid in the period)",
        render_table(*_days_table(data)),
        "Payer scorecard",
        render_table(*_scorecard_table(data)),
    ]
    for work in data.worklists:
        rows, note = shown_rows(work.rows)
        parts.append(f"Worklist {work.name}: {worklist_heading(work)}")
        parts.append(render_table(work.headers, rows))
        if note:
            parts.append(f"{note} The full list: revcycle worklist {work.name}")
    parts += [
        "Underpayments against the fee schedule",
        render_table(*_underpaid_table(data), right_align_from=3),
    ]
    if data.coverage is not None:
        parts += [
            "Eligibility and silent claims",
            render_table(("Count", "Value"), _coverage_counts(data.coverage)),
            f"Eligibility holds ({len(data.coverage.holds)})",
            render_table(*_coverage_holds_table(data.coverage)),
            f"Claims past their lag with no 835 ({len(data.coverage.past_lag)})",
            render_table(*_past_lag_table(data.coverage)),
        ]
    return "\n".join(parts) + "\n"


def _coverage_counts(report: CoverageReport) -> list[tuple[str, str]]:
    rate = report.verification_rate
    rows = [
        ("insurance verification rate", f"{rate}% ({report.verified} of {report.reviewed} claims)" if rate else "n/a"),
        ("eligibility holds (open)", str(len(report.holds))),
    ]
    rows += [(f"  {kind}", str(count)) for kind, count in sorted(report.hold_counts.items())]
    rows += [
        ("271s late (no answer 36 hours after the 270)", str(report.late_271)),
        ("claims past their lag with no 835", str(len(report.past_lag))),
        ("  of them with a 276 sent", str(sum(1 for p in report.past_lag if p.inquired_on))),
    ]
    return rows


def _coverage_holds_table(report: CoverageReport) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = [(key, payer, hold_kind(reason), since.isoformat()) for key, payer, reason, since in report.holds]
    return ("Claim", "Payer", "Hold", "Since"), rows[:WORKLIST_ROWS]


def _past_lag_table(report: CoverageReport) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    rows = [
        (
            p.claim_key,
            p.payer_id,
            p.submitted_on.isoformat(),
            str(p.days),
            p.inquired_on.isoformat() if p.inquired_on else "not yet",
            p.status or "no 277 yet",
        )
        for p in report.past_lag
    ]
    return ("Claim", "Payer", "Sent", "Days", "276 sent", "277 status"), rows[:WORKLIST_ROWS]


# --- HTML -----------------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccd3dd; padding: 0.25rem 0.6rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef2f7; }
.grid { display: flex; flex-wrap: wrap; gap: 2rem; }
.chart { border: 1px solid #ccd3dd; padding: 0.5rem; background: #fff; }
.note { color: #4a5568; font-size: 0.85rem; }
svg text { font-size: 11px; fill: #1d2430; }
.empty { fill: #7a8494; }
"""
_COLORS = ("#2f6fb0", "#d9822b", "#3f9c5a", "#b04a4a", "#7b5fb0", "#4a9cb0")


def _bar_chart(element_id: str, title: str, bars: list[tuple[str, Decimal]], unit: str = "$") -> str:
    """A horizontal bar chart as inline SVG."""
    width, row, left = 520, 24, 150
    height = max(1, len(bars)) * row + 30
    top = max((value for _label, value in bars), default=Decimal(0))
    parts = [
        f'<svg id="{element_id}" class="chart" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    if not bars:
        parts.append('<text class="empty" x="4" y="40">no data yet</text>')
    for index, (label, value) in enumerate(bars):
        y = 24 + index * row
        length = 0 if top <= 0 else int((max(value, Decimal(0)) / top) * (width - left - 90))
        shown = f"${value:,.2f}" if unit == "$" else f"{value:,.0f}"
        parts += [
            f'<text x="4" y="{y + 14}">{escape(label)}</text>',
            f'<rect x="{left}" y="{y + 3}" width="{max(length, 1)}" height="{row - 8}" fill="{_COLORS[0]}"/>',
            f'<text x="{left + max(length, 1) + 4}" y="{y + 14}">{escape(shown)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _aging_chart(data: ReportData) -> str:
    """Stacked bars: one per age bucket (days from the date of service), one color per payer."""
    payers = sorted({b.payer_id for b in data.aging})
    amounts = {(b.payer_id, b.bucket): b.amount for b in data.aging}
    totals = {
        bucket: sum((amounts.get((p, bucket), Decimal(0)) for p in payers), Decimal(0)) for bucket in ar.AGING_BUCKETS
    }
    width, height, base, left = 520, 260, 200, 40
    top = max(totals.values(), default=Decimal(0))
    column = (width - left - 20) // len(ar.AGING_BUCKETS)
    parts = [
        f'<svg id="chart-ar-aging" class="chart" role="img" aria-label="A/R aging by payer" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        '<text x="4" y="14" font-weight="bold">Open A/R by days from the date of service</text>',
    ]
    for index, bucket in enumerate(ar.AGING_BUCKETS):
        x = left + index * column
        y = base
        for number, payer_id in enumerate(payers):
            value = amounts.get((payer_id, bucket), Decimal(0))
            if value <= 0 or top <= 0:
                continue
            h = max(1, int(value / top * (base - 40)))
            y -= h
            color = _COLORS[number % len(_COLORS)]
            parts.append(
                f'<rect x="{x + 6}" y="{y}" width="{column - 12}" height="{h}" fill="{color}">'
                f"<title>{escape(payer_id)} {escape(bucket)}: ${value:,.2f}</title></rect>"
            )
        parts.append(f'<text x="{x + 6}" y="{base + 16}">{escape(bucket)}</text>')
        parts.append(f'<text x="{x + 6}" y="{base + 30}">${totals[bucket]:,.0f}</text>')
    for number, payer_id in enumerate(payers):
        x = left + number * 110
        color = _COLORS[number % len(_COLORS)]
        parts.append(f'<rect x="{x}" y="{base + 42}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="{base + 51}">{escape(payer_id)}</text>')
    if not payers:
        parts.append('<text class="empty" x="4" y="40">no open A/R</text>')
    parts.append("</svg>")
    return "".join(parts)


def _line_chart(
    element_id: str,
    title: str,
    labels: Sequence[date],
    series: dict[str, Sequence[Decimal | None]],
    unit: str,
) -> str:
    """A line chart with one point per week and value (gaps where a week has none), as inline SVG."""
    width, height, left, bottom, right = 520, 250, 64, 190, 12
    values = [v for points in series.values() for v in points if v is not None]
    top = max(values, default=Decimal(0))
    if unit == "%":
        top = max(top, Decimal("0.01"))
    top = top if top > 0 else Decimal(1)
    step = (width - left - right) / max(1, len(labels) - 1)

    def shown(value: Decimal) -> str:
        if unit == "%":
            return f"{value:.1%}"
        if unit == "$":
            return f"${value:,.2f}"
        return f"{value:.0f} days"

    parts = [
        f'<svg id="{element_id}" class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{width - right}" y2="{bottom}" stroke="#7a8494"/>',
        f'<text x="4" y="44">{escape(shown(top))}</text>',
        f'<text x="4" y="{bottom}">{escape(shown(Decimal(0)))}</text>',
    ]
    if labels:
        parts.append(f'<text x="{left}" y="{bottom + 16}">{labels[0].isoformat()}</text>')
        parts.append(f'<text x="{width - right - 70}" y="{bottom + 16}">{labels[-1].isoformat()}</text>')
    if not values:
        parts.append('<text class="empty" x="70" y="100">no data in these weeks</text>')
    for number, (name, points) in enumerate(sorted(series.items())):
        color = _COLORS[number % len(_COLORS)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(points):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x = left + int(index * step)
            y = bottom - int(max(value, Decimal(0)) / top * (bottom - 40))
            segment.append(f"{x},{y}")
            parts.append(
                f'<circle class="point" data-series="{escape(name)}" data-week="{labels[index].isoformat()}" '
                f'cx="{x}" cy="{y}" r="3" fill="{color}"><title>{escape(name)} week of '
                f"{labels[index].isoformat()}: {escape(shown(value))}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for points_of_segment in segments:
            if len(points_of_segment) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points_of_segment)}" fill="none" stroke="{color}" stroke-width="2"/>'
                )
        if len(series) > 1:
            parts.append(f'<rect x="{left + number * 110}" y="{bottom + 28}" width="10" height="10" fill="{color}"/>')
            parts.append(f'<text x="{left + number * 110 + 14}" y="{bottom + 37}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _payments_chart(data: ReportData) -> str:
    """Payments by payment date as a line with points."""
    return _line_chart(
        "chart-payments",
        "Payments on our claims by payment date (net of reversals)",
        [d for d, _v in data.payments_by_date],
        {"paid": [v for _d, v in data.payments_by_date]},
        "$",
    ).replace('class="point"', 'class="payment"')


def _trend_charts(data: ReportData) -> list[str]:
    t = data.trends
    return [
        _line_chart(
            TREND_IDS[0],
            "Initial denial rate per payer, by week (over claims remitted, HFMA AR-5)",
            t.weeks,
            dict(t.denial_rate_by_payer),
            "%",
        ),
        _line_chart(
            TREND_IDS[1], "Clean-claim rate, by week entered (HFMA CL-1)", t.weeks, {"all": t.clean_claim_rate}, "%"
        ),
        _line_chart(
            TREND_IDS[2],
            "Cash collected, by week",
            t.weeks,
            {"cash": list(t.cash_collected)},
            "$",
        ),
        _line_chart(
            TREND_IDS[3], "Days to payment (median), by week of payment", t.weeks, {"median": t.days_to_payment}, "d"
        ),
        _line_chart(
            TREND_IDS[4],
            "A/R over 90 days from the date of service (share, at week end)",
            t.weeks,
            {"over 90": t.ar_over_90},
            "%",
        ),
    ]


def _html_table(element_id: str | None, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    attribute = f' id="{element_id}"' if element_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}">none</td></tr>'
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _worklist_html(work: worklists.Worklist) -> str:
    rows, note = shown_rows(work.rows)
    parts = [
        f'<section id="worklist-{work.name}" class="worklist" data-count="{work.count}" '
        f'data-oldest="{work.oldest.isoformat() if work.oldest else ""}">',
        f"<h3>{escape(worklist_heading(work))}</h3>",
        f'<p class="note">What to do: {escape(work.what_to_do)}.</p>',
        _html_table(f"worklist-{work.name}-rows", work.headers, rows),
    ]
    if note:
        parts.append(
            f'<p class="note cut">{escape(note)} The full list: <code>revcycle worklist {work.name}</code> '
            f"(with patients: <code>revcycle worklist {work.name} --out FILE</code>, a 0600 CSV).</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    reason_bars = [(r.label, r.amount) for r in data.denials_by_reason]
    payer_bars = [(p, d.denied_charges) for p, d in sorted(data.denials_remitted.items())]
    scope = "insurance and patient" if data.measured.patient_included else "insurance only (no patient payments loaded)"
    body = [
        f"<h1>Revenue-cycle report as of {data.as_of.isoformat()}</h1>",
        f"<p>Period: {escape(data.period.describe())}; A/R on {data.as_of.isoformat()}; dates in the practice's "
        f"timezone; amounts in US dollars; payments and A/R: {escape(scope)}. Definitions and sources: "
        "docs/kpis.md.</p>",
        _html_table("kpi-summary", *_kpi_table(data)),
        "<h2>Trends by week</h2>",
        '<div class="grid">',
        *_trend_charts(data),
        "</div>",
        "<h2>Worklists</h2>",
        *(_worklist_html(work) for work in data.worklists),
        "<h2>Initial denials</h2>",
        '<div class="grid">',
        _bar_chart("chart-denials-reason", "Denied dollars by reason (denial categories only)", reason_bars),
        _bar_chart("chart-denials-payer", "Charges denied on first adjudication, by payer", payer_bars),
        "</div>",
        _html_table("denials-by-reason", *_reason_table(data)),
        _html_table("denials-by-payer", *_payer_denials_table(data)),
        "<h2>A/R and payments</h2>",
        '<div class="grid">',
        _aging_chart(data),
        _payments_chart(data),
        "</div>",
        _html_table("ar-aging", *_aging_table(data)),
        _html_table("days-to-payment", *_days_table(data)),
        "<h2>Payer scorecard</h2>",
        _html_table("payer-scorecard", *_scorecard_table(data)),
        "<h2>Run summary (whole warehouse)</h2>",
        _html_table("run-summary", ("Count", "Value"), data.run_summary),
        "<h2>Underpayments against the fee schedule</h2>",
        _html_table("underpayments", *_underpaid_table(data)),
    ]
    if data.coverage is not None:
        cover = data.coverage
        body += [
            "<h2>Eligibility and silent claims</h2>",
            _html_table("coverage-summary", ("Count", "Value"), _coverage_counts(cover)),
            f'<h3 id="eligibility-holds" data-count="{len(cover.holds)}">Eligibility holds ({len(cover.holds)})</h3>',
            _html_table("eligibility-holds-rows", *_coverage_holds_table(cover)),
            f'<h3 id="past-lag" data-count="{len(cover.past_lag)}">Claims past their lag with no 835 '
            f"({len(cover.past_lag)})</h3>",
            _html_table("past-lag-rows", *_past_lag_table(cover)),
        ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>revcycle report {data.as_of.isoformat()}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
