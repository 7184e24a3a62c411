"""Issue 9, case 3: an 835, 999 or 277CA transaction set posts only when its ST..SE and its envelope are intact.

A cut segment, a missing trailer or a wrong SE01 refuses that set (kept in ``refused_transaction_set``,
never posted in part) while the file's other intact sets post. A GE or IEA error refuses every set of its
group or interchange (docs/delivery-guarantees.md, "Transaction sets"). The 835 duplicate key (TRN02, payer)
is recorded only for sets that posted, so a later complete copy posts once.

Expected values are worked out by hand from the files each test writes (comments say how).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from kpi_data import _277ca, _ack
from sqlalchemy import Engine, func, select
from warehouse_data import add_claim, cas, clp, envelope, ingest, remittance, svc, write_remittances

from revcycle.cli import main
from revcycle.warehouse import schema
from revcycle.warehouse.ledger import refused_transaction_sets
from revcycle.warehouse.schema import (
    acknowledgment,
    claim,
    claim_event,
    claim_status,
    interchange,
    remittance_claim,
    remittance_suspense,
    source_file,
)
from revcycle.warehouse.schema import remittance as remittance_table
from revcycle.x12.write835 import Remittance
from revcycle.x12.write999 import VERSION_999, GroupAck, TransactionAck, write_999

SERVED = date(2026, 6, 1)
PAID_ON = date(2026, 7, 1)


def _segments(data: bytes) -> list[str]:
    # The test writers end every segment with "~" and a newline.
    return [s for s in data.decode("ascii").split("~\n") if s]


def _join(segments: list[str]) -> bytes:
    return "".join(f"{s}~\n" for s in segments).encode("ascii")


def _replace(data: bytes, old: str, new: str) -> bytes:
    segments = _segments(data)
    assert segments.count(old) == 1, f"{old} must occur once"
    segments[segments.index(old)] = new
    return _join(segments)


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _refused(engine: Engine) -> list[tuple[str, int, str, str]]:
    """(kind, set ordinal, ST02, problem code) of every refused set, in the order they were refused."""
    refused_transaction_set = schema.refused_transaction_set
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                refused_transaction_set.c.kind,
                refused_transaction_set.c.set_ordinal,
                refused_transaction_set.c.control_number,
                refused_transaction_set.c.problem_code,
            ).order_by(refused_transaction_set.c.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _messages(engine: Engine) -> list[str]:
    """The refusal messages (an operator reads them: no values)."""
    refused_transaction_set = schema.refused_transaction_set
    with engine.connect() as conn:
        return list(conn.execute(select(refused_transaction_set.c.message)).scalars())


def _postings(engine: Engine) -> dict[str, int]:
    """How many times each claim was posted (remittance_claim rows by CLP01)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(remittance_claim.c.claim_key, func.count()).group_by(remittance_claim.c.claim_key)
        ).all()
    return {key: int(n) for key, n in rows}


def _traces(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(remittance_table.c.trace_number)).scalars())


def _claims(engine: Engine, *keys: str) -> None:
    with engine.begin() as conn:
        for key in keys:
            add_claim(conn, key, "P1", [("99213", "100")], SERVED, SERVED)


def _payment(trace: str, *keys: str) -> Remittance:
    # Each claim: charge 100.00, paid 80.00, CO-45 20.00 on its one line.
    line = svc("99213", "100", "80", SERVED, cas("CO", "45", "20"))
    return remittance(trace, PAID_ON, tuple(clp(key, "1", "100", "80", services=(line,)) for key in keys))


def _835(control_number: int, *payments: Remittance) -> bytes:
    return write_remittances(control_number, *payments)


# -- 835: a cut set posts nothing, and its complete copy posts once --------------------------------------


