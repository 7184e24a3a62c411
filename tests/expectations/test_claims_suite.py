"""The claims suite over the written 837 read back, against the claims as staged (issue 9, case 11).

The staged side is derived here from the export rows by hand (cents of ``charge_amount``, line order by
charge id), never from ``Claim.total_charge``: the suite must catch a written total that is not the sum
of its written lines, which a suite comparing ``Claim.total_charge`` with its own line sum never can.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from x12_claims import SUBMITTER

from connectors.payers import registered_payers
from expectations.claims import build_claims_suite, validate_written, written_claim_problems, written_claims_frame
from revcycle.claims import build_claims, claim_key_for
from revcycle.domain import Claim
from revcycle.submission import StagedClaim, StagedLine, WrittenInterchange
from revcycle.synth import generate_charge_rows
from revcycle.x12.write837p import VERSION_837P, write_837p
from revcycle.x12.writer import Envelope

AS_OF = date(2026, 6, 1)


def _envelope() -> Envelope:
    return Envelope(
        sender_id="SUBMIT01",
        receiver_id="PAYER",
        interchange_control_number=7,
        group_control_number=7,
        usage_indicator="T",
        created=datetime(2026, 6, 1, 21, 30, tzinfo=UTC),
        functional_id_code="HC",
        version=VERSION_837P,
    )


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    payers = registered_payers()
    # One payer per interchange, as staging writes them.
    return [
        r
        for r in generate_charge_rows(list(payers.values()), encounters=40, seed=41, as_of=AS_OF)
        if r["payer_id"] == "SUMMT"
    ]


@pytest.fixture(scope="module")
def claims(rows: list[dict[str, str]]) -> list[Claim]:
    built = build_claims(rows, registered_payers())
    assert len(built.claims) >= 6 and not built.held
    return built.claims


@pytest.fixture(scope="module")
def staged(rows: list[dict[str, str]]) -> list[StagedClaim]:
    """The claims as intake records them, from the rows: one per encounter, lines in charge id order."""
    by_claim: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_claim[claim_key_for(row["encounter_id"], row["payer_id"], row["billing_npi"])].append(row)
    out = []
    for key, group in sorted(by_claim.items()):
        group.sort(key=lambda r: r["charge_id"])
        cents = [int(Decimal(r["charge_amount"]) * 100) for r in group]
        lines = tuple(
            StagedLine(n, r["procedure_code"], c) for n, (r, c) in enumerate(zip(group, cents, strict=True), 1)
        )
        out.append(StagedClaim(key, "SUMMT", group[0]["encounter_id"], "1", sum(cents), lines))
    return out


@pytest.fixture(scope="module")
def written(claims: list[Claim]) -> bytes:
    return write_837p(claims, _envelope(), SUBMITTER, "SUMMIT HEALTH")


def _rules(problems: dict[str, list[str]], key: str) -> set[str]:
    """The rules named by a claim's own reasons ("claims suite rule R failed ...")."""
    return {found.group(1) for reason in problems[key] if (found := re.search(r"rule (\w+) failed", reason))}


def test_a_written_interchange_that_matches_its_staged_claims_passes(written: bytes, staged: list[StagedClaim]) -> None:
    validation = validate_written([WrittenInterchange(written, tuple(staged))])
    assert validation.findings == []
    assert validation.evaluated_rows == sum(len(c.lines) for c in staged)
    assert written_claim_problems([WrittenInterchange(written, tuple(staged))]) == {}


