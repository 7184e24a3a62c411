"""The claims suite over built claims: totals, 837P limits and corrections' original claim numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from connectors.payers import registered_payers
from expectations.claims import build_claims_suite, claim_hold_reasons, claims_frame, validate_claims
from expectations.frames import validate_frame
from revcycle.claims import build_claims
from revcycle.domain import Claim
from revcycle.synth import generate_charge_rows

AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="module")
def claims() -> list[Claim]:
    payers = registered_payers()
    rows = list(generate_charge_rows(list(payers.values()), encounters=12, seed=41, as_of=AS_OF))
    built = build_claims(rows, payers)
    assert len(built.claims) >= 8
    return built.claims


def test_built_claims_pass_every_rule(claims: list[Claim]) -> None:
    validation = validate_claims(claims)
    assert validation.findings == []
    assert validation.evaluated_rows == sum(len(c.lines) for c in claims)
    assert claim_hold_reasons(claims) == {}


def test_claims_breaking_a_rule_are_named_with_it(claims: list[Claim]) -> None:
    first, second, third, fourth, *rest = claims
    line = first.lines[0]
    too_many_lines = replace(first, lines=tuple(replace(line, line_number=n, charge_id=f"L{n}") for n in range(1, 52)))
    too_many_diagnoses = replace(second, diagnoses=tuple(f"A0{n}" for n in range(13)))
    replacement_without_number = replace(third, frequency_code="7", original_claim_number=None)
    void_with_number = replace(fourth, frequency_code="8", original_claim_number="PAYER-CLM-1")
    checked = [too_many_lines, too_many_diagnoses, replacement_without_number, void_with_number, *rest]
    assert claim_hold_reasons(checked) == {
        first.claim_key: [f"claim {first.claim_key}: claims suite rule lines_at_most_50 failed"],
        second.claim_key: [f"claim {second.claim_key}: claims suite rule diagnoses_at_most_12 failed"],
        third.claim_key: [f"claim {third.claim_key}: claims suite rule original_claim_number_required failed"],
    }


def test_a_total_that_is_not_the_sum_of_its_lines_fails(claims: list[Claim]) -> None:
    frame = claims_frame(claims)
    target = claims[1].claim_key
    frame.loc[frame["claim_key"] == target, "claim_total_cents"] += 1
    validation = validate_frame(frame, build_claims_suite(), key_column="claim_key")
    assert validation.keys_failing() == {target: ["claim_total_equals_lines"]}
    summary = {s.rule: s.failing for s in validation.summary}
    assert summary["claim_total_equals_lines"] == len(claims[1].lines)


def test_the_frame_has_one_row_per_line_with_totals_in_cents(claims: list[Claim]) -> None:
    frame = claims_frame(claims)
    assert len(frame) == sum(len(c.lines) for c in claims)
    first = claims[0]
    rows = frame[frame["claim_key"] == first.claim_key]
    expected_total = int(sum(line.charge for line in first.lines) * 100)
    assert set(rows["claim_total_cents"]) == {expected_total}
    assert sorted(rows["line_number"]) == list(range(1, len(first.lines) + 1))
