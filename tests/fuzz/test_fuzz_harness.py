"""The harness itself is tested: it reports what it must (crashes, violations, hangs, its own errors) with the
case id that replays them, counts documented errors without reporting them, never swallows Ctrl-C, and makes
the same case from the same seed every time.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from fuzz import x12_sets
from fuzz.__main__ import main
from fuzz.engine import Case, ChunkResult, FuzzFailure, InputFile, Runner, Violation
from fuzz.targets import make_target
from fuzz.targets.ingest import IngestTarget
from fuzz.targets.intake import IntakeTarget
from fuzz.x12_generate import Pool, generate_835, generate_999
from revcycle.errors import RunFailure
from revcycle.warehouse.schema import acknowledgment, charge, remittance, remittance_claim, source_file


class _Injected:
    """A target whose cases do what the test says: pass, crash, violate, raise a documented error, hang."""

    name = "injected"
    allowed: tuple[type[BaseException], ...] = (RunFailure,)
    chunk_size = 10

    def __init__(self, plan: dict[int, str]) -> None:
        self.plan = plan
        self.resets: list[int] = []

    def open(self, workdir: Path) -> None:
        return None

    def reset(self, state: Any, seed: int, chunk: int) -> None:
        self.resets.append(chunk)

    def make_case(self, seed: int, index: int, rng: random.Random) -> Case:
        if self.plan.get(index) == "generator":
            raise ValueError("the generator broke")
        return Case(self.name, seed, index, f"injected:{self.plan.get(index, 'pass')}", (InputFile("x", b""),))

    def run(self, state: Any, case: Case) -> Iterator[list[Violation]]:
        what = self.plan.get(case.index, "pass")
        if what == "crash":
            raise KeyError("boom")
        if what == "documented":
            raise RunFailure("a documented run failure")
        if what == "interrupt":
            raise KeyboardInterrupt
        if what == "hang":
            time.sleep(30)
        yield [Violation("injected_invariant", "planted")] if what == "violate" else []

    def close(self, state: Any) -> None:
        return None


def _run(target: _Injected, tmp_path: Path, cases: int, **kwargs: Any) -> ChunkResult:
    runner = Runner(target, tmp_path, **kwargs)
    return runner.run_chunk(7, 0, range(cases))


def test_a_crash_is_reported_with_its_case_id_and_traceback(tmp_path: Path) -> None:
    result = _run(_Injected({3: "crash"}), tmp_path, 6)
    assert result.cases == 6
    assert result.unexpected_exceptions == 1 and result.violations == 0
    [finding] = result.findings
    assert (finding.case_id, finding.category, finding.name) == ("injected:7:3", "exception", "KeyError")
    assert 'raise KeyError("boom")' in finding.trace
    assert "--target injected --seed 7 --replay 3" in finding.headline()


def test_an_invariant_violation_is_reported(tmp_path: Path) -> None:
    result = _run(_Injected({1: "violate", 4: "violate"}), tmp_path, 6)
    assert result.violations == 2 and result.unexpected_exceptions == 0
    assert [(f.case_id, f.category, f.name) for f in result.findings] == [
        ("injected:7:1", "invariant", "injected_invariant"),
        ("injected:7:4", "invariant", "injected_invariant"),
    ]


def test_a_documented_error_is_counted_not_reported(tmp_path: Path) -> None:
    result = _run(_Injected({2: "documented"}), tmp_path, 4)
    assert result.findings == [] and result.documented == {"RunFailure": 1}


def test_a_broken_generator_is_a_harness_finding(tmp_path: Path) -> None:
    result = _run(_Injected({0: "generator"}), tmp_path, 2)
    assert [(f.category, f.name) for f in result.findings] == [("harness", "ValueError")]


def test_a_broken_generator_is_shown_to_whoever_watches_the_cases(tmp_path: Path) -> None:
    """The replay watches the chunk's cases; a case whose generator raised has no Case but has its finding
    (campaign seed 1, parse case 887942: the replay said "no finding" for a harness finding)."""
    seen: list[tuple[int, bool, list[str]]] = []
    Runner(_Injected({1: "generator"}), tmp_path).run_chunk(
        7, 0, range(3), on_case=lambda at, case, found: seen.append((at, case is None, [f.name for f in found]))
    )
    assert seen == [(0, False, []), (1, True, ["ValueError"]), (2, False, [])]


@pytest.mark.parametrize("text", ["1.2.3", "12.5.0", ".", "1.0E+"])
def test_nudging_a_dotted_element_that_is_no_number_grows_it(text: str) -> None:
    from fuzz.x12_mutate import _nudge

    # Decimal("1.2.3") raises InvalidOperation (an ArithmeticError), not ValueError: it was a harness finding.
    assert _nudge(random.Random(0), text) == text + "1"


def test_a_hang_is_a_finding(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = _run(_Injected({0: "hang"}), tmp_path, 1, case_timeout=0.5)
    assert [(f.category, f.name) for f in result.findings] == [("timeout", "CaseTimeout")]
    assert time.perf_counter() - started < 25  # the sleep was cut short, not waited out


def test_ctrl_c_is_never_caught(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _run(_Injected({1: "interrupt"}), tmp_path, 3)


def test_fail_fast_raises_the_first_finding(tmp_path: Path) -> None:
    runner = Runner(_Injected({2: "crash"}), tmp_path)
    with pytest.raises(FuzzFailure, match="injected:7:2"):
        runner.run_chunk(7, 0, range(5), fail_fast=True)


@pytest.mark.parametrize("name", ["parse", "ingest", "intake"])
def test_the_same_seed_makes_the_same_case(name: str, tmp_path: Path) -> None:
    from fuzz.engine import case_rng

    target = make_target(name)
    if name == "ingest":
        runner = Runner(target, tmp_path)  # the cases name the claims of the chunk's seeded world
        target.reset(runner.state, 3, 0)
    made = [target.make_case(3, i, case_rng(name, 3, i)) for i in (0, 5, 17)]
    again = [target.make_case(3, i, case_rng(name, 3, i)) for i in (0, 5, 17)]
    assert made == again
    other = [target.make_case(4, i, case_rng(name, 4, i)) for i in (0, 5, 17)]
    assert [c.files for c in made] != [c.files for c in other]


def test_the_cli_replays_a_failing_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay rebuilds the chunk's state, runs the case and exits 1 with its traceback."""
    import fuzz.targets.parse as parse_module

    real = parse_module.parse_document

    def crash_on_transactions(source: Any, name: str) -> dict[str, Any]:
        doc = real(source, name)
        if len(doc["transactions"]) > 1:
            raise ZeroDivisionError("planted")
        return doc

    monkeypatch.setattr(parse_module, "parse_document", crash_on_transactions)
    assert main(["--target", "parse", "--cases", "60", "--seed", "9", "--workdir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if line.strip().startswith("replay: "))
    index = first.rsplit(" ", 1)[1]
    assert main(["--target", "parse", "--seed", "9", "--replay", index, "--workdir", str(tmp_path)]) == 1
    replayed = capsys.readouterr().out
    assert f"case parse:9:{index}" in replayed and "ZeroDivisionError: planted" in replayed


# ---------------------------------------------------------------------------------------------------------
# the real invariants catch planted faults in the warehouse (so a silent loader bug cannot pass)


class _PlantingIngest(IngestTarget):
    """The ingest target with a fault planted in the warehouse after each real ingest."""

    def __init__(self, plant: str) -> None:
        super().__init__(chunk_size=10)
        self.plant = plant

    def _ingest(self, state: Any, item: InputFile) -> str:
        outcome = super()._ingest(state, item)
        engine = state.scratch.engine
        with engine.begin() as conn:
            last = conn.execute(select(remittance).order_by(remittance.c.id.desc())).first()
            if self.plant == "unbalanced" and last is not None:
                conn.execute(
                    update(remittance)
                    .where(remittance.c.id == last.id)
                    .values(payment_cents=last.payment_cents + 1, balance_problem_count=0)
                )
            elif self.plant == "double" and last is not None:
                copy = {k: v for k, v in last._mapping.items() if k != "id"}
                new_id = conn.execute(insert(remittance).values(copy | {"payer_identifier": ""})).inserted_primary_key[
                    0
                ]
                for row in conn.execute(
                    select(remittance_claim).where(remittance_claim.c.remittance_id == last.id)
                ).all():
                    values = {k: v for k, v in row._mapping.items() if k not in ("id", "reversed_by_id")}
                    conn.execute(insert(remittance_claim).values(values | {"remittance_id": new_id}))
            elif self.plant == "lost" and last is not None:
                conn.execute(update(remittance).where(remittance.c.id == last.id).values(trace_number="LOST"))
            elif self.plant == "half-way":
                conn.execute(update(source_file).values(status="received"))
        return outcome


def _one_835(tmp_path: Path, target: IngestTarget, data_for: Any) -> list[str]:
    """The finding names of one file (made from the seeded world's pool) through ``target``."""
    runner = Runner(target, tmp_path)
    target.reset(runner.state, 1, 0)
    data = data_for(target.pool)
    _result, findings = runner.run_files([InputFile("ERA.835", data)])
    runner.close()
    return [f.name for f in findings]


def _balanced_835(pool: Pool) -> bytes:
    for seed in range(200):
        data = generate_835(random.Random(seed), pool)
        parts = x12_sets.split(data)
        if parts.decided and len(parts.sets) == 1 and b"CLP" in data and b"PLB" not in data:
            from revcycle.x12.x835 import read_835

            read = read_835(data)
            if not read.problems and not read.remittances[0].balance_problems and read.remittances[0].claims:
                return data
    raise AssertionError("no clean 835 among 200 seeds")


def test_a_clean_835_passes_every_ingest_invariant(tmp_path: Path) -> None:
    assert _one_835(tmp_path, IngestTarget(chunk_size=10), _balanced_835) == []


@pytest.mark.parametrize(
    ("plant", "invariant"),
    [
        ("unbalanced", "remittance_balanced"),
        ("double", "no_double_posting"),
        ("half-way", "file_accounted"),
        ("lost", "clean_set_posts"),
    ],
)
def test_a_planted_fault_is_caught(plant: str, invariant: str, tmp_path: Path) -> None:
    assert invariant in _one_835(tmp_path, _PlantingIngest(plant), _balanced_835)


def test_a_posting_from_a_cut_835_is_caught(tmp_path: Path) -> None:
    """A loader that posts a set cut before its SE breaks ``no_payment_from_refused_set``.

    The cut file is posted by hand here (a row in ``remittance`` naming its trace), so the test holds whatever
    the real loader does with cut sets.
    """

    class _PostsCut(IngestTarget):
        def _ingest(self, state: Any, item: InputFile) -> str:
            parts = x12_sets.split(item.data)
            trace = parts.sets[0].trace
            engine = state.scratch.engine
            with engine.begin() as conn:
                file_id = conn.execute(
                    insert(source_file).values(
                        kind="835",
                        name=item.name,
                        sha256=hashlib.sha256(item.data).hexdigest(),
                        size=len(item.data),
                        origin="sftp",
                        status="loaded",
                        received_at=datetime(2024, 5, 1, tzinfo=UTC),
                        problem_count=0,
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    insert(remittance).values(
                        source_file_id=file_id,
                        trace_number=trace,
                        payer_identifier="X",
                        payment_cents=0,
                        balance_problem_count=1,
                    )
                )
            return "loaded"

    def cut(pool: Pool) -> bytes:
        data = _balanced_835(pool)
        return data[: data.index(b"CLP") + 5]  # cut inside the first CLP: no SE any more

    assert "no_payment_from_refused_set" in _one_835(tmp_path, _PostsCut(chunk_size=10), cut)


def test_an_acknowledgment_from_a_cut_999_is_caught(tmp_path: Path) -> None:
    """A loader that records a 999 cut before its SE breaks ``no_ack_from_broken_set`` (planted by hand)."""

    class _RecordsCut(IngestTarget):
        def _ingest(self, state: Any, item: InputFile) -> str:
            with state.scratch.engine.begin() as conn:
                file_id = conn.execute(
                    insert(source_file).values(
                        kind="999",
                        name=item.name,
                        sha256=hashlib.sha256(item.data).hexdigest(),
                        size=len(item.data),
                        origin="sftp",
                        status="loaded",
                        received_at=datetime(2024, 5, 1, tzinfo=UTC),
                        problem_count=0,
                    )
                ).inserted_primary_key[0]
                conn.execute(insert(acknowledgment).values(source_file_id=file_id, kind="999", code="A", error_count=0))
            return "loaded"

    def cut_999(pool: Pool) -> bytes:
        data = generate_999(random.Random(1), pool)
        return data[: data.index(b"AK9") + 4]

    assert "no_ack_from_broken_set" in _one_835(tmp_path, _RecordsCut(chunk_size=10), cut_999)


def _clean_export(tmp_path: Path) -> bytes:
    from connectors.payers import registered_payers
    from fuzz.csv_cases import AS_OF
    from revcycle.synth import generate_charge_rows, write_charge_export

    export = tmp_path / "clean.csv"
    write_charge_export(
        list(generate_charge_rows(list(registered_payers().values()), encounters=3, seed=5, as_of=AS_OF)), export
    )
    return export.read_bytes()


def test_intake_invariants_catch_an_unwritable_claim(tmp_path: Path) -> None:
    """A built claim whose stored charge the 837P writer would refuse breaks ``claims_writable``."""

    class _PlantsDelimiter(IntakeTarget):
        def _intake(self, state: Any, item: InputFile, threshold: float, progress: Any) -> None:
            super()._intake(state, item, threshold, progress)
            with state.scratch.engine.begin() as conn:
                row = conn.execute(
                    select(charge.c.charge_id, charge.c.row_json).where(charge.c.status == "claimed")
                ).first()
                planted = json.loads(row.row_json) | {"prior_authorization": "PA*7781"}
                conn.execute(
                    update(charge).where(charge.c.charge_id == row.charge_id).values(row_json=json.dumps(planted))
                )

    runner = Runner(_PlantsDelimiter(chunk_size=5), tmp_path / "w")
    _result, findings = runner.run_files([InputFile("clean.csv", _clean_export(tmp_path))])
    runner.close()
    assert [f.name for f in findings] == ["claims_writable"]


def test_intake_invariants_catch_a_dropped_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An intake that silently loses a charge row breaks ``nothing_dropped``."""
    import revcycle.intake as intake_module

    real = intake_module.record_intake

    def drops_last_row(engine: Any, **kwargs: Any) -> Any:
        kwargs["rows"] = list(kwargs["rows"])[:-1]
        return real(engine, **kwargs)

    monkeypatch.setattr(intake_module, "record_intake", drops_last_row)
    runner = Runner(IntakeTarget(chunk_size=5), tmp_path / "w")
    _result, findings = runner.run_files([InputFile("clean.csv", _clean_export(tmp_path))])
    runner.close()
    assert "nothing_dropped" in [f.name for f in findings]


def test_two_worker_processes_run_every_case_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--jobs 2`` spreads the chunks over two processes and adds their counts up."""
    report = tmp_path / "report.json"
    args = ["--target", "parse", "--cases", "60", "--jobs", "2", "--chunk-size", "15", "--seed", "4"]
    assert main([*args, "--workdir", str(tmp_path / "w"), "--report", str(report)]) == 0
    counts = json.loads(report.read_text())["targets"]["parse"]
    assert (counts["cases"], counts["files"], counts["unexpected_exceptions"]) == (60, 60, 0)
    assert "parse: 60/60 cases, 0 unexpected, 0 violations" in capsys.readouterr().out
