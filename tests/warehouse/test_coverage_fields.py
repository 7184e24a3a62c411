"""The payers a claim is billed to in turn, read from its first charge's JSON by the database (issue 15).

``cob_chain.next_payers`` needs three fields of a charge row (``payer_id``, ``secondary_payer_id``,
``tertiary_payer_id``); it used to fetch each claim's whole row (about 1 KB of JSON, PHI) and parse it in
Python, half of that read's time in the next actions. ``sqlfunc.json_field`` takes a field out in SQL:
``json_extract`` on SQLite, ``->>`` on PostgreSQL. Checked on both databases against Python's own JSON reader.
"""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import pytest
from intake_records import record_export
from sqlalchemy import Engine, String, event, literal, select

from connectors.payers import registered_payers
from revcycle.claims import claim_key_for
from revcycle.coverage import coverage_payers
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.cob_chain import next_payers
from revcycle.warehouse.schema import charge, claim
from revcycle.warehouse.sqlfunc import json_field

NIGHT = date(2026, 11, 20)
# Three visits to SUMMT: with a secondary and a tertiary, with a secondary only, with no other coverage.
COVERAGES = (("MCDST", "MCRPB"), ("MCDST", None), (None, None))


def _visits() -> list[dict[str, str]]:
    """The synthetic EHR's three visits (all their lines) with the other coverages of COVERAGES, in turn."""
    generated = list(generate_charge_rows([registered_payers()["SUMMT"]], encounters=3, seed=11, as_of=NIGHT))
    encounters = list(dict.fromkeys(row["encounter_id"] for row in generated))
    assert len(encounters) == len(COVERAGES)
    rows = []
    for row in generated:
        coverage: dict[str, str] = {}
        others = COVERAGES[encounters.index(row["encounter_id"])]
        for rank, payer_id in zip(("secondary", "tertiary"), others, strict=True):
            if payer_id is None:
                continue
            profile = registered_payers()[payer_id]
            subscriber = ("last_name", "first_name", "birth_date", "sex")
            coverage |= {
                f"{rank}_payer_id": payer_id,
                f"{rank}_member_id": profile.make_member_id(random.Random(rank)),
                f"{rank}_claim_filing_indicator": profile.filing_indicator,
                f"{rank}_relationship": "self",
                **{f"{rank}_subscriber_{f}": row[f"patient_{f}"] for f in subscriber},
            }
        rows.append(row | coverage)
    return rows


def _claim_keys(rows: list[dict[str, str]]) -> list[str]:
    """The visits' claim keys, in visit order."""
    keys = (claim_key_for(r["encounter_id"], r["payer_id"], r["billing_npi"]) for r in rows)
    return list(dict.fromkeys(keys))


def test_a_field_is_what_pythons_json_reader_finds(warehouse: Engine) -> None:
    # Present with spaces kept, empty, null, absent, and a non-ASCII value: the field's JSON string value, or NULL.
    document = json.dumps({"payer_id": " SUMMT ", "secondary_payer_id": "", "tertiary_payer_id": None, "é": "ü"})
    names = ("payer_id", "secondary_payer_id", "tertiary_payer_id", "member_id")
    source = select(literal(document, String()).label("row_json")).subquery()
    with warehouse.connect() as conn:
        found = conn.execute(select(*(json_field(source.c.row_json, n) for n in names))).one()
        # the same function with other names in a second statement: the compiled SQL is not reused wrongly
        again = conn.execute(select(*(json_field(source.c.row_json, n) for n in reversed(names)))).one()
    expected = tuple(json.loads(document).get(n) for n in names)  # (" SUMMT ", "", None, None)
    assert tuple(found) == expected
    assert tuple(again) == tuple(reversed(expected))


def test_a_field_name_outside_letters_digits_and_underscore_is_refused() -> None:
    with pytest.raises(ValueError, match="field name"):
        json_field(charge.c.row_json, "payer_id') OR 1=1 --")


def test_next_payers_reads_the_payer_fields_not_the_row(warehouse: Engine) -> None:
    rows = _visits()
    record_export(warehouse, rows, batch_date=NIGHT)
    keys = _claim_keys(rows)
    selected: list[str] = []

    @event.listens_for(warehouse, "after_cursor_execute")
    def _columns(_conn: Any, cursor: Any, *_args: Any) -> None:
        selected.extend(str(d[0]).lower() for d in cursor.description or ())

    with warehouse.connect() as conn:
        assert len(keys) == 3
        assert sorted(conn.execute(select(claim.c.claim_key)).scalars()) == sorted(keys)
        found = next_payers(conn, keys)
        event.remove(warehouse, "after_cursor_execute", _columns)
        # the second reader: each claim's first charge row, parsed by Python
        stored = conn.execute(select(charge.c.claim_key, charge.c.row_json).order_by(charge.c.charge_id)).all()
    first_rows = {}
    for claim_key, row_json in stored:
        first_rows.setdefault(claim_key, json.loads(row_json))
    # a primary claim (chain of one) with a coverage after its payer: that payer, not billed yet
    assert found == {
        key: (coverage_payers(first_rows[key])[1], False) for key in keys if len(coverage_payers(first_rows[key])) > 1
    }
    # by hand: the first two visits name MCDST after SUMMT; the third names no other coverage
    assert found == {keys[0]: ("MCDST", False), keys[1]: ("MCDST", False)}
    assert "row_json" not in selected
