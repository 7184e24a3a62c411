"""expectations.gx_kwargs: GX's kwargs, built from one configuration per call, are GX's own, for our suites."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from great_expectations.expectations.expectation import Expectation

from connectors.payers import registered_payers
from expectations.charges import build_charges_suite
from expectations.claims import build_claims_suite
from expectations.gate import payer_charge_rules
from expectations.gx_kwargs import kwargs_read_once
from expectations.remittances import build_remittances_suite
from expectations.runner import validate_charges
from tests.expectations.test_charges_suite import PAYERS, TODAY, _planted_frame

NAMES = ("_get_domain_kwargs", "_get_success_kwargs", "_get_success_kwarg")
ORIGINALS = {name: Expectation.__dict__[name] for name in NAMES}


def _expectations() -> list[Any]:
    suites = [
        build_charges_suite(payer_charge_rules(registered_payers()), today=TODAY),
        build_claims_suite(),
        build_remittances_suite(today=TODAY),
    ]
    return [expectation for suite in suites for expectation in suite.expectations]


def _kwargs(expectation: Any) -> tuple[Any, ...]:
    keys = (*expectation.domain_keys, *expectation.success_keys, *expectation.runtime_keys)
    return (
        expectation._get_domain_kwargs(),
        expectation._get_success_kwargs(),
        [expectation._get_success_kwarg(key) for key in keys],
        expectation._get_runtime_kwargs(),
    )


def test_inside_the_context_gx_methods_are_replaced_and_restored_after() -> None:
    with kwargs_read_once():
        assert [name for name in NAMES if Expectation.__dict__[name] is ORIGINALS[name]] == []
    assert {name: Expectation.__dict__[name] for name in ORIGINALS} == ORIGINALS


def test_every_expectation_of_our_suites_gets_the_kwargs_gx_gives() -> None:
    expectations = _expectations()
    # The three suites together hold over eighty expectations (column rules, payer rules, row rules).
    assert len(expectations) > 80
    expected = [_kwargs(e) for e in expectations]
    with kwargs_read_once():
        assert [_kwargs(e) for e in expectations] == expected


def test_a_validation_judges_the_same_rows_with_and_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The charges suite's planted frame: a row for each defect the suite knows, clean variants, warnings.
    frame = _planted_frame()
    with_it = validate_charges(frame, today=TODAY, payer_rules=PAYERS)
    monkeypatch.setattr("expectations.runner.kwargs_read_once", nullcontext)
    without = validate_charges(frame, today=TODAY, payer_rules=PAYERS)
    assert with_it.rejections and with_it.warnings
    assert (with_it.rejections, with_it.warnings, with_it.summary) == (
        without.rejections,
        without.warnings,
        without.summary,
    )
