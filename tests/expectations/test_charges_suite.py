"""The charges suite through the runner: exactly the bad rows are rejected, with the rule that failed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

import pandas as pd
import pytest

from expectations.charges import ERROR, WARNING, PayerChargeRules, build_charges_suite
from expectations.runner import (
    ChargeValidation,
    MissingChargeColumns,
    columns_read,
    validate_charges,
    validation_summary_markdown,
)
from revcycle.charge_export import COLUMN_NAMES

TODAY = date(2025, 3, 15)

# A professional office visit that passes every rule; 1234567893 is the worked NPI example of the CMS
# check-digit specification, 1245319599 and 1003000126 were checked by hand against the same algorithm.
CLEAN_ROW: dict[str, str] = {name: "" for name in COLUMN_NAMES} | {
    "charge_id": "CHG-0001",
    "encounter_id": "ENC-01",
    "patient_mrn": "MRN7731",
    "patient_last_name": "Quillfeather",
    "patient_first_name": "Ottoline",
    "patient_birth_date": "1961-07-04",
    "patient_sex": "F",
    "patient_address1": "12 Larkspur Lane",
    "patient_city": "Springfield",
    "patient_state": "IL",
    "patient_zip": "62704",
    "relationship": "self",
    "subscriber_last_name": "Quillfeather",
    "subscriber_first_name": "Ottoline",
    "subscriber_birth_date": "1961-07-04",
    "subscriber_sex": "F",
    "subscriber_address1": "12 Larkspur Lane",
    "subscriber_city": "Springfield",
    "subscriber_state": "IL",
    "subscriber_zip": "627041234",
    "member_id": "XQZ900112233",
    "payer_id": "ACME1",
    "claim_filing_indicator": "CI",
    "billing_npi": "1245319599",
    "billing_tax_id": "123456789",
    "billing_name": "Prairie Family Medicine",
    "billing_address1": "400 Main St",
    "billing_city": "Springfield",
    "billing_state": "IL",
    "billing_zip": "627011000",
    "rendering_npi": "1234567893",
    "rendering_last_name": "Okafor",
    "rendering_first_name": "Ada",
    "place_of_service": "11",
    "claim_type": "professional",
    "service_date_from": "2025-03-01",
    "service_date_to": "2025-03-01",
    "procedure_code": "99213",
    "modifier1": "25",
    "units": "1",
    "charge_amount": "125.00",
    "diagnosis1": "E11.9",
    "diagnosis2": "I10",
    "diagnosis_pointers": "1:2",
    "claim_frequency_code": "1",
}


# An outpatient hospital bill (131) with every institutional column, and the same as an inpatient stay (111).
INSTITUTIONAL: dict[str, str] = {
    "claim_type": "institutional",
    "type_of_bill": "131",
    "revenue_code": "0450",
    "place_of_service": "22",
    "statement_date_from": "2025-03-01",
    "statement_date_to": "2025-03-01",
    "discharge_status": "01",
    "attending_npi": "1003000126",
    "attending_last_name": "Okafor",
    "attending_first_name": "Ada",
}
INPATIENT: dict[str, str] = INSTITUTIONAL | {
    "type_of_bill": "111",
    "place_of_service": "21",
    "statement_date_to": "2025-03-03",
    "admission_date": "2025-03-01",
    "admission_type": "1",
    "admission_source": "2",
    "admitting_diagnosis": "R07.81",
}


def charges_frame(rows: Iterable[Mapping[str, str]]) -> pd.DataFrame:
    """A frame of the export's columns, every value text, from the given rows."""
    return pd.DataFrame([dict(row) for row in rows], columns=list(COLUMN_NAMES), dtype="str")


PAYERS = {
    "ACME1": PayerChargeRules("ACME1", r"[A-Z]{3}\d{9}"),
    "BETA2": PayerChargeRules("BETA2", r"\d{5,12}"),
}