def test_a_written_total_one_cent_above_its_written_lines_holds_that_claim(
    written: bytes, staged: list[StagedClaim]
) -> None:
    target = staged[2]
    total = Decimal(target.total_charge_cents) / 100
    pattern = re.compile(rf"CLM\*{target.claim_key}\*([0-9.]+)\*".encode())
    match = pattern.search(written)
    assert match is not None and Decimal(match.group(1).decode()) == total
    wrong = written[: match.start(1)] + str(total + Decimal("0.01")).encode() + written[match.end(1) :]
    problems = written_claim_problems([WrittenInterchange(wrong, tuple(staged))])
    assert set(problems) == {target.claim_key}
    # Written lines still agree with the staged ones: only the total is wrong, against both.
    assert _rules(problems, target.claim_key) == {"claim_total_equals_lines", "claim_total_equals_staged"}
    assert all(reason.startswith(f"claim {target.claim_key}: ") for reason in problems[target.claim_key])


def test_a_claim_whose_lines_sum_past_the_x12_amount_bound_is_held(rows: list[dict[str, str]]) -> None:
    # Each line is within the charges suite's bound (8 digits before the point), but CLM02 = 2 x 60,000,000.00
    # = 120,000,000.00 needs 11 characters with its cents: past the TR3's 10 for data element 782.
    key_of = {r["charge_id"]: claim_key_for(r["encounter_id"], r["payer_id"], r["billing_npi"]) for r in rows}
    counts: dict[str, int] = defaultdict(int)
    for key in key_of.values():
        counts[key] += 1
    target = next(key for key, count in sorted(counts.items()) if count >= 2)
    big = [dict(r, charge_amount="60000000.00") if key_of[r["charge_id"]] == target else r for r in rows]
    built = build_claims(big, registered_payers())
    written = write_837p(built.claims, _envelope(), SUBMITTER, "SUMMIT HEALTH")
    staged = []
    for c in built.claims:
        group = sorted((r for r in big if key_of[r["charge_id"]] == c.claim_key), key=lambda r: r["charge_id"])
        cents = [int(Decimal(r["charge_amount"]) * 100) for r in group]
        lines = tuple(
            StagedLine(n, r["procedure_code"], x) for n, (r, x) in enumerate(zip(group, cents, strict=True), 1)
        )
        staged.append(StagedClaim(c.claim_key, "SUMMT", group[0]["encounter_id"], "1", sum(cents), lines))
    problems = written_claim_problems([WrittenInterchange(written, tuple(staged))])
    assert set(problems) == {target}
    assert _rules(problems, target) == {"claim_total_within_x12"}


def test_a_staged_claim_missing_from_the_file_or_a_written_claim_never_staged_is_named(
    claims: list[Claim], staged: list[StagedClaim]
) -> None:
    missing, extra = staged[0], staged[1]
    content = write_837p([c for c in claims if c.claim_key != missing.claim_key], _envelope(), SUBMITTER, "SUMMIT")
    problems = written_claim_problems(
        [WrittenInterchange(content, tuple(c for c in staged if c.claim_key != extra.claim_key))]
    )
    assert _rules(problems, missing.claim_key) == {"claim_written"}
    # A written claim that was not staged: its row belongs to no staged claim, so every claim of the
    # interchange is held (nothing goes out in an interchange that holds something unexpected).
    assert set(problems) == {c.claim_key for c in staged if c.claim_key != extra.claim_key}
    assert _rules(problems, staged[3].claim_key) == set()
    assert problems[staged[3].claim_key] == [
        f"claim {staged[3].claim_key}: claims suite rules claim_staged, claim_written_once failed on its "
        "interchange's written 837"
    ]


def test_a_line_more_than_staged_fails_the_line_count_and_the_totals(written: bytes, staged: list[StagedClaim]) -> None:
    target = next(c for c in staged if len(c.lines) >= 2)
    short = StagedClaim(
        target.claim_key,
        target.payer_id,
        target.encounter_id,
        target.frequency_code,
        sum(line.charge_cents for line in target.lines[:-1]),
        target.lines[:-1],
    )
    problems = written_claim_problems([WrittenInterchange(written, tuple(short if c is target else c for c in staged))])
    assert set(problems) == {target.claim_key}
    assert {"claim_written_once", "claim_staged", "claim_total_equals_staged"} <= _rules(problems, target.claim_key)


