"""Sixty simulated nights, then settling: every claim ever built ends final or with a person (tracker issue 10).

Done-when 1 and 2 of issue 10: `revcycle demo --days 60 --settle` with every kind of change switched on
(corrected exports, late charges, cancellations, secondary coverage; the demo's share of institutional
visits), then, from what the run left on disk and in the warehouse:

- every claim in `claim` has a next action of kind final or person (docs/claim-rules.md): nothing waits for the
  payer, nothing is left for the pipeline;
- no claim version (CLM01, CLM05-3 and the claim's content) went out in two different interchanges (the same
  interchange resent byte for byte is one interchange, DESIGN.md §6);
- every replacement (7) and void (8) carries REF*F8 = CLP07 of the adjudication it replaces, taken from the
  sandbox's ground truth (its remittance ledger), not from the warehouse;
- every secondary or tertiary claim (2000B SBR01 S or T) balances to the cent (tests/cob_balance.py);
- the run had each case at least once: a 7, an 8, a secondary claim, an 837I;
- pyx12 finds no error in any 837P or 837I the run sent, nor in any 999, 277CA or 835 the sandbox wrote.

Cost: the run is 96 nights (60 with a visit, 36 settling nights on which an answer fell due) at one visit a
night; 190 s on a quiet 2-core machine (issue 10's CI budget is 5 minutes), down from 345 s once the charges
suite checked each rule over its columns in one expectation and found failing rows only for the rules that
failed (a 1-to-3-line export: about 1.05 s to 0.38 s), and the nightly stopped running the two inquiry
subflows with batch eligibility off (docs/scale.md, "The multi-night demo's night"). Of what is left, about
half is Prefect's own work for 3 flow runs and about 10 task runs a night; the checks take 4 s. It runs in
`make test`; `make test-nights` runs it alone.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import pytest
from cob_balance import cob_balance_problems
from demo_nights_run import run_demo_nights
from pyx12_check import pyx12_errors

# In `make test`; `make test-nights` selects it alone. See the cost above.
pytestmark = [pytest.mark.e2e, pytest.mark.nights]

VISIT_NIGHTS = 60
VISITS_A_NIGHT = 1
SEED = 7
FIRST_NIGHT = date(2026, 1, 5)
# Rates high enough that, with seed 7, the 60 visits include each kind of change (checked below, so a
# change of seed or rates that loses a case fails instead of passing on nothing).
RATES = {"--correction-rate": "0.2", "--late-rate": "0.2", "--cancel-rate": "0.1", "--secondary-rate": "0.3"}
# demo_nights.DEFAULT_MAX_SETTLE_NIGHTS: settling stops there even when answers are still due.
MAX_SETTLE_NIGHTS = 220


@pytest.fixture(scope="module")
def sixty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One real `revcycle demo --days 60 --claims 1 --settle` with every change rate on."""
    options = ["--days", str(VISIT_NIGHTS), "--claims", str(VISITS_A_NIGHT), "--seed", str(SEED), "--settle"]
    options += ["--first-night", FIRST_NIGHT.isoformat()]
    options += [part for option in RATES.items() for part in option]
    return run_demo_nights(tmp_path_factory.mktemp("sixty") / "work", options, timeout=3600)


def _workdir(run: dict[str, object]) -> Path:
    return Path(str(run["workdir"]))