# charge id -> (column changes, the (rule, column) pairs that must fail, nothing else).
DEFECTS: dict[str, tuple[dict[str, str], set[tuple[str, str]]]] = {
    "BAD-NPI": ({"billing_npi": "1234567890"}, {("npi_check_digit", "billing_npi")}),
    "FUTURE": (
        {"service_date_from": "2025-03-16", "service_date_to": "2025-03-16"},
        {("service_date_not_future", "service_date_from"), ("service_date_not_future", "service_date_to")},
    ),
    "ZERO-UNITS": ({"units": "0"}, {("units_positive", "units")}),
    "THREE-DEC": ({"charge_amount": "125.005"}, {("charge_amount_format", "charge_amount")}),
    "BAD-CPT": ({"procedure_code": "9921"}, {("procedure_code_format", "procedure_code")}),
    "BAD-ICD": ({"diagnosis2": "1I0"}, {("diagnosis_format", "diagnosis2")}),
    # Shaped like ICD-10-CM but not billable: E11 is a category, M54.5 was split into M54.50-M54.59 in 2021.
    "UNKNOWN-ICD": ({"diagnosis2": "E11"}, {("diagnosis_code_set", "diagnosis2")}),
    "DELETED-ICD": ({"diagnosis1": "M54.5"}, {("diagnosis_code_set", "diagnosis1")}),
    "NO-MEMBER": ({"member_id": ""}, {("required", "member_id")}),
    "BLANK-SEX": ({"patient_sex": "   "}, {("required", "patient_sex")}),
    "BAD-MEMBER": ({"member_id": "55501"}, {("member_id_format.ACME1", "member_id")}),
    "BORN-LATER": (
        {"patient_birth_date": "2025-03-02"},
        {("birth_date_before_service", "patient_birth_date")},
    ),
    "NO-DAY": (
        {"service_date_from": "2025-02-30", "service_date_to": ""},
        {("date_format", "service_date_from")},
    ),
    "BAD-MOD": ({"modifier2": "2"}, {("modifier_format", "modifier2")}),
    "BAD-POS": ({"place_of_service": "00"}, {("place_of_service_code", "place_of_service")}),
    "DX-GAP": ({"diagnosis_pointers": "1:3"}, {("diagnosis_pointer_target", "diagnosis_pointers")}),
    "BAD-PTR": ({"diagnosis_pointers": "1;2"}, {("diagnosis_pointers_format", "diagnosis_pointers")}),
    "INST-NO-TOB": (
        {"claim_type": "institutional"},
        {
            ("institutional_required", column)
            for column in (
                "type_of_bill",
                "revenue_code",
                "statement_date_from",
                "statement_date_to",
                "discharge_status",
                "attending_npi",
                "attending_last_name",
                "attending_first_name",
            )
        },
    ),
    # An inpatient bill (111: hospital, inpatient, admit through discharge) needs its admission and admitting
    # diagnosis; the same row as an outpatient bill (INST-OK) does not.
    "INPATIENT-NO-ADMISSION": (
        INSTITUTIONAL | {"type_of_bill": "111"},
        {
            ("inpatient_required", "admission_date"),
            ("inpatient_required", "admission_type"),
            ("inpatient_required", "admission_source"),
            ("inpatient_required", "admitting_diagnosis"),
        },
    ),
    "INPATIENT-BAD-CODES": (
        INPATIENT
        | {"admission_type": "6", "admission_source": "a", "discharge_status": "1", "admitting_diagnosis": "1I0"},
        {
            ("admission_type_format", "admission_type"),
            ("admission_source_format", "admission_source"),
            ("discharge_status_format", "discharge_status"),
            ("admitting_diagnosis_format", "admitting_diagnosis"),
        },
    ),
    "INST-DATES-BAD": (
        INSTITUTIONAL | {"statement_date_from": "2025-03-02", "statement_date_to": "2025-03-01"},
        {("statement_date_order", "statement_date_to")},
    ),
    "INST-NPI-BAD": (
        INSTITUTIONAL | {"attending_npi": "1234567890", "attending_first_name": "B" * 36},
        {("npi_check_digit", "attending_npi"), ("x12_text", "attending_first_name")},
    ),
    "REPL-NO-REF": (
        {"claim_frequency_code": "7"},
        {("original_claim_number_required", "original_claim_number")},
    ),
    "NO-PAYER": ({"payer_id": "NOPE9"}, {("payer_known", "payer_id")}),
    # A rule over several columns is reported per column: two missing values, two rejections.
    "TWO-MISSING": (
        {"member_id": "", "patient_city": " "},
        {("required", "member_id"), ("required", "patient_city")},
    ),
    "TWO-BAD-DX": (
        {"diagnosis2": "I1", "diagnosis3": "E11", "modifier2": "2", "modifier4": "XYZ"},
        {
            ("diagnosis_format", "diagnosis2"),
            ("diagnosis_code_set", "diagnosis3"),
            ("modifier_format", "modifier2"),
            ("modifier_format", "modifier4"),
        },
    ),
    "TWO-FAULTS": (
        {"units": "0", "procedure_code": "ABCDE"},
        {("units_positive", "units"), ("procedure_code_format", "procedure_code")},
    ),
    # Issue 9: every value that reaches an X12 element has a format rule. The writer never rewrites an
    # identifier, so a delimiter (* : ^ ~), a control or a non-ASCII character, or too many characters
    # for the element (REF02 and SBR03 50, NM109 80) is a row error, not a refused interchange.
    "PA-DELIM": ({"prior_authorization": "PA*7781"}, {("identifier_format", "prior_authorization")}),
    "GROUP-COLON": ({"group_number": "GRP:12"}, {("identifier_format", "group_number")}),
    "GROUP-TAB": ({"group_number": "GRP\t12"}, {("identifier_format", "group_number")}),
    "REF-ACCENT": (
        {"claim_frequency_code": "7", "original_claim_number": "CLM\u00c901"},
        {("identifier_format", "original_claim_number")},
    ),
    "PA-TOO-LONG": ({"prior_authorization": "P" * 51}, {("identifier_format", "prior_authorization")}),
    "MEMBER-TOO-LONG": (
        {"payer_id": "BETA2", "member_id": "9" * 81},
        {("identifier_format", "member_id"), ("member_id_format.BETA2", "member_id")},
    ),
    # Free text is rewritten by the writer (accents, delimiters), then must fit: NM103 60, NM104 35, N401 2-30.
    "NAME-TOO-LONG": ({"patient_last_name": "A" * 61}, {("x12_text", "patient_last_name")}),
    "NAME-NOTHING-LEFT": ({"subscriber_first_name": "\u6f22\u5b57"}, {("x12_text", "subscriber_first_name")}),
    "CITY-ONE-LETTER": ({"billing_city": "X"}, {("x12_text", "billing_city")}),
    "RENDERING-LONG": ({"rendering_first_name": "B" * 36}, {("x12_text", "rendering_first_name")}),
    # Ids kept in 64-character warehouse columns.
    "LONG-ENCOUNTER": ({"encounter_id": "E" * 65}, {("id_format", "encounter_id")}),
    # SV104 holds 15 digits; SV102 10 characters with its cents (5010 TR3 Appendix B, element 782).
    "UNITS-DIGITS": ({"units": "1234567890123"}, {("units_format", "units")}),
    "AMOUNT-DIGITS": ({"charge_amount": "12345678901.00"}, {("charge_amount_format", "charge_amount")}),
    # 9 digits before the point: 11 characters with the cents, past the 10 the 5010 TR3 allows element 782.
    "AMOUNT-9-DIGITS": ({"charge_amount": "100000000.00"}, {("charge_amount_format", "charge_amount")}),
}
CLEAN_VARIANTS: dict[str, dict[str, str]] = {
    "CLEAN": {},
    # Another payer's member id pattern: 55501 is right for BETA2 although wrong for ACME1.
    "BETA-MEMBER": {"payer_id": "BETA2", "member_id": "55501"},
    "TODAY": {"service_date_from": "2025-03-15", "service_date_to": "2025-03-15"},
    "COVID-DX": {"diagnosis2": "U07.1", "diagnosis3": "Z20822", "diagnosis_pointers": "1:2:3"},
    "HCPCS": {"procedure_code": "G0439", "modifier1": "", "units": "2.5", "charge_amount": "80"},
    "INST-OK": INSTITUTIONAL,
    "INPATIENT-OK": INPATIENT,
    "VOID-OK": {"claim_frequency_code": "8", "original_claim_number": "PAYERCLM0001"},
    "NO-REFERRING": {"referring_npi": "", "rendering_npi": "1003000126"},
    # What the writer rewrites by its documented rule (accents transliterated, delimiters to spaces) passes,
    # and so do identifiers of letters, digits, - . / and spaces within their elements.
    "REWRITTEN-TEXT": {
        "patient_last_name": "Zo\u00eb-\u00c5*Br\u00fbl\u00e9",
        "subscriber_last_name": "Zo\u00eb-\u00c5*Br\u00fbl\u00e9",
        "billing_name": "Prairie Family Medicine, P.C.",
        "billing_city": "Ft. Wayne",
        "group_number": "GRP 0012",
        "prior_authorization": "PA-2025/001.A",
        "member_id": "XQZ900112233",
    },
    "LONGEST-FITTING": {
        "prior_authorization": "P" * 50,
        "patient_first_name": "B" * 35,
        "units": "123456789012.5",
        "charge_amount": "99999999.99",  # the largest amount of 10 characters, cents included
    },
}
WARNED = {
    "NO-RENDERING": (
        {"rendering_npi": "", "rendering_last_name": "", "rendering_first_name": ""},
        {("rendering_npi_missing", "rendering_npi")},
    )
}
DUPLICATE_ID = "DUP-1"
# Same patient, date, code and modifiers as the CLEAN row, listed after it: only this repeat is the defect.
DUPLICATE_LINE_ID = "DUP-LINE"


