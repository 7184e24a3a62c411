"""The custom expectations: their examples run through GX, and the NPI check against the CMS definition."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from expectations.custom import (
    ExpectDiagnosisPointersToReferencePresentDiagnoses,
    ExpectRowsToBeFirstOfTheirValues,
    diagnosis_pointers_resolve,
    npi_check_digit_valid,
)
from expectations.custom_cells import (
    ExpectColumnsValuesToBeBillableIcd10cm,
    ExpectColumnsValuesToBeWritableX12Text,
    ExpectColumnsValuesToBeX12Identifiers,
    ExpectColumnsValuesToMatchRegex,
    ExpectColumnsValuesToNotBeNull,
    failing_cells,
    icd10cm_billable_on,
    identifier_misfit_cells,
    judges_cells,
    x12_text_fits,
    x12_text_misfit_cells,
)
from expectations.custom_claims import (
    ExpectAmountsToBalance,
    ExpectColumnValueCountsToBeAtMost,
    ExpectGroupSizeToEqual,
    ExpectGroupTotalToEqualSumOfParts,
    amounts_balance,
    group_total_equals_parts,
)
from expectations.custom_columns import (
    ExpectColumnsValuesToBeInSet,
    ExpectColumnsValuesToBeIsoDate,
    ExpectColumnsValuesToBePresentWhen,
    ExpectColumnsValuesToBeValidNpi,
)
from expectations.custom_conditional import (
    ExpectColumnPairValuesToBeOrderedWherePresent,
    ExpectColumnValuesToBeAtLeastWhen,
    ExpectColumnValuesToBePresentWhen,
    ExpectColumnValuesToMatchRegexWhen,
)

CUSTOM = (
    ExpectDiagnosisPointersToReferencePresentDiagnoses,
    ExpectColumnsValuesToBeBillableIcd10cm,
    ExpectColumnsValuesToMatchRegex,
    ExpectColumnsValuesToNotBeNull,
    ExpectColumnValuesToBePresentWhen,
    ExpectColumnValuesToMatchRegexWhen,
    ExpectColumnValuesToBeAtLeastWhen,
    ExpectColumnPairValuesToBeOrderedWherePresent,
    ExpectRowsToBeFirstOfTheirValues,
    ExpectGroupTotalToEqualSumOfParts,
    ExpectAmountsToBalance,
    ExpectColumnValueCountsToBeAtMost,
    ExpectGroupSizeToEqual,
    ExpectColumnsValuesToBeWritableX12Text,
    ExpectColumnsValuesToBeX12Identifiers,
    ExpectColumnsValuesToBeIsoDate,
    ExpectColumnsValuesToBeValidNpi,
    ExpectColumnsValuesToBeInSet,
    ExpectColumnsValuesToBePresentWhen,
)
EXAMPLE_CASES = [
    pytest.param(cls, example["data"], test, id=f"{cls.__name__}-{test['title']}")
    for cls in CUSTOM
    for example in cls.examples
    for test in example["tests"]
]


def _validate(context: Any, frame: pd.DataFrame, expectation: Any) -> Any:
    name = f"frame_{id(frame)}"
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name).get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(expectation, result_format="SUMMARY")


def _reference_npi_valid(npi: str) -> bool:
    """The CMS definition read literally: Luhn over the 15 digits '80840' + NPI must be a multiple of 10."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def test_every_custom_expectation_has_pass_and_fail_examples() -> None:
    for cls in CUSTOM:
        outcomes = {test["out"]["success"] for example in cls.examples for test in example["tests"]}
        assert outcomes == {True, False}, cls.__name__


@pytest.mark.parametrize(("cls", "data", "test"), EXAMPLE_CASES)
def test_examples_run_through_gx(gx_context: Any, cls: Any, data: dict[str, list[Any]], test: Any) -> None:
    result = _validate(gx_context, pd.DataFrame(data), cls(**test["in"]))
    assert not result.exception_info.get("raised_exception", False)
    assert result.success is test["out"]["success"]
    for key, value in test["out"].items():
        if key != "success":
            assert result.result[key] == value


