"""The streaming 835 loader keeps the set grain when a set spans several batches (issue 15).

A set is posted in batches of claims inside its own savepoint. With batches of two claims, a five-claim set
spans three batches: a problem found in its last batch, or in its group's GE after it was posted whole, must
still take back every batch of it, and the file's other set must still post. Expected values are worked out
by hand from the files each test writes.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from warehouse_data import add_claim, cas, clp, ingest, remittance, svc, write_remittances

from revcycle import remittance_load
from revcycle.warehouse import schema
from revcycle.warehouse.schema import claim_event, remittance_claim
from revcycle.x12.write835 import Remittance

SERVED = date(2026, 6, 1)
PAID_ON = date(2026, 7, 1)
A_KEYS = ("A1", "A2", "A3", "A4", "A5")  # five claims: batches of 2, 2 and 1


@pytest.fixture(autouse=True)
def _batches_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remittance_load, "BATCH_CLAIMS", 2)


def _payment(trace: str, *keys: str) -> Remittance:
    # Each claim: charge 100.00, paid 80.00, CO-45 20.00 on its one line.
    line = svc("99213", "100", "80", SERVED, cas("CO", "45", "20"))
    return remittance(trace, PAID_ON, tuple(clp(key, "1", "100", "80", services=(line,)) for key in keys))


def _file(control_number: int) -> list[str]:
    data = write_remittances(control_number, _payment("TRACE-A", *A_KEYS), _payment("TRACE-B", "B1"))
    return [s for s in data.decode("ascii").split("~\n") if s]


def _join(segments: list[str]) -> bytes:
    return "".join(f"{s}~\n" for s in segments).encode("ascii")


def _setup(engine: Engine) -> None:
    with engine.begin() as conn:
        for key in (*A_KEYS, "B1"):
            add_claim(conn, key, "P1", [("99213", "100")], SERVED, SERVED)


def _posted(engine: Engine) -> list[tuple[str, int]]:
    """(claim key, sequence in its remittance) of every posted remittance claim."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(remittance_claim.c.claim_key, remittance_claim.c.sequence).order_by(remittance_claim.c.id)
        ).all()
    return [(key, int(sequence)) for key, sequence in rows]


def _events(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(claim_event.c.claim_key).where(claim_event.c.detail.like("835%"))).scalars())


def _refused(engine: Engine) -> list[tuple[int, str]]:
    table = schema.refused_transaction_set
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.set_ordinal, table.c.problem_code).order_by(table.c.id)).all()
    return [(int(ordinal), code) for ordinal, code in rows]


def test_a_set_spanning_batches_posts_every_claim_in_order(warehouse: Engine) -> None:
    _setup(warehouse)
    ingest(warehouse, _join(_file(61)), "ERA.835")
    # set 1: A1..A5 numbered 1..5 across its three batches; set 2: B1
    assert _posted(warehouse) == [("A1", 1), ("A2", 2), ("A3", 3), ("A4", 4), ("A5", 5), ("B1", 1)]
    assert _events(warehouse) == ["A1", "A2", "A3", "A4", "A5", "B1"]


def test_an_unreadable_amount_in_the_last_batch_takes_back_the_batches_already_posted(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader reads 32 KB at a time: with 1000 claims (about 100 KB) and batches of 50, the batches of the
    # first claims are written before the last claim, the one whose amount is unreadable, is read at all.
    monkeypatch.setattr(remittance_load, "BATCH_CLAIMS", 50)
    _setup(warehouse)
    many = tuple(f"M{n:04d}" for n in range(1, 1001))
    data = write_remittances(65, _payment("TRACE-M", *many), _payment("TRACE-B", "B1"))
    segments = [s for s in data.decode("ascii").split("~\n") if s]
    clp_last = next(s for s in segments if s.startswith("CLP*M1000*"))
    parts = clp_last.split("*")
    parts[4] = "8O"  # CLP04, the amount paid: the letter O for a zero
    segments[segments.index(clp_last)] = "*".join(parts)

    summary = ingest(warehouse, _join(segments), "ERA.835")

    assert _posted(warehouse) == [("B1", 1)]
    assert _refused(warehouse) == [(1, "UNREADABLE_AMOUNT")]
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.remittance_suspense)).scalar_one() == 0
    assert summary is not None and summary.rows == 1


def test_a_group_error_after_the_sets_posted_in_batches_takes_every_one_back(warehouse: Engine) -> None:
    _setup(warehouse)
    segments = _file(63)
    segments[segments.index("GE*2*63")] = "GE*3*63"  # two sets in the group, GE01 says three

    summary = ingest(warehouse, _join(segments), "ERA.835")

    assert _posted(warehouse) == []
    assert _events(warehouse) == []
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.remittance)).scalar_one() == 0
    assert _refused(warehouse) == [(1, "GE01_COUNT"), (2, "GE01_COUNT")]
    assert summary is not None and summary.rows == 0 and summary.status == "refused"

    # the corrected resend posts each set once (no trace number was left behind)
    ingest(warehouse, _join(_file(64)), "ERA.835")
    assert [key for key, _sequence in _posted(warehouse)] == [*A_KEYS, "B1"]