def _row(charge_id: str, changes: dict[str, str]) -> dict[str, str]:
    # Each row its own patient, so that only the planted repeat is a duplicate line.
    return CLEAN_ROW | {"charge_id": charge_id, "patient_mrn": f"MRN-{charge_id}"} | changes


def _planted_frame() -> pd.DataFrame:
    rows = [_row(cid, changes) for cid, (changes, _) in DEFECTS.items()]
    rows += [_row(cid, changes) for cid, changes in CLEAN_VARIANTS.items()]
    rows += [_row(cid, changes) for cid, (changes, _) in WARNED.items()]
    rows += [_row(DUPLICATE_ID, {}), _row(DUPLICATE_ID, {"units": "3", "procedure_code": "99214"})]
    rows += [_row(DUPLICATE_LINE_ID, {"patient_mrn": "MRN-CLEAN", "units": "2"})]
    return charges_frame(rows)


@pytest.fixture(scope="module")
def planted() -> ChargeValidation:
    return validate_charges(_planted_frame(), today=TODAY, payer_rules=PAYERS)


def test_exactly_the_bad_rows_are_rejected_with_their_rules(planted: ChargeValidation) -> None:
    failed: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for rejection in planted.rejections:
        assert rejection.charge_id is not None
        failed[rejection.charge_id].add((rejection.rule, rejection.column))
    expected = {cid: pairs for cid, (_, pairs) in DEFECTS.items()}
    expected[DUPLICATE_ID] = {("charge_id_unique", "charge_id")}
    expected[DUPLICATE_LINE_ID] = {("duplicate_line", "procedure_code")}
    assert dict(failed) == expected
    assert planted.rejected_charge_ids == frozenset(expected)


