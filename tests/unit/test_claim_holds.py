"""Claim grain (issue 9, case 1): a claim is held with a reason naming key and field, and the rest goes out.

Core only (no Prefect): intake and staging over a SQLite warehouse, with the 837s read back from outbound/.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from intake_records import record_export
from sqlalchemy import Engine, select, update

from connectors.payers import registered_payers
from revcycle import submission
from revcycle.claims import claim_key_for
from revcycle.holds import ClaimHold, open_holds, record_holds, release_holds
from revcycle.intake import ChargeRejection
from revcycle.submission import SenderIdentity, WrittenInterchange, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.schema import charge, claim, claim_event, claim_hold, claim_line
from revcycle.x12.write837p import Submitter
from revcycle.x12.x837 import read_837

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)
SENDER = SenderIdentity("REVCYCLE01", "T", Submitter("REVCYCLE BILLING", "REVCYCLE01", "BILLING", phone="5555550100"))


def _rows(seed: int = 9, encounters: int = 30) -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=AS_OF))


def _key(row: Mapping[str, str]) -> str:
    return claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])


def _intake(engine: Engine, rows: Sequence[Mapping[str, str]], name: str, **kwargs: object) -> None:
    record_export(
        engine,
        rows,
        batch_date=AS_OF,
        name=name,
        origin="x",
        rejections=kwargs.pop("rejections", []),  # type: ignore[arg-type]
        now=kwargs.pop("now", NOW),  # type: ignore[arg-type]
    )


def _stage(engine: Engine, outbound: Path, **kwargs: object) -> submission.StagingResult:
    return stage_claims(
        engine,
        payers=kwargs.pop("payers", registered_payers()),  # type: ignore[arg-type]
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=AS_OF,
        created=NOW,
        now=kwargs.pop("now", NOW),  # type: ignore[arg-type]
        check=kwargs.pop("check", None),  # type: ignore[arg-type]
    )


def _sent_keys(outbound: Path) -> set[str]:
    keys: set[str] = set()
    for path in outbound.glob("*.x12"):
        received = read_837(path.read_bytes())
        assert received.problems == []
        keys |= {c.claim_key for c in received.claims}
    return keys


def _holds(engine: Engine) -> list[tuple[str, str, str, str, datetime | None]]:
    with engine.connect() as conn:
        return [
            tuple(r)  # type: ignore[misc]
            for r in conn.execute(
                select(
                    claim_hold.c.claim_key,
                    claim_hold.c.encounter_id,
                    claim_hold.c.stage,
                    claim_hold.c.reason,
                    claim_hold.c.released_at,
                ).order_by(claim_hold.c.id)
            )
        ]


def _with_prior_auth(rows: list[dict[str, str]], encounter: str, value: str) -> list[dict[str, str]]:
    return [dict(r, prior_authorization=value) if r["encounter_id"] == encounter else r for r in rows]


def test_a_delimiter_in_a_prior_authorization_holds_that_claim_and_its_payer_still_gets_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    rows = _rows()
    bad = rows[0]
    same_payer = {_key(r) for r in rows if r["payer_id"] == bad["payer_id"]} - {_key(bad)}
    assert same_payer
    _intake(engine, _with_prior_auth(rows, bad["encounter_id"], "PA*7781"), "old_export.csv")

    result = _stage(engine, tmp_path / "outbound")

    sent = _sent_keys(tmp_path / "outbound")
    assert sent == {_key(r) for r in rows} - {_key(bad)}
    assert same_payer <= sent
    assert [(h.claim_key, h.stage) for h in result.held] == [(_key(bad), "stage")]
    ((key, encounter, stage, reason, released),) = _holds(engine)
    assert (key, encounter, stage, released) == (_key(bad), bad["encounter_id"], "stage", None)
    assert reason == f"claim {key}: prior authorization contains an X12 delimiter"
    with engine.connect() as conn:
        # Never sent, so withdrawn: no claim, no lines, no events left; its charges held for the correction.
        assert conn.execute(select(claim.c.claim_key).where(claim.c.claim_key == key)).all() == []
        assert conn.execute(select(claim_line).where(claim_line.c.claim_key == key)).all() == []
        assert conn.execute(select(claim_event).where(claim_event.c.claim_key == key)).all() == []
        statuses = set(
            conn.execute(select(charge.c.status).where(charge.c.encounter_id == bad["encounter_id"])).scalars()
        )
    assert statuses == {"held"}

    # The corrected export (same charge ids, the value fixed) builds the claim again and releases the hold.
    corrected = [r for r in rows if r["encounter_id"] == bad["encounter_id"]]
    _intake(engine, corrected, "corrected.csv", now=LATER)
    assert _holds(engine)[0][4] is not None
    again = _stage(engine, tmp_path / "outbound", now=LATER)
    assert again.held == []
    assert _key(bad) in _sent_keys(tmp_path / "outbound")


def test_claims_that_no_longer_rebuild_are_held_at_build_naming_the_reason(engine: Engine, tmp_path: Path) -> None:
    rows = _rows(seed=10)
    _intake(engine, rows, "export.csv")
    broken = rows[0]
    with engine.begin() as conn:
        # A stored row whose service date cannot be read any more.
        stored = json.loads(
            conn.execute(select(charge.c.row_json).where(charge.c.charge_id == broken["charge_id"])).scalar_one()
        )
        stored["service_date_from"] = "31/12/2026"
        conn.execute(
            update(charge).where(charge.c.charge_id == broken["charge_id"]).values(row_json=json.dumps(stored))
        )
    gone_payer = next(r["payer_id"] for r in rows if r["payer_id"] != broken["payer_id"])
    payers = {k: v for k, v in registered_payers().items() if k != gone_payer}

    result = _stage(engine, tmp_path / "outbound", payers=payers)

    held = {h.claim_key: h for h in result.held}
    assert held[_key(broken)].stage == "build"
    assert held[_key(broken)].reason == (
        f"claim {_key(broken)}: service_date_from of charge {broken['charge_id']} cannot be read"
    )
    for r in rows:
        if r["payer_id"] == gone_payer:
            assert held[_key(r)].reason == f"claim {_key(r)}: no payer connector for {gone_payer}"
    expected_sent = {_key(r) for r in rows if r["payer_id"] != gone_payer} - {_key(broken)}
    assert _sent_keys(tmp_path / "outbound") == expected_sent
    assert {h[0] for h in _holds(engine)} == set(held)
    assert "31/12/2026" not in " ".join(h.reason for h in result.held)


def test_the_written_claim_check_holds_what_it_names_and_checks_the_rewritten_interchange(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [r for r in _rows(seed=11) if r["payer_id"] == "SUMMT"]
    keys = sorted({_key(r) for r in rows})
    assert len(keys) >= 3
    seen: list[list[set[str]]] = []

    def check(written: Sequence[WrittenInterchange]) -> Mapping[str, list[str]]:
        rounds = [{c.claim_key for c in w.claims} for w in written]
        seen.append(rounds)
        for w in written:  # what the check is given is exactly what was written
            assert {c.claim_key for c in read_837(w.content).claims} == {c.claim_key for c in w.claims}
        return (
            {keys[0]: [f"claim {keys[0]}: claims suite rule claim_total_equals_lines failed"]}
            if keys[0] in rounds[0]
            else {}
        )

    _intake(engine, rows, "export.csv")
    result = _stage(engine, tmp_path / "outbound", check=check)

    assert seen == [[set(keys)], [set(keys) - {keys[0]}]]
    assert [(h.claim_key, h.stage, h.reason) for h in result.held] == [
        (keys[0], "stage", f"claim {keys[0]}: claims suite rule claim_total_equals_lines failed")
    ]
    assert _sent_keys(tmp_path / "outbound") == set(keys) - {keys[0]}
    assert sum(r.claim_count for r in result.interchanges) == len(keys) - 1


def test_an_interchange_that_keeps_failing_the_check_is_held_whole(engine: Engine, tmp_path: Path) -> None:
    rows = [r for r in _rows(seed=12, encounters=60) if r["payer_id"] == "SUMMT"]
    keys = sorted({_key(r) for r in rows})
    assert len(keys) > submission.MAX_CHECK_ROUNDS
    calls = []

    def check(written: Sequence[WrittenInterchange]) -> Mapping[str, list[str]]:
        calls.append(1)
        first = sorted(c.claim_key for c in written[0].claims)[0]  # a new claim fails every round
        return {first: [f"claim {first}: failed"]}

    _intake(engine, rows, "export.csv")
    result = _stage(engine, tmp_path / "outbound", check=check)

    assert len(calls) == submission.MAX_CHECK_ROUNDS
    assert result.interchanges == [] and list((tmp_path / "outbound").glob("*.x12")) == []
    assert sorted(h.claim_key for h in result.held) == keys
    held_whole = [h for h in result.held if h.reason.endswith("its interchange kept failing the claims suite")]
    assert len(held_whole) == len(keys) - submission.MAX_CHECK_ROUNDS


def test_a_claim_the_writer_still_refuses_is_found_one_by_one(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(seed=13)
    bad = rows[0]
    _intake(engine, _with_prior_auth(rows, bad["encounter_id"], "PA~1"), "export.csv")
    monkeypatch.setattr(submission, "split_writable", lambda claims: (list(claims), []))  # the first line fails

    result = _stage(engine, tmp_path / "outbound")

    assert [(h.claim_key, h.stage) for h in result.held] == [(_key(bad), "stage")]
    assert "prior authorization contains an X12 delimiter" in result.held[0].reason
    assert _sent_keys(tmp_path / "outbound") == {_key(r) for r in rows} - {_key(bad)}


def test_an_encounter_with_a_rejected_line_is_held_at_intake_naming_charge_rule_and_column(engine: Engine) -> None:
    rows = _rows(seed=14)
    bad = rows[0]
    rejection = ChargeRejection(
        bad["charge_id"], "charges", "identifier_format", "expect_column_values_to_match_regex", "prior_authorization",
        "error", "***7",
    )  # fmt: skip
    _intake(engine, rows, "export.csv", rejections=[rejection])
    ((key, encounter, stage, reason, released),) = _holds(engine)
    assert (key, encounter, stage, released) == (_key(bad), bad["encounter_id"], "intake", None)
    assert reason == (
        f"claim {key}: a line of its encounter was rejected by validation "
        f"(charge {bad['charge_id']} failed identifier_format on prior_authorization)"
    )
    # The same encounter held again by a later export updates the open hold, it does not add one.
    _intake(engine, [r for r in rows if r["encounter_id"] == bad["encounter_id"]], "again.csv", rejections=[rejection])
    assert len(_holds(engine)) == 1
    _intake(engine, [r for r in rows if r["encounter_id"] == bad["encounter_id"]], "fixed.csv", now=LATER)
    assert _holds(engine)[0][4] is not None


def test_record_release_and_list_holds(engine: Engine) -> None:
    hold = ClaimHold("RCKEY1", "SUMMT", "E1", "stage", "claim RCKEY1: x " + "y" * 600)
    with engine.begin() as conn:
        assert record_holds(conn, [hold, ClaimHold("RCKEY2", "SUMMT", "E2", "intake", "claim RCKEY2: z")], NOW) == 2
        assert record_holds(conn, [hold], LATER) == 0  # still open: updated, not repeated
        assert [(h.claim_key, h.stage, len(h.reason)) for h in open_holds(conn)] == [
            ("RCKEY1", "stage", 500),
            ("RCKEY2", "intake", 15),
        ]
        assert open_holds(conn)[0].reason.endswith("...")
        assert release_holds(conn, ["RCKEY1", "RCKEY9"], LATER) == 1
        assert [h.claim_key for h in open_holds(conn)] == ["RCKEY2"]
        assert record_holds(conn, [hold], LATER) == 1  # held again after its release: a new hold
    with pytest.raises(ValueError, match="held at one of intake, build, stage"):
        ClaimHold("RCKEY3", "SUMMT", "E3", "upload", "x")


def test_a_claim_held_at_build_goes_out_on_the_next_staging_once_its_payer_is_back(
    engine: Engine, tmp_path: Path
) -> None:
    rows = _rows(seed=15)
    gone = rows[0]["payer_id"]
    gone_keys = {_key(r) for r in rows if r["payer_id"] == gone}
    _intake(engine, rows, "export.csv")
    first = _stage(engine, tmp_path / "outbound", payers={k: v for k, v in registered_payers().items() if k != gone})
    assert {h.claim_key for h in first.held} == gone_keys
    assert not gone_keys & _sent_keys(tmp_path / "outbound")

    # The connector is back (a fixed deployment, a Retry): no new export is needed.
    second = _stage(engine, tmp_path / "outbound", now=LATER)
    assert sorted(second.rebuilt) == sorted(gone_keys) and second.held == []
    assert _sent_keys(tmp_path / "outbound") == {_key(r) for r in rows}
    assert all(h[4] is not None for h in _holds(engine))


def test_a_claim_still_refused_stays_held_once_and_an_open_intake_hold_keeps_it_waiting(
    engine: Engine, tmp_path: Path
) -> None:
    rows = _rows(seed=16)
    bad = rows[0]
    _intake(engine, _with_prior_auth(rows, bad["encounter_id"], "PA*7781"), "export.csv")
    _stage(engine, tmp_path / "outbound")
    again = _stage(engine, tmp_path / "outbound", now=LATER)
    assert again.rebuilt == [] and again.held == []
    assert [(h[0], h[2], h[4]) for h in _holds(engine)] == [(_key(bad), "stage", None)]

    # The stored value is fixed, but a line of the same encounter is waiting on a corrected export (an open
    # intake hold): building the claim from the other lines would send part of the visit.
    with engine.begin() as conn:
        for charge_id, text in conn.execute(
            select(charge.c.charge_id, charge.c.row_json).where(charge.c.encounter_id == bad["encounter_id"])
        ).all():
            fixed = json.dumps(dict(json.loads(text), prior_authorization="PA7781"))
            conn.execute(update(charge).where(charge.c.charge_id == charge_id).values(row_json=fixed))
        record_holds(conn, [ClaimHold(_key(bad), bad["payer_id"], bad["encounter_id"], "intake", "x")], LATER)
    assert _stage(engine, tmp_path / "outbound", now=LATER).rebuilt == []
    with engine.begin() as conn:
        conn.execute(update(claim_hold).where(claim_hold.c.stage == "intake").values(released_at=LATER))
    assert _stage(engine, tmp_path / "outbound", now=LATER).rebuilt == [_key(bad)]
    assert _key(bad) in _sent_keys(tmp_path / "outbound")
