"""Intake at row grain (issue 9, fuzz reproducers): rows whose charge id names no single line, and an amount
too large to store, are rejected with a reason while the rest of the export is recorded.

Core only: ``record_intake`` over a SQLite warehouse. Without the fix each case raised out of
``record_intake`` (``IntegrityError: UNIQUE constraint failed: charge.charge_id``, ``OverflowError: Python int
too large to convert to SQLite INTEGER``) and nothing of the export was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from intake_records import record_export
from sqlalchemy import Engine, select

from connectors.payers import registered_payers
from revcycle.claims import claim_key_for
from revcycle.intake import ChargeRejection, IntakeResult
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.schema import charge, charge_rejection, claim_hold, claim_line

AS_OF = date(2026, 11, 20)


def _rows(encounters: int = 6) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=17, as_of=AS_OF))


def _intake(engine: Engine, rows: Sequence[dict[str, str]], rejections: Sequence[ChargeRejection] = ()) -> IntakeResult:
    return record_export(engine, rows, batch_date=AS_OF, name="x.csv", rejections=rejections)


def _first_rows_of_two_encounters(rows: list[dict[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    first = rows[0]
    second = next(r for r in rows if r["encounter_id"] != first["encounter_id"])
    return first, second


def test_two_rows_sharing_a_charge_id_are_both_rejected_and_both_encounters_held(engine: Engine) -> None:
    rows = _rows()
    first, second = _first_rows_of_two_encounters(rows)
    second["charge_id"] = first["charge_id"]  # two different lines under one id (an EHR id collision)
    result = _intake(engine, rows)  # no charges suite here: intake finds the shared id itself

    shared = first["charge_id"]
    assert result.rejected_charges == 1  # one id, rejected on both rows
    with engine.connect() as conn:
        stored = conn.execute(select(charge.c.charge_id, charge.c.status, charge.c.encounter_id)).all()
        rules = conn.execute(
            select(charge_rejection.c.rule, charge_rejection.c.column_name).where(
                charge_rejection.c.charge_id == shared
            )
        ).all()
        held = {r.encounter_id for r in conn.execute(select(claim_hold.c.encounter_id))}
        claimed_lines = set(conn.execute(select(claim_line.c.charge_id)).scalars())
    # One row per charge id in the warehouse: the first of the two, rejected.
    kept = [(str(s.status), str(s.encounter_id)) for s in stored if s.charge_id == shared]
    assert kept == [("rejected", first["encounter_id"])]
    assert [tuple(r) for r in rules] == [("charge_id_unique", "charge_id")]
    assert held == {first["encounter_id"], second["encounter_id"]}
    assert shared not in claimed_lines
    # Every other row of the export: recorded, and claimed unless its encounter is held.
    assert {s.charge_id for s in stored} == {r["charge_id"] for r in rows}
    other = [r for r in rows if r["encounter_id"] not in held]
    assert other and {r["charge_id"] for r in other} <= claimed_lines


def test_a_line_exported_twice_is_rejected_once_with_the_charges_suites_rule(engine: Engine) -> None:
    rows = _rows()
    rows.insert(1, dict(rows[0]))  # the same line twice
    gx_rejections = [  # what the charges suite reports for it: charge_id_unique on both rows
        ChargeRejection(rows[0]["charge_id"], "charges", "charge_id_unique", "unique", "charge_id", "error")
    ] * 2
    _intake(engine, rows, gx_rejections)
    with engine.connect() as conn:
        statuses = conn.execute(select(charge.c.status).where(charge.c.charge_id == rows[0]["charge_id"])).all()
        rules = conn.execute(select(charge_rejection.c.suite, charge_rejection.c.rule)).all()
    assert [tuple(r) for r in statuses] == [("rejected",)]
    assert [tuple(r) for r in rules] == [("charges", "charge_id_unique")]  # no second rejection of intake's own


def test_two_rows_without_a_charge_id_are_rejected_not_built(engine: Engine) -> None:
    rows = _rows()
    first, second = _first_rows_of_two_encounters(rows)
    positions = [rows.index(first), rows.index(second)]
    first["charge_id"] = second["charge_id"] = ""
    # The charges gate keys a row without a charge id by its position.
    gx_rejections = [
        ChargeRejection(f"row-{p}", "charges", "required", "not null", "charge_id", "error") for p in positions
    ]
    _intake(engine, rows, gx_rejections)
    with engine.connect() as conn:
        blank = conn.execute(select(charge.c.status).where(charge.c.charge_id == "")).all()
        holds = {claim_key_for(r["encounter_id"], r["payer_id"], r["billing_npi"]) for r in (first, second)}
        reasons = {r.claim_key: r.reason for r in conn.execute(select(claim_hold.c.claim_key, claim_hold.c.reason))}
        claimed_lines = set(conn.execute(select(claim_line.c.charge_id)).scalars())
    assert [tuple(r) for r in blank] == [("rejected",)]
    assert holds <= set(reasons)
    assert all("(no charge id) failed required on charge_id" in reasons[key] for key in holds)
    assert "" not in claimed_lines


def test_an_amount_of_20_digits_is_stored_without_cents_and_its_row_rejected(engine: Engine) -> None:
    rows = _rows()
    rows[0]["charge_amount"] = "99999999999999999999.99"  # 10^22 cents: more than a 64-bit integer holds
    rejection = ChargeRejection(
        rows[0]["charge_id"], "charges", "charge_amount_format", "regex", "charge_amount", "error"
    )
    _intake(engine, rows, [rejection])
    with engine.connect() as conn:
        row = conn.execute(
            select(charge.c.status, charge.c.charge_cents).where(charge.c.charge_id == rows[0]["charge_id"])
        )
        assert tuple(row.one()) == ("rejected", None)
