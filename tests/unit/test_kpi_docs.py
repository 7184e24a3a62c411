"""Done-when 2: docs/kpis.md and docs/denial-codes.md are generated from the registry and the code tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from revcycle.warehouse.kpi import docs
from revcycle.warehouse.kpi.registry import REGISTRY
from revcycle.warehouse.views import VIEWS

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(docs.PAGES))
def test_the_generated_page_is_up_to_date(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == docs.PAGES[name](), (
        f"docs/{name} is stale: run `python -m revcycle.warehouse.kpi.docs` and commit the result"
    )


def test_a_change_to_the_registry_shows_in_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    changed = (replace(REGISTRY[0], formula="a formula nobody wrote"), *REGISTRY[1:])
    monkeypatch.setattr(docs, "REGISTRY", changed)
    assert "a formula nobody wrote" in docs.render_kpis()
    assert docs.render_kpis() != (DOCS / "kpis.md").read_text(encoding="utf-8")


def test_every_kpi_is_defined_once_with_a_source_and_existing_views() -> None:
    keys = [d.key for d in REGISTRY]
    assert len(keys) == len(set(keys))
    for d in REGISTRY:
        assert d.formula and d.period and d.source and d.citation, d.key
        assert d.unit in ("percent", "days", "dollars"), d.key
        assert set(d.views) <= set(VIEWS), d.key
    page = docs.render_kpis()
    for d in REGISTRY:
        assert f"### {d.name}" in page and d.source in page
