"""docs/eligibility-and-claim-status.md and docs/x12-json.md cannot drift from the code they describe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from corpus import corpus_dir

from revcycle.eligibility_actions import ACTION_RULES, UNKNOWN_FOLLOW_UP
from revcycle.x12.document import parse_document
from revcycle.x12.write277 import STATUS_OF_STAGE

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _rows(text: str, first_cell: str) -> list[list[str]]:
    """The cells of every markdown table row whose first cell matches ``first_cell``."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def test_the_named_actions_table_is_the_rule_table() -> None:
    text = (DOCS / "eligibility-and-claim-status.md").read_text(encoding="utf-8")
    rows = _rows(text, r"(EB01|AAA03|AAA04) .*")
    expected = []
    for rule in (*ACTION_RULES, UNKNOWN_FOLLOW_UP):
        days = rule.resend_after_days
        resend = f"yes, after {days} day{'s' if days != 1 else ''}" if rule.resend else "no"
        expected.append(
            [
                rule.source,
                rule.meaning,
                f"`{rule.action}`",
                resend,
                "yes" if rule.needs_person else "no",
                rule.what_to_do,
            ]
        )
    assert rows == expected


def test_the_sandbox_stage_table_is_status_of_stage() -> None:
    text = (DOCS / "eligibility-and-claim-status.md").read_text(encoding="utf-8")
    rows = _rows(text, r"`[a-z_]+`")
    assert [(r[0].strip("`"), r[1]) for r in rows] == [
        (stage, f"{s.category}:{s.code}") for stage, s in STATUS_OF_STAGE.items()
    ]


def _keys(value: Any, prefix: str = "") -> set[str]:
    """Every key of a JSON document, nested keys included."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            found |= _keys(item)
    elif isinstance(value, list):
        for item in value:
            found |= _keys(item)
    return found


def test_every_json_key_of_the_inquiry_transactions_is_documented() -> None:
    text = (DOCS / "x12-json.md").read_text(encoding="utf-8")
    sections = {m.group(1): m.end() for m in re.finditer(r"^## (\S+)", text, flags=re.MULTILINE)}
    for name, set_id in [
        ("270_271/lfh__dependent-health-benefit-check.270", "270"),
        ("270_271/lfh__dependent-health-benefit-check.271", "271"),
        ("270_271/lfh__subscriber-health-benefit-check-error.271", "271"),
        ("276_277/lfh__claim-level-status.276", "276"),
        ("276_277/lfh__claim-level-status.277", "277"),
    ]:
        [tx] = parse_document(corpus_dir() / name, name)["transactions"]
        start = sections[set_id]
        following = [p for p in sections.values() if p > start]
        section = text[start : min(following) if following else len(text)]
        documented = set(re.findall(r"[a-z_]+", section))
        missing = _keys(tx) - documented - {"type", "control_number"}
        assert missing == set(), (set_id, missing)
