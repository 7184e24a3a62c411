"""The remittances suite: the three 835 balancing levels, CAS group codes, CLP02 and the payment date.

The frame has one row per check: a service line (SVC03 = SVC02 - its CAS), a claim (CLP04 = CLP03 - claim
CAS - service CAS; when not every billed line is reported, CLP04 = the reported lines' paid - claim CAS, as
the TR3 says), a transaction (BPR02 = the claims' CLP04 - PLB) and an adjustment (its CAS01 group code).
Amounts are integer cents. Every rule is a warning: a remittance is reported, never "fixed".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_be_in_set import ExpectColumnValuesToBeInSet
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)
from great_expectations.expectations.row_conditions import Column as RowColumn

from expectations.custom_claims import ExpectAmountsToBalance
from expectations.frames import FrameValidation, validate_frame
from revcycle.codes.catalog import CAS_GROUP_CODES, CLAIM_STATUS_CODES
from revcycle.money import to_cents
from revcycle.x12.x835 import Adjustment, Remittance835

SUITE_NAME = "remittances"
WARNING = "warning"
PAYMENT_DATE_PAST_DAYS = 365
PAYMENT_DATE_FUTURE_DAYS = 31
REMITTANCE_FRAME_COLUMNS: tuple[str, ...] = (
    "check_id",
    "level",
    "transaction",
    "claim_key",
    "result_cents",
    "start_cents",
    "less_cents",
    "claim_status",
    "cas_group",
    "payment_date",
)
BALANCE_COLUMNS = ["result_cents", "start_cents", "less_cents"]


def _total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), Decimal(0))


def _row(check_id: str, level: str, transaction: str, claim_key: str | None, **values: Any) -> dict[str, Any]:
    return {"check_id": check_id, "level": level, "transaction": transaction, "claim_key": claim_key} | values


def remittances_frame(remittances: Sequence[Remittance835]) -> pd.DataFrame:
    """One row per balancing check and per adjustment of the 835 transaction sets (no patient data)."""
    rows: list[dict[str, Any]] = []
    for remit in remittances:
        st = remit.control_number
        for claim in remit.claims:
            pcn = claim.patient_control_number
            claim_id = f"{st}/{pcn}@{claim.segment}"
            for svc in claim.services:
                rows.append(
                    _row(
                        f"{claim_id}/svc@{svc.segment}",
                        "service",
                        st,
                        pcn,
                        result_cents=to_cents(svc.paid),
                        start_cents=to_cents(svc.charge),
                        less_cents=to_cents(_total(svc.adjustments)),
                    )
                )
                rows += [
                    _row(f"{claim_id}/svc@{svc.segment}/cas{n}", "adjustment", st, pcn, cas_group=a.group)
                    for n, a in enumerate(svc.adjustments, start=1)
                ]
            rows += [
                _row(f"{claim_id}/cas{n}", "adjustment", st, pcn, cas_group=a.group)
                for n, a in enumerate(claim.adjustments, start=1)
            ]
            values: dict[str, Any] = {"claim_status": claim.status}
            if not claim.incomplete:
                claim_adj = _total(claim.adjustments)
                if not claim.services or sum((s.charge for s in claim.services), Decimal(0)) == claim.charge:
                    start = claim.charge
                    less = claim_adj + sum((_total(s.adjustments) for s in claim.services), Decimal(0))
                else:
                    start, less = sum((s.paid for s in claim.services), Decimal(0)), claim_adj
                values |= {"result_cents": to_cents(claim.paid), "start_cents": to_cents(start)}
                values["less_cents"] = to_cents(less)
            rows.append(_row(claim_id, "claim", st, pcn, **values))
        rows.append(
            _row(
                st,
                "transaction",
                st,
                None,
                result_cents=to_cents(remit.payment.amount),
                start_cents=to_cents(sum((c.paid for c in remit.claims), Decimal(0))),
                less_cents=to_cents(sum((p.amount for p in remit.provider_adjustments), Decimal(0))),
                payment_date=pd.Timestamp(remit.payment.date) if remit.payment.date else None,
            )
        )
    frame = pd.DataFrame(rows, columns=list(REMITTANCE_FRAME_COLUMNS))
    for column in BALANCE_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    frame["payment_date"] = pd.to_datetime(frame["payment_date"])
    return frame


def _add(suite: list[Any], expectation: Any, rule: str, column: str) -> None:
    expectation.meta = {"severity": WARNING, "rule": rule, "column": column}
    suite.append(expectation)


def build_remittances_suite(*, today: date) -> gx.ExpectationSuite:
    """The remittances suite; ``today`` bounds a sane payment date (BPR16)."""
    suite: list[Any] = []
    for level, rule in (
        ("service", "service_balances"),
        ("claim", "claim_balances"),
        ("transaction", "transaction_balances"),
    ):
        _add(
            suite,
            ExpectAmountsToBalance(
                column_list=BALANCE_COLUMNS,
                ignore_row_if="any_value_is_missing",
                row_condition=RowColumn("level") == level,
            ),
            rule,
            "result_cents",
        )
    _add(
        suite,
        ExpectColumnValuesToNotBeNull(column="result_cents", row_condition=RowColumn("level") == "claim"),
        "claim_amounts_present",
        "result_cents",
    )
    _add(
        suite,
        ExpectColumnValuesToBeInSet(column="claim_status", value_set=sorted(CLAIM_STATUS_CODES)),
        "clp02_code",
        "claim_status",
    )
    _add(
        suite,
        ExpectColumnValuesToBeInSet(column="cas_group", value_set=sorted(CAS_GROUP_CODES)),
        "cas_group_code",
        "cas_group",
    )
    _add(
        suite,
        ExpectColumnValuesToBeBetween(
            column="payment_date",
            min_value=pd.Timestamp(today - timedelta(days=PAYMENT_DATE_PAST_DAYS)),
            max_value=pd.Timestamp(today + timedelta(days=PAYMENT_DATE_FUTURE_DAYS)),
        ),
        "payment_date_sane",
        "payment_date",
    )
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=suite)


def validate_remittances(remittances: Sequence[Remittance835], *, today: date) -> FrameValidation:
    """Run the remittances suite over parsed 835 transaction sets."""
    return validate_frame(remittances_frame(remittances), build_remittances_suite(today=today), key_column="check_id")
