"""The payer contract: one test class run over every registered payer (and the template), never edited.

For each payer: its ids are well formed, its member ids match its own pattern, synthetic charges build
into claims its rules accept, each companion-guide rule bites on a claim made to break it (the payer
file's ``RULE_VIOLATIONS``), the 837 passes pyx12, and an 835 answering it loads with every claim matched.
A payer file may exempt itself from one check with ``CONTRACT_EXEMPTIONS = {"check": "written reason"}``;
see docs/adding-a-payer.md.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pyx12_check import pyx12_errors, split_segments
from sqlalchemy import func, select

import connectors.payers._template as payer_template
from connectors.payers import registered_payers
from revcycle.claims import BuildResult, build_claims
from revcycle.domain import Claim, ClaimType
from revcycle.intake import record_intake
from revcycle.payers import PayerProfile
from revcycle.responses import load_response
from revcycle.sandbox.payer_simulator import respond
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.schema import claim as claim_table
from revcycle.warehouse.schema import remittance, remittance_claim, remittance_suspense
from revcycle.x12.write837p import Submitter, write_837p
from revcycle.x12.writer import Envelope

os.environ.setdefault("DO_NOT_TRACK", "1")

# The names a payer file may use in CONTRACT_EXEMPTIONS, one per test of the class below.
CHECKS: frozenset[str] = frozenset(
    {"ids", "member_ids", "sample_claims", "rule_violations", "pyx12_837", "remittance_loads"}
)

# X12 5010 SBR09 claim filing indicator code list (005010X222A1, 2000B SBR09).
SBR09_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS"}
    | {"FI", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"}
)
X12_DELIMITERS = ("*", "~", ":", "^")
MAX_MEMBER_ID = 80  # NM109 of loop 2010BA is at most 80 characters

SEED = 20240311
AS_OF = date(2024, 3, 11)
ENCOUNTERS = 20
CREATED = datetime(2024, 3, 11, 20, 30)
SUBMITTER = Submitter("REVCYCLE CONTRACT TEST", "REVCYCLE01", "CONTRACT TEST", phone="5555550100")


def _contract_payers() -> dict[str, PayerProfile]:
    """Every registered payer, plus the template so that copying it starts from a passing payer."""
    payers = dict(registered_payers())
    payers.setdefault("_template", payer_template.PAYER)
    return payers


PAYERS = _contract_payers()


def _module_of(payer: PayerProfile) -> ModuleType:
    """The module declaring ``payer``: the one whose PAYER it is, else any module holding it."""
    modules = [m for m in list(sys.modules.values()) if isinstance(getattr(m, "__dict__", None), dict)]
    for module in modules:
        if vars(module).get("PAYER") is payer:
            return module
    for module in modules:
        if any(value is payer for value in vars(module).values()):
            return module
    raise AssertionError(f"payer {payer.payer_id}: cannot find the module that declares it")


def _declared(payer: PayerProfile, name: str) -> dict[str, Any]:
    value = vars(_module_of(payer)).get(name, {})
    assert isinstance(value, dict), f"payer {payer.payer_id}: {name} must be a dict"
    return value


def _skip_if_exempt(payer: PayerProfile, check: str) -> None:
    reason = _declared(payer, "CONTRACT_EXEMPTIONS").get(check)
    if reason:
        pytest.skip(f"payer {payer.payer_id} is exempt from {check}: {reason}")


@dataclass(frozen=True)
class Sample:
    """Synthetic charge rows for one payer and the claims built from them."""

    rows: list[dict[str, str]]
    built: BuildResult


@cache
def _sample(key: str) -> Sample:
    payer = PAYERS[key]
    rows = list(generate_charge_rows([payer], encounters=ENCOUNTERS, seed=SEED, as_of=AS_OF))
    return Sample(rows, build_claims(rows, {payer.payer_id: payer}))


def _valid_claims(key: str) -> list[Claim]:
    claims = _sample(key).built.claims
    assert claims, f"payer {PAYERS[key].payer_id}: no sample claim passed its rules"
    return claims


def _envelope(payer: PayerProfile, control_number: int) -> Envelope:
    return Envelope(
        sender_id="REVCYCLE01",
        receiver_id=payer.interchange_receiver_id,
        interchange_control_number=control_number,
        group_control_number=control_number,
        usage_indicator="T",
        created=CREATED,
        functional_id_code="HC",
        version="005010X222A1",
        application_receiver_code=payer.group_receiver_code,
    )


def _write_837(key: str) -> bytes:
    payer = PAYERS[key]
    return write_837p(_valid_claims(key), _envelope(payer, 4711), SUBMITTER, receiver_name=payer.name)


def _phi_values(claim: Claim) -> list[str]:
    values = [claim.member_id]
    for person in (claim.subscriber, claim.patient):
        values += [person.last_name, person.first_name, person.birth_date.isoformat(), person.address.line1]
        values.append(person.birth_date.strftime("%Y%m%d"))
    return [v for v in values if v]


def _expected_payments(files: list[bytes]) -> dict[str, Decimal]:
    """Per 835 transaction (by TRN02 trace number): the sum of CLP04 minus the PLB amounts."""
    payments: dict[str, Decimal] = {}
    for data in files:
        trace, total = "", Decimal("0")
        for seg in split_segments(data):
            if seg[0] == "ST":
                trace, total = "", Decimal("0")
            elif seg[0] == "TRN":
                trace = seg[2]
            elif seg[0] == "CLP":
                total += Decimal(seg[4])
            elif seg[0] == "PLB":
                total -= sum((Decimal(seg[i]) for i in range(4, len(seg), 2) if seg[i]), Decimal("0"))
            elif seg[0] == "SE":
                payments[trace] = total
    return payments


@pytest.mark.parametrize("key", sorted(PAYERS), ids=lambda key: PAYERS[key].payer_id)
class TestPayerContract:
    """The contract every payer connector meets (DESIGN.md §8)."""

    def test_exemptions_name_a_check_and_give_a_reason(self, key: str) -> None:
        exemptions = _declared(PAYERS[key], "CONTRACT_EXEMPTIONS")
        assert set(exemptions) <= CHECKS, f"unknown checks exempted: {sorted(set(exemptions) - CHECKS)}"
        for check, reason in exemptions.items():
            assert isinstance(reason, str) and len(reason.strip()) >= 10, f"{check}: write down why"

    def test_ids(self, key: str) -> None:
        payer = PAYERS[key]
        _skip_if_exempt(payer, "ids")
        assert re.fullmatch(r"[A-Z0-9]{2,80}", payer.payer_id), "2010BB NM109: 2-80 letters/digits"
        assert 1 <= len(payer.interchange_receiver_id) <= 15, "ISA08 is at most 15 characters"
        assert re.fullmatch(r"[A-Z0-9]+", payer.interchange_receiver_id), "ISA08: letters/digits"
        assert 2 <= len(payer.group_receiver_code) <= 15, "GS03 is 2 to 15 characters"
        assert re.fullmatch(r"[A-Z0-9]+", payer.group_receiver_code), "GS03: letters/digits"
        assert payer.filing_indicator in SBR09_CODES
        assert 1 <= len(payer.name) <= 60, "2010BB NM103 is 1 to 60 characters"
        assert isinstance(payer.timely_filing_days, int) and payer.timely_filing_days > 0
        assert payer.claim_types and set(payer.claim_types) <= set(ClaimType)

    def test_member_ids(self, key: str) -> None:
        payer = PAYERS[key]
        _skip_if_exempt(payer, "member_ids")
        made = [payer.make_member_id(random.Random(seed)) for seed in range(100)]
        for member_id in made:
            assert re.fullmatch(payer.member_id_pattern, member_id), "seed-made id breaks the pattern"
            assert payer.member_id_is_valid(member_id)
            assert len(member_id) <= MAX_MEMBER_ID
        assert len(set(made)) > 1, "make_member_id ignores its random source"
        sample = made[0]
        assert not payer.member_id_is_valid("")
        assert not payer.member_id_is_valid(sample * (MAX_MEMBER_ID // len(sample) + 1))
        assert not payer.member_id_is_valid("9" * (MAX_MEMBER_ID + 1))
        assert not payer.member_id_is_valid(" " + sample)
        for delimiter in X12_DELIMITERS:
            assert not payer.member_id_is_valid(sample[:-1] + delimiter)

    def test_sample_claims(self, key: str) -> None:
        payer = PAYERS[key]
        _skip_if_exempt(payer, "sample_claims")
        sample = _sample(key)
        encounters = {row["encounter_id"] for row in sample.rows}
        assert len(encounters) == ENCOUNTERS
        assert len(sample.built.claims) + len(sample.built.held) == ENCOUNTERS
        for claim in _valid_claims(key):
            assert payer.check_claim(claim) == []
        # A held encounter must be held by the payer's own rules only: rebuilt without them it builds,
        # and every reason it was held for is a message of a named rule.
        unruled = build_claims(sample.rows, {payer.payer_id: replace(payer, claim_rules=())})
        assert unruled.held == [], "sample charges held for a structural reason"
        rebuilt = {c.claim_key: c for c in unruled.claims}
        for held in sample.built.held:
            claim = rebuilt[held.claim_key]
            by_rule = {rule.__name__: list(rule(claim)) for rule in payer.claim_rules}
            named = {message for messages in by_rule.values() for message in messages}
            unexplained = [reason for reason in held.reasons if reason not in named]
            assert not unexplained, f"{held.claim_key}: held for reasons no rule gives: {unexplained}"

    def test_rule_violations(self, key: str) -> None:
        payer = PAYERS[key]
        _skip_if_exempt(payer, "rule_violations")
        violations: Mapping[str, Callable[[Claim], Claim]] = _declared(payer, "RULE_VIOLATIONS")
        rule_names = [rule.__name__ for rule in payer.claim_rules]
        missing = sorted(set(rule_names) - set(violations))
        assert not missing, f"RULE_VIOLATIONS has no entry for {missing}"
        stale = sorted(set(violations) - set(rule_names))
        assert not stale, f"RULE_VIOLATIONS names no rule of claim_rules: {stale}"
        for claim in _valid_claims(key):
            for rule in payer.claim_rules:
                assert list(rule(claim)) == [], f"{rule.__name__} complains about a valid claim"
                broken = violations[rule.__name__](claim)
                assert isinstance(broken, Claim)
                found = list(rule(broken))
                assert found, f"{rule.__name__} does not bite on the claim made to break it"
                assert set(found) <= set(payer.check_claim(broken))
                for message in found:
                    assert claim.claim_key in message, f"{rule.__name__}: name the claim key"
                    leaked = [v for v in _phi_values(broken) if v in message]
                    assert not leaked, f"{rule.__name__}: a message carries PHI"

    def test_pyx12_837(self, key: str) -> None:
        payer = PAYERS[key]
        _skip_if_exempt(payer, "pyx12_837")
        data = _write_837(key)
        assert pyx12_errors(data) == []
        segments = split_segments(data)
        isa = segments[0]
        assert isa[0] == "ISA" and isa[8].rstrip() == payer.interchange_receiver_id
        gs = next(s for s in segments if s[0] == "GS")
        assert gs[1] == "HC" and gs[3] == payer.group_receiver_code and gs[8] == "005010X222A1"
        payer_names = [s for s in segments if s[0] == "NM1" and s[1] == "PR"]
        assert payer_names and all(s[8] == "PI" and s[9] == payer.payer_id for s in payer_names)
        assert {s[9] for s in segments if s[0] == "SBR"} == {payer.filing_indicator}
        assert len([s for s in segments if s[0] == "CLM"]) == len(_valid_claims(key))

    def test_remittance_loads(self, key: str, tmp_path: Path) -> None:
        payer = PAYERS[key]
        _skip_if_exempt(payer, "remittance_loads")
        sample = _sample(key)
        sent = _write_837(key)
        numbers = itertools.count(900)
        responses = respond(sent, usage_indicator="T", now=CREATED, control_numbers=lambda: next(numbers))
        remits = [f.content for f in responses if f.kind == "835"]
        assert remits, "the sandbox answered with no 835"

        engine = create_warehouse_engine("sqlite:///" + str(tmp_path / "warehouse.db"))
        try:
            upgrade_warehouse(engine)
            with engine.begin() as conn:
                export = register_source_file(
                    conn, kind="charges", name="contract.csv", sha256="0" * 64, size=1, origin="export"
                )
            intake = record_intake(
                engine,
                source_file_id=export.id,
                rows=sample.rows,
                rejections=[],
                payers={payer.payer_id: payer},
                batch_date=AS_OF,
            )
            assert sorted(intake.claim_keys) == sorted(c.claim_key for c in _valid_claims(key))
            for number, data in enumerate(remits):
                name = f"835_contract_{number}.x12"
                with engine.begin() as conn:
                    entry = register_source_file(
                        conn,
                        kind="835",
                        name=name,
                        sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data),
                        origin="inbound",
                    )
                    summary = load_response(conn, entry.id, data, name)
                assert summary.kind == "835" and summary.unmatched == 0

            clp_keys = [s[1] for data in remits for s in split_segments(data) if s[0] == "CLP"]
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(remittance_suspense)).scalar_one() == 0
                loaded = conn.execute(select(remittance_claim.c.claim_key, remittance_claim.c.matched)).all()
                payments = dict(conn.execute(select(remittance.c.trace_number, remittance.c.payment_cents)).all())
                statuses = dict(
                    conn.execute(
                        select(claim_table.c.claim_key, claim_table.c.status).where(
                            claim_table.c.claim_key.in_(clp_keys)
                        )
                    ).all()
                )
        finally:
            engine.dispose()
        assert sorted(k for k, _ in loaded) == sorted(clp_keys)
        assert all(matched for _, matched in loaded)
        expected = _expected_payments(remits)
        assert payments == {trace: int(amount * 100) for trace, amount in expected.items()}
        assert set(statuses) == set(clp_keys)
        assert set(statuses.values()) <= {"paid", "partially_paid", "denied"}