@pytest.mark.parametrize(
    ("where", "code"),
    [
        # the file ends inside the second claim's CLP segment: "CLP*C2*1*10" of "CLP*C2*1*100*80*..."
        ("mid-segment", "MISSING_TERMINATOR"),
        # the file ends after whole segments (the second claim's CLP and NM1), with no SE, GE or IEA
        ("segment-boundary", "MISSING_SE"),
    ],
)
def test_an_835_cut_mid_claim_posts_nothing_and_its_complete_copy_posts_once(
    warehouse: Engine, where: str, code: str
) -> None:
    _claims(warehouse, "C1", "C2")
    complete = _835(11, _payment("TRACE-CUT", "C1", "C2"))
    text = complete.decode("ascii")
    second_clp = text.index("CLP*C2")
    if where == "mid-segment":
        cut = text[: second_clp + len("CLP*C2*1*10")].encode("ascii")
    else:
        cut = text[: text.index("~\n", text.index("NM1*QC", second_clp)) + 2].encode("ascii")

    summary = ingest(warehouse, cut, "ERA.835")

    assert summary is not None
    assert _traces(warehouse) == []  # the payment was not posted ...
    assert _postings(warehouse) == {}  # ... nor any claim of it ...
    assert _count(warehouse, remittance_suspense) == 0  # ... and the cut claim is not in suspense
    assert _refused(warehouse) == [("835", 1, "0001", code)]
    for message in _messages(warehouse):
        assert "C2" not in message and "TRACE" not in message and "0001" not in message
    with warehouse.connect() as conn:
        listed = refused_transaction_sets(conn)
    assert [(r.file_name, r.set_ordinal, r.problem_code) for r in listed] == [("ERA.835", 1, code)]
    with warehouse.connect() as conn:
        status = conn.execute(select(source_file.c.status)).scalars().all()
    assert status == ["refused"]  # nothing of the file posted

    ingest(warehouse, complete, "ERA.835")
    assert _traces(warehouse) == ["TRACE-CUT"]
    assert _postings(warehouse) == {"C1": 1, "C2": 1}
    with warehouse.connect() as conn:
        statuses = dict(conn.execute(select(claim.c.claim_key, claim.c.status)).all())
    assert statuses == {"C1": "paid", "C2": "paid"}  # 80 of 100 with CO-45: paid in full by contract

    # the payer resends the same payment in a new envelope: the trace number was posted, nothing again
    ingest(warehouse, _835(12, _payment("TRACE-CUT", "C1", "C2")), "ERA.835")
    assert _postings(warehouse) == {"C1": 1, "C2": 1}
    assert len(_refused(warehouse)) == 1


def test_a_wrong_se01_refuses_that_set_and_the_other_sets_of_the_file_post(warehouse: Engine) -> None:
    _claims(warehouse, "A1", "B1", "C1")
    good = _835(21, _payment("TRACE-A", "A1"), _payment("TRACE-B", "B1"), _payment("TRACE-C", "C1"))
    segments = _segments(good)
    # ST..SE of a one-claim payment is 17 segments: ST BPR TRN DTM N1 N3 N4 PER N1 REF LX CLP NM1 SVC DTM CAS SE
    second = [s for s in segments if s.startswith("SE*")][1]
    start = segments.index("ST*835*0002")
    assert second == f"SE*{segments.index(second) - start + 1}*0002" == "SE*17*0002"
    broken = _replace(good, second, "SE*16*0002")

    ingest(warehouse, broken, "ERA.835")

    assert _traces(warehouse) == ["TRACE-A", "TRACE-C"]
    assert _postings(warehouse) == {"A1": 1, "C1": 1}
    assert _refused(warehouse) == [("835", 2, "0002", "SE01_COUNT")]
    with warehouse.connect() as conn:
        status = conn.execute(select(source_file.c.status)).scalars().all()
    assert status == ["loaded"]  # the file is loaded; one set of it is refused

    # the payer's corrected resend (new ISA13, the same three payments): only the refused one posts
    ingest(warehouse, _835(22, _payment("TRACE-A", "A1"), _payment("TRACE-B", "B1"), _payment("TRACE-C", "C1")), "x")
    assert _traces(warehouse) == ["TRACE-A", "TRACE-B", "TRACE-C"]
    assert _postings(warehouse) == {"A1": 1, "B1": 1, "C1": 1}


def test_an_835_set_without_a_trace_number_is_refused(warehouse: Engine) -> None:
    # Without TRN02 a payment has no duplicate key: two such payments would be taken for one.
    _claims(warehouse, "A1")
    data = _replace(_835(25, _payment("TRACE-A", "A1")), "TRN*1*TRACE-A*1123456789", "TRN*1**1123456789")
    ingest(warehouse, data, "ERA.835")
    assert _traces(warehouse) == []
    assert _refused(warehouse) == [("835", 1, "0001", "MISSING_TRACE")]