def test_a_line_charge_or_procedure_that_differs_from_intake_is_named(
    written: bytes, staged: list[StagedClaim]
) -> None:
    target = staged[4]
    first = target.lines[0]
    changed = StagedClaim(
        target.claim_key,
        target.payer_id,
        target.encounter_id,
        target.frequency_code,
        target.total_charge_cents,
        (StagedLine(1, "00000", first.charge_cents + 100), *target.lines[1:]),
    )
    problems = written_claim_problems(
        [WrittenInterchange(written, tuple(changed if c is target else c for c in staged))]
    )
    assert _rules(problems, target.claim_key) == {"line_charge_equals_staged", "line_procedure_equals_staged"}


def test_a_pointer_past_the_claims_diagnoses_holds_that_claim(written: bytes, staged: list[StagedClaim]) -> None:
    text = written.decode()
    clm = text.index(f"CLM*{staged[1].claim_key}*")
    sv1 = text.index("SV1*", clm)
    end = text.index("~", sv1)
    elements = text[sv1:end].split("*")
    assert elements[7]  # SV107, the line's diagnosis pointers
    elements[7] = "13"  # an 837P claim has at most 12 diagnoses
    wrong = (text[:sv1] + "*".join(elements) + text[end:]).encode()
    problems = written_claim_problems([WrittenInterchange(wrong, tuple(staged))])
    assert set(problems) == {staged[1].claim_key}
    assert _rules(problems, staged[1].claim_key) == {"diagnosis_pointer_target"}


def test_a_cut_interchange_holds_every_claim_in_it(written: bytes, staged: list[StagedClaim]) -> None:
    cut = written[: written.index(b"SE*")]  # no SE, GE or IEA: the reader reports the set as cut
    problems = written_claim_problems([WrittenInterchange(cut, tuple(staged))])
    assert set(problems) == {c.claim_key for c in staged}
    assert all("written_837_reads_clean" in " ".join(problems[c.claim_key]) for c in staged)


def test_two_interchanges_are_judged_apart(claims: list[Claim], staged: list[StagedClaim]) -> None:
    half = len(claims) // 2
    first = write_837p(claims[:half], _envelope(), SUBMITTER, "SUMMIT")
    second = write_837p(claims[half:], _envelope(), SUBMITTER, "SUMMIT")
    by_key = {c.claim_key: c for c in staged}
    written = [
        WrittenInterchange(first, tuple(by_key[c.claim_key] for c in claims[:half])),
        WrittenInterchange(second, tuple(by_key[c.claim_key] for c in claims[half:])),
    ]
    assert written_claim_problems(written) == {}
    swapped = [WrittenInterchange(first, written[1].claims), WrittenInterchange(second, written[0].claims)]
    assert set(written_claim_problems(swapped)) == set(by_key)  # a claim in the wrong file is not "written"


def test_the_frame_holds_one_row_per_line_and_the_suite_evaluates_every_rule_in_gx(
    written: bytes, staged: list[StagedClaim]
) -> None:
    frame = written_claims_frame([WrittenInterchange(written, tuple(staged))])
    assert len(frame) == sum(len(c.lines) for c in staged)
    assert (frame["written_total_cents"] == frame["staged_total_cents"]).all()
    rules = [e.meta["rule"] for e in build_claims_suite().expectations]
    assert len(rules) == len(set(rules)) == 13
    # Every rule reads columns of the frame: no precomputed pass/fail flag column exists.
    assert not [c for c in frame.columns if frame[c].dtype == bool]


def test_amounts_counts_and_line_numbers_are_nullable_integers(written: bytes, staged: list[StagedClaim]) -> None:
    frame = written_claims_frame([WrittenInterchange(written, tuple(staged))])
    for column in ("written_total_cents", "written_line_cents", "staged_total_cents", "staged_line_cents",
                   "staged_line_count", "line_number", "pointer_min", "pointer_max"):  # fmt: skip
        assert str(frame[column].dtype) == "Int64", column
