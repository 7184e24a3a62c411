"""Data Docs that open without the internet: CDN references stripped, and an index of our own.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs, and the package ships
no copy of them. Its validation pages are rendered as HTML in Python, so without those files they stay
readable (a small stylesheet of ours replaces Bootstrap's look); its index, though, is an empty table that
bootstrap-table fills in JavaScript. We therefore strip every remote script and stylesheet from the pages
GX writes and replace the index with a static page listing every validation kept in the history, newest
first, with its data asset (the export file's name), run name, time, status and rule counts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# <script src="https://...">...</script> and <link ... href="https://..."> (any attribute order)
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)
# Our own few rules in place of Bootstrap's: readable tables and text, no remote fonts.
STYLE = """<style id="revcycle-offline">
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.failed { color: #b42318; font-weight: 600; }
.succeeded { color: #067647; font-weight: 600; }
ul.nav, .ge-breadcrumbs, .navbar { list-style: none; padding-left: 0; }
i.fa-check-circle::before { content: "\\2713"; color: #067647; }
i.fa-times::before { content: "\\2717"; color: #b42318; }
i.fa-exclamation-triangle::before { content: "!"; color: #b54708; }
</style>"""


@dataclass(frozen=True)
class IndexEntry:
    """One validation listed in the index: where its page is (relative to the site) and what it was."""

    page: str
    suite: str
    asset: str
    run_name: str
    run_time: str  # ISO 8601 in UTC with microseconds: two builds in one second still sort
    success: bool
    evaluated: int
    failing: int


def make_offline(page: Path) -> None:
    """Strip remote scripts and stylesheets from one GX page and add our stylesheet (idempotent)."""
    text = page.read_text(encoding="utf-8")
    text = _REMOTE_LINK.sub("", _REMOTE_SCRIPT.sub("", text))
    if 'id="revcycle-offline"' not in text:
        text = text.replace("</head>", STYLE + "\n</head>", 1)
    page.write_text(text, encoding="utf-8")


def render_index(entries: Sequence[IndexEntry]) -> str:
    """The static index page: one row per validation, newest first; no script, no remote reference."""
    rows = []
    for e in sorted(entries, key=lambda item: item.run_time, reverse=True):
        status = "Succeeded" if e.success else "Failed"
        rows.append(
            "<tr class=validation>"
            f"<td>{html.escape(e.run_time[:19].replace('T', ' '))}</td>"
            f"<td class=run>{html.escape(e.run_name)}</td>"
            f'<td class=asset><a href="{html.escape(e.page)}">{html.escape(e.asset)}</a></td>'
            f"<td>{html.escape(e.suite)}</td>"
            f"<td class={status.lower()}>{status}</td>"
            f"<td>{e.evaluated}</td><td>{e.failing}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="7">no validation yet</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Data Docs: charge validations</title>
{STYLE}
</head><body>
<h1>Validations</h1>
<p>Every validation kept, newest first. Counts only: failing values are masked and never shown here.</p>
<table id="validations">
<thead><tr><th>Run time (UTC)</th><th>Run</th><th>Data asset</th><th>Suite</th><th>Status</th>
<th>Rules evaluated</th><th>Rules failing</th></tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""