def test_an_835_without_its_payer_identifier_is_refused_so_a_copy_with_it_cannot_post_twice(warehouse: Engine) -> None:
    # The duplicate key is (TRN03, TRN02). Falling back to the N1*PR id when TRN03 is missing gave the same
    # payment two keys: the copy without TRN03 and the copy with it both posted.
    _claims(warehouse, "A1")
    complete = _835(26, _payment("TRACE-A", "A1"))
    without = _replace(complete, "TRN*1*TRACE-A*1123456789", "TRN*1*TRACE-A")
    ingest(warehouse, without, "ERA.835")
    assert _traces(warehouse) == []
    assert _refused(warehouse) == [("835", 1, "0001", "MISSING_PAYER_IDENTIFIER")]
    ingest(warehouse, complete, "ERA.835")
    assert _traces(warehouse) == ["TRACE-A"]


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        # CLP04 of a hundred quadrillion dollars (10^17): a valid X12 amount whose cents no 64-bit integer holds
        ("CLP*B1*1*100*80*0*12*PCNB1*11*1", "CLP*B1*1*100*100000000000000000*0*12*PCNB1*11*1", "AMOUNT_OUT_OF_RANGE"),
        # CLP04 of ten quintillion dollars (10^19): beyond X12's 18 digits, so the reader cannot read it at all
        ("CLP*B1*1*100*80*0*12*PCNB1*11*1", "CLP*B1*1*100*10000000000000000000*0*12*PCNB1*11*1", "UNREADABLE_AMOUNT"),
        # CLP04 that is not a number: posting it as zero would be a silently wrong payment
        ("CLP*B1*1*100*80*0*12*PCNB1*11*1", "CLP*B1*1*100*8O*0*12*PCNB1*11*1", "UNREADABLE_AMOUNT"),
        # SVC05 units of 17 digits: longer than the 16 characters remittance_service.units keeps
        ("SVC*HC:99213*100*80**1", "SVC*HC:99213*100*80**12345678901234567", "VALUE_TOO_LONG"),
    ],
)
def test_an_835_set_whose_values_the_warehouse_cannot_hold_is_refused_and_the_others_post(
    warehouse: Engine, old: str, new: str, code: str
) -> None:
    _claims(warehouse, "A1", "B1")
    data = _835(27, _payment("TRACE-A", "A1"), _payment("TRACE-B", "B1"))
    segments = _segments(data)
    second = segments.index("ST*835*0002")
    segments[segments.index(old, second)] = new
    ingest(warehouse, _join(segments), "ERA.835")
    assert _traces(warehouse) == ["TRACE-A"]
    assert _refused(warehouse) == [("835", 2, "0002", code)]


# -- GE and IEA errors refuse every set of their group or interchange --------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("GE*2*31", "GE*3*31", "GE01_COUNT"),  # two sets in the group, GE01 says three
        ("GE*2*31", "GE*2*32", "GE02_MISMATCH"),  # GS06 is 31
        ("IEA*1*000000031", "IEA*1*000000032", "IEA02_MISMATCH"),  # ISA13 is 000000031
        ("IEA*1*000000031", "IEA*2*000000031", "IEA01_COUNT"),  # one group, IEA01 says two
        ("GE*2*31", None, "MISSING_GE"),  # the group's trailer is gone
    ],
)
def test_an_envelope_error_refuses_every_set_it_covers_and_the_corrected_resend_posts_each_once(
    warehouse: Engine, old: str, new: str | None, code: str
) -> None:
    _claims(warehouse, "A1", "B1")
    good = _835(31, _payment("TRACE-A", "A1"), _payment("TRACE-B", "B1"))
    segments = _segments(good)
    if new is None:
        segments.remove(old)
    else:
        segments[segments.index(old)] = new
    ingest(warehouse, _join(segments), "ERA.835")

    assert _traces(warehouse) == []
    assert _refused(warehouse) == [("835", 1, "0001", code), ("835", 2, "0002", code)]

    ingest(warehouse, _835(33, _payment("TRACE-A", "A1"), _payment("TRACE-B", "B1")), "ERA.835")
    assert _postings(warehouse) == {"A1": 1, "B1": 1}


def test_an_interchange_error_refuses_only_the_sets_of_that_interchange(warehouse: Engine) -> None:
    _claims(warehouse, "A1", "B1")
    first = _replace(_835(41, _payment("TRACE-A", "A1")), "IEA*1*000000041", "IEA*1*000000099")
    second = _835(42, _payment("TRACE-B", "B1"))
    ingest(warehouse, first + second, "ERA.835")  # two interchanges in one file
    assert _traces(warehouse) == ["TRACE-B"]
    assert _refused(warehouse) == [("835", 1, "0001", "IEA02_MISMATCH")]


# -- 999 and 277CA ---------------------------------------------------------------------------------------


