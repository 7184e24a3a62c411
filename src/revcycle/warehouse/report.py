"""The warehouse report: one self-contained HTML page with inline SVG charts, or the same figures as text tables.

No PHI: only claim keys, payer ids, codes, counts and amounts. The page loads nothing (no script, font,
stylesheet or image from anywhere), so it opens offline and from an artifact link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

from sqlalchemy import Connection

from revcycle.tables import render_table
from revcycle.warehouse import kpi

CHART_IDS = ("chart-denials-reason", "chart-denials-payer", "chart-ar-aging", "chart-payments", "payer-scorecard")
WORKLIST_ROWS = 25


@dataclass(frozen=True)
class ReportData:
    """Every figure the report shows."""

    as_of: date
    headline: list[tuple[str, str]]
    denials_by_reason: list[kpi.ReasonDenialRate]
    denials_by_payer: list[kpi.DenialRate]
    aging: list[kpi.AgingBucket]
    payments: list[tuple[date, Decimal]]
    scorecard: list[kpi.PayerScore]
    worklist: list[kpi.WorklistItem]
    underpayments: list[kpi.Underpayment]


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _days(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def collect_report(conn: Connection, as_of: date) -> ReportData:
    """Read every figure of the report from the warehouse, as of ``as_of``."""
    rates = kpi.claim_rates(conn)
    ncr = kpi.net_collection_rate(conn)
    ar = kpi.days_in_ar(conn, as_of)
    headline = [
        *kpi.kpi_summary(conn).rows(),
        ("First-pass acceptance (277CA)", _pct(rates.first_pass_acceptance)),
        ("Net collection rate", _pct(ncr.rate)),
        ("Open insurance A/R", _money(ar.open_ar)),
        ("Days in A/R", _days(ar.days)),
    ]
    return ReportData(
        as_of=as_of,
        headline=headline,
        denials_by_reason=kpi.initial_denials_by_reason(conn),
        denials_by_payer=kpi.initial_denials_by_payer(conn),
        aging=kpi.ar_aging(conn, as_of),
        payments=kpi.payments_by_date(conn),
        scorecard=kpi.payer_scorecard(conn),
        worklist=kpi.denial_worklist(conn, as_of)[:WORKLIST_ROWS],
        underpayments=kpi.underpayments(conn)[:WORKLIST_ROWS],
    )


# --- text -----------------------------------------------------------------------------------------------------


def render_text(data: ReportData) -> str:
    """The report as terminal tables."""
    parts = [
        f"Revenue-cycle report as of {data.as_of.isoformat()}",
        render_table(("KPI", "Value"), data.headline),
        "Initial denials by CAS group and reason",
        render_table(
            ("Reason", "Claims", "Denied", "Claim rate", "Dollar rate"),
            [
                (
                    f"{r.group_code}-{r.reason_code}",
                    str(r.denied_claims),
                    _money(r.denied),
                    _pct(r.claim_rate),
                    _pct(r.dollar_rate),
                )
                for r in data.denials_by_reason
            ],
        ),
        "Initial denials by payer",
        render_table(
            ("Payer", "Adjudicated", "Denied", "Denied $", "Claim rate", "Dollar rate"),
            [
                (
                    d.payer_id,
                    str(d.adjudicated_claims),
                    str(d.denied_claims),
                    _money(d.denied),
                    _pct(d.claim_rate),
                    _pct(d.dollar_rate),
                )
                for d in data.denials_by_payer
            ],
        ),
        "A/R aging (days since submission)",
        render_table(
            ("Payer", "Bucket", "Claims", "Amount"),
            [(b.payer_id, b.bucket, str(b.claims), _money(b.amount)) for b in data.aging],
            right_align_from=2,
        ),
        "Payments over time",
        render_table(("Payment date", "Paid"), [(d.isoformat(), _money(v)) for d, v in data.payments]),
        "Payer scorecard",
        render_table(*_scorecard_table(data)),
        "Denial worklist (worth working first at the top)",
        render_table(*_worklist_table(data), right_align_from=3),
        "Underpayments against the fee schedule",
        render_table(
            ("Claim", "Payer", "Code", "Expected", "Paid", "Short"),
            [
                (u.claim_key, u.payer_id, u.procedure_code, _money(u.expected), _money(u.paid), _money(u.shortfall))
                for u in data.underpayments
            ],
            right_align_from=3,
        ),
    ]
    return "\n".join(parts) + "\n"


def _scorecard_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    headers = ("Payer", "Submitted", "First pass", "Initial denials", "Paid", "Days to pay", "Open A/R")
    rows = [
        (
            s.payer_id,
            str(s.submitted),
            _pct(s.first_pass_acceptance),
            _pct(s.initial_denial_rate),
            _money(s.paid),
            _days(s.average_days_to_payment),
            _money(s.open_ar),
        )
        for s in data.scorecard
    ]
    return headers, rows


def _worklist_table(data: ReportData) -> tuple[Sequence[str], Sequence[Sequence[str]]]:
    headers = ("Claim", "Payer", "Reason", "Amount", "Appeal by", "Days left", "Recoverable", "Priority")
    rows = [
        (
            w.claim_key,
            w.payer_id,
            w.reason,
            _money(w.amount),
            w.appeal_deadline.isoformat() if w.appeal_deadline else "n/a",
            "n/a" if w.days_left is None else str(w.days_left),
            f"{w.recoverability_pct}%",
            _money(w.priority),
        )
        for w in data.worklist
    ]
    return headers, rows


# --- HTML -----------------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccd3dd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef2f7; }
.grid { display: flex; flex-wrap: wrap; gap: 2rem; }
.chart { border: 1px solid #ccd3dd; padding: 0.5rem; background: #fff; }
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
    """Stacked bars: one per age bucket, one color per payer."""
    payers = sorted({b.payer_id for b in data.aging})
    amounts = {(b.payer_id, b.bucket): b.amount for b in data.aging}
    totals = {
        bucket: sum((amounts.get((p, bucket), Decimal(0)) for p in payers), Decimal(0)) for bucket in kpi.AGING_BUCKETS
    }
    width, height, base, left = 520, 260, 200, 40
    top = max(totals.values(), default=Decimal(0))
    column = (width - left - 20) // len(kpi.AGING_BUCKETS)
    parts = [
        f'<svg id="chart-ar-aging" class="chart" role="img" aria-label="A/R aging by payer" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        '<text x="4" y="14" font-weight="bold">Open insurance A/R by days since submission</text>',
    ]
    for index, bucket in enumerate(kpi.AGING_BUCKETS):
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


def _payments_chart(data: ReportData) -> str:
    """Payments by payment date as a line with points."""
    width, height, left, bottom = 520, 240, 60, 200
    parts = [
        f'<svg id="chart-payments" class="chart" role="img" aria-label="Payments over time" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        '<text x="4" y="14" font-weight="bold">Payments over time (by payment date)</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#7a8494"/>',
    ]
    points = data.payments
    if not points:
        parts.append('<text class="empty" x="4" y="40">no payments yet</text>')
    else:
        top = max((max(v, Decimal(0)) for _d, v in points), default=Decimal(0)) or Decimal(1)
        step = (width - left - 30) / max(1, len(points) - 1)
        coords = []
        for index, (day, value) in enumerate(points):
            x = left + int(index * step)
            y = bottom - int(max(value, Decimal(0)) / top * (bottom - 40))
            coords.append(f"{x},{y}")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{_COLORS[2]}">'
                f"<title>{day.isoformat()}: ${value:,.2f}</title></circle>"
            )
        parts.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="{_COLORS[2]}" stroke-width="2"/>')
        parts.append(f'<text x="{left}" y="{bottom + 16}">{points[0][0].isoformat()}</text>')
        parts.append(f'<text x="{width - 90}" y="{bottom + 16}">{points[-1][0].isoformat()}</text>')
        parts.append(f'<text x="4" y="44">${top:,.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(element_id: str | None, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    attribute = f' id="{element_id}"' if element_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}">none</td></tr>'
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    reason_bars = [(f"{r.group_code}-{r.reason_code}", r.denied) for r in data.denials_by_reason]
    payer_bars = [(d.payer_id, d.denied) for d in data.denials_by_payer]
    underpaid = [
        (u.claim_key, u.payer_id, u.procedure_code, _money(u.expected), _money(u.paid), _money(u.shortfall))
        for u in data.underpayments
    ]
    body = [
        f"<h1>Revenue-cycle report as of {data.as_of.isoformat()}</h1>",
        "<p>Insurance A/R only: patient payments are out of scope. Amounts in US dollars.</p>",
        _html_table("kpi-summary", ("KPI", "Value"), data.headline),
        "<h2>Initial denials</h2>",
        '<div class="grid">',
        _bar_chart("chart-denials-reason", "Denied dollars by CAS group and reason", reason_bars),
        _bar_chart("chart-denials-payer", "Denied dollars by payer (first adjudication)", payer_bars),
        "</div>",
        "<h2>A/R and payments</h2>",
        '<div class="grid">',
        _aging_chart(data),
        _payments_chart(data),
        "</div>",
        "<h2>Payer scorecard</h2>",
        _html_table("payer-scorecard", *_scorecard_table(data)),
        "<h2>Denial worklist</h2>",
        "<p>Ordered by amount × recoverability of the denial reason; "
        "past the appeal deadline nothing is recoverable.</p>",
        _html_table("denial-worklist", *_worklist_table(data)),
        "<h2>Underpayments against the fee schedule</h2>",
        _html_table("underpayments", ("Claim", "Payer", "Code", "Expected", "Paid", "Short"), underpaid),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>revcycle report {data.as_of.isoformat()}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
