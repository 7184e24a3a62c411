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
from expectations.runner import RuleSummary
from revcycle.codes.catalog import CAS_GROUP_CODES, CLAIM_STATUS_CODES
from revcycle.money import to_cents
from revcycle.x12.x835 import Adjustment, ClaimPayment, Remittance835, RemittanceEnd

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


def claim_rows(transaction: str, claims: Iterable[ClaimPayment]) -> list[dict[str, Any]]:
    """The service, adjustment and claim check rows of some claims of the 835 set with ST02 ``transaction``."""
    st = transaction
    rows: list[dict[str, Any]] = []
    for claim in claims:
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
    return rows


def transaction_row(remit: Remittance835, paid_total: Decimal) -> dict[str, Any]:
    """The transaction-level check row of an 835 set: BPR02 against its claims' paid total less the PLB."""
    st = remit.control_number
    return _row(
        st,
        "transaction",
        st,
        None,
        result_cents=to_cents(remit.payment.amount),
        start_cents=to_cents(paid_total),
        less_cents=to_cents(sum((p.amount for p in remit.provider_adjustments), Decimal(0))),
        payment_date=pd.Timestamp(remit.payment.date) if remit.payment.date else None,
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(REMITTANCE_FRAME_COLUMNS))
    for column in BALANCE_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    frame["payment_date"] = pd.to_datetime(frame["payment_date"])
    return frame


def remittances_frame(remittances: Sequence[Remittance835]) -> pd.DataFrame:
    """One row per balancing check and per adjustment of the 835 transaction sets (no patient data)."""
    rows: list[dict[str, Any]] = []
    for remit in remittances:
        rows += claim_rows(remit.control_number, remit.claims)
        rows.append(transaction_row(remit, sum((c.paid for c in remit.claims), Decimal(0))))
    return _frame(rows)


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


# Check rows per GX validation when checking as an 835 streams: a few tens of megabytes of frame per call,
# and few enough calls that GX's own cost per call stays small beside the rows.
STREAM_BATCH_ROWS = 50_000


class StreamedRemittanceChecks:
    """The remittances suite run in batches while an 835 is read (a ``RemittanceObserver`` for the loader).

    Rows are gathered from the claims as they pass and validated ``batch_rows`` at a time; ``summary()``
    validates what is left and adds the counts of every batch up, as one validation of the whole file would
    count them. Memory holds one batch, whatever the size of the file.
    """

    def __init__(self, *, today: date, batch_rows: int = STREAM_BATCH_ROWS) -> None:
        self.suite = build_remittances_suite(today=today)
        self.batch_rows = batch_rows
        self.rows: list[dict[str, Any]] = []
        self.evaluated = 0
        self.validations = 0
        self._failing: dict[tuple[str, str, str, str], int] = {}

    def claims(self, remit: Remittance835, batch: Sequence[ClaimPayment]) -> None:
        """Take the check rows of the next claims of ``remit``."""
        self.rows += claim_rows(remit.control_number, batch)
        if len(self.rows) >= self.batch_rows:
            self._validate()

    def end(self, end: RemittanceEnd) -> None:
        """Take the transaction-level row of a finished set."""
        self.rows.append(transaction_row(end.remittance, end.paid_total))

    def _validate(self) -> None:
        if not self.rows:
            return
        result = validate_frame(_frame(self.rows), self.suite, key_column="check_id")
        self.rows = []
        self.validations += 1
        self.evaluated += result.evaluated_rows
        for item in result.summary:
            key = (item.rule, item.column, item.severity, item.expectation_type)
            self._failing[key] = self._failing.get(key, 0) + item.failing

    def summary(self) -> list[RuleSummary]:
        """Every rule's failing count and share over all the rows seen (validating the last batch first)."""
        self._validate()
        out = [
            RuleSummary(rule, column, severity, kind, failing, failing / self.evaluated if self.evaluated else 0.0)
            for (rule, column, severity, kind), failing in self._failing.items()
        ]
        out.sort(key=lambda s: (s.severity, s.rule, s.column))
        return out