def _query(run: dict[str, object], sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(_workdir(run) / "warehouse.db") as conn:
        return list(conn.execute(sql))


# --- the 837s, read from the bytes the run sent ----------------------------------------------------------------


@dataclass(frozen=True)
class SentClaim:
    """One claim as an 837 carried it."""

    interchange: str  # the SHA-256 of the interchange's bytes: one interchange, however often it was sent
    file_name: str
    sent_on: date  # BHT04: the night it was built (the simulated calendar)
    claim_key: str  # CLM01
    frequency: str  # CLM05-3
    content: str  # SHA-256 of the claim's segments without CLM05-3 and REF*F8, with the routing ids
    replaces: str | None  # REF*F8
    payer_role: str  # 2000B SBR01: P, S or T


def _segments(data: bytes) -> tuple[list[list[str]], str]:
    """The segments of an interchange (``~``-terminated, ``*``-separated) and its component separator."""
    text = data.decode("ascii")
    component = text[104]  # ISA16, the 105th character of the fixed-length ISA
    return [s.strip().split("*") for s in text.split("~") if s.strip()], component


def sent_claims(path: Path) -> list[SentClaim]:
    """Every claim of one 837 interchange file, with what identifies its version."""
    data = path.read_bytes()
    interchange = hashlib.sha256(data).hexdigest()
    segments, component = _segments(data)
    routing: list[str] = []
    sent_on = date.min
    subscriber: list[list[str]] = []  # the 2000B (and 2000C) segments the claim sits under, no HL
    claim: list[list[str]] = []
    found: list[SentClaim] = []

    def close() -> None:
        if not claim:
            return
        clm = claim[0]
        parts = clm[5].split(component)
        ref_f8 = [s[2] for s in claim if s[:2] == ["REF", "F8"]]
        kept = [
            [*clm[:5], component.join(parts[:2]), *clm[6:]] if s is clm else s
            for s in [*subscriber, *claim]
            if s[:2] != ["REF", "F8"]
        ]
        digest = hashlib.sha256(repr([routing, kept]).encode()).hexdigest()
        role = next((s[1] for s in subscriber if s[0] == "SBR"), "")
        found.append(
            SentClaim(interchange, path.name, sent_on, clm[1], parts[2], digest, ref_f8[0] if ref_f8 else None, role)
        )
        claim.clear()

    level = ""
    for s in segments:
        tag = s[0]
        if tag == "ISA":
            routing.append(s[8].strip())
        elif tag == "GS":
            routing.append(s[3])
        elif tag == "BHT":
            sent_on = date(int(s[4][:4]), int(s[4][4:6]), int(s[4][6:8]))
        elif tag in ("HL", "SE"):
            close()
            level = s[3] if tag == "HL" else ""
            if level == "22":
                subscriber = []
        elif tag == "CLM":
            close()
            claim.append(s)
        elif claim:
            claim.append(s)
        elif level in ("22", "23"):
            subscriber.append(s)
    close()
    return found


def _all_837s(run: dict[str, object]) -> list[Path]:
    return sorted((_workdir(run) / "outbound").glob("837*.x12"))


def _all_sent(run: dict[str, object]) -> list[SentClaim]:
    return [claim for path in _all_837s(run) for claim in sent_claims(path)]


def _ledger(run: dict[str, object]) -> list[dict[str, str]]:
    with (_workdir(run) / "clearinghouse" / "remittance-ledger.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the tests --------------------------------------------------------------------------------------------------


def test_sixty_visit_nights_then_settled_with_nothing_due(sixty: dict[str, object]) -> None:
    lines = cast(list[tuple[str, str, str, str]], sixty["nights"])
    nights = [(int(n), date.fromisoformat(d), int(v), int(due)) for n, d, v, due in lines]
    assert [n for n, _, _, _ in nights] == list(range(1, len(nights) + 1))
    assert [d for _, d, _, _ in nights[:VISIT_NIGHTS]] == [FIRST_NIGHT + timedelta(days=i) for i in range(60)]
    assert [v for _, _, v, _ in nights] == [VISITS_A_NIGHT] * VISIT_NIGHTS + [0] * (len(nights) - VISIT_NIGHTS)
    # Settling ran past the last visit night and stopped because nothing was due any more, not at its cap:
    # the sandbox holds no answer and the clearinghouse's response folder is empty.
    last_visit_night, last_night = nights[VISIT_NIGHTS - 1][1], nights[-1][1]
    assert last_night - last_visit_night >= timedelta(days=10)
    assert last_night < last_visit_night + timedelta(days=MAX_SETTLE_NIGHTS)
    assert nights[-1][3] == 0
    with sqlite3.connect(_workdir(sixty) / "clearinghouse" / "sandbox-state.db") as state:
        assert state.execute("SELECT count(*) FROM pending").fetchone() == (0,)
    assert list((_workdir(sixty) / "clearinghouse" / "sftp-root" / "responses").iterdir()) == []
    output = str(sixty["stdout"]) + str(sixty["stderr"])
    assert [line for line in output.splitlines() if "ERROR" in line or "Traceback" in line] == []


def test_every_claim_is_final_or_with_a_person(sixty: dict[str, object]) -> None:
    rows = _query(
        sixty,
        "SELECT c.claim_key, c.status, a.action, a.kind FROM claim c LEFT JOIN claim_action a USING (claim_key)",
    )
    assert len(rows) >= VISIT_NIGHTS * VISITS_A_NIGHT * 0.8  # a few visits may be held, most are claims
    open_claims = [row for row in rows if row[3] not in ("final", "person")]
    assert open_claims == []


def test_no_claim_version_went_out_in_two_interchanges(sixty: dict[str, object]) -> None:
    sent = _all_sent(sixty)
    interchanges: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for claim in sent:
        interchanges[(claim.claim_key, claim.frequency, claim.content)].add(claim.interchange)
    assert {version: files for version, files in interchanges.items() if len(files) > 1} == {}
    # Every claim the warehouse built went out, and every version the warehouse recorded is one sent.
    built = {str(key) for (key,) in _query(sixty, "SELECT claim_key FROM claim")}
    versions = _query(sixty, "SELECT claim_key, frequency_code FROM claim_version")
    assert {claim.claim_key for claim in sent} == built
    assert sorted((str(k), str(f)) for k, f in versions) == sorted(
        {(c.claim_key, c.frequency, c.content): (c.claim_key, c.frequency) for c in sent}.values()
    )


def test_every_replacement_and_void_names_the_payer_claim_number_it_replaces(sixty: dict[str, object]) -> None:
    # The sandbox's ledger, in release order: per claim, the payer claim numbers of its adjudications (not the
    # reversals) and the day each was paid. A 7 or 8 built on day D replaces the latest one paid by D.
    adjudicated: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for row in _ledger(sixty):
        if row["event"] != "reversal":
            adjudicated[row["claim_key"]].append((date.fromisoformat(row["payment_date"]), row["payer_claim_number"]))
    corrections = [c for c in _all_sent(sixty) if c.frequency in ("7", "8")]
    wrong = []
    for claim in corrections:
        before = [number for paid_on, number in adjudicated[claim.claim_key] if paid_on <= claim.sent_on]
        if not before or claim.replaces != before[-1]:
            wrong.append((claim.file_name, claim.claim_key, claim.frequency, claim.replaces, before))
    assert wrong == []


def test_every_secondary_claim_balances_to_the_cent(sixty: dict[str, object]) -> None:
    problems = {path.name: found for path in _all_837s(sixty) if (found := cob_balance_problems(path.read_bytes()))}
    assert problems == {}


def test_the_run_had_each_case(sixty: dict[str, object]) -> None:
    sent = _all_sent(sixty)
    frequencies = {claim.frequency for claim in sent}
    assert {"1", "7", "8"} <= frequencies
    assert any(claim.payer_role in ("S", "T") for claim in sent), "no secondary claim"
    assert any(path.name.startswith("837I_") for path in _all_837s(sixty)), "no 837I"
    # The prior payer's claim of every secondary is in the warehouse.
    secondaries = _query(sixty, "SELECT claim_key, prior_claim_key FROM claim WHERE prior_claim_key IS NOT NULL")
    assert secondaries and {str(k) for k, _ in secondaries} == {c.claim_key for c in sent if c.payer_role in ("S", "T")}


def _isa13(data: bytes) -> str:
    return data.decode("ascii")[90:99]


def _batches(paths: list[Path], size: int = 40) -> list[list[Path]]:
    """Files grouped so that no ISA13 repeats within a group (pyx12 checks ISA13 unique within a file)."""
    batches: list[tuple[set[str], list[Path]]] = []
    for path in paths:
        number = _isa13(path.read_bytes())
        for seen, group in batches:
            if number not in seen and len(group) < size:
                seen.add(number)
                group.append(path)
                break
        else:
            batches.append(({number}, [path]))
    return [group for _, group in batches]


def test_pyx12_passes_every_837_and_every_answer_the_sandbox_wrote(sixty: dict[str, object]) -> None:
    archive = _workdir(sixty) / "clearinghouse" / "sftp-root" / "archive"
    answers = sorted(archive.glob("*.x12"))
    kinds = {path.name.split("_", 1)[0] for path in answers}
    assert {"999", "277CA", "835"} <= kinds
    claims = _all_837s(sixty)
    assert {path.name.split("_", 1)[0] for path in claims} == {"837P", "837I"}
    errors: dict[str, list[str]] = {}
    for group in _batches(claims + answers):
        if batch := pyx12_errors(b"".join(path.read_bytes().strip() + b"\n" for path in group)):
            # Name the file: pyx12 again, one file at a time (an error no single file shows still fails).
            named = {path.name: found for path in group if (found := pyx12_errors(path.read_bytes()))}
            errors |= named or {f"batch from {group[0].name}": batch}
    assert errors == {}
