"""The claim builder: grouping, keys, diagnosis pointers, mapping and the reasons an encounter is held."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from revcycle.charge_export import COLUMN_NAMES
from revcycle.claims import build_claims, claim_key_for
from revcycle.domain import Claim, ClaimType
from revcycle.payers import PayerProfile

# 1234567893 is the worked example of the NPI check digit in the CMS NPI standard; 1245319599 is another
# number whose Luhn check over 80840 + NPI holds (checked by hand, not with revcycle.codes.npi).
BILLING_NPI = "1234567893"
OTHER_BILLING_NPI = "1245319599"
MRN = "MRN7654321"


def _payer(payer_id: str = "PAYR1", **overrides: object) -> PayerProfile:
    values: dict[str, object] = {
        "payer_id": payer_id,
        "name": "Unit Test Health",
        "filing_indicator": "CI",
        "interchange_receiver_id": payer_id,
        "group_receiver_code": payer_id,
        "claim_types": frozenset({ClaimType.PROFESSIONAL}),
        "timely_filing_days": 90,
        "member_id_pattern": r"M\d{6}",
        "make_member_id": lambda rng: f"M{rng.randrange(10**6):06d}",
    }
    values.update(overrides)
    return PayerProfile(**values)  # type: ignore[arg-type]


PAYERS = {"PAYR1": _payer("PAYR1"), "PAYR2": _payer("PAYR2")}


def _row(charge_id: str, **overrides: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMN_NAMES, "")
    row.update(
        charge_id=charge_id,
        encounter_id="ENC-1",
        patient_mrn=MRN,
        patient_last_name="Quillon",
        patient_first_name="Odette",
        patient_birth_date="1970-05-17",
        patient_sex="F",
        patient_address1="12 Orchard St",
        patient_city="Madison",
        patient_state="WI",
        patient_zip="53703",
        relationship="self",
        subscriber_last_name="Quillon",
        subscriber_first_name="Odette",
        subscriber_birth_date="1970-05-17",
        subscriber_sex="F",
        subscriber_address1="12 Orchard St",
        subscriber_city="Madison",
        subscriber_state="WI",
        subscriber_zip="53703",
        member_id="M123456",
        payer_id="PAYR1",
        claim_filing_indicator="CI",
        billing_npi=BILLING_NPI,
        billing_tax_id="123456789",
        billing_name="PRAIRIE FAMILY MEDICINE",
        billing_address1="1001 Clinic Way",
        billing_city="Springfield",
        billing_state="IL",
        billing_zip="627011234",
        place_of_service="11",
        claim_type="professional",
        service_date_from="2024-03-04",
        service_date_to="2024-03-04",
        procedure_code="99213",
        units="1",
        charge_amount="135.00",
        diagnosis1="I10",
        diagnosis_pointers="1",
        claim_frequency_code="1",
    )
    row.update(overrides)
    return row


def _only_claim(rows: list[dict[str, str]]) -> Claim:
    result = build_claims(rows, PAYERS)
    assert result.held == []
    assert len(result.claims) == 1
    return result.claims[0]


def test_one_encounter_becomes_one_claim_with_lines_in_charge_id_order() -> None:
    rows = [_row("C3", procedure_code="85025", charge_amount="28.00"), _row("C1"), _row("C2", units="2")]
    claim = _only_claim(rows)
    assert [line.charge_id for line in claim.lines] == ["C1", "C2", "C3"]
    assert [line.line_number for line in claim.lines] == [1, 2, 3]
    assert claim.total_charge == Decimal("135.00") + Decimal("135.00") + Decimal("28.00")
    assert claim.lines[1].units == Decimal("2")


def test_claims_are_grouped_by_encounter_payer_and_billing_npi() -> None:
    rows = [
        _row("C1"),
        _row("C2"),
        _row("C3", encounter_id="ENC-2"),
        _row("C4", payer_id="PAYR2"),
        _row("C5", billing_npi=OTHER_BILLING_NPI),
    ]
    result = build_claims(rows, PAYERS)
    assert result.held == []
    groups = sorted(tuple(line.charge_id for line in c.lines) for c in result.claims)
    assert groups == [("C1", "C2"), ("C3",), ("C4",), ("C5",)]
    by_first = {c.lines[0].charge_id: c for c in result.claims}
    assert by_first["C4"].payer_id == "PAYR2"
    assert by_first["C5"].billing_provider.npi == OTHER_BILLING_NPI
    assert by_first["C3"].encounter_id == "ENC-2"
    assert len({c.claim_key for c in result.claims}) == 4


def test_diagnosis_pointers_are_remapped_to_the_claims_diagnosis_list() -> None:
    rows = [
        # line 1 points at its 2nd diagnosis only; line 2 lists a new code and one line 1 had
        _row("C1", diagnosis1="I10", diagnosis2="E11.9", diagnosis_pointers="2"),
        _row("C2", diagnosis1="J069", diagnosis2="I10", diagnosis3="R519", diagnosis_pointers="1:2"),
    ]
    claim = _only_claim(rows)
    # Worked by hand: pointed codes are added first in line order, then the line's remaining codes.
    assert claim.diagnoses == ("E119", "I10", "J069", "R519")
    assert claim.lines[0].diagnosis_pointers == (1,)
    assert claim.lines[1].diagnosis_pointers == (3, 2)
    for row, line in zip(rows, claim.lines, strict=True):
        own = [row[f"diagnosis{i}"].replace(".", "") for i in range(1, 13)]
        wanted = [own[int(p) - 1] for p in row["diagnosis_pointers"].split(":")]
        assert [claim.diagnoses[p - 1] for p in line.diagnosis_pointers] == wanted


def test_pointer_at_an_empty_diagnosis_holds_the_encounter() -> None:
    result = build_claims([_row("C1", diagnosis_pointers="1:3")], PAYERS)
    assert result.claims == []
    assert len(result.held) == 1
    assert result.held[0].charge_ids == ("C1",)
    assert "C1" in result.held[0].reasons[0]


def test_claim_key_is_stable_short_and_not_the_mrn() -> None:
    rows = [_row("C1"), _row("C2", procedure_code="85025")]
    first = _only_claim(rows)
    again = _only_claim(list(reversed(rows)))
    assert first.claim_key == again.claim_key == claim_key_for("ENC-1", "PAYR1", BILLING_NPI)
    assert len(first.claim_key) <= 20  # CLM01 is at most 20 characters
    assert re.fullmatch(r"[A-Z0-9]+", first.claim_key)
    assert MRN not in first.claim_key and "ENC-1" not in first.claim_key
    other_mrn = _only_claim([_row("C1", patient_mrn="MRN0000001")])
    assert other_mrn.claim_key == first.claim_key  # the MRN plays no part in the key
    assert claim_key_for("ENC-2", "PAYR1", BILLING_NPI) != first.claim_key
    assert claim_key_for("ENC-1", "PAYR2", BILLING_NPI) != first.claim_key
    assert claim_key_for("ENC-1", "PAYR1", OTHER_BILLING_NPI) != first.claim_key


def test_a_later_charge_of_the_encounter_gets_the_same_claim_key() -> None:
    # Whether a late charge may still join is intake's decision (it holds it for a replacement claim);
    # the builder only has to give it the same key so that intake can tell.
    before = _only_claim([_row("C1")])
    after = _only_claim([_row("C1"), _row("C9", procedure_code="36415", charge_amount="15.00")])
    assert after.claim_key == before.claim_key


def test_row_values_are_mapped_onto_the_claim() -> None:
    row = _row(
        "C1",
        modifier1="lt",
        modifier2="",
        modifier3="59",
        rendering_npi="1245319599",
        rendering_last_name="Kestrel",
        rendering_first_name="Maren",
        prior_authorization="PA00000042",
        group_number="GRP00042",
        service_date_to="2024-03-06",
    )
    claim = _only_claim([row])
    assert claim.patient_is_subscriber and claim.patient == claim.subscriber
    assert claim.member_id == "M123456" and claim.filing_indicator == "CI"
    assert claim.lines[0].modifiers == ("LT", "59")
    assert claim.lines[0].charge == Decimal("135.00")
    assert claim.lines[0].service_date == date(2024, 3, 4)
    assert claim.lines[0].service_date_end == date(2024, 3, 6)
    assert claim.rendering_provider is not None and claim.rendering_provider.npi == "1245319599"
    assert claim.referring_provider is None
    assert claim.billing_provider.tax_id == "123456789" and not claim.billing_provider.is_person
    assert claim.prior_authorization == "PA00000042" and claim.group_number == "GRP00042"
    same_day = _only_claim([_row("C1")])
    assert same_day.lines[0].service_date_end is None


def test_a_dependent_patient_keeps_their_own_demographics() -> None:
    claim = _only_claim([_row("C1", relationship="child", patient_first_name="Nico", patient_birth_date="2015-02-01")])
    assert claim.relationship == "19"
    assert not claim.patient_is_subscriber
    assert claim.patient.first_name == "Nico" and claim.patient.birth_date == date(2015, 2, 1)
    assert claim.subscriber.first_name == "Odette"


def test_thirteen_diagnoses_hold_the_claim() -> None:
    twelve = {f"diagnosis{i}": f"R{i:02d}9" for i in range(1, 13)}
    rows = [_row("C1", **twelve), _row("C2", diagnosis1="Z23", diagnosis_pointers="1")]
    result = build_claims(rows, PAYERS)
    assert result.claims == []
    (held,) = result.held
    assert held.charge_ids == ("C1", "C2")
    assert any("13 diagnoses" in reason for reason in held.reasons)


def test_fifty_one_lines_hold_a_professional_claim() -> None:
    fifty = [_row(f"C{i:03d}") for i in range(1, 51)]
    assert len(build_claims(fifty, PAYERS).claims) == 1
    result = build_claims([*fifty, _row("C051")], PAYERS)
    assert result.claims == []
    (held,) = result.held
    assert len(held.charge_ids) == 51
    assert any("51 lines" in reason for reason in held.reasons)


def test_replacement_and_void_need_the_payers_claim_number() -> None:
    for frequency in ("7", "8"):
        result = build_claims([_row("C1", claim_frequency_code=frequency)], PAYERS)
        assert result.claims == []
        assert any(f"frequency {frequency}" in reason for reason in result.held[0].reasons)
    fixed = _only_claim([_row("C1", claim_frequency_code="7", original_claim_number="SB00000000001234")])
    assert fixed.frequency_code == "7" and fixed.original_claim_number == "SB00000000001234"


def test_unknown_payer_is_held_and_named() -> None:
    result = build_claims([_row("C1", payer_id="NOSUCH"), _row("C2")], PAYERS)
    assert [c.lines[0].charge_id for c in result.claims] == ["C2"]
    (held,) = result.held
    assert held.payer_id == "NOSUCH" and held.charge_ids == ("C1",)
    assert "NOSUCH" in held.reasons[0]


def test_payer_rules_and_claim_types_hold_the_claim() -> None:
    def no_99213(claim: Claim) -> Iterator[str]:
        for line in claim.lines:
            if line.procedure_code == "99213":
                yield f"claim {claim.claim_key}: 99213 not covered"

    strict = {"PAYR1": _payer("PAYR1", claim_rules=(no_99213,))}
    result = build_claims([_row("C1"), _row("C2", encounter_id="ENC-2", procedure_code="99214")], strict)
    assert [c.encounter_id for c in result.claims] == ["ENC-2"]
    (held,) = result.held
    assert held.reasons == (f"claim {held.claim_key}: 99213 not covered",)

    institutional = _row("C3", **_HOSPITAL)
    result = build_claims([institutional], PAYERS)
    (held,) = result.held
    assert result.claims == [] and held.reasons == (
        f"claim {held.claim_key}: Unit Test Health does not accept institutional claims (837I); held",
    )


# An outpatient hospital bill (131) with its institutional columns; 1245319599 checked by hand (see above).
_HOSPITAL = {
    "claim_type": "institutional",
    "type_of_bill": "131",
    "revenue_code": "0450",
    "statement_date_from": "2024-03-04",
    "statement_date_to": "2024-03-04",
    "discharge_status": "01",
    "attending_npi": OTHER_BILLING_NPI,
    "attending_last_name": "Okafor",
    "attending_first_name": "Ada",
}
_HOSPITAL_PAYERS = {"PAYR1": _payer("PAYR1", claim_types=frozenset({ClaimType.PROFESSIONAL, ClaimType.INSTITUTIONAL}))}


def test_an_inpatient_bill_carries_its_institutional_fields_for_a_payer_taking_837i() -> None:
    inpatient = _HOSPITAL | {
        "type_of_bill": "111",
        "statement_date_to": "2024-03-06",
        "admission_date": "2024-03-04",
        "admission_type": "1",
        "admission_source": "2",
        "admitting_diagnosis": "r07.81",
    }
    result = build_claims(
        [_row("C1", **inpatient), _row("C2", **(inpatient | {"revenue_code": "0300", "procedure_code": "80053"}))],
        _HOSPITAL_PAYERS,
    )
    assert result.held == []
    (built,) = result.claims
    assert built.claim_type is ClaimType.INSTITUTIONAL and built.type_of_bill == "111"
    assert (built.statement_from, built.statement_to, built.admission_date) == (
        date(2024, 3, 4),
        date(2024, 3, 6),
        date(2024, 3, 4),
    )
    assert (built.admission_type, built.admission_source, built.patient_status) == ("1", "2", "01")
    assert built.admitting_diagnosis == "R0781"  # as the diagnoses: upper case, without the dot
    assert built.attending_provider is not None
    assert (built.attending_provider.npi, built.attending_provider.last_or_org_name) == (OTHER_BILLING_NPI, "Okafor")
    assert [line.revenue_code for line in built.lines] == ["0450", "0300"]


def test_institutional_claims_missing_what_the_837i_needs_are_held_naming_the_columns() -> None:
    rows = [
        _row("C1", **(_HOSPITAL | {"type_of_bill": "111"})),  # inpatient without its admission
        _row("C2", encounter_id="ENC-2", **(_HOSPITAL | {"attending_npi": ""})),
        _row("C3", encounter_id="ENC-3", **(_HOSPITAL | {"type_of_bill": "137"})),  # 7 in the bill, 1 in the column
    ]
    result = build_claims(rows, _HOSPITAL_PAYERS)
    assert result.claims == []
    reasons = {h.charge_ids: h.reasons for h in result.held}
    key = {h.charge_ids: h.claim_key for h in result.held}
    assert reasons[("C1",)] == (
        f"claim {key[('C1',)]}: an inpatient bill needs admission_date, admission_type, admission_source, "
        "admitting_diagnosis",
    )
    assert reasons[("C2",)] == (
        f"claim {key[('C2',)]}: an institutional claim needs attending_npi and the attending name",
    )
    assert reasons[("C3",)] == (
        f"claim {key[('C3',)]}: type_of_bill frequency digit and claim_frequency_code disagree",
    )


def test_held_reasons_carry_no_patient_data() -> None:
    rows = [_row("C1", claim_frequency_code="8"), _row("C2", encounter_id="ENC-2", payer_id="NOSUCH")]
    result = build_claims(rows, PAYERS)
    assert len(result.held) == 2
    phi = [MRN, "Quillon", "Odette", "1970-05-17", "M123456", "12 Orchard St"]
    for held in result.held:
        for reason in held.reasons:
            assert not [value for value in phi if value in reason]
