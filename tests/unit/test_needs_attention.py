"""The needs-attention list (issue 9, "One needs-attention list per run"): every kind of item, from the warehouse,
with a reason and what to do, and no value of a charge or a payment.

Core only: the items are made by the real code that sets things aside (export refusal, intake, the response
loader, the ledger) over a SQLite warehouse, and the list is read back with ``needs_attention``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from connectors.payers import registered_payers
from revcycle import exports
from revcycle.attention import (
    HELD_CLAIM,
    KINDS,
    OVERDUE_ACK,
    REFUSED_EXPORT,
    REFUSED_RESPONSE,
    REFUSED_SET,
    REJECTED_LINES,
    SUSPENSE,
    UNREAD_FILE,
    AttentionItem,
    needs_attention,
)
from revcycle.attention_command import NEEDS_ATTENTION_EXIT, demo_exit_code
from revcycle.claims import claim_key_for
from revcycle.cli import main
from revcycle.intake import ChargeRejection, record_intake
from revcycle.responses import load_response
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.ledger import insert_interchange, register_source_file, set_interchange_state
from revcycle.warehouse.schema import interchange, source_file

AS_OF = datetime(2026, 11, 20, tzinfo=UTC).date()
CUT_THEN_COMPLETE = Path(__file__).parents[1] / "fuzz" / "regressions" / "ingest" / "835-cut-mid-clp-then-complete"
DAY = timedelta(hours=24)


def _register(engine: Engine, name: str, digest: str, *, kind: str = "charges", origin: str = "export") -> int:
    with engine.begin() as conn:
        return register_source_file(conn, kind=kind, name=name, sha256=digest, size=1, origin=origin).id


def _refuse(engine: Engine, folder: Path, name: str, digest: str) -> None:
    path = folder / name
    path.write_text("charge_id\n", encoding="utf-8")
    file_id = _register(engine, name, digest)
    exports.refuse_export(
        engine,
        path,
        refusal=exports.no_charge_lines(),
        source_file_id=file_id,
        sha256=digest,
        refused_at=datetime.now(UTC),
    )


def _load(engine: Engine, name: str, data: bytes, digest: str) -> None:
    file_id = _register(engine, name, digest, kind="unknown", origin="sftp")
    with engine.begin() as conn:
        load_response(conn, file_id, data, name)


def _items(engine: Engine, since: datetime, **kwargs: object) -> list[AttentionItem]:
    with engine.connect() as conn:
        return needs_attention(
            conn,
            since=since,
            now=kwargs.pop("now", datetime.now(UTC)),  # type: ignore[arg-type]
            ack_overdue_after=DAY,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def night(engine: Engine, tmp_path: Path) -> tuple[datetime, list[dict[str, str]]]:
    """A warehouse where one night set aside one thing of each kind; returns the night's start and its export."""
    folder = tmp_path / "exports"
    folder.mkdir()
    _refuse(engine, folder, "last_week.csv", "a" * 64)
    with engine.begin() as conn:  # refused a week ago: not this night's
        conn.execute(
            update(source_file)
            .where(source_file.c.name == "last_week.csv")
            .values(received_at=datetime.now(UTC) - 7 * DAY)
        )
    since = datetime.now(UTC) - timedelta(seconds=1)
    _refuse(engine, folder, "header_only.csv", "b" * 64)
    rows = list(generate_charge_rows(list(registered_payers().values()), encounters=6, seed=5, as_of=AS_OF))
    bad = rows[0]
    rejections = [
        ChargeRejection(bad["charge_id"], "charges", "identifier_format", "x12 id", "prior_authorization", "error")
    ]
    record_intake(
        engine,
        source_file_id=_register(engine, "charges_5.csv", "c" * 64),
        rows=rows,
        rejections=rejections,
        payers=registered_payers(),
        batch_date=AS_OF,
    )
    cut, complete = sorted(CUT_THEN_COMPLETE.iterdir())
    _load(engine, "ERA.835", cut.read_bytes(), "d" * 64)  # refused: the file ends inside a CLP
    _load(engine, "ERA.835", complete.read_bytes(), "e" * 64)  # posts; its CLP01s match no claim of ours
    _load(engine, "NOTES.TXT", b"not an X12 file\n", "f" * 64)
    with engine.begin() as conn:
        file_id = insert_interchange(
            conn,
            control_number=41,
            file_name="837P_SUMMT_000000041.x12",
            payer_id="SUMMT",
            transaction_type="837P",
            usage_indicator="T",
            claim_count=1,
            total_charge_cents=100,
            sha256="0" * 64,
            size=1,
            batch_date=AS_OF,
        )
        set_interchange_state(conn, file_id, "uploaded")
        conn.execute(
            update(interchange).where(interchange.c.id == file_id).values(uploaded_at=datetime.now(UTC) - 2 * DAY)
        )
    return since, rows


