"""docs/warehouse.md documents every table and column of the schema, and every KPI view."""

from __future__ import annotations

import re
from pathlib import Path

from revcycle.warehouse.schema import metadata
from revcycle.warehouse.views import VIEWS

DOC = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"


def test_every_table_column_and_view_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)
    documented = {s.split("\n", 1)[0].strip("` "): s for s in sections[1:]}
    assert set(documented) == set(metadata.tables)
    for name, table in metadata.tables.items():
        columns = set(re.findall(r"^\| `([a-z0-9_]+)` \|", documented[name], flags=re.MULTILINE))
        assert columns == {c.name for c in table.columns}, name
    for view in VIEWS:
        assert f"`{view}`" in text
    assert "insurance and patient A/R" in text and "revcycle patient-payments" in text
