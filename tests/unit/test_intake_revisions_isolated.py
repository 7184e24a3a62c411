"""A re-sent charge of a claim is a revision only when it stays that claim's charge and its encounter is clean.

Found by the fuzz campaign (seed 1, intake cases 619 to 3415, ``rejected_not_claimed``): a later export
re-sent a claimed charge id with another encounter and patient (an id the EHR reused), and the revision moved
the charge, still on its claim, into an encounter of that export that had a rejected line. Core only
(``record_intake`` over SQLite), as the nightly's intake calls it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from intake_records import record_export
from sqlalchemy import Engine, select

from connectors.payers import registered_payers
from revcycle.intake import ChargeRejection, IntakeResult
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.schema import charge, charge_rejection, charge_revision

AS_OF = date(2026, 11, 20)


def _rows(seed: int) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=6, seed=seed, as_of=AS_OF))


def _intake(
    engine: Engine, name: str, rows: Sequence[dict[str, str]], rejections: Sequence[ChargeRejection] = ()
) -> IntakeResult:
    return record_export(engine, rows, batch_date=AS_OF, name=name, origin="x", rejections=rejections)


def _stored(engine: Engine, charge_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(select(charge).where(charge.c.charge_id == charge_id)).one()
    return dict(row._mapping)


def _revised(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(charge_revision.c.charge_id)).scalars())


def test_a_revision_in_an_encounter_with_a_rejected_line_waits_with_the_encounter(engine: Engine) -> None:
    rows = _rows(seed=5)
    _intake(engine, "night1.csv", rows)
    first = rows[0]
    before = _stored(engine, first["charge_id"])
    assert before["status"] == "claimed"
    # Night 2: the same encounter again, its first line with a corrected amount and a new line that fails a
    # rule (the gate's rejection, as the charges suite would report it).
    corrected = {**first, "charge_amount": "999.00"}
    new_line = {**first, "charge_id": first["charge_id"] + "-N"}
    rejected = ChargeRejection(new_line["charge_id"], "charges", "cpt_format", "expect_x", "procedure_code", "error")

    result = _intake(engine, "night2.csv", [corrected, new_line], [rejected])

    assert result.revised_charges == 0
    assert _revised(engine) == []
    after = _stored(engine, first["charge_id"])
    # untouched: still the night-1 row on its claim (amount, source file)
    assert (after["charge_cents"], after["source_file_id"], after["claim_key"]) == (
        before["charge_cents"],
        before["source_file_id"],
        before["claim_key"],
    )


def test_a_claimed_charge_re_sent_under_another_encounter_is_rejected_naming_the_column(engine: Engine) -> None:
    rows = _rows(seed=5)
    _intake(engine, "night1.csv", rows)
    first = rows[0]
    other_visit = next(r for r in _rows(seed=9) if r["encounter_id"] != first["encounter_id"])
    # The EHR reuses the charge id for a line of another visit (another encounter and patient).
    reused = {**other_visit, "charge_id": first["charge_id"]}
    before = _stored(engine, first["charge_id"])

    result = _intake(engine, "night2.csv", [reused])

    assert result.revised_charges == 0
    assert result.rejected_charges == 1
    with engine.connect() as conn:
        rules = conn.execute(
            select(charge_rejection.c.rule, charge_rejection.c.column_name, charge_rejection.c.masked_value).where(
                charge_rejection.c.charge_id == first["charge_id"]
            )
        ).all()
    assert [tuple(r) for r in rules] == [("claim_identity_changed", "encounter_id", None)]  # the column, no value
    after = _stored(engine, first["charge_id"])
    assert after["claim_key"] == before["claim_key"]
    assert json.loads(str(after["row_json"]))["encounter_id"] == first["encounter_id"]  # still the night-1 visit


def test_a_plain_correction_of_a_claimed_charge_is_still_a_revision(engine: Engine) -> None:
    rows = _rows(seed=5)
    _intake(engine, "night1.csv", rows)
    corrected = {**rows[0], "charge_amount": "999.00"}

    result = _intake(engine, "night2.csv", [corrected])

    assert result.revised_charges == 1
    assert _revised(engine) == [rows[0]["charge_id"]]
    assert _stored(engine, rows[0]["charge_id"])["charge_cents"] == 99900
