"""docs/charge-export.md cannot drift: its column table equals COLUMNS, its checks table equals the suite."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

from revcycle.charge_export import COLUMNS
from revcycle.settings import Settings

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DOC = Path(__file__).resolve().parents[2] / "docs" / "charge-export.md"
FLAG = {"yes": True, "no": False}


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    """The body rows of the markdown tables in ``section`` whose first cell is a `code` name."""
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _names(cell: str) -> set[str]:
    """Backticked names in a table cell; `diagnosis1`..`diagnosis12` stands for the whole range."""
    names = set(re.findall(r"`([^`]+)`", cell))
    for stem, first, _stem2, last in re.findall(r"`([a-z_]+)(\d+)`\.\.`([a-z_]+)(\d+)`", cell):
        names.update(f"{stem}{i}" for i in range(int(first), int(last) + 1))
    return names


def test_column_table_lists_every_column_in_order_with_its_flags() -> None:
    rows = _table_rows(_section("Columns"))
    documented = [(row[0].strip("`"), FLAG[row[1]], FLAG[row[2]]) for row in rows]
    assert documented == [(c.name, c.required, c.phi) for c in COLUMNS]
    assert all(row[3] for row in rows), "every column needs its meaning"


def test_checks_table_equals_the_charges_suite() -> None:
    from expectations.charges import PayerChargeRules, build_charges_suite

    suite = build_charges_suite({"PAYERX": PayerChargeRules("PAYERX", r"\d{9}", 90)}, today=date(2024, 3, 11))
    in_suite: dict[tuple[str, str], set[str]] = {}
    for expectation in suite.expectations:
        meta = expectation.meta
        rule = meta["rule"].replace(".PAYERX", ".<payer_id>")
        # A rule judging several columns in one expectation lists them in meta["columns"].
        in_suite.setdefault((rule, meta["severity"]), set()).update(meta.get("columns", [meta["column"]]))
    rows = _table_rows(_section("Checks: errors and warnings"))
    documented = {(row[0].strip("`"), row[2]): row[1] for row in rows}
    assert len(documented) == len(rows), "a rule is documented twice"
    assert set(documented) == set(in_suite)
    # Documented as "every required column": the column table says which.
    assert in_suite.pop(("required", "error")) == {c.name for c in COLUMNS if c.required}
    for key, columns in in_suite.items():
        if key[0] == "columns_present":
            continue
        assert columns <= _names(documented[key]), f"{key[0]}: columns missing from the doc"


def test_threshold_and_its_default_are_documented() -> None:
    text = _section("Checks: errors and warnings")
    default = Settings.model_fields["reject_threshold"].default
    assert "REVCYCLE_REJECT_THRESHOLD" in text
    assert f"`{default}`" in text
    assert f"{default:.0%}".replace("%", " %") in text
    assert "held whole" in text