def test_a_night_that_set_aside_one_of_each_kind_lists_each_once_with_what_to_do(
    engine: Engine, night: tuple[datetime, list[dict[str, str]]]
) -> None:
    since, rows = night
    items = _items(engine, since, unread=["notes.txt"], refused_remote=["..\\\\evil"])
    by_kind: dict[str, list[AttentionItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    assert set(by_kind) == set(KINDS)

    (refused,) = by_kind[REFUSED_EXPORT]  # last week's refusal is not this night's
    assert refused.subject == "header_only.csv" and "no charge lines" in refused.reason
    assert "exports/refused/header_only.csv.reason.txt" in refused.action

    (rejected,) = by_kind[REJECTED_LINES]
    assert rejected.subject == "charges_5.csv"
    assert rejected.reason == "1 charge line rejected: identifier_format on prior_authorization (1)"

    bad = rows[0]
    held_key = claim_key_for(bad["encounter_id"], bad["payer_id"], bad["billing_npi"])
    assert [i.subject for i in by_kind[HELD_CLAIM]] == [f"claim {held_key} (payer {bad['payer_id']})"]
    assert by_kind[HELD_CLAIM][0].reason.startswith("held at intake: ")

    (refused_set,) = by_kind[REFUSED_SET]
    assert refused_set.subject == "ERA.835 set 1 (835, ST02 4360)"
    assert refused_set.reason.startswith("MISSING_TERMINATOR")
    assert "ask the sender for a corrected copy" in refused_set.action.lower()

    assert sorted(i.subject for i in by_kind[REFUSED_RESPONSE]) == ["..\\\\evil", "NOTES.TXT"]
    assert [i.subject for i in by_kind[UNREAD_FILE]] == ["notes.txt"]
    assert [i.subject for i in by_kind[OVERDUE_ACK]] == ["837P_SUMMT_000000041.x12 (ISA13 41)"]
    # The complete ERA.835 pays claims FUZZ1.. that are not ours: counted per remittance, never named.
    (in_suspense,) = by_kind[SUSPENSE]
    assert in_suspense.subject == "ERA.835 (TRN02 986496221061)"
    assert "FUZZ" not in in_suspense.reason

    for item in items:
        assert item.action and item.action[0].isupper() and item.action.endswith(".")
    text = json.dumps([i.as_row() for i in items])
    for row in rows:  # no value of the export reaches the list
        for column in ("patient_last_name", "patient_first_name", "member_id", "patient_birth_date"):
            assert row[column] not in text


def test_a_later_run_lists_only_what_is_still_open(
    engine: Engine, night: tuple[datetime, list[dict[str, str]]]
) -> None:
    # The next night: nothing new was set aside; the held claim, the overdue 999 and the suspense stay.
    items = _items(engine, datetime.now(UTC) + timedelta(seconds=1))
    assert sorted({i.kind for i in items}) == sorted({HELD_CLAIM, OVERDUE_ACK, SUSPENSE})
    # Uploaded two days ago: twelve hours after the upload it was not overdue yet (24 hours).
    twelve_hours_after = datetime.now(UTC) - 2 * DAY + timedelta(hours=12)
    assert OVERDUE_ACK not in {i.kind for i in _items(engine, datetime.now(UTC), now=twelve_hours_after)}


def test_revcycle_attention_exits_3_with_items_and_0_without(
    engine: Engine,
    night: tuple[datetime, list[dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(tmp_path))
    monkeypatch.delenv("REVCYCLE_WAREHOUSE_URL", raising=False)
    assert main(["attention"]) == NEEDS_ATTENTION_EXIT == 3
    out = capsys.readouterr().out
    assert "header_only.csv" in out and "last_week.csv" not in out
    assert "ERA.835 set 1 (835, ST02 4360)" in out and "do:  " in out

    assert main(["attention", "--json", "--since", "2020-01-01"]) == 3
    listed = json.loads(capsys.readouterr().out)["items"]
    assert "last_week.csv" in {i["subject"] for i in listed}  # an earlier --since reaches back

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(empty))
    assert main(["attention"]) == 0
    assert "Nothing needs attention." in capsys.readouterr().out
    assert not os.environ.get("REVCYCLE_WAREHOUSE_URL")


def test_the_demo_exits_0_only_when_every_item_is_a_planted_defect(capsys: pytest.CaptureFixture[str]) -> None:
    rejected = AttentionItem(REJECTED_LINES, "charges.csv", "2 charge lines rejected", "Correct them.")
    held = AttentionItem(HELD_CLAIM, "claim C1 (payer P)", "held at intake: a line was rejected", "Correct it.")
    held_later = AttentionItem(HELD_CLAIM, "claim C2 (payer P)", "held at stage: the writer refused", "Correct it.")
    refused = AttentionItem(REFUSED_SET, "ERA.835 set 1", "MISSING_SE", "Ask the sender.")
    rows = [i.as_row() for i in (rejected, held)]
    assert demo_exit_code(rows, defects_planted=True) == 0
    assert demo_exit_code(rows, defects_planted=False) == 3
    assert demo_exit_code([*rows, refused.as_row()], defects_planted=True) == 3
    assert demo_exit_code([held_later.as_row()], defects_planted=True) == 3
    assert demo_exit_code([], defects_planted=False) == 0
    assert "Nothing needs attention." in capsys.readouterr().out
