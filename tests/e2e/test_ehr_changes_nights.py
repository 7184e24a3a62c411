"""Issue 10: the simulated EHR's corrected export and late charge go back out as replacements, over nights.

``revcycle demo --days``'s wiring (``flows.demo_nights.run_demo_nights``) runs one night of two visits (seed
SEED), then settles against the sandbox in realistic timing (999 the next morning, 277CA in 1 to 3 days, 835
10 to 45 days after the 837). The simulated EHR's change rates are 0.5 and 0.5, so each visit is changed once;
seed SEED makes one a corrected export (its first line's amount raised, same charge id) and the other a late
charge (a new charge id, 36415 for 15.00), both due 40 to 45 days after the visit was sent, and the sandbox
pays both originals. Expected, for each of the two claims (docs/claim-rules.md; X12 005010X222A1 CLM05-3 and
2300 REF*F8; 005010X221A1 CLP02 22 "Reversal of Previous Payment"):

- its second version goes out as a replacement: CLM05 = 11:B:7, REF*F8 = the CLP07 of the payment the
  sandbox's 835 made for version 1 (read from the archived 835); the corrected claim's CLM02 is its first total
  plus the raise, the late claim has one more service line, SV1 HC:36415 for 15;
- while the replacement is with the payer the claim's status is not ``paid`` but the replacement's own
  (``submitted``, then ``accepted``);
- the sandbox's next 835 for the claim carries the reversal first (CLP02 22, CLP07 = the replaced payment's,
  CLP03 and CLP04 negated) and then the new payment (CLP02 1, 2, 3 or 4, another CLP07);
- the warehouse posts it once: one reversal row, pointing from the original posting (``reversed_by_id``), and
  the claim ends with the new payment's status; the same 835 dropped in the inbox again posts nothing.
pyx12 passes every 837 the clearinghouse received and every 999, 277CA and 835 the sandbox wrote.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pipeline import QUIET
from pyx12_check import pyx12_errors, split_segments

from connectors.payers import registered_payers
from revcycle.claims import claim_key_for
from revcycle.demo_nights import NightOutcome, NightsPlan, visits_of_night
from revcycle.responses import load_response
from revcycle.warehouse.db import create_warehouse_engine
from revcycle.warehouse.ledger import register_source_file

pytestmark = pytest.mark.e2e

SEED = 16
FIRST_NIGHT = date(2026, 2, 2)
PLAN = NightsPlan(
    nights=1,
    claims_per_night=2,
    seed=SEED,
    first_night=FIRST_NIGHT,
    settle=True,
    correction_rate=0.5,
    late_rate=0.5,
    change_days=(42, 42),
)


@contextmanager
def _environment(workdir: Path) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(QUIET)
    os.environ["REVCYCLE_WORKDIR"] = str(workdir)
    os.environ.pop("REVCYCLE_WAREHOUSE_URL", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _query(workdir: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workdir / "warehouse.db") as db:
        return db.execute(sql, args).fetchall()


def _claim_segments(data: bytes, key: str) -> list[list[str]]:
    """The segments of claim ``key`` in an 837 (its CLM up to the next HL or the trailer)."""
    found: list[list[str]] = []
    inside = False
    for fields in split_segments(data):
        if fields[0] in ("HL", "SE", "CLM"):
            inside = fields[0] == "CLM" and fields[1] == key
        if inside:
            found.append(fields)
    return found


def _files(root: Path, folder: str, prefix: str) -> list[Path]:
    return sorted(p for p in (root / folder).iterdir() if p.is_file() and p.name.startswith(prefix))


def _clps(paths: list[Path], key: str) -> list[tuple[int, list[str]]]:
    """The CLP segments of claim ``key`` in the 835s ``paths`` (in file order), each with its file's index."""
    return [(i, s) for i, p in enumerate(paths) for s in split_segments(p.read_bytes()) if s[:2] == ["CLP", key]]