def test_npi_check_matches_the_cms_definition() -> None:
    generator = random.Random(20250315)
    candidates = [f"{generator.randrange(10**10):010d}" for _ in range(3000)]
    # Every last digit on 300 prefixes: exactly one of each ten is valid.
    candidates += [npi[:9] + str(digit) for npi in candidates[:300] for digit in range(10)]
    candidates += ["1234567893", "123456789", "12345678930", "123456789O", " 234567893"]
    computed = npi_check_digit_valid(pd.Series(candidates, dtype="str")).tolist()
    expected = [_reference_npi_valid(npi) for npi in candidates]
    assert computed == expected
    assert sum(expected) > 300  # both outcomes are really exercised


def test_diagnosis_pointers_reach_the_twelfth_diagnosis() -> None:
    diagnoses: dict[str, list[str | None]] = {f"dx{i}": ["A00"] * 3 for i in range(1, 13)}
    diagnoses["dx11"] = ["A00", None, "A00"]
    frame = pd.DataFrame({"pointers": ["10:12", "11", "12:1:2:3"], **diagnoses}, dtype="str")
    assert diagnosis_pointers_resolve(frame).tolist() == [True, False, True]


def test_npi_expectation_over_a_million_rows(gx_context: Any) -> None:
    rows = 1_000_000
    values = np.array(["1234567893", "1245319599", "1003000126", "1234567890"], dtype=object)
    npis = pd.Series(np.tile(values, rows // len(values)), dtype="str")
    frame = pd.DataFrame({"npi": npis, "referring_npi": pd.Series([None] * rows, dtype="str")})
    planted_invalid = int((frame["npi"] == "1234567890").sum())
    expectation = ExpectColumnsValuesToBeValidNpi(column_list=["npi", "referring_npi"], ignore_row_if="never")
    result = _validate(gx_context, frame, expectation)
    assert result.result["element_count"] == rows
    assert result.result["unexpected_count"] == planted_invalid == rows // 4


def test_icd10cm_release_follows_the_date_of_service() -> None:
    # E11.A (type 2 diabetes in remission) entered ICD-10-CM on 2025-10-01, after the 2025-04-01 release.
    # Lower case is not the code shape: the format rule rejects it, so the code-set rule leaves it alone.
    codes = pd.Series(["E11A", "E11.A", "E11A", "e119", "E119", "M545"], dtype="str")
    dates = pd.Series(["2025-09-30", "2026-04-01", "2026-11-01", "2026-11-01", "2019-01-01", "2019-01-01"])
    assert icd10cm_billable_on(codes, dates).tolist() == [False, True, True, True, True, False]


def test_failing_cells_name_the_columns_the_rule_failed_on() -> None:
    frame = pd.DataFrame(
        {
            "dx1": ["E11.9", "1I0", None, "I10"],
            "dx2": ["Z23", "E1", "I1O", None],
            "dos": ["2025-06-01", "2025-06-01", "2025-06-01", None],
        },
        dtype="str",
    )
    required = ExpectColumnsValuesToNotBeNull.expectation_type
    regex = ExpectColumnsValuesToMatchRegex.expectation_type
    assert judges_cells(required) and judges_cells(regex)
    assert not judges_cells(ExpectDiagnosisPointersToReferencePresentDiagnoses.expectation_type)
    missing = failing_cells(required, frame, {})
    assert missing.to_dict("list") == {
        "dx1": [False, False, True, False],
        "dx2": [False, False, False, True],
        "dos": [False, False, False, True],
    }
    # Two digits after the letter: "1I0" and "E1" fail; "I1O" has a letter O where a digit belongs.
    mismatched = failing_cells(regex, frame[["dx1", "dx2"]], {"regex": "^[A-Z][0-9]{2}"})
    assert mismatched.to_dict("list") == {"dx1": [False, True, False, False], "dx2": [False, True, True, False]}
    # The date column is the rule's input, not a judged column; a row without a date is not judged. Values
    # not shaped like a code ("1I0", "E1") are the format rule's; "I1O" has the shape but is no code.
    unbillable = failing_cells(ExpectColumnsValuesToBeBillableIcd10cm.expectation_type, frame, {})
    assert list(unbillable.columns) == ["dx1", "dx2"]
    assert unbillable.to_dict("list") == {"dx1": [False, False, False, False], "dx2": [False, False, True, False]}


def test_x12_text_is_measured_as_the_writer_writes_it() -> None:
    from revcycle.x12.writer import clean_value

    # Lengths by hand: "Zoë Brûlé" is written "Zoe Brule" (9); "A*B" is written "A B" (3); a run of spaces
    # collapses; "漢字" leaves nothing; a ligature expands (NFKD "ﬁ" = "fi").
    values = pd.Series(["Zoë Brûlé", "A*B", "a    b", "漢字", "\ufb01ve", "x" * 10, None])
    assert [clean_value(v) for v in values[:6]] == ["Zoe Brule", "A B", "a b", "", "five", "x" * 10]
    assert x12_text_fits(values, 1, 9).tolist() == [True, True, True, False, True, False, True]
    assert x12_text_fits(values, 4, 10).tolist() == [True, False, False, False, True, True, True]
    frame = pd.DataFrame({"name": ["Zo\u00eb", "B" * 36], "city": ["X", "Ames"]})
    assert x12_text_misfit_cells(frame, [1, 2], [35, 30]).to_numpy().tolist() == [[False, True], [True, False]]
    assert judges_cells(ExpectColumnsValuesToBeWritableX12Text.expectation_type)


def test_identifiers_are_judged_per_cell_with_their_columns_limits() -> None:
    # By hand: "PA*7781" holds the X12 element separator; "X" is shorter than NM109's 2; "GRP:1" holds the
    # component separator; "G" * 51 is longer than SBR03's 50; tab is a control character.
    frame = pd.DataFrame(
        {"member_id": ["PA*7781", "X", "AB1", None], "group_number": ["GRP:1", "G" * 51, "G\t1", "GRP 1"]}
    )
    cells = identifier_misfit_cells(frame, [2, 1], [80, 50])
    assert cells.to_numpy().tolist() == [[True, True], [True, True], [False, True], [False, False]]
    assert judges_cells(ExpectColumnsValuesToBeX12Identifiers.expectation_type)


def test_one_check_over_several_columns_names_each_failing_cell() -> None:
    # By hand: 2023-02-30 is no day, 01/05/2026 is another shape; an empty cell passes (the required rule's).
    dates = pd.DataFrame({"born": ["1961-07-04", "2023-02-30", None], "seen": ["01/05/2026", "2026-01-05", None]})
    cells = failing_cells(ExpectColumnsValuesToBeIsoDate.expectation_type, dates, {})
    assert cells.to_dict("list") == {"born": [False, True, False], "seen": [True, False, False]}
    # 1234567893 is the CMS standard's worked example; changing its check digit to 0 breaks it.
    npis = pd.DataFrame({"billing_npi": ["1234567893", "1234567890"], "referring_npi": [None, "12345"]})
    cells = failing_cells(ExpectColumnsValuesToBeValidNpi.expectation_type, npis, {})
    assert cells.to_dict("list") == {"billing_npi": [False, True], "referring_npi": [False, True]}
    sexes = pd.DataFrame({"patient_sex": ["F", "X"], "subscriber_sex": ["m", None]})
    cells = failing_cells(ExpectColumnsValuesToBeInSet.expectation_type, sexes, {"value_set": ["F", "M", "U"]})
    assert cells.to_dict("list") == {"patient_sex": [False, True], "subscriber_sex": [True, False]}
    # The first column is the condition, not judged: only the institutional row needs its bill type and dates.
    bills = pd.DataFrame(
        {
            "claim_type": ["institutional", "professional", "institutional"],
            "type_of_bill": [None, None, "131"],
            "statement_date_from": ["2026-01-05", None, None],
        }
    )
    cells = failing_cells(ExpectColumnsValuesToBePresentWhen.expectation_type, bills, {"when_in": ["institutional"]})
    assert list(cells.columns) == ["type_of_bill", "statement_date_from"]
    assert cells.to_dict("list") == {"type_of_bill": [True, False, False], "statement_date_from": [False, False, True]}


def test_group_totals_and_balances_are_compared_in_exact_integer_cents() -> None:
    # 2**53 + 1 cents has no float64: as floats the parts 2**53 and 1 sum to 2**53 and would equal a total of
    # 2**53 that is one cent short. In integer cents the row fails, as it must.
    big = 2**53
    frame = pd.DataFrame({"claim": ["A", "A"], "total": [big, big], "line": [big, 1]})
    assert group_total_equals_parts(frame).tolist() == [False, False]
    balanced = pd.DataFrame({"result": [1, None], "start": [big + 1, 5], "less": [big, 5]})
    # big + 1 - big = 1: holds; a missing value never balances
    assert amounts_balance(balanced).tolist() == [True, False]