def test_each_failed_rule_is_its_own_rejection(planted: ChargeValidation) -> None:
    two = [r for r in planted.rejections if r.charge_id == "TWO-FAULTS"]
    assert sorted(r.rule for r in two) == ["procedure_code_format", "units_positive"]
    duplicates = [r for r in planted.rejections if r.charge_id == DUPLICATE_ID]
    assert len(duplicates) == 2  # both rows carrying the id are held: neither can be told apart
    assert all(r.severity == ERROR for r in planted.rejections)


def test_warnings_flag_without_rejecting(planted: ChargeValidation) -> None:
    assert [(w.charge_id, w.rule, w.column, w.severity) for w in planted.warnings] == [
        ("NO-RENDERING", "rendering_npi_missing", "rendering_npi", WARNING)
    ]
    assert "NO-RENDERING" not in planted.rejected_charge_ids


def test_summary_counts_failures_per_rule(planted: ChargeValidation) -> None:
    by_key = {(s.rule, s.column): s for s in planted.summary}
    rows = len(DEFECTS) + len(CLEAN_VARIANTS) + len(WARNED) + 3
    assert planted.evaluated_rows == rows
    assert by_key[("charge_id_unique", "charge_id")].failing == 2
    assert by_key[("units_positive", "units")].failing == 2  # ZERO-UNITS and TWO-FAULTS
    assert by_key[("npi_check_digit", "billing_npi")].failing == 1
    assert by_key[("npi_check_digit", "billing_npi")].failing_share == pytest.approx(1 / rows)
    assert by_key[("rendering_npi_missing", "rendering_npi")].severity == WARNING
    assert by_key[("sex_code", "patient_sex")].failing == 0


