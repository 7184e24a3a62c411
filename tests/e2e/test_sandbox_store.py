"""The sandbox's state store: each save writes what changed, not the whole memory of the night so far.

A night of a million lines sends about a hundred interchanges; the payer's memory of current claims and
deductibles grows with every claim, so a save that rewrote it whole was quadratic in the night.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_claims import interchange, make_claim, night

from connectors.clearinghouse.sandbox import SandboxStore, payer_terms
from revcycle.sandbox.payer import SandboxConfig, SandboxPayer
from revcycle.sandbox.state import PayerState

START = date(2026, 3, 2)


def _claims(first: int, count: int) -> bytes:
    claims = [
        make_claim(f"E{n:04d}", payer_id=("MCRPB", "SUMMT")[n % 2], member=f"M{n:04d}")
        for n in range(first, first + count)
    ]
    return interchange(claims, 900 + first)


def _statements(store: SandboxStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Collect every SQL statement the store runs from here on."""
    seen: list[str] = []
    connect = store._connect

    def traced() -> sqlite3.Connection:
        conn = connect()
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(store, "_connect", traced)
    return seen


def test_a_save_writes_the_current_claims_of_this_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SandboxStore(tmp_path / "state.db", tmp_path / "ledger.csv")
    received, state = store.load()
    payer = SandboxPayer(SandboxConfig(seed_salt="store", payers=payer_terms()), state)
    payer.receive(_claims(0, 40), night(START))
    store.save(received, payer.state)
    current_after_first = dict(payer.state.current)
    assert len(current_after_first) > 20  # most of the 40 are accepted and adjudicated: each is current

    statements = _statements(store, monkeypatch)
    payer.receive(_claims(40, 5), night(START))
    store.save(received, payer.state)
    new_keys = set(payer.state.current) - set(current_after_first)
    assert 0 < len(new_keys) <= 5
    # one INSERT per current claim decided by the second file: the 40 of the first are not written again
    assert len([s for s in statements if s.startswith("INSERT OR REPLACE INTO current")]) == len(new_keys)
    meta = [s for s in statements if s.startswith("INSERT OR REPLACE INTO meta VALUES ('state'")]
    assert meta and all("E0001" not in s and "M0001" not in s for s in meta)  # no claim key, no member in meta


def test_current_claims_and_deductibles_come_back_after_a_restart(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path / "state.db", tmp_path / "ledger.csv")
    received, state = store.load()
    payer = SandboxPayer(SandboxConfig(seed_salt="store", payers=payer_terms()), state)
    payer.receive(_claims(0, 30), night(START))
    store.save(received, payer.state)
    assert payer.state.accumulators  # some members met part of a deductible

    _, reloaded = SandboxStore(tmp_path / "state.db", tmp_path / "ledger.csv").load()
    assert reloaded.current == payer.state.current
    assert reloaded.accumulators == payer.state.accumulators
    assert reloaded.unsaved_current() == {} and reloaded.unsaved_accumulators() == {}


def test_a_removed_key_is_removed_from_the_store(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path / "state.db", tmp_path / "ledger.csv")
    received, state = store.load()
    state.current["SUMMT|K1"] = "N1"
    state.current["SUMMT|K2"] = "N2"
    state.accumulators["SUMMT|M1|2026"] = Decimal("12.50")
    store.save(received, state)
    del state.current["SUMMT|K1"]
    state.accumulators["SUMMT|M1|2026"] -= Decimal("2.25")
    store.save(received, state)

    _, reloaded = SandboxStore(tmp_path / "state.db", tmp_path / "ledger.csv").load()
    assert reloaded.current == {"SUMMT|K2": "N2"}
    assert reloaded.accumulators == {"SUMMT|M1|2026": Decimal("10.25")}  # 12.50 - 2.25, exact


def test_a_store_saved_with_current_claims_in_its_meta_moves_them_to_their_tables(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SandboxStore(path, tmp_path / "ledger.csv")
    older = PayerState().meta() | {"current": {"SUMMT|K1": "N1"}, "accumulators": {"SUMMT|M1|2026": "30.00"}}
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO meta VALUES ('state', ?)", (json.dumps(older),))
        conn.execute("INSERT INTO meta VALUES ('received', '[]')")
    conn.close()

    store = SandboxStore(path, tmp_path / "ledger.csv")
    received, state = store.load()
    assert state.current == {"SUMMT|K1": "N1"}
    assert state.accumulators == {"SUMMT|M1|2026": Decimal("30.00")}
    store.save(received, state)

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT key, value FROM current").fetchall() == [("SUMMT|K1", "N1")]
        assert conn.execute("SELECT key, value FROM accumulator").fetchall() == [("SUMMT|M1|2026", "30.00")]
        (meta,) = conn.execute("SELECT value FROM meta WHERE name = 'state'").fetchone()
    finally:
        conn.close()
    assert "current" not in json.loads(meta) and "accumulators" not in json.loads(meta)
