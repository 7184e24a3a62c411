"""An uploaded interchange with no 999 after the configured time is flagged; acknowledged or unsent ones are not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from revcycle.settings import Settings
from revcycle.warehouse.ledger import insert_interchange, overdue_interchanges
from revcycle.warehouse.schema import interchange

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def add(engine: Engine, control_number: int, state: str, hours_ago: float | None, acknowledged: bool = False) -> str:
    name = f"837P_TEST_{control_number:09d}.x12"
    with engine.begin() as conn:
        interchange_id = insert_interchange(
            conn,
            control_number=control_number,
            file_name=name,
            payer_id="TEST",
            transaction_type="837P",
            usage_indicator="T",
            claim_count=1,
            total_charge_cents=100,
            sha256="0" * 64,
            size=10,
            batch_date=date(2026, 11, 19),
        )
        values: dict[str, object] = {"state": state}
        if hours_ago is not None:
            values["uploaded_at"] = NOW - timedelta(hours=hours_ago)
        if acknowledged:
            values["acknowledged_at"] = NOW - timedelta(hours=1)
            values["ack_code"] = "A" if state == "accepted" else "R"
        conn.execute(update(interchange).where(interchange.c.id == interchange_id).values(**values))
    return name


def test_only_uploaded_interchanges_past_the_limit_without_acknowledgment_are_flagged(engine: Engine) -> None:
    late = add(engine, 1, "uploaded", 30)
    later = add(engine, 2, "uploaded", 48)
    add(engine, 3, "uploaded", 2)  # recent: the clearinghouse has time left
    add(engine, 4, "uploaded", 24)  # exactly at the limit: not yet late
    add(engine, 5, "accepted", 40, acknowledged=True)
    add(engine, 6, "rejected", 40, acknowledged=True)
    add(engine, 7, "staged", None)  # never sent: nothing to wait for
    add(engine, 8, "uploading", None)  # interrupted upload: the rerun reconciles it, not an ack problem

    with engine.connect() as conn:
        flagged = overdue_interchanges(conn, timedelta(hours=24), now=NOW)

    assert [(item.file_name, item.control_number) for item in flagged] == [(later, 2), (late, 1)]  # oldest first
    assert flagged[0].uploaded_at == NOW - timedelta(hours=48)
    assert flagged[0].uploaded_at.tzinfo is not None


def test_a_shorter_limit_flags_more(engine: Engine) -> None:
    add(engine, 1, "uploaded", 30)
    add(engine, 3, "uploaded", 2)
    with engine.connect() as conn:
        assert len(overdue_interchanges(conn, timedelta(hours=1), now=NOW)) == 2
        assert overdue_interchanges(conn, timedelta(hours=72), now=NOW) == []


def test_the_limit_is_a_setting_with_a_positive_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVCYCLE_ACK_OVERDUE_HOURS", raising=False)
    assert Settings(_env_file=None).ack_overdue_hours == 24  # type: ignore[call-arg]
    monkeypatch.setenv("REVCYCLE_ACK_OVERDUE_HOURS", "6")
    assert Settings(_env_file=None).ack_overdue_hours == 6  # type: ignore[call-arg]
    monkeypatch.setenv("REVCYCLE_ACK_OVERDUE_HOURS", "0")
    with pytest.raises(ValueError, match="ack_overdue_hours"):
        Settings(_env_file=None)  # type: ignore[call-arg]