def test_masked_values_keep_codes_and_hide_phi(planted: ChargeValidation) -> None:
    by_charge = {(r.charge_id, r.rule): r for r in planted.rejections}
    assert by_charge[("BAD-NPI", "npi_check_digit")].masked_value == "1234567890"
    assert by_charge[("BAD-CPT", "procedure_code_format")].masked_value == "9921"
    assert by_charge[("BAD-MEMBER", "member_id_format.ACME1")].masked_value == "***5"
    assert by_charge[("BORN-LATER", "birth_date_before_service")].masked_value == "***10"
    assert by_charge[("NO-MEMBER", "required")].masked_value is None


def _phi_values() -> set[str]:
    values = {
        CLEAN_ROW[c]
        for c in ("patient_last_name", "patient_first_name", "member_id", "patient_address1", "patient_mrn")
    }
    values |= {"55501", "2025-03-02", "20250302"}
    for birth in (CLEAN_ROW["patient_birth_date"], CLEAN_ROW["subscriber_birth_date"]):
        values |= {birth, birth.replace("-", "")}
    return values


def _leaks(text: str) -> set[str]:
    return {value for value in _phi_values() if value in text}


def test_phi_scan_finds_a_planted_value() -> None:
    # The scan itself is tested: it must see PHI where PHI is.
    assert _leaks(repr(_planted_frame().to_dict("records"))) >= {
        CLEAN_ROW["member_id"],
        "1961-07-04",
        "55501",
    }


def test_no_phi_in_summary_markdown_or_rejections(planted: ChargeValidation) -> None:
    markdown = validation_summary_markdown(planted)
    assert _leaks(markdown) == set()
    assert _leaks(repr(planted.summary)) == set()
    assert _leaks(repr(planted)) == set()
    assert "| npi_check_digit | billing_npi | error | 1 |" in markdown


def test_clean_rows_pass_every_rule() -> None:
    rows = [_row(f"OK-{i}", changes) for i, changes in enumerate(CLEAN_VARIANTS.values())]
    result = validate_charges(charges_frame(rows), today=TODAY, payer_rules=PAYERS)
    assert result.rejections == []
    assert result.warnings == []
    assert result.summary and all(s.failing == 0 for s in result.summary)
    assert "rules passed on every row" in validation_summary_markdown(result)


