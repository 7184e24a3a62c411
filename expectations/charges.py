"""The charges suite: structure, formats, code sets, NPI check digit, dates, amounts and duplicates.

Every expectation carries ``meta = {"severity": "error" | "warning", "rule": <stable name>, "column":
<export column>}``; one that judges several columns cell by cell (``expectations/custom_cells.py``: required
values, diagnosis format and code set) names them in ``meta["columns"]`` and a label in ``meta["column"]``.
Errors quarantine the row; warnings flag it. Comparisons on dates and amounts run on typed
views of the text values (``<column>__date``, ``<column>__num``, see ``add_typed_views``): the view is the
value parsed, never a precomputed pass/fail flag, so GX still evaluates every rule on the data.

Format rules cover every column that reaches an X12 element (``write837.py``): codes by their code sets and
shapes, identifiers (member id, group number, prior authorization, original claim number) by
``identifier_format`` (the writer never rewrites an identifier, so a delimiter, control or non-ASCII
character in one would make it refuse the claim), free text (names, addresses, cities) by ``x12_text``
(the length of the value as the writer writes it within the element's), amounts and units by digit counts
the X12 ``R`` elements hold. The ids kept in the warehouse (charge, encounter, MRN) are checked by
``id_format`` against their column width.

Severity choices: a birth date after the first date of service is an error (payers reject such a claim at
the front door, so sending it only wastes a cycle); a professional charge without a rendering NPI is a
warning (the billing provider then renders, which is legitimate for a solo practice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_be_in_set import ExpectColumnValuesToBeInSet
from great_expectations.expectations.core.expect_column_values_to_be_unique import (
    ExpectColumnValuesToBeUnique,
)
from great_expectations.expectations.core.expect_column_values_to_match_regex import (
    ExpectColumnValuesToMatchRegex,
)
from great_expectations.expectations.core.expect_table_columns_to_match_set import (
    ExpectTableColumnsToMatchSet,
)

from expectations.custom import (
    ExpectDiagnosisPointersToReferencePresentDiagnoses,
    ExpectRowsToBeFirstOfTheirValues,
)
from expectations.custom_cells import (
    ExpectColumnsValuesToBeBillableIcd10cm,
    ExpectColumnsValuesToBeWritableX12Text,
    ExpectColumnsValuesToBeX12Identifiers,
    ExpectColumnsValuesToMatchRegex,
    ExpectColumnsValuesToNotBeNull,
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
from revcycle.charge_export import (
    MAX_DIAGNOSES,
    MAX_MODIFIERS,
    OTHER_COVERAGES,
    RELATIONSHIP_CODES,
    REQUIRED_COLUMNS,
    VISIT_STATUSES,
)

SUITE_NAME = "charges"
ERROR = "error"
WARNING = "warning"

NPI_COLUMNS: tuple[str, ...] = ("billing_npi", "rendering_npi", "referring_npi", "attending_npi")
DIAGNOSIS_COLUMNS: tuple[str, ...] = tuple(f"diagnosis{i}" for i in range(1, MAX_DIAGNOSES + 1))
MODIFIER_COLUMNS: tuple[str, ...] = tuple(f"modifier{i}" for i in range(1, MAX_MODIFIERS + 1))
DATE_COLUMNS: tuple[str, ...] = (
    "patient_birth_date",
    "subscriber_birth_date",
    "service_date_from",
    "service_date_to",
    "statement_date_from",
    "statement_date_to",
    "admission_date",
)
NUMERIC_COLUMNS: tuple[str, ...] = ("units", "charge_amount")
# A charge line is a duplicate of an earlier one when these agree: same patient, date, code and modifiers.
DUPLICATE_LINE_KEY: tuple[str, ...] = ("patient_mrn", "service_date_from", "procedure_code", *MODIFIER_COLUMNS)

# Groups are non-capturing: GX matches with pandas str.contains, which warns on capturing groups.

# CMS place-of-service code set (public, cms.gov "Place of Service Code Set"), codes in use.
PLACE_OF_SERVICE_CODES: frozenset[str] = frozenset(
    [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "08",
        "09",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "20",
        "21",
        "22",
        "23",
        "24",
        "25",
        "26",
        "27",
        "31",
        "32",
        "33",
        "34",
        "41",
        "42",
        "49",
        "50",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "65",
        "66",
        "71",
        "72",
        "81",
        "99",
    ]
)
# X12 5010 SBR09 claim filing indicator codes.
CLAIM_FILING_INDICATORS: frozenset[str] = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "AM",
        "BL",
        "CH",
        "CI",
        "DS",
        "FI",
        "HM",
        "LM",
        "MA",
        "MB",
        "MC",
        "OF",
        "TV",
        "VA",
        "WC",
        "ZZ",
    ]
)
SEX_CODES: frozenset[str] = frozenset({"M", "F", "U"})
CLAIM_TYPES: frozenset[str] = frozenset({"professional", "institutional"})
CLAIM_FREQUENCY_CODES: frozenset[str] = frozenset({"1", "7", "8"})

PROCEDURE_CODE_REGEX = r"^(?:\d{4}[0-9FTU]|[A-V]\d{4})$"
MODIFIER_REGEX = r"^[A-Z0-9]{2}$"
# Any letter first: ICD-10-CM uses U for special-purpose codes (U07.1 COVID-19, U09.9 post-COVID condition).
ICD10CM_REGEX = r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$"
DIAGNOSIS_POINTERS_REGEX = r"^(?:[1-9]|1[0-2])(?::(?:[1-9]|1[0-2])){0,3}$"
ZIP_REGEX = r"^\d{5}(?:\d{4})?$"
ZIP9_REGEX = r"^\d{9}$"
STATE_REGEX = r"^[A-Z]{2}$"
TAX_ID_REGEX = r"^\d{9}$"
# SV104 (R, at most 15 digits). SV102 and CLM02 are data element 782 (R 1/18 in the X12 dictionary), but
# the 5010 TR3s limit it to 10 characters including the cents, reported or implied (005010X222A1 Appendix
# B.1.1.3.1.2 "Decimal"; X12 RFI 2204): at most 99,999,999.99. A longer amount is a typo or a broken extract
# (and 20 digits overflow the warehouse's 64-bit cents), never a charge a payer would take.
UNITS_REGEX = r"^\d{1,12}(?:\.\d{1,3})?$"
AMOUNT_REGEX = r"^\d{1,8}(?:\.\d{1,2})?$"
TYPE_OF_BILL_REGEX = r"^\d{3}$"
REVENUE_CODE_REGEX = r"^\d{4}$"
# NUBC UB-04 codes of the 837I CL1 segment: priority (type) of admission (1 emergency, 2 urgent, 3 elective,
# 4 newborn, 5 trauma, 9 information not available), point of origin (one digit or letter) and patient
# discharge status (two digits, e.g. 01 home, 20 expired).
ADMISSION_TYPE_REGEX = r"^[1-59]$"
ADMISSION_SOURCE_REGEX = r"^[0-9A-Z]$"
DISCHARGE_STATUS_REGEX = r"^\d{2}$"
# Institutional charges need these (the 837I's statement period, CL103 and 2310A attending provider).
INSTITUTIONAL_COLUMNS: tuple[str, ...] = (
    "type_of_bill",
    "revenue_code",
    "statement_date_from",
    "statement_date_to",
    "discharge_status",
    "attending_npi",
    "attending_last_name",
    "attending_first_name",
)
# Inpatient bills (type of bill x1x: the bill classification digit is 1) also need the admission and the
# admitting diagnosis (837I DTP*435, CL101, CL102, HI*ABJ).
INPATIENT_COLUMNS: tuple[str, ...] = ("admission_date", "admission_type", "admission_source", "admitting_diagnosis")
INPATIENT_BILL_TYPES: tuple[str, ...] = tuple(
    f"{kind}1{frequency}" for kind in "123456789" for frequency in "0123456789"
)


# Export column -> (min, max) length of the X12 element it is written to (005010X222A1).
IDENTIFIER_ELEMENTS: dict[str, tuple[int, int]] = {
    "member_id": (2, 80),  # 2010BA NM109
    "group_number": (1, 50),  # 2000B SBR03
    "prior_authorization": (1, 50),  # 2300 REF02 (G1)
    "original_claim_number": (1, 50),  # 2300 REF02 (F8)
}
# Export column -> (min, max) length of the free-text element, after the writer's value rule.
TEXT_ELEMENTS: dict[str, tuple[int, int]] = {
    **{
        f"{person}_{field}": limits
        for person in ("patient", "subscriber")
        for field, limits in (("last_name", (1, 60)), ("first_name", (1, 35)), ("address1", (1, 55)), ("city", (2, 30)))
    },
    "billing_name": (1, 60),  # 2010AA NM103
    "billing_address1": (1, 55),  # N301
    "billing_city": (2, 30),  # N401
    **{
        f"{role}_{field}": limits
        for role in ("rendering", "referring", "attending")
        for field, limits in (("last_name", (1, 60)), ("first_name", (1, 35)))
    },
}
# Ids stored in warehouse columns of 64 characters: printable, within the column.
WAREHOUSE_ID_COLUMNS: tuple[str, ...] = ("charge_id", "encounter_id", "patient_mrn")
WAREHOUSE_ID_REGEX = r"^[^\x00-\x1f\x7f]{1,64}$"


@dataclass(frozen=True)
class PayerChargeRules:
    """A payer's charge rules as data: member id pattern and, optionally, timely-filing limit in days."""

    payer_id: str
    member_id_pattern: str
    timely_filing_days: int | None = None


