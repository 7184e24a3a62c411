"""The 835 loader collects garbage less often while it streams, and gives the caller's thresholds back.

Why: on a 30 MB 835, CPython's default thresholds (700, 10, 10) ran 47 full collections, 2.8 s of a 10.8 s
ingest (docs/scale.md, "Garbage collection while an 835 streams"). The loader raises them for the file and
restores them afterwards, also when the load fails.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Iterator, Sequence
from datetime import date

import pytest
from sqlalchemy import Engine
from warehouse_data import cas, clp, remittance, svc, write_remittances

from revcycle import remittance_load
from revcycle.gc_pacing import BULK_THRESHOLDS, collecting_less_often
from revcycle.responses import load_response
from revcycle.warehouse.ledger import register_source_file
from revcycle.x12.x835 import ClaimPayment, Remittance835, RemittanceEnd

DEFAULTS = (700, 10, 10)  # CPython's own thresholds (gcmodule.c), which the tests start from


@pytest.fixture(autouse=True)
def _default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*DEFAULTS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _ThresholdsSeen:
    """An observer that notes the collector's thresholds each time the loader hands it claims."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int]] = []

    def claims(self, remit: Remittance835, batch: Sequence[ClaimPayment]) -> None:
        self.seen.append(gc.get_threshold())

    def end(self, end: RemittanceEnd) -> None:
        self.seen.append(gc.get_threshold())


def _file() -> bytes:
    line = svc("99213", "100", "80", date(2026, 6, 1), cas("CO", "45", "20"))
    claims = tuple(clp(f"K{n}", "1", "100", "80", services=(line,)) for n in range(3))
    return write_remittances(41, remittance("TRACE-GC", date(2026, 7, 1), claims))


def test_an_835_loads_under_raised_thresholds_and_restores_them(warehouse: Engine) -> None:
    data = _file()
    seen = _ThresholdsSeen()
    with warehouse.begin() as conn:
        entry = register_source_file(
            conn, kind="835", name="gc.835", sha256=hashlib.sha256(data).hexdigest(), size=len(data), origin="manual"
        )
        summary = load_response(conn, entry.id, data, "gc.835", seen)
    assert summary.sets == 1
    # one batch of three claims, then the set's end: both seen with the raised thresholds
    assert seen.seen == [BULK_THRESHOLDS, BULK_THRESHOLDS]
    assert gc.get_threshold() == DEFAULTS


def test_the_thresholds_come_back_when_the_load_fails(warehouse: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        assert gc.get_threshold() == BULK_THRESHOLDS
        raise OSError("disk gone")

    monkeypatch.setattr(remittance_load, "iter_835", broken)
    data = _file()
    with pytest.raises(OSError), warehouse.begin() as conn:
        entry = register_source_file(
            conn, kind="835", name="gc.835", sha256=hashlib.sha256(data).hexdigest(), size=len(data), origin="manual"
        )
        load_response(conn, entry.id, data, "gc.835")
    assert gc.get_threshold() == DEFAULTS


def test_a_caller_with_higher_thresholds_keeps_them() -> None:
    gc.set_threshold(50_000, 20, 20)
    with collecting_less_often((10_000, 10, 10)):
        # each threshold is the higher of the caller's and the bulk one
        assert gc.get_threshold() == (50_000, 20, 20)
    assert gc.get_threshold() == (50_000, 20, 20)
    gc.set_threshold(700, 50, 5)
    with collecting_less_often((10_000, 10, 10)):
        assert gc.get_threshold() == (10_000, 50, 10)
    assert gc.get_threshold() == (700, 50, 5)


def test_blocks_overlapping_in_threads_give_back_the_thresholds_found_before_the_first() -> None:
    # A enters, B enters, A ends first, B ends last: restoring per block would leave B's "before" (the raised
    # thresholds) in force; the defaults must come back, and only when B ends.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int, int]] = {}

    def first() -> None:
        with collecting_less_often():
            a_in.set()
            b_in.wait(60)
        a_out.set()

    def second() -> None:
        a_in.wait(60)
        with collecting_less_often():
            b_in.set()
            a_out.wait(60)
            seen["after A ended, inside B"] = gc.get_threshold()
        seen["after B ended"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert seen == {"after A ended, inside B": BULK_THRESHOLDS, "after B ended": DEFAULTS}