def test_timely_filing_limit_warns_per_payer() -> None:
    payers = {"ACME1": PayerChargeRules("ACME1", r"[A-Z]{3}\d{9}", timely_filing_days=90)}
    old = _row("OLD", {"service_date_from": "2024-12-01", "service_date_to": "2024-12-01"})  # 104 days before
    recent = _row("RECENT", {"service_date_from": "2024-12-15", "service_date_to": "2024-12-15"})  # 90 days
    result = validate_charges(charges_frame([old, recent]), today=TODAY, payer_rules=payers)
    assert result.rejections == []
    assert [(w.charge_id, w.rule) for w in result.warnings] == [("OLD", "timely_filing.ACME1")]


def test_missing_required_column_fails_the_run() -> None:
    frame = charges_frame([CLEAN_ROW]).drop(columns=["member_id", "units"])
    with pytest.raises(MissingChargeColumns) as raised:
        validate_charges(frame, today=TODAY)
    assert "member_id" in str(raised.value) and "units" in str(raised.value)


def test_absent_optional_columns_count_as_empty() -> None:
    row = _row("SHORT", {"modifier1": ""})
    frame = charges_frame([row]).drop(columns=["modifier1", "modifier2", "referring_npi", "type_of_bill"])
    result = validate_charges(frame, today=TODAY)
    assert result.rejections == []


def test_row_positions_follow_the_input_frame() -> None:
    frame = charges_frame([_row("A", {}), _row("B", {"units": "0"})])
    frame.index = pd.Index([100, 7])
    result = validate_charges(frame, today=TODAY)
    assert [(r.charge_id, r.row) for r in result.rejections] == [("B", 1)]


def test_the_suite_reads_its_columns_without_row_conditions() -> None:
    # GX copies the selected rows of the whole frame for a row_condition: conditional rules read two columns.
    suite = build_charges_suite(PAYERS, today=TODAY)
    assert all(e.configuration.kwargs.get("row_condition") is None for e in suite.expectations)
    read = columns_read(suite)
    assert read is not None
    named = {c for e in suite.expectations for c in e.meta.get("columns", [e.meta["column"]])} - {"*"}
    assert named <= read
    assert {"payer_id", "claim_type", "claim_frequency_code", "service_date_from__date"} <= read
    assert set(COLUMN_NAMES) <= read  # issue 9: every contract column, and so every X12 element, has a rule


def test_validation_leaves_gx_settings_as_it_found_them() -> None:
    from great_expectations.execution_engine import pandas_execution_engine

    before = pandas_execution_engine.HASH_THRESHOLD
    validate_charges(charges_frame([CLEAN_ROW]), today=TODAY)
    assert pandas_execution_engine.HASH_THRESHOLD == before > 0


def test_every_expectation_is_labelled_and_unique() -> None:
    suite = build_charges_suite(PAYERS, today=date(2025, 1, 1))
    keys = []
    for expectation in suite.expectations:
        meta = expectation.meta
        assert meta is not None
        assert meta["severity"] in {ERROR, WARNING}
        assert meta["rule"] and meta["column"]
        assert getattr(expectation, "mostly", 1) == 1
        keys.append((meta["rule"], meta["column"]))
    assert len(keys) == len(set(keys))
    assert ("required", "*") in keys and ("diagnosis_code_set", "diagnosis1..diagnosis12") in keys
    assert ("member_id_format.ACME1", "member_id") in keys and ("member_id_format.BETA2", "member_id") in keys


def test_visit_status_is_active_cancelled_or_empty() -> None:
    # docs/charge-export.md: visit_status is `active` (default when empty) or `cancelled`; anything else is a
    # row error under `visit_status_code`.
    rows = [
        _row("VS-EMPTY", {"visit_status": ""}),
        _row("VS-ACTIVE", {"visit_status": "active"}),
        _row("VS-CANCELLED", {"visit_status": "cancelled"}),
        _row("VS-VOID", {"visit_status": "void"}),
    ]
    result = validate_charges(charges_frame(rows), today=TODAY)
    assert [(r.charge_id, r.rule, r.column) for r in result.rejections] == [
        ("VS-VOID", "visit_status_code", "visit_status")
    ]