def date_view(column: str) -> str:
    """Name of the parsed-date view of a date column."""
    return f"{column}__date"


def numeric_view(column: str) -> str:
    """Name of the parsed-number view of a numeric column."""
    return f"{column}__num"


def add_typed_views(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the parsed views the suite compares on (unparseable values become null)."""
    views: dict[str, pd.Series] = {}
    for column in DATE_COLUMNS:
        # Nanoseconds: GX compares datetime64[ns] vectorised, any other unit value by value in Python.
        views[date_view(column)] = _parse_distinct(
            frame[column],
            lambda text: pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[ns]"),
            np.datetime64("NaT", "ns"),
        )
    for column in NUMERIC_COLUMNS:
        views[numeric_view(column)] = _parse_distinct(
            frame[column], lambda text: pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64"), np.nan
        )
    return frame.assign(**views)


def _parse_distinct(values: pd.Series, parse: Callable[[pd.Series], np.ndarray], missing: Any) -> pd.Series:
    """``parse`` applied to the distinct values only (a million dates hold a few thousand distinct ones)."""
    codes, uniques = pd.factorize(values)
    parsed = parse(pd.Series(uniques, dtype=values.dtype))
    out = np.append(parsed, np.array([missing], dtype=parsed.dtype))
    # factorize codes a null as -1: the appended last element, the missing value.
    return pd.Series(out[codes], index=values.index)


def build_charges_suite(
    payer_rules: Mapping[str, PayerChargeRules] | None = None, *, today: date
) -> gx.ExpectationSuite:
    """Build the charges suite; ``today`` bounds service dates, ``payer_rules`` adds per-payer rules."""
    suite: list[Any] = []
    _structure(suite)
    _identifiers(suite)
    _providers(suite)
    _codes(suite)
    _dates(suite, today)
    _amounts(suite)
    _diagnoses(suite)
    _duplicates(suite)
    _conditional(suite)
    _other_coverages(suite)
    if payer_rules:
        _payers(suite, payer_rules, today)
        _other_coverage_payers(suite, payer_rules)
    # Built from a list: adding expectations one by one to a suite needs an active GX data context.
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=suite)


def _add(
    suite: list[Any], expectation: Any, *, severity: str, rule: str, column: str, columns: Sequence[str] = ()
) -> None:
    expectation.meta = {"severity": severity, "rule": rule, "column": column}
    if columns:
        expectation.meta["columns"] = list(columns)
    suite.append(expectation)


def _regex(suite: list[Any], rule: str, column: str, regex: str, severity: str = ERROR) -> None:
    _add(
        suite,
        ExpectColumnValuesToMatchRegex(column=column, regex=regex),
        severity=severity,
        rule=rule,
        column=column,
    )


def _on_columns(suite: list[Any], rule: str, columns: Sequence[str], expectation: Any, severity: str = ERROR) -> None:
    """One expectation judging ``columns`` cell by cell: its rejections and summary lines name each column."""
    _add(suite, expectation, severity=severity, rule=rule, column=", ".join(columns), columns=columns)


def _regex_on(suite: list[Any], rule: str, columns: Sequence[str], regex: str) -> None:
    expectation = ExpectColumnsValuesToMatchRegex(column_list=list(columns), regex=regex, ignore_row_if="never")
    _on_columns(suite, rule, columns, expectation)


def _in_set_on(suite: list[Any], rule: str, columns: Sequence[str], values: frozenset[str]) -> None:
    _on_columns(
        suite,
        rule,
        columns,
        ExpectColumnsValuesToBeInSet(column_list=list(columns), value_set=sorted(values), ignore_row_if="never"),
    )


def _required_when_on(
    suite: list[Any], rule: str, columns: Sequence[str], when_column: str, when_in: Sequence[str]
) -> None:
    """``columns`` required on the rows whose ``when_column`` is in ``when_in``: one expectation."""
    _on_columns(
        suite,
        rule,
        columns,
        ExpectColumnsValuesToBePresentWhen(
            column_list=[when_column, *columns], when_in=list(when_in), ignore_row_if="never"
        ),
    )


def _in_set(suite: list[Any], rule: str, column: str, values: frozenset[str]) -> None:
    _add(
        suite,
        ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)),
        severity=ERROR,
        rule=rule,
        column=column,
    )


def _structure(suite: list[Any]) -> None:
    _add(
        suite,
        ExpectTableColumnsToMatchSet(column_set=list(REQUIRED_COLUMNS), exact_match=False),
        severity=ERROR,
        rule="columns_present",
        column="*",
    )
    _add(
        suite,
        ExpectColumnsValuesToNotBeNull(column_list=list(REQUIRED_COLUMNS), ignore_row_if="never"),
        severity=ERROR,
        rule="required",
        column="*",
        columns=REQUIRED_COLUMNS,
    )
    _add(
        suite,
        ExpectColumnValuesToBeUnique(column="charge_id"),
        severity=ERROR,
        rule="charge_id_unique",
        column="charge_id",
    )


def _identifiers(suite: list[Any]) -> None:
    # Several columns per expectation, judged cell by cell (custom_cells.py): one pass over the rows each.
    _add(
        suite,
        ExpectColumnsValuesToMatchRegex(
            column_list=list(WAREHOUSE_ID_COLUMNS), regex=WAREHOUSE_ID_REGEX, ignore_row_if="never"
        ),
        severity=ERROR,
        rule="id_format",
        column="warehouse ids",
        columns=WAREHOUSE_ID_COLUMNS,
    )
    identifiers = list(IDENTIFIER_ELEMENTS)
    _add(
        suite,
        ExpectColumnsValuesToBeX12Identifiers(
            column_list=identifiers,
            min_lengths=[IDENTIFIER_ELEMENTS[c][0] for c in identifiers],
            max_lengths=[IDENTIFIER_ELEMENTS[c][1] for c in identifiers],
            ignore_row_if="never",
        ),
        severity=ERROR,
        rule="identifier_format",
        column="identifiers",
        columns=identifiers,
    )
    texts = list(TEXT_ELEMENTS)
    _add(
        suite,
        ExpectColumnsValuesToBeWritableX12Text(
            column_list=texts,
            min_lengths=[TEXT_ELEMENTS[c][0] for c in texts],
            max_lengths=[TEXT_ELEMENTS[c][1] for c in texts],
            ignore_row_if="never",
        ),
        severity=ERROR,
        rule="x12_text",
        column="names and addresses",
        columns=texts,
    )


def _providers(suite: list[Any]) -> None:
    _on_columns(
        suite,
        "npi_check_digit",
        NPI_COLUMNS,
        ExpectColumnsValuesToBeValidNpi(column_list=list(NPI_COLUMNS), ignore_row_if="never"),
    )
    _regex(suite, "tax_id_format", "billing_tax_id", TAX_ID_REGEX)
    _regex(suite, "zip_format", "billing_zip", ZIP9_REGEX)


def _codes(suite: list[Any]) -> None:
    _regex(suite, "procedure_code_format", "procedure_code", PROCEDURE_CODE_REGEX)
    _add(
        suite,
        ExpectColumnsValuesToMatchRegex(
            column_list=list(MODIFIER_COLUMNS), regex=MODIFIER_REGEX, ignore_row_if="never"
        ),
        severity=ERROR,
        rule="modifier_format",
        column=f"{MODIFIER_COLUMNS[0]}..{MODIFIER_COLUMNS[-1]}",
        columns=MODIFIER_COLUMNS,
    )
    _in_set(suite, "place_of_service_code", "place_of_service", PLACE_OF_SERVICE_CODES)
    _in_set(suite, "claim_type_code", "claim_type", CLAIM_TYPES)
    _in_set(suite, "claim_frequency_code", "claim_frequency_code", CLAIM_FREQUENCY_CODES)
    _in_set(suite, "visit_status_code", "visit_status", VISIT_STATUSES)
    _in_set(suite, "claim_filing_indicator_code", "claim_filing_indicator", CLAIM_FILING_INDICATORS)
    _in_set(suite, "relationship_code", "relationship", frozenset(RELATIONSHIP_CODES))
    people = ("patient", "subscriber")
    _in_set_on(suite, "sex_code", [f"{person}_sex" for person in people], SEX_CODES)
    _regex_on(suite, "zip_format", [f"{person}_zip" for person in people], ZIP_REGEX)
    _regex_on(suite, "state_code", ["billing_state", *(f"{person}_state" for person in people)], STATE_REGEX)


def _dates(suite: list[Any], today: date) -> None:
    latest = pd.Timestamp(today)
    _on_columns(
        suite,
        "date_format",
        DATE_COLUMNS,
        ExpectColumnsValuesToBeIsoDate(column_list=list(DATE_COLUMNS), ignore_row_if="never"),
    )
    for column in ("service_date_from", "service_date_to"):
        _add(
            suite,
            ExpectColumnValuesToBeBetween(column=date_view(column), max_value=latest),
            severity=ERROR,
            rule="service_date_not_future",
            column=column,
        )
    for column in ("patient_birth_date", "subscriber_birth_date"):
        _add(
            suite,
            ExpectColumnValuesToBeBetween(column=date_view(column), max_value=latest),
            severity=ERROR,
            rule="birth_date_not_future",
            column=column,
        )
    _add(
        suite,
        ExpectColumnPairValuesToBeOrderedWherePresent(
            column_A=date_view("service_date_to"), column_B=date_view("service_date_from")
        ),
        severity=ERROR,
        rule="service_date_order",
        column="service_date_to",
    )
    _add(
        suite,
        ExpectColumnPairValuesToBeOrderedWherePresent(
            column_A=date_view("service_date_from"), column_B=date_view("patient_birth_date")
        ),
        severity=ERROR,
        rule="birth_date_before_service",
        column="patient_birth_date",
    )


def _amounts(suite: list[Any]) -> None:
    _regex(suite, "units_format", "units", UNITS_REGEX)
    _add(
        suite,
        ExpectColumnValuesToBeBetween(column=numeric_view("units"), min_value=0, strict_min=True),
        severity=ERROR,
        rule="units_positive",
        column="units",
    )
    _regex(suite, "charge_amount_format", "charge_amount", AMOUNT_REGEX)
    _add(
        suite,
        ExpectColumnValuesToBeBetween(column=numeric_view("charge_amount"), min_value=0, strict_min=True),
        severity=ERROR,
        rule="charge_amount_positive",
        column="charge_amount",
    )


def _diagnoses(suite: list[Any]) -> None:
    label = f"{DIAGNOSIS_COLUMNS[0]}..{DIAGNOSIS_COLUMNS[-1]}"
    _add(
        suite,
        ExpectColumnsValuesToMatchRegex(
            column_list=list(DIAGNOSIS_COLUMNS), regex=ICD10CM_REGEX, ignore_row_if="never"
        ),
        severity=ERROR,
        rule="diagnosis_format",
        column=label,
        columns=DIAGNOSIS_COLUMNS,
    )
    _add(
        suite,
        ExpectColumnsValuesToBeBillableIcd10cm(
            column_list=[*DIAGNOSIS_COLUMNS, date_view("service_date_from")], ignore_row_if="never"
        ),
        severity=ERROR,
        rule="diagnosis_code_set",
        column=label,
        columns=DIAGNOSIS_COLUMNS,
    )
    _regex(suite, "diagnosis_pointers_format", "diagnosis_pointers", DIAGNOSIS_POINTERS_REGEX)
    _add(
        suite,
        ExpectDiagnosisPointersToReferencePresentDiagnoses(
            column_list=["diagnosis_pointers", *DIAGNOSIS_COLUMNS], ignore_row_if="never"
        ),
        severity=ERROR,
        rule="diagnosis_pointer_target",
        column="diagnosis_pointers",
    )


def _duplicates(suite: list[Any]) -> None:
    _add(
        suite,
        ExpectRowsToBeFirstOfTheirValues(column_list=list(DUPLICATE_LINE_KEY), ignore_row_if="never"),
        severity=ERROR,
        rule="duplicate_line",
        column="procedure_code",
    )


def _required_when(
    suite: list[Any], rule: str, column: str, when_column: str, when_in: list[str], severity: str
) -> None:
    _add(
        suite,
        ExpectColumnValuesToBePresentWhen(column_A=when_column, column_B=column, when_in=when_in),
        severity=severity,
        rule=rule,
        column=column,
    )


def _conditional(suite: list[Any]) -> None:
    _required_when_on(suite, "institutional_required", INSTITUTIONAL_COLUMNS, "claim_type", ["institutional"])
    _regex(suite, "type_of_bill_format", "type_of_bill", TYPE_OF_BILL_REGEX)
    _regex(suite, "revenue_code_format", "revenue_code", REVENUE_CODE_REGEX)
    _institutional(suite)
    _required_when(
        suite, "original_claim_number_required", "original_claim_number", "claim_frequency_code", ["7", "8"], ERROR
    )
    _required_when(suite, "rendering_npi_missing", "rendering_npi", "claim_type", ["professional"], WARNING)


def _institutional(suite: list[Any]) -> None:
    _required_when_on(suite, "inpatient_required", INPATIENT_COLUMNS, "type_of_bill", INPATIENT_BILL_TYPES)
    _regex(suite, "admission_type_format", "admission_type", ADMISSION_TYPE_REGEX)
    _regex(suite, "admission_source_format", "admission_source", ADMISSION_SOURCE_REGEX)
    _regex(suite, "discharge_status_format", "discharge_status", DISCHARGE_STATUS_REGEX)
    _regex(suite, "admitting_diagnosis_format", "admitting_diagnosis", ICD10CM_REGEX)
    _add(
        suite,
        ExpectColumnPairValuesToBeOrderedWherePresent(
            column_A=date_view("statement_date_to"), column_B=date_view("statement_date_from")
        ),
        severity=ERROR,
        rule="statement_date_order",
        column="statement_date_to",
    )


# The columns a secondary or tertiary coverage needs once its payer is named (837P 2320 SBR, 2330A, 2330B).
OTHER_COVERAGE_REQUIRED: tuple[str, ...] = (
    "member_id",
    "claim_filing_indicator",
    "relationship",
    "subscriber_last_name",
    "subscriber_first_name",
    "subscriber_birth_date",
    "subscriber_sex",
)


# The coverage columns written to X12 elements (2330A NM109, 2320 SBR03, 2330A NM103/NM104/N301/N401).
OTHER_COVERAGE_IDENTIFIERS: dict[str, tuple[int, int]] = {
    f"{rank}_{field}": limits
    for rank in OTHER_COVERAGES
    for field, limits in (("member_id", (2, 80)), ("group_number", (1, 50)))
}
OTHER_COVERAGE_TEXTS: dict[str, tuple[int, int]] = {
    f"{rank}_subscriber_{field}": limits
    for rank in OTHER_COVERAGES
    for field, limits in (("last_name", (1, 60)), ("first_name", (1, 35)), ("address1", (1, 55)), ("city", (2, 30)))
}


def _other_coverages(suite: list[Any]) -> None:
    """The optional secondary and tertiary coverage columns: checked where a value is present."""
    identifiers = list(OTHER_COVERAGE_IDENTIFIERS)
    _add(
        suite,
        ExpectColumnsValuesToBeX12Identifiers(
            column_list=identifiers,
            min_lengths=[OTHER_COVERAGE_IDENTIFIERS[c][0] for c in identifiers],
            max_lengths=[OTHER_COVERAGE_IDENTIFIERS[c][1] for c in identifiers],
            ignore_row_if="never",
        ),
        severity=ERROR,
        rule="other_coverage_identifier",
        column="other coverage identifiers",
        columns=identifiers,
    )
    texts = list(OTHER_COVERAGE_TEXTS)
    _add(
        suite,
        ExpectColumnsValuesToBeWritableX12Text(
            column_list=texts,
            min_lengths=[OTHER_COVERAGE_TEXTS[c][0] for c in texts],
            max_lengths=[OTHER_COVERAGE_TEXTS[c][1] for c in texts],
            ignore_row_if="never",
        ),
        severity=ERROR,
        rule="other_coverage_text",
        column="other coverage names and addresses",
        columns=texts,
    )

    def each(field: str) -> list[str]:
        return [f"{rank}_{field}" for rank in OTHER_COVERAGES]

    _in_set_on(suite, "other_coverage_filing_indicator", each("claim_filing_indicator"), CLAIM_FILING_INDICATORS)
    _in_set_on(suite, "other_coverage_relationship", each("relationship"), frozenset(RELATIONSHIP_CODES))
    _in_set_on(suite, "other_coverage_sex", each("subscriber_sex"), SEX_CODES)
    births = each("subscriber_birth_date")
    _on_columns(
        suite,
        "other_coverage_birth_date",
        births,
        ExpectColumnsValuesToBeIsoDate(column_list=births, ignore_row_if="never"),
    )
    _regex_on(suite, "other_coverage_zip", each("subscriber_zip"), ZIP_REGEX)
    _regex_on(suite, "other_coverage_state", each("subscriber_state"), STATE_REGEX)


def _other_coverage_payers(suite: list[Any], payer_rules: Mapping[str, PayerChargeRules]) -> None:
    """A secondary or tertiary payer must be a registered payer, and its coverage complete."""
    known = sorted(payer_rules)
    _in_set_on(suite, "other_coverage_payer_known", [f"{rank}_payer_id" for rank in OTHER_COVERAGES], frozenset(known))
    for rank in OTHER_COVERAGES:
        required = [f"{rank}_{name}" for name in OTHER_COVERAGE_REQUIRED]
        _required_when_on(suite, "other_coverage_required", required, f"{rank}_payer_id", known)


def _payers(suite: list[Any], payer_rules: Mapping[str, PayerChargeRules], today: date) -> None:
    _in_set(suite, "payer_known", "payer_id", frozenset(payer_rules))
    for payer_id, rules in sorted(payer_rules.items()):
        _add(
            suite,
            ExpectColumnValuesToMatchRegexWhen(
                column_A="payer_id",
                column_B="member_id",
                when_in=[payer_id],
                regex=f"^(?:{rules.member_id_pattern})$",
            ),
            severity=ERROR,
            rule=f"member_id_format.{payer_id}",
            column="member_id",
        )
        if rules.timely_filing_days is not None:
            oldest = pd.Timestamp(today - timedelta(days=rules.timely_filing_days))
            _add(
                suite,
                ExpectColumnValuesToBeAtLeastWhen(
                    column_A="payer_id", column_B=date_view("service_date_from"), when_in=[payer_id], min_value=oldest
                ),
                severity=WARNING,
                rule=f"timely_filing.{payer_id}",
                column="service_date_from",
            )
