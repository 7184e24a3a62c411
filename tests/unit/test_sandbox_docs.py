"""docs/sandbox.md states the figures the sandbox payer uses: denial rates and CARC mix, lags, reject shares."""

from __future__ import annotations

import re
from pathlib import Path

from revcycle.sandbox.profiles import BEHAVIOURS, TAIL_FROM

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text()
KINDS = {"Medicare": "medicare", "Medicaid": "medicaid", "commercial": "commercial"}


def _rows(first_cell_pattern: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0] in KINDS and re.fullmatch(first_cell_pattern, cells[1]):
            rows[KINDS[cells[0]]] = cells[1:]
    return rows


def _percent(cell: str) -> float:
    return float(cell.removesuffix("%").strip()) / 100


def test_the_documented_denial_rates_and_carc_mix_are_the_ones_used() -> None:
    header = next(line for line in DOC.splitlines() if line.startswith("| payer kind | denial rate |"))
    carcs = [c.strip().removeprefix("CO-") for c in header.strip("|").split("|")[2:]]
    rows = _rows(r"\d+ %")
    assert set(rows) == set(BEHAVIOURS)
    for kind, cells in rows.items():
        behaviour = BEHAVIOURS[kind]
        assert _percent(cells[0]) == behaviour.denial_share
        weights = {reason.carc: reason.weight for reason in behaviour.denials}
        assert {carc: _percent(cell) for carc, cell in zip(carcs, cells[1:], strict=True)} == weights


def test_the_documented_lags_are_the_ones_used() -> None:
    rows = _rows(r"\d+ / \d+ / \d+")
    assert set(rows) == set(BEHAVIOURS)
    for kind, cells in rows.items():
        lag = BEHAVIOURS[kind].remit_lag
        low, mode, high = (int(x) for x in cells[0].split("/"))
        first, last = (int(x) for x in cells[2].split("-"))
        assert (low, mode, high, _percent(cells[1]), first, last) == (
            lag.low,
            lag.mode,
            lag.high,
            lag.tail_share,
            TAIL_FROM,
            lag.tail_high,
        )


def test_the_documented_front_end_reject_shares_are_the_ones_used() -> None:
    found = re.search(r"Medicare (\d+) %, Medicaid (\d+) %, commercial (\d+) %\) \| A7:33:IL", DOC)
    assert found is not None
    shares = [int(x) / 100 for x in found.groups()]
    assert shares == [BEHAVIOURS[k].front_end_reject_share for k in ("medicare", "medicaid", "commercial")]