def _uploaded_interchange(engine: Engine, control_number: int, *keys: str) -> None:
    from datetime import UTC, datetime

    with engine.begin() as conn:
        interchange_id = conn.execute(
            interchange.insert().values(
                control_number=control_number,
                file_name=f"837P_{control_number}.x12",
                payer_id="P1",
                transaction_type="837P",
                usage_indicator="T",
                claim_count=len(keys),
                total_charge_cents=10000 * len(keys),
                sha256=f"{control_number:064d}",
                size=1,
                state="uploaded",
                batch_date=SERVED,
                created_at=datetime(2026, 6, 1, tzinfo=UTC),
            )
        ).inserted_primary_key[0]
        for key in keys:
            add_claim(conn, key, "P1", [("99213", "100")], SERVED, SERVED, interchange_id=interchange_id)


def test_a_999_with_a_wrong_se01_is_refused_and_its_corrected_copy_loads(warehouse: Engine) -> None:
    _uploaded_interchange(warehouse, 555, "R1")
    rejection = write_999(
        GroupAck("HC", 555, "005010X222A1", (TransactionAck("837", "0001", False, "005010X222A1"),)),
        envelope(4001, "FA", VERSION_999),
    )
    se = next(s for s in _segments(rejection) if s.startswith("SE*"))
    count = int(se.split("*")[1])
    ingest(warehouse, _replace(rejection, se, f"SE*{count + 1}*0001"), "ACK.999")

    assert _count(warehouse, acknowledgment) == 0
    with warehouse.connect() as conn:
        state = conn.execute(select(interchange.c.state)).scalar_one()
        rejected = conn.execute(select(func.count()).where(claim_event.c.status == "rejected")).scalar_one()
    assert (state, rejected) == ("uploaded", 0)  # the broken 999 rejected nothing
    assert _refused(warehouse) == [("999", 1, "0001", "SE01_COUNT")]

    ingest(warehouse, rejection, "ACK.999")
    with warehouse.connect() as conn:
        state = conn.execute(select(interchange.c.state)).scalar_one()
    assert state == "rejected"
    assert _count(warehouse, acknowledgment) == 1


def test_a_cut_277ca_is_refused_and_its_complete_copy_loads(warehouse: Engine) -> None:
    _claims(warehouse, "K1", "K2")
    complete = _277ca(5001, (_ack("K1", "100", True, SERVED), _ack("K2", "100", False, SERVED)))
    text = complete.decode("ascii")
    cut = text[: text.index("TRN*2*K2") + len("TRN*2*K")].encode("ascii")  # ends inside the second claim's TRN
    ingest(warehouse, cut, "STATUS.277")

    assert _count(warehouse, claim_status) == 0
    with warehouse.connect() as conn:
        statuses = set(conn.execute(select(claim.c.status)).scalars())
    assert statuses == {"submitted"}
    assert _refused(warehouse) == [("277CA", 1, "0001", "MISSING_TERMINATOR")]

    ingest(warehouse, complete, "STATUS.277")
    with warehouse.connect() as conn:
        statuses = dict(conn.execute(select(claim.c.claim_key, claim.c.status)).all())
    assert statuses == {"K1": "accepted", "K2": "rejected"}


# -- what an operator sees ---------------------------------------------------------------------------------


def test_revcycle_ingest_shows_a_refused_set_and_exits_1(
    warehouse: Engine,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _claims(warehouse, "A1", "B1")
    good = _835(51, _payment("TRACE-A", "A1"), _payment("TRACE-B", "B1"))
    second = [s for s in _segments(good) if s.startswith("SE*")][1]
    path = tmp_path / "ERA.835"
    path.write_bytes(_replace(good, second, "SE*99*0002"))
    monkeypatch.setenv("REVCYCLE_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("REVCYCLE_WORKDIR", str(tmp_path / "work"))

    assert main(["ingest", str(path)]) == 1

    out = capsys.readouterr().out
    refused_lines = [line for line in out.splitlines() if "SE01_COUNT" in line]
    assert len(refused_lines) == 1
    assert "ERA.835" in refused_lines[0] and "0002" in refused_lines[0]
    assert "TRACE-B" not in out and "B1" not in out
    assert _traces(warehouse) == ["TRACE-A"]  # the intact set posted

    # run again on a clean file: nothing refused, exit 0
    clean = tmp_path / "ERA2.835"
    clean.write_bytes(_835(52, _payment("TRACE-C", "A1")))
    assert main(["ingest", str(clean)]) == 0