def _services(path: Path, key: str, number: str) -> list[list[str]]:
    """The SVC segments of the CLP loop of ``key`` with CLP07 ``number`` in the 835 ``path``."""
    found: list[list[str]] = []
    inside = False
    for fields in split_segments(path.read_bytes()):
        if fields[0] in ("CLP", "SE", "LX"):
            inside = fields[0] == "CLP" and fields[1] == key and fields[7] == number
        elif inside and fields[0] == "SVC":
            found.append(fields)
    return found


def _export_amounts(workdir: Path) -> dict[str, list[dict[str, str]]]:
    """Every charge row the simulated EHR wrote, by charge id, in the order the nights wrote them."""
    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted((workdir / "exports").rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                found.setdefault(row["charge_id"], []).append(row)
    return found


def test_corrected_export_and_late_charge_go_out_as_replacements_answered_by_a_reversal_then_a_payment(
    prefect_api: None, tmp_path: Path
) -> None:
    from flows.demo_nights import run_demo_nights

    workdir = tmp_path / "work"
    workdir.mkdir()
    statuses: dict[date, dict[str, str]] = {}

    def progress(outcome: NightOutcome) -> None:
        statuses[outcome.night] = dict(_query(workdir, "SELECT claim_key, status FROM claim"))

    with _environment(workdir):
        result = run_demo_nights(workdir, PLAN, timezone="America/Chicago", usage_indicator="T", progress=progress)

    # The EHR's changes, from the seed alone: one of each kind, both sent on the night 42 days after the visit.
    change_night = FIRST_NIGHT + timedelta(days=42)
    assert sorted((c.kind, night) for night, c in result.changes) == [
        ("corrected", change_night),
        ("late", change_night),
    ], f"seed {SEED} plants one corrected export and one late charge"
    rows = visits_of_night(list(registered_payers().values()), PLAN, 0)
    encounter = {r["encounter_id"]: r for r in rows}
    keys = {
        c.kind: claim_key_for(
            c.encounter_id, encounter[c.encounter_id]["payer_id"], encounter[c.encounter_id]["billing_npi"]
        )
        for _, c in result.changes
    }
    change = {c.kind: c for _, c in result.changes}

    sftp = workdir / "clearinghouse" / "sftp-root"
    sent_837 = _files(sftp, "claims", "837")
    answers = _files(sftp, "archive", "")
    remits = [p for p in answers if p.name.startswith("835")]
    for path in [*sent_837, *answers]:
        assert pyx12_errors(path.read_bytes()) == [], path.name
    interchange_file = dict(_query(workdir, "SELECT id, file_name FROM interchange"))
    exported = _export_amounts(workdir)

    answering: set[Path] = set()
    for kind, key in keys.items():
        versions = _query(
            workdir,
            "SELECT version, frequency_code, replaces_payer_claim_number, interchange_id FROM claim_version "
            "WHERE claim_key = ? ORDER BY version",
            key,
        )
        clps = _clps(remits, key)
        # The 835s about the claim: version 1's payment, then one 835 with the reversal and the new payment.
        assert [s[2] for _, s in clps] == ["1", "22", "1"], (kind, clps)
        (first_file, paid_1), (reversal_file, reversal), (new_file, paid_2) = clps
        replaced = paid_1[7]
        assert [v[:3] for v in versions] == [(1, "1", None), (2, "7", replaced)], kind

        # Version 2 as the clearinghouse received it: a replacement naming the payment it replaces.
        sent_v1 = (sftp / "claims" / interchange_file[versions[0][3]]).read_bytes()
        sent_v2 = (sftp / "claims" / interchange_file[versions[1][3]]).read_bytes()
        clm_1, clm_2 = _claim_segments(sent_v1, key), _claim_segments(sent_v2, key)
        assert clm_2[0][5] == "11:B:7", kind
        assert [s[2] for s in clm_2 if s[:2] == ["REF", "F8"]] == [replaced], kind
        assert clm_1[0][5] == "11:B:1" and not [s for s in clm_1 if s[:2] == ["REF", "F8"]], kind
        lines_1 = [s for s in clm_1 if s[0] == "SV1"]
        lines_2 = [s for s in clm_2 if s[0] == "SV1"]
        if kind == "corrected":
            # The EHR wrote the corrected line twice (the visit, then the correction): CLM02 grows by the difference.
            first_row, corrected_row = exported[change[kind].charge_id]
            raise_ = Decimal(corrected_row["charge_amount"]) - Decimal(first_row["charge_amount"])
            assert raise_ > 0
            assert Decimal(clm_2[0][2]) == Decimal(clm_1[0][2]) + raise_
            assert len(lines_2) == len(lines_1)
        else:
            assert Decimal(clm_2[0][2]) == Decimal(clm_1[0][2]) + Decimal("15.00")
            assert len(lines_2) == len(lines_1) + 1
            assert [(s[1], Decimal(s[2])) for s in lines_2 if s[1].startswith("HC:36415")] == [
                ("HC:36415", Decimal("15"))
            ]

        # The sandbox's answer: in one 835 after version 1's, the reversal (CLP02 22, the replaced payer claim
        # number, CLP03 and CLP04 negated) and then the new payment under another payer claim number.
        assert first_file < reversal_file == new_file, kind
        assert reversal[2] == "22" and reversal[7] == replaced, kind
        assert (Decimal(reversal[3]), Decimal(reversal[4])) == (-Decimal(paid_1[3]), -Decimal(paid_1[4])), kind
        assert paid_2[2] in ("1", "2", "3", "4") and paid_2[7] != replaced, kind
        assert Decimal(paid_2[3]) == Decimal(clm_2[0][2]), kind  # CLP03: the replacement's charge

        # While the replacement is with the payer the claim is not 'paid': submitted the night it went out,
        # accepted (awaiting adjudication) once the 999/277CA answered, until the night its 835 was loaded.
        answered_on = next(n for n in sorted(statuses) if n > change_night and statuses[n][key] != "accepted")
        waiting = [statuses[n][key] for n in sorted(statuses) if change_night <= n < answered_on]
        assert waiting[0] == "submitted" and set(waiting[1:]) == {"accepted"}, (kind, waiting)
        answering.add(remits[new_file])
        # CLP02 1, CLP04 > 0 and every line paid something (no denied line): the new payment's status is 'paid'
        assert paid_2[2] == "1" and Decimal(paid_2[4]) > 0
        assert all(Decimal(svc[3]) > 0 for svc in _services(remits[new_file], key, paid_2[7])), kind
        assert statuses[answered_on][key] == "paid", kind

        # Posted once: the reversal cancels version 1's posting, the new payment stands.
        postings = _query(
            workdir,
            "SELECT id, status_code, payer_claim_number, paid_cents, reversed_by_id FROM remittance_claim "
            "WHERE claim_key = ? ORDER BY id",
            key,
        )
        assert [(p[1], p[2]) for p in postings] == [(paid_1[2], replaced), ("22", replaced), (paid_2[2], paid_2[7])]
        assert postings[0][4] == postings[1][0] and postings[1][4] is None and postings[2][4] is None
        assert postings[1][3] == -postings[0][3]

    # Loading the answering 835 again (another file, the same payment trace) posts nothing.
    before = _query(workdir, "SELECT COUNT(*), SUM(paid_cents) FROM remittance_claim")
    events = _query(workdir, "SELECT COUNT(*) FROM claim_event")
    engine = create_warehouse_engine(f"sqlite:///{workdir / 'warehouse.db'}")
    try:
        for path in sorted(answering):
            data = path.read_bytes() + b"\n"
            with engine.begin() as conn:
                entry = register_source_file(
                    conn,
                    kind="835",
                    name="again_" + path.name,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                    origin="manual",
                )
                assert not entry.already_loaded
                load_response(conn, entry.id, data, "again_" + path.name)
    finally:
        engine.dispose()
    assert _query(workdir, "SELECT COUNT(*), SUM(paid_cents) FROM remittance_claim") == before
    assert _query(workdir, "SELECT COUNT(*) FROM claim_event") == events
    assert {k: s for k, s in _query(workdir, "SELECT claim_key, status FROM claim")} == {
        k: "paid" for k in keys.values()
    }
