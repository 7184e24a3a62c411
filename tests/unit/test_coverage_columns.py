"""The export's secondary and tertiary coverage columns on the built claim (docs/charge-export.md)."""

from __future__ import annotations

from datetime import date

from test_claims import PAYERS, _row

from revcycle.claims import build_claims

SPOUSE = {
    "secondary_payer_id": "PAYR2",
    "secondary_member_id": "M654321",
    "secondary_claim_filing_indicator": "MC",
    "secondary_relationship": "spouse",
    "secondary_subscriber_last_name": "Quillon",
    "secondary_subscriber_first_name": "Bastien",
    "secondary_subscriber_birth_date": "1968-01-02",
    "secondary_subscriber_sex": "M",
}
TERTIARY = {
    "tertiary_payer_id": "PAYR3",  # no payer file: named by its id
    "tertiary_member_id": "T1",
    "tertiary_claim_filing_indicator": "CI",
    "tertiary_relationship": "self",
    "tertiary_subscriber_last_name": "Quillon",
    "tertiary_subscriber_first_name": "Odette",
    "tertiary_subscriber_birth_date": "1970-05-17",
    "tertiary_subscriber_sex": "F",
}


def test_the_coverages_after_the_primary_are_other_payers_without_amounts_in_billing_order() -> None:
    (built,) = build_claims([_row("C1", **SPOUSE, **TERTIARY)], PAYERS).claims
    assert built.payer_id == "PAYR1" and built.payer_responsibility == "P"
    second, third = built.other_payers
    # SBR01 S then T; spouse -> X12 01, self -> 18 (charge_export.RELATIONSHIP_CODES); no AMT*D, CAS or 2430
    assert (second.payer_id, second.payer_name, second.responsibility, second.relationship) == (
        "PAYR2",
        "Unit Test Health",
        "S",
        "01",
    )
    assert (second.member_id, second.filing_indicator, second.subscriber.first_name) == ("M654321", "MC", "Bastien")
    assert second.subscriber.birth_date == date(1968, 1, 2)
    assert second.subscriber.address == built.patient.address  # no address of its own: the patient's
    assert (third.payer_id, third.payer_name, third.responsibility, third.relationship) == ("PAYR3", "PAYR3", "T", "18")
    assert all(o.paid is None and not o.adjustments and not o.lines for o in built.other_payers)


def test_a_tertiary_without_a_secondary_is_no_coverage() -> None:
    (alone,) = build_claims([_row("C1", **TERTIARY)], PAYERS).claims
    (plain,) = build_claims([_row("C2")], PAYERS).claims
    assert alone.other_payers == () and plain.other_payers == ()


def test_an_unreadable_coverage_holds_the_claim_naming_the_column_not_the_value() -> None:
    result = build_claims([_row("C1", **(SPOUSE | {"secondary_subscriber_birth_date": "1968-13-45"}))], PAYERS)
    assert result.claims == []
    (held,) = result.held
    (reason,) = held.reasons
    assert "secondary_subscriber_birth_date" in reason and "1968-13-45" not in reason
